package app

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// TestDBMaxConns runs the server with DT_DB_MAX_CONNS=2 on PostgreSQL and
// sends six logins while a lock held from outside stalls them: the server
// opens no more than two connections, the other requests queue, and all six
// succeed once the lock is released.
func TestDBMaxConns(t *testing.T) {
	sqldbtest.NeedPostgres(t, "the connection cap is tested on PostgreSQL")
	const maxConns, requests = 2, 6
	env := testEnvFor(t, t.TempDir(), map[string]string{
		"DT_DB_MAX_CONNS":      "2",
		"DT_SCHEDULER":         "false",
		"DT_DEFAULT_USER_PASS": "s3cret-pass",
	})
	inst := start(t, env)
	defer inst.stop()

	ctx := context.Background()
	tx := sqldbtest.LockTable(t, env["DT_DATABASE_URL"], "app_user")

	statuses := make(chan int, requests)
	var wg sync.WaitGroup
	for range requests {
		wg.Go(func() {
			status, _ := postJSON(t, inst.url+"/auth/login", "", map[string]string{"email": "default_user@localhost", "password": "s3cret-pass"})
			statuses <- status
		})
	}

	const backends = `SELECT count(*), count(*) FILTER (WHERE wait_event_type = 'Lock')
		FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`
	deadline := time.Now().Add(2 * time.Minute) // only a hang, not a busy machine, reaches it
	for {
		var open, waiting int
		// Activity statistics are a snapshot kept for the rest of a
		// transaction: drop it so each poll sees the backends as they are now.
		if _, err := tx.Exec(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
			t.Fatal(err)
		}
		if err := tx.QueryRow(ctx, backends).Scan(&open, &waiting); err != nil {
			t.Fatal(err)
		}
		if open > maxConns {
			t.Fatalf("the server holds %d connections with DT_DB_MAX_CONNS=%d", open, maxConns)
		}
		if waiting == maxConns {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logins did not reach the lock: %d connections, %d waiting", open, waiting)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(statuses) != 0 {
		t.Fatalf("%d logins finished while the users table was locked", len(statuses))
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(statuses)
	for status := range statuses {
		if status != 200 {
			t.Errorf("a queued login answered %d, want 200", status)
		}
	}
}

func TestDBPoolSettings(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string // "" for success
	}{
		{map[string]string{"DT_DB_MAX_CONNS": "8", "DT_DB_MAX_IDLE_CONNS": "4", "DT_DB_CONN_MAX_LIFETIME_SECONDS": "1800"}, ""},
		{map[string]string{"DT_DB_MAX_CONNS": "0"}, "DT_DB_MAX_CONNS: want a whole number of 1 or more"},
		{map[string]string{"DT_DB_MAX_IDLE_CONNS": "many"}, "DT_DB_MAX_IDLE_CONNS"},
		{map[string]string{"DT_DB_CONN_MAX_IDLE_SECONDS": "5m"}, "DT_DB_CONN_MAX_IDLE_SECONDS"},
	} {
		m := &Main{Getenv: func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }}
		fs, load := m.flags("serve", "", true)
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		c, err := load()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.env, err)
		case tc.want == "" && (c.DBPool.MaxConns != 8 || c.DBPool.MaxIdleConns != 4 || c.DBPool.ConnMaxLifetime != 30*time.Minute):
			t.Errorf("%v: pool = %+v", tc.env, c.DBPool)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want %q", tc.env, err, tc.want)
		}
	}
}

func TestDBInitCommand(t *testing.T) {
	if sqldbtest.PostgresURL() == "" {
		code, out := run(t, map[string]string{"DT_DATA_DIR": t.TempDir(), "DT_DB_APP_ROLE": "app", "DT_DB_APP_PASSWORD": "pw"}, "", "db-init")
		if code != 2 || !strings.Contains(out, "needs a PostgreSQL") {
			t.Errorf("db-init on SQLite: exit %d, %s", code, out)
		}
		return
	}
	env := testEnvFor(t, t.TempDir(), nil)
	if code, out := run(t, env, "", "db-init"); code != 2 || !strings.Contains(out, "DT_DB_APP_PASSWORD") {
		t.Errorf("db-init without a role: exit %d, %s", code, out)
	}
	role := "dtbase_app_cmd_test"
	t.Cleanup(func() {
		if conn, err := pgx.Connect(context.Background(), sqldbtest.PostgresURL()); err == nil {
			conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
			conn.Close(context.Background())
		}
	})
	env = testEnvFor(t, t.TempDir(), map[string]string{"DT_DB_APP_ROLE": role, "DT_DB_APP_PASSWORD": "app-secret"})
	if code, out := run(t, env, "", "db-init"); code != 0 || !strings.Contains(out, "role "+role+" owns the database") || strings.Contains(out, "app-secret") {
		t.Errorf("db-init: exit %d, %s", code, out)
	}
}
