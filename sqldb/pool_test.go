package sqldb_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// TestPoolQueues checks that a pool capped at two connections makes further
// callers wait rather than fail or open more: a lock held from outside keeps
// the first two queries busy while four more queue for the pool.
func TestPoolQueues(t *testing.T) {
	sqldbtest.NeedPostgres(t, "the pool limit is a PostgreSQL concern (SQLite has one writer)")
	ctx := context.Background()
	dsn := sqldbtest.DSN(t)
	db := sqldbtest.OpenDSN(t, dsn)
	const maxConns, callers = 2, 6
	db.SetPool(sqldb.Pool{MaxConns: maxConns})

	tx := sqldbtest.LockTable(t, dsn, "app_user")

	errs := make(chan error, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			_, err := db.ListUsers(ctx)
			errs <- err
		})
	}
	// Two queries wait on the lock, holding the pool's two connections; the
	// other four wait for a connection.
	deadline := time.Now().Add(2 * time.Minute) // only a hang, not a busy machine, reaches it
	for {
		st := db.Stats()
		if st.InUse == maxConns && st.WaitCount == callers-maxConns {
			break
		}
		if st.OpenConnections > maxConns {
			t.Fatalf("pool opened %d connections, cap %d", st.OpenConnections, maxConns)
		}
		if time.Now().After(deadline) {
			t.Fatalf("callers did not queue: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var backends int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()").Scan(&backends); err != nil {
		t.Fatal(err)
	}
	if backends > maxConns {
		t.Errorf("%d server connections from a pool capped at %d", backends, maxConns)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if err := errors.Join(all...); err != nil {
		t.Errorf("queued callers failed: %v", err)
	}
}

// TestSetPoolDefaults checks that zero fields keep the defaults and that the
// idle cap follows a smaller MaxConns.
func TestSetPoolDefaults(t *testing.T) {
	db := sqldbtest.Open(t)
	db.SetPool(sqldb.Pool{})
	if db.Dialect == sqldb.Postgres {
		if got := db.Stats().MaxOpenConnections; got != sqldb.DefaultPostgresMaxConns {
			t.Errorf("MaxOpenConnections = %d, want the default %d", got, sqldb.DefaultPostgresMaxConns)
		}
		db.SetPool(sqldb.Pool{MaxConns: 3})
		if got := db.Stats().MaxOpenConnections; got != 3 {
			t.Errorf("MaxOpenConnections = %d, want 3", got)
		}
		return
	}
	// SQLite: the setting caps the readers; the writer stays a single connection.
	if got := db.ReadStats().MaxOpenConnections; got != sqldb.DefaultSQLiteReaders {
		t.Errorf("SQLite readers MaxOpenConnections = %d, want the default %d", got, sqldb.DefaultSQLiteReaders)
	}
	db.SetPool(sqldb.Pool{MaxConns: 3})
	if got := db.ReadStats().MaxOpenConnections; got != 3 {
		t.Errorf("SQLite readers MaxOpenConnections = %d, want 3", got)
	}
	if got := db.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("SQLite writer MaxOpenConnections = %d, want 1", got)
	}
}
