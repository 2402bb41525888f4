// Package sqldbtest opens a fresh, migrated database for a test: SQLite in
// the test's temporary directory, or, when DT_TEST_POSTGRES_URL is set, a new
// database on that PostgreSQL server, dropped when the test ends. Every
// suite that uses it therefore runs unchanged on both engines.
package sqldbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
)

// PostgresURL returns the server the tests use, or "" for SQLite.
func PostgresURL() string { return os.Getenv("DT_TEST_POSTGRES_URL") }

// DSN returns the data source name of a new, empty database for tb and
// arranges for it to be dropped at the end of the test.
func DSN(tb testing.TB) string {
	tb.Helper()
	base := PostgresURL()
	if base == "" {
		return filepath.Join(tb.TempDir(), "dtbase.db")
	}
	var b [6]byte
	rand.Read(b[:])
	name := "dtbase_test_" + hex.EncodeToString(b[:])
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("DT_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	tb.Cleanup(func() {
		admin, err := pgx.Connect(context.Background(), base)
		if err != nil {
			tb.Logf("drop test database: %v", err)
			return
		}
		defer admin.Close(context.Background())
		if _, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("drop test database: %v", err)
		}
	})
	return u.String()
}

// NeedPostgres skips tb, saying why it needs PostgreSQL, unless
// DT_TEST_POSTGRES_URL is set; it returns that server's URL.
func NeedPostgres(tb testing.TB, why string) string {
	tb.Helper()
	base := PostgresURL()
	if base == "" {
		tb.Skip("DT_TEST_POSTGRES_URL is unset: " + why)
	}
	return base
}

// Open returns a migrated database that is closed when the test ends.
func Open(tb testing.TB) *sqldb.DB {
	tb.Helper()
	return OpenDSN(tb, DSN(tb))
}

// OpenAt returns a migrated database, as Open, whose clock stands at now.
func OpenAt(tb testing.TB, now time.Time) *sqldb.DB {
	tb.Helper()
	db := Open(tb)
	db.Now = func() time.Time { return now }
	return db
}

// OpenDSN opens and migrates the database dsn (from DSN), closing it when
// the test ends; opening one dsn more than once stands for replicas of a
// deployment that share their database.
func OpenDSN(tb testing.TB, dsn string) *sqldb.DB {
	tb.Helper()
	db, err := sqldb.Open(context.Background(), dsn)
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// LockTable connects to the PostgreSQL database dsn and takes an exclusive
// lock on table in a transaction, so that queries of the table wait until
// the test ends the transaction. The connection closes with the test.
func LockTable(tb testing.TB, dsn, table string) pgx.Tx {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(ctx) })
	tx, err := conn.Begin(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+pgx.Identifier{table}.Sanitize()+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		tb.Fatal(err)
	}
	return tx
}

// Collect returns what a streaming read passes to its callback, failing
// tb if the read fails.
func Collect[T any](tb testing.TB, read func(yield func(T) error) error) []T {
	tb.Helper()
	var out []T
	if err := read(func(v T) error {
		out = append(out, v)
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return out
}

// Readings returns every stored reading of a sensor's measure (name and
// units), in time order.
func Readings(tb testing.TB, db *sqldb.DB, uid, measure string, units *string) []dtbase.Reading {
	tb.Helper()
	ctx := context.Background()
	m, err := db.FindReadingMeasure(ctx, uid, measure, units)
	if err != nil {
		tb.Fatal(err)
	}
	return Collect(tb, func(yield func(dtbase.Reading) error) error {
		return db.ScanReadings(ctx, m, time.Unix(-1e11, 0), time.Unix(1e11, 0), yield)
	})
}

// Sensors creates the sensor type typ and a sensor of it for each of uids,
// failing tb if the store refuses any of them.
func Sensors(tb testing.TB, db *sqldb.DB, typ dtbase.SensorType, uids ...string) {
	tb.Helper()
	ctx := context.Background()
	if err := db.CreateSensorType(ctx, &typ); err != nil {
		tb.Fatalf("create sensor type %s: %v", typ.Name, err)
	}
	for _, uid := range uids {
		if err := db.CreateSensor(ctx, &dtbase.Sensor{UniqueIdentifier: uid, TypeName: typ.Name}); err != nil {
			tb.Fatalf("create sensor %s: %v", uid, err)
		}
	}
}
