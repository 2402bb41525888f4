package sqldb

import (
	"context"
	"database/sql"
	"time"

	"github.com/dtbase/dtbase"
)

// WithTx runs fn in one write transaction, committed when fn returns nil
// and rolled back otherwise. It is for bulk loaders that write rows as they
// are (the DTBase import keeps the original's ids); everything else goes
// through the store's methods.
func (db *DB) WithTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.withTx(ctx, fn)
}

// ReadingTable names the table of readings of datatype d, for bulk loaders.
func ReadingTable(d dtbase.Datatype) string { return readingTable(d) }

// ModelValueTable names the table of model values of datatype d, for bulk
// loaders.
func ModelValueTable(d dtbase.Datatype) string { return modelValueTable(d) }

// LocationValueColumn names the column of location_value holding values of
// datatype d, for bulk loaders.
func LocationValueColumn(d dtbase.Datatype) string { return locValueColumn(d) }

// PostgresType names the PostgreSQL type of the values of datatype d, as
// the value columns on PostgreSQL hold them, for bulk loaders.
func PostgresType(d dtbase.Datatype) string { return postgresType[d] }

// Micros is how the store keeps a time: Unix microseconds.
func Micros(t time.Time) int64 { return micros(t) }

// OptionalMicros is Micros of t, or NULL when t is nil.
func OptionalMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}
