package sqldb

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// roleLockID is the advisory lock that serialises EnsureOwnerRole.
const roleLockID = 0x64746261_726f6c65 // "dtbarole"

// EnsureOwnerRole prepares a PostgreSQL database for an application role
// with no more rights than it needs: connected as an administrator through
// adminDSN (which names the database), it creates the database when missing,
// creates role as a plain login role with password (or sets the password of
// an existing one, so running it again rotates the password), and makes role
// the owner of the database and of the tables, views and sequences in its
// public schema that the administrator owns (left there by an application
// that used to connect as the administrator). The role gets neither
// superuser, CREATEDB nor CREATEROLE.
//
// On PostgreSQL 16 an administrator that is not a superuser (Azure's server
// admin) may only give a database to a role it can SET ROLE to, so the
// administrator is granted membership in role first.
func EnsureOwnerRole(ctx context.Context, adminDSN, role, password string) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("prepare role %q: %w", role, err)
		}
	}()
	if role == "" || password == "" {
		return errors.New("a role name and a password are required")
	}
	if err := createDatabaseIfMissing(ctx, adminDSN); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return fmt.Errorf("connect as administrator: %w", err)
	}
	defer conn.Close(ctx)

	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	// Replicas starting together run this at once: one at a time, each sees the others' role.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, roleLockID); err != nil {
		return err
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
		return err
	}
	// format() quotes the name and the password on the server: DDL takes no
	// bind parameters.
	create := `SELECT format('ALTER ROLE %I WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD %L', $1::text, $2::text)`
	if !exists {
		create = `SELECT format('CREATE ROLE %I WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD %L', $1::text, $2::text)`
	}
	steps := []string{
		create,
		`SELECT format('GRANT %I TO %I', $1::text, current_user) WHERE NOT pg_has_role(current_user, $1::text, 'MEMBER')`,
		`SELECT format('ALTER DATABASE %I OWNER TO %I', current_database(), $1::text)`,
		`SELECT format('ALTER %s %I.%I OWNER TO %I',
				CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
				n.nspname, c.relname, $1::text)
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
				AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
				-- Sequences owned by a column follow their table; partitions,
				-- which depend on their parent too, do not.
				AND (c.relkind <> 'S' OR NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i') AND d.classid = 'pg_class'::regclass))`,
	}
	for _, q := range steps {
		args := []any{role}
		if q == create {
			args = append(args, password)
		}
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		stmts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, stmt := range stmts {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
	}
	return tx.Commit(ctx)
}
