package dtbase

import (
	"context"
	"regexp"
	"time"
)

// Role orders what a principal may do: a viewer reads, an editor also writes
// data and runs services, an admin also manages users and API keys.
type Role string

// The roles, from least to most privileged.
const (
	RoleViewer Role = "viewer"
	RoleEditor Role = "editor"
	RoleAdmin  Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether a principal with role r may do what needs role need.
func (r Role) Allows(need Role) bool { return r.rank() >= need.rank() }

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// DefaultUserEmail is the built-in account the original's services log in as.
const DefaultUserEmail = "default_user@localhost"

// emailPattern is the original's check, applied as a full match.
var emailPattern = regexp.MustCompile(`^\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\b$`)

// ValidEmail reports whether email passes the original's format check.
func ValidEmail(email string) bool { return emailPattern.MatchString(email) }

// User is an account that logs in with an email and a password.
type User struct {
	ID           int64
	Email        string
	Role         Role
	PasswordHash []byte
	Created      time.Time
	// SessionVersion is carried by every token and web session of the user;
	// changing the password or role, or signing out everywhere, increments
	// it and so ends them all.
	SessionVersion int64
}

// APIKey is a long-lived bearer credential for a script or service. Only
// its hash is stored; the secret is shown once, when it is created.
type APIKey struct {
	ID        int64
	Name      string
	Role      Role
	Prefix    string // the first characters of the secret, to recognise it in a list
	CreatedBy string
	Created   time.Time
	LastUsed  *time.Time
	Revoked   *time.Time
}

// Principal is who a request acts as: a user, or an API key.
type Principal struct {
	Email    string // the user's email, or "apikey:<name>" for a key
	Role     Role
	UserID   int64
	APIKeyID int64
	// SessionID is the signed-in session a token belongs to ("" for an API
	// key or the service runner).
	SessionID string
}

// UserStore keeps users and API keys.
type UserStore interface {
	// CreateUser adds a user; ECONFLICT if the email is taken.
	CreateUser(ctx context.Context, u *User) error
	// FindUserByEmail returns the user; ENOTFOUND if there is none.
	FindUserByEmail(ctx context.Context, email string) (*User, error)
	// ListUsers returns all users in id order.
	ListUsers(ctx context.Context) ([]User, error)
	// DeleteUser removes a user; ENOTFOUND if there is none.
	DeleteUser(ctx context.Context, email string) error
	// SetPassword replaces a user's password hash and ends the user's
	// sessions; ENOTFOUND if there is none.
	SetPassword(ctx context.Context, email string, hash []byte) error
	// SetRole changes a user's role and ends the user's sessions; ENOTFOUND
	// if there is none.
	SetRole(ctx context.Context, email string, role Role) error
	// CountAdmins returns the number of admin users.
	CountAdmins(ctx context.Context) (int, error)

	// CreateAPIKey stores a key whose secret hashes to hash.
	CreateAPIKey(ctx context.Context, k *APIKey, hash []byte) error
	// FindAPIKeyByHash returns the active key with this hash and records its
	// use; ENOTFOUND if it does not exist or was revoked.
	FindAPIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	// ListAPIKeys returns all keys, revoked ones included, in id order.
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	// RevokeAPIKey revokes a key by name; ENOTFOUND if no active key has it.
	RevokeAPIKey(ctx context.Context, name string) error
}

// Setting is a small persisted value, such as the generated JWT secret when
// it is kept in the database.
type SettingStore interface {
	// GetOrCreateSetting returns the stored value of key, storing value first
	// if the key is absent. Concurrent callers all get the same value.
	GetOrCreateSetting(ctx context.Context, key, value string) (string, error)
}

// Validate checks the email against MaxEmailLen and the role; EINVALID
// naming the field. The email's format is the caller's check: the original
// accepts any address at login.
func (u *User) Validate() error {
	if err := checkLen("email", u.Email, MaxEmailLen); err != nil {
		return err
	}
	if !u.Role.Valid() {
		return Errorf(EINVALID, "role must be one of viewer, editor or admin, not %q.", string(u.Role))
	}
	return nil
}

// Validate checks the key's name against MaxNameLen; EINVALID naming the
// field.
func (k *APIKey) Validate() error { return checkLen("name", k.Name, MaxNameLen) }

// Session is one sign-in: a browser, or an API token family whose refresh
// token is rotated on every use.
type Session struct {
	ID        string
	UserID    int64
	RefreshID string // the only refresh token of the family still accepted ("" for a browser)
	Created   time.Time
	Expires   time.Time
}

// SessionStore keeps sessions. Ending a user's sessions is also done by
// SetPassword, SetRole and DeleteUser.
type SessionStore interface {
	// CreateSession stores a new session.
	CreateSession(ctx context.Context, s *Session) error
	// FindSession returns an unrevoked, unexpired session and its user;
	// ENOTFOUND otherwise.
	FindSession(ctx context.Context, id string, now time.Time) (*Session, *User, error)
	// RotateSession replaces the session's refresh id old with next and
	// moves its expiry; when old is not the current id (a refresh token used
	// twice) it revokes the session and returns ECONFLICT; ENOTFOUND if the
	// session has ended.
	RotateSession(ctx context.Context, id, old, next string, expires time.Time) error
	// ExtendSession moves the expiry of an active session.
	ExtendSession(ctx context.Context, id string, expires time.Time) error
	// RevokeSession ends one session; ending an ended one is not an error.
	RevokeSession(ctx context.Context, id string) error
	// EndUserSessions increments the user's session version and revokes
	// every session; ENOTFOUND if there is no such user.
	EndUserSessions(ctx context.Context, userID int64) error
	// DeleteExpiredSessions removes sessions that expired before t.
	DeleteExpiredSessions(ctx context.Context, before time.Time) error
}

// LoginFailures is the record of consecutive failed logins under one key.
type LoginFailures struct {
	Count int
	Last  time.Time
}

// LoginThrottleStore counts failed logins, in the database so that every
// replica sees the same counts.
type LoginThrottleStore interface {
	// LoginFailures returns the records of the keys that have one.
	LoginFailures(ctx context.Context, keys []string) (map[string]LoginFailures, error)
	// RecordLoginFailure counts a failure under each key at now, starting
	// over for a key whose last failure was before resetBefore.
	RecordLoginFailure(ctx context.Context, keys []string, now, resetBefore time.Time) error
	// ClearLoginFailures forgets a key (after a successful login).
	ClearLoginFailures(ctx context.Context, key string) error
	// DeleteLoginFailures removes records whose last failure was before t.
	DeleteLoginFailures(ctx context.Context, before time.Time) error
}
