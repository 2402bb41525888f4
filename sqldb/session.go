package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dtbase/dtbase"
)

var (
	_ dtbase.SessionStore       = (*DB)(nil)
	_ dtbase.LoginThrottleStore = (*DB)(nil)
)

// CreateSession stores a new session.
func (db *DB) CreateSession(ctx context.Context, s *dtbase.Session) error {
	s.Created = db.Now()
	_, err := db.write.ExecContext(ctx,
		`INSERT INTO auth_session (id, user_id, refresh_id, time_created, expires) VALUES ($1, $2, $3, $4, $5)`,
		s.ID, s.UserID, nullString(s.RefreshID), micros(s.Created), micros(s.Expires))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// FindSession returns an unrevoked session that has not expired at now, and
// its user, in one indexed lookup or from the lookups of the last
// AuthCacheTTL; ENOTFOUND otherwise.
func (db *DB) FindSession(ctx context.Context, id string, now time.Time) (*dtbase.Session, *dtbase.User, error) {
	if s, u, ok := db.auth.session(id, now); ok {
		return s, u, nil
	}
	epoch := db.auth.epoch.Load()
	s, u, err := db.FindSessionUncached(ctx, id, now)
	if err == nil {
		db.auth.putSession(epoch, s, u)
	}
	return s, u, err
}

// FindSessionUncached is FindSession always asking the database: for a
// refresh, which must see a rotation made by another replica.
func (db *DB) FindSessionUncached(ctx context.Context, id string, now time.Time) (*dtbase.Session, *dtbase.User, error) {
	s := dtbase.Session{ID: id}
	var refresh sql.NullString
	var created, expires int64
	u, err := scanUser(db.queryRow(ctx, db.read,
		`SELECT u.id, u.email, u.password_hash, u.role, u.time_created, u.session_version, s.refresh_id, s.time_created, s.expires
		 FROM auth_session s JOIN app_user u ON u.id = s.user_id
		 WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires > $2`, id, micros(now)), &refresh, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, dtbase.Errorf(dtbase.ENOTFOUND, "Session has ended")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find session: %w", err)
	}
	s.UserID, s.RefreshID, s.Created, s.Expires = u.ID, refresh.String, fromMicros(created), fromMicros(expires)
	return &s, u, nil
}

// RotateSession replaces the refresh id old with next. A stale old id means
// a refresh token was used twice: the session is revoked and ECONFLICT
// returned, so neither copy works again.
func (db *DB) RotateSession(ctx context.Context, id, old, next string, expires time.Time) error {
	defer db.auth.invalidate()
	res, err := db.write.ExecContext(ctx,
		`UPDATE auth_session SET refresh_id = $1, expires = $2 WHERE id = $3 AND refresh_id = $4 AND revoked_at IS NULL`,
		next, micros(expires), id, old)
	if err != nil {
		return fmt.Errorf("rotate session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	res, err = db.write.ExecContext(ctx, `UPDATE auth_session SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, micros(db.Now()), id)
	if err != nil {
		return fmt.Errorf("revoke reused session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return dtbase.Errorf(dtbase.ENOTFOUND, "Session has ended")
	}
	return dtbase.Errorf(dtbase.ECONFLICT, "Refresh token reused; the session has been ended")
}

// ExtendSession moves the expiry of an active session.
func (db *DB) ExtendSession(ctx context.Context, id string, expires time.Time) error {
	defer db.auth.invalidate()
	return db.exec(ctx, "extend session", `UPDATE auth_session SET expires = $1 WHERE id = $2 AND revoked_at IS NULL`, micros(expires), id)
}

// RevokeSession ends one session; ending an ended one is not an error.
func (db *DB) RevokeSession(ctx context.Context, id string) error {
	defer db.auth.invalidate()
	return db.exec(ctx, "revoke session", `UPDATE auth_session SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, micros(db.Now()), id)
}

// EndUserSessions increments the user's session version, which every token
// and cookie carries, and drops the user's session rows.
func (db *DB) EndUserSessions(ctx context.Context, userID int64) error {
	defer db.auth.invalidate()
	return db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE app_user SET session_version = session_version + 1 WHERE id = $1`, userID)
		if err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return dtbase.Errorf(dtbase.ENOTFOUND, "User doesn't exist")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM auth_session WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return nil
	})
}

// DeleteExpiredSessions removes sessions that expired before t.
func (db *DB) DeleteExpiredSessions(ctx context.Context, before time.Time) error {
	return db.exec(ctx, "delete expired sessions", `DELETE FROM auth_session WHERE expires < $1`, micros(before))
}

// LoginFailures returns the records of the keys that have one.
func (db *DB) LoginFailures(ctx context.Context, keys []string) (map[string]dtbase.LoginFailures, error) {
	out := map[string]dtbase.LoginFailures{}
	for _, k := range keys {
		var n int
		var last int64
		err := db.read.QueryRowContext(ctx, `SELECT failures, last_failure FROM login_throttle WHERE key = $1`, k).Scan(&n, &last)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("login failures: %w", err)
		}
		out[k] = dtbase.LoginFailures{Count: n, Last: fromMicros(last)}
	}
	return out, nil
}

// RecordLoginFailure counts a failure under each key, atomically, so that
// concurrent replicas never lose a count.
func (db *DB) RecordLoginFailure(ctx context.Context, keys []string, now, resetBefore time.Time) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			_, err := tx.ExecContext(ctx,
				`INSERT INTO login_throttle (key, failures, last_failure) VALUES ($1, 1, $2)
				 ON CONFLICT (key) DO UPDATE SET
				   failures = CASE WHEN login_throttle.last_failure < $3 THEN 1 ELSE login_throttle.failures + 1 END,
				   last_failure = excluded.last_failure`, k, micros(now), micros(resetBefore))
			if err != nil {
				return fmt.Errorf("record login failure: %w", err)
			}
		}
		return nil
	})
}

// ClearLoginFailures forgets a key.
func (db *DB) ClearLoginFailures(ctx context.Context, key string) error {
	return db.exec(ctx, "clear login failures", `DELETE FROM login_throttle WHERE key = $1`, key)
}

// DeleteLoginFailures removes records whose last failure was before t.
func (db *DB) DeleteLoginFailures(ctx context.Context, before time.Time) error {
	return db.exec(ctx, "delete login failures", `DELETE FROM login_throttle WHERE last_failure < $1`, micros(before))
}
