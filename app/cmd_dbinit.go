package app

import (
	"context"
	"fmt"

	"github.com/dtbase/dtbase/sqldb"
)

// dbInit prepares a PostgreSQL database for an application role that owns it
// and nothing more, connected as an administrator (DT_DATABASE_URL). A
// deployment runs it before the app starts; docs/operations.md explains it.
func (m *Main) dbInit(ctx context.Context, args []string) error {
	fs, load := m.flags("db-init", `Usage: dtbase db-init [flags]

Connected as a PostgreSQL administrator (DT_DATABASE_URL or DT_SQL_*), create the
database when missing and a login role (DT_DB_APP_ROLE) with the password in
DT_DB_APP_PASSWORD, or set that role's password when it exists, and make the role
the owner of the database and of the tables the administrator owns in it. The
application then connects as that role, not as the administrator. Safe to run again.`, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := load()
	if err != nil {
		return err
	}
	dsn := c.DSN()
	if !sqldb.IsPostgresURL(dsn) {
		return usageError{"db-init needs a PostgreSQL administrator's DT_DATABASE_URL (or DT_SQL_HOST)"}
	}
	role, _ := m.Getenv("DT_DB_APP_ROLE")
	password, _ := m.Getenv("DT_DB_APP_PASSWORD")
	if role == "" || password == "" {
		return usageError{"set DT_DB_APP_ROLE and DT_DB_APP_PASSWORD: the application role and its password"}
	}
	if err := sqldb.EnsureOwnerRole(ctx, dsn, role, password); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "role %s owns the database\n", role)
	return nil
}
