package sqldb

// SetRollupReads turns reading from rollups on or off, so that tests can
// compare against the readings alone.
func SetRollupReads(db *DB, on bool) { db.noRollupReads = !on }
