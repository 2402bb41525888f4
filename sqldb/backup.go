package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/dtbase/dtbase"
)

// Backup writes a consistent copy of the SQLite database to path while the
// database stays in use, and checks the copy's integrity. The copy is
// SQLite's VACUUM INTO: one read transaction, so writers go on while it
// runs, and the copy is compact. path must not exist. On
// PostgreSQL, EINVALID: its own tools (pg_dump) do this.
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.Dialect != SQLite {
		return dtbase.Errorf(dtbase.EINVALID, "backup copies a SQLite database; back up PostgreSQL with pg_dump (docs/operations.md)")
	}
	if _, err := os.Lstat(path); err == nil {
		return dtbase.Errorf(dtbase.EINVALID, "%s exists already: name a new file", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	// A connection of its own: the readers are query-only, which VACUUM
	// INTO refuses, and the writer would hold writers back while it copies.
	src, err := sql.Open("sqlite", "file:"+db.series.path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", db.series.path, err)
	}
	defer src.Close()
	if _, err := src.ExecContext(ctx, `VACUUM INTO $1`, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	if err := checkIntegrity(ctx, path); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// checkIntegrity opens the SQLite file at path read-only and runs SQLite's
// integrity check on it.
func checkIntegrity(ctx context.Context, path string) error {
	f, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return fmt.Errorf("open the backup %s: %w", path, err)
	}
	defer f.Close()
	var result string
	if err := f.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&result); err != nil {
		return fmt.Errorf("check the backup %s: %w", path, err)
	}
	if result != "ok" {
		return fmt.Errorf("the backup %s failed its integrity check: %s", path, result)
	}
	return nil
}
