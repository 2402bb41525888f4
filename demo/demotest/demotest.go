// Package demotest gives a test a fresh database (sqldbtest.OpenAt) with the
// demo loaded, on SQLite or PostgreSQL alike.
package demotest

import (
	"context"
	"testing"
	"time"

	"github.com/dtbase/dtbase/demo"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// Open returns a new database whose clock stands still at now, with the
// demo loaded as of now, and the load's summary. It fails the test when
// the load fails.
func Open(tb testing.TB, now time.Time) (*sqldb.DB, demo.Summary) {
	tb.Helper()
	db := sqldbtest.OpenAt(tb, now)
	start := time.Now()
	sum, err := demo.Load(context.Background(), db, now)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("demo loaded %+v in %v", sum, time.Since(start))
	return db, sum
}
