package sqldb

import "context"

// MigrateUpTo applies the migrations up to version last, for tests of a
// migration on the data written before it.
func (db *DB) MigrateUpTo(ctx context.Context, last int) error {
	_, err := db.migrateUpTo(ctx, last)
	return err
}
