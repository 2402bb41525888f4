package sqldb

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/dtbase/dtbase"
)

var _ dtbase.UserStore = (*DB)(nil)

// CreateUser adds a user and sets its ID; ECONFLICT if the email is taken.
func (db *DB) CreateUser(ctx context.Context, u *dtbase.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		u.Created = db.Now()
		err := tx.QueryRowContext(ctx,
			`INSERT INTO app_user (email, password_hash, role, time_created) VALUES ($1, $2, $3, $4) RETURNING id`,
			u.Email, u.PasswordHash, string(u.Role), micros(u.Created)).Scan(&u.ID)
		return stmtErr(err, isUniqueViolation, dtbase.Errorf(dtbase.ECONFLICT, "User already exists"), "create user")
	})
}

// FindUserByEmail returns the user; ENOTFOUND if there is none.
func (db *DB) FindUserByEmail(ctx context.Context, email string) (*dtbase.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM app_user WHERE email = $1`, email))
	if err := stmtErr(err, isNoRows, dtbase.Errorf(dtbase.ENOTFOUND, "User doesn't exist"), "find user"); err != nil {
		return nil, err
	}
	return u, nil
}

const userColumns = `id, email, password_hash, role, time_created, session_version`

func scanUser(row scanner, extra ...any) (*dtbase.User, error) {
	var u dtbase.User
	var created int64
	var role string
	if err := row.Scan(append([]any{&u.ID, &u.Email, &u.PasswordHash, &role, &created, &u.SessionVersion}, extra...)...); err != nil {
		return nil, err
	}
	u.Role, u.Created = dtbase.Role(role), fromMicros(created)
	return &u, nil
}

// ListUsers returns all users in id order, without password hashes.
func (db *DB) ListUsers(ctx context.Context) ([]dtbase.User, error) {
	return queryAll(ctx, db.read, "list users", func(rows *sql.Rows, u *dtbase.User) error {
		var role string
		var created int64
		err := rows.Scan(&u.ID, &u.Email, &role, &created)
		u.Role, u.Created = dtbase.Role(role), fromMicros(created)
		return err
	}, `SELECT id, email, role, time_created FROM app_user ORDER BY id`)
}

// DeleteUser removes a user; ENOTFOUND if there is none.
func (db *DB) DeleteUser(ctx context.Context, email string) error {
	defer db.auth.invalidate() // after the commit: see authCache
	return db.execOne(ctx, "delete user", "User doesn't exist", `DELETE FROM app_user WHERE email = $1`, email)
}

// SetPassword replaces a user's password hash and ends the user's sessions
// by moving the session version on; ENOTFOUND if there is none.
func (db *DB) SetPassword(ctx context.Context, email string, hash []byte) error {
	defer db.auth.invalidate() // after the commit: see authCache
	return db.execOne(ctx, "set password", "User doesn't exist",
		`UPDATE app_user SET password_hash = $1, time_updated = $2, session_version = session_version + 1 WHERE email = $3`, hash, micros(db.Now()), email)
}

// SetRole changes a user's role and ends the user's sessions; ENOTFOUND if
// there is none.
func (db *DB) SetRole(ctx context.Context, email string, role dtbase.Role) error {
	defer db.auth.invalidate() // after the commit: see authCache
	return db.execOne(ctx, "set role", "User doesn't exist",
		`UPDATE app_user SET role = $1, time_updated = $2, session_version = session_version + 1 WHERE email = $3`, string(role), micros(db.Now()), email)
}

// CountAdmins returns the number of admin users.
func (db *DB) CountAdmins(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM app_user WHERE role = 'admin'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count admins: %w", err)
	}
	return n, nil
}

// execOne runs a statement that must touch exactly one row; otherwise it
// returns ENOTFOUND with the given message.
func (db *DB) execOne(ctx context.Context, op, notFound, query string, args ...any) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return dtbase.Errorf(dtbase.ENOTFOUND, "%s", notFound)
		}
		return nil
	})
}

// CreateAPIKey stores a key whose secret hashes to hash, and sets its ID;
// ECONFLICT if an active key has the same name.
func (db *DB) CreateAPIKey(ctx context.Context, k *dtbase.APIKey, hash []byte) error {
	if err := k.Validate(); err != nil {
		return err
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		k.Created = db.Now()
		err := tx.QueryRowContext(ctx,
			`INSERT INTO api_key (name, role, prefix, key_hash, created_by, time_created) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			k.Name, string(k.Role), k.Prefix, hash, k.CreatedBy, micros(k.Created)).Scan(&k.ID)
		return stmtErr(err, isUniqueViolation, dtbase.Errorf(dtbase.ECONFLICT, "API key %q exists already", k.Name), "create api key")
	})
}

const apiKeyColumns = `id, name, role, prefix, created_by, time_created, last_used, revoked_at`

func scanAPIKey(row interface{ Scan(...any) error }) (*dtbase.APIKey, error) {
	var k dtbase.APIKey
	var role string
	var created int64
	var used, revoked sql.NullInt64
	if err := row.Scan(&k.ID, &k.Name, &role, &k.Prefix, &k.CreatedBy, &created, &used, &revoked); err != nil {
		return nil, err
	}
	k.Role, k.Created, k.LastUsed, k.Revoked = dtbase.Role(role), fromMicros(created), nullMicros(used), nullMicros(revoked)
	return &k, nil
}

// FindAPIKeyByHash returns the active key with this hash; ENOTFOUND if it
// does not exist or was revoked. Its last use is recorded at most once a
// minute, so authenticating does not turn every read into a write.
func (db *DB) FindAPIKeyByHash(ctx context.Context, hash []byte) (*dtbase.APIKey, error) {
	if k, ok := db.auth.key(hash); ok {
		return k, nil
	}
	epoch := db.auth.epoch.Load()
	k, err := scanAPIKey(db.queryRow(ctx, db.read,
		`SELECT `+apiKeyColumns+` FROM api_key WHERE key_hash = $1 AND revoked_at IS NULL`, hash))
	if err := stmtErr(err, isNoRows, dtbase.Errorf(dtbase.ENOTFOUND, "API key not found"), "find api key"); err != nil {
		return nil, err
	}
	now := db.Now()
	if k.LastUsed == nil || now.Sub(*k.LastUsed).Minutes() >= 1 {
		if _, err := db.write.ExecContext(ctx, `UPDATE api_key SET last_used = $1 WHERE id = $2`, micros(now), k.ID); err != nil {
			return nil, fmt.Errorf("record api key use: %w", err)
		}
	}
	db.auth.putKey(epoch, hash, k)
	return k, nil
}

// ListAPIKeys returns all keys, revoked ones included, in id order.
func (db *DB) ListAPIKeys(ctx context.Context) ([]dtbase.APIKey, error) {
	return queryAll(ctx, db.read, "list api keys", func(rows *sql.Rows, k *dtbase.APIKey) error {
		got, err := scanAPIKey(rows)
		if err == nil {
			*k = *got
		}
		return err
	}, `SELECT `+apiKeyColumns+` FROM api_key ORDER BY id`)
}

// RevokeAPIKey revokes the active key with this name; ENOTFOUND if none.
func (db *DB) RevokeAPIKey(ctx context.Context, name string) error {
	defer db.auth.invalidate() // after the commit: see authCache
	return db.execOne(ctx, "revoke api key", "API key does not exist",
		`UPDATE api_key SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL`, micros(db.Now()), name)
}

// GetOrCreateSetting returns the stored value of key, storing value first
// if the key is absent. Concurrent callers all get the same value.
func (db *DB) GetOrCreateSetting(ctx context.Context, key, value string) (string, error) {
	var out string
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO setting (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM setting WHERE key = $1`, key).Scan(&out)
	})
	if err != nil {
		return "", fmt.Errorf("setting %s: %w", key, err)
	}
	return out, nil
}
