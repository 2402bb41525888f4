package sqldb_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

// TestEnsureOwnerRole prepares a database that an administrator has already
// migrated (as an older deployment left it) for a least-privilege role, and
// checks that the role owns the database and its tables, has no
// administrative rights, and can migrate and use it; a second run, as on
// every deployment, succeeds and changes the password.
func TestEnsureOwnerRole(t *testing.T) {
	base := sqldbtest.NeedPostgres(t, "roles are a PostgreSQL feature")
	// Azure's server admin is no superuser: it has CREATEDB and CREATEROLE.
	for _, adminKind := range []string{"superuser", "CREATEDB CREATEROLE"} {
		t.Run(adminKind, func(t *testing.T) { testEnsureOwnerRole(t, base, adminKind) })
	}
}

func testEnsureOwnerRole(t *testing.T, base, adminKind string) {
	ctx := context.Background()
	var b [4]byte
	rand.Read(b[:])
	role := "dtbase_app_" + hex.EncodeToString(b[:])
	adminRole := "dtbase_admin_" + hex.EncodeToString(b[:])
	super, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close(ctx)
	// Cleanups run last-in first-out: the roles are dropped after the database.
	t.Cleanup(func() {
		if conn, err := pgx.Connect(ctx, base); err == nil {
			conn.Exec(ctx, "DROP ROLE IF EXISTS "+role)
			conn.Exec(ctx, "DROP ROLE IF EXISTS "+adminRole)
			conn.Close(ctx)
		}
	})
	adminDSN := sqldbtest.DSN(t)
	if adminKind != "superuser" {
		if _, err := super.Exec(ctx, "CREATE ROLE "+adminRole+" LOGIN "+adminKind); err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(adminDSN)
		u.User = url.User(adminRole)
		adminDSN = u.String()
	}
	db, err := sqldb.Open(ctx, adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Replicas starting together run it at once; then a later run changes the password.
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- sqldb.EnsureOwnerRole(ctx, adminDSN, role, "first-pass'word") }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent run: %v", err)
		}
	}
	if err := sqldb.EnsureOwnerRole(ctx, adminDSN, role, "second-password"); err != nil {
		t.Fatal(err)
	}

	admin, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var owner string
	var isSuper, createDB, createRole, login bool
	if err := admin.QueryRow(ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()`).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	if owner != role {
		t.Errorf("database owner = %s, want %s", owner, role)
	}
	if err := admin.QueryRow(ctx, `SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = $1`, role).
		Scan(&isSuper, &createDB, &createRole, &login); err != nil {
		t.Fatal(err)
	}
	if isSuper || createDB || createRole || !login {
		t.Errorf("role rights: superuser %v, createdb %v, createrole %v, login %v; want a plain login role", isSuper, createDB, createRole, login)
	}
	var others []string
	rows, _ := admin.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'S') AND pg_get_userbyid(c.relowner) <> $1`, role)
	if others, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if len(others) > 0 {
		t.Errorf("relations not owned by %s: %v", role, others)
	}
	var hash string
	if err := super.QueryRow(ctx, `SELECT coalesce(rolpassword, '') FROM pg_authid WHERE rolname = $1`, role).Scan(&hash); err != nil || hash == "" {
		t.Error("the role has no password")
	}

	// The role can open (and so migrate) and write its database.
	u, _ := url.Parse(adminDSN)
	u.User = url.UserPassword(role, "second-password")
	app, err := sqldb.Open(ctx, u.String())
	if err != nil {
		t.Fatalf("open as %s: %v", role, err)
	}
	defer app.Close()
	if _, err := app.SQL().ExecContext(ctx, `CREATE TABLE role_can_create (id int)`); err != nil {
		t.Errorf("create a table as %s: %v", role, err)
	}
	if _, err := app.ListUsers(ctx); err != nil {
		t.Errorf("read as %s: %v", role, err)
	}
}
