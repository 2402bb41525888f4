package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
)

const backupUsage = `Usage: dtbase backup [flags] FILE

Write a consistent copy of the SQLite database (the database flags below, or
their DT_* variables, choose it) to FILE while dtbase keeps serving, and check
the copy's integrity. FILE must not exist. Writers go on while the copy is
made, and the copy is compact (SQLite's VACUUM INTO).

The keys dtbase generates in its data directory (jwt-secret, secret-key) are
not in the database: keep a copy of them beside the backup, or set
DT_JWT_SECRET_KEY and DT_SECRET_KEY yourself (docs/operations.md, "What to
back up").

Restore: stop dtbase, put FILE in place of dtbase.db, delete dtbase.db-wal and
dtbase.db-shm if present, start dtbase; it applies any migrations the backup
lacks. On PostgreSQL, use pg_dump instead (docs/operations.md).`

// backup runs 'dtbase backup FILE'.
func (m *Main) backup(ctx context.Context, args []string) error {
	fs, load := m.commandFlags("backup", backupUsage, databaseSettings)
	path, err := parseOneArg(fs, args, "backup: name the file to write (see dtbase backup --help)")
	if err != nil {
		return err
	}
	c, err := load()
	if err != nil {
		return err
	}
	if sqldb.IsPostgresURL(c.DSN()) {
		return usageError{"backup: the database is PostgreSQL; back it up with pg_dump --format=custom (docs/operations.md)"}
	}
	db, err := sqldb.OpenNoMigrate(ctx, c.DSN())
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	if err := db.Backup(ctx, path); err != nil {
		if dtbase.ErrorCode(err) == dtbase.EINVALID {
			return usageError{"backup: " + dtbase.ErrorMessage(err)}
		}
		return err
	}
	size := int64(0)
	if st, err := os.Stat(path); err == nil {
		size = st.Size()
	}
	fmt.Fprintf(m.Stdout, "backed up %s to %s: %.1f MB in %s, integrity checked\n",
		c.DSN(), path, float64(size)/1e6, time.Since(start).Round(time.Millisecond))
	for _, key := range []string{"jwt-secret", "secret-key"} {
		if _, err := os.Stat(filepath.Join(c.DataDir, key)); err == nil {
			fmt.Fprintf(m.Stdout, "not in the backup: %s (keep a copy of it beside the backup)\n", filepath.Join(c.DataDir, key))
		}
	}
	return nil
}
