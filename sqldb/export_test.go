package sqldb

import "database/sql"

// ReadStats reports the read pool's statistics (on PostgreSQL the one pool).
func (db *DB) ReadStats() sql.DBStats { return db.read.Stats() }
