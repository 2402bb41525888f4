// Package auth is who may do what in dtbase, for the API and the web
// interface alike: password hashing and policy, login with throttling and
// uniform timing, access and refresh tokens bound to revocable sessions, API
// keys, and browser sessions.
//
// Every token and session cookie names the user by id and carries the user's
// session version; each request checks both, and the session, in one
// indexed lookup, so a password or role change, a deletion or "sign out
// everywhere" takes effect on every replica at the next request.
package auth

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dtbase/dtbase"
)

// Store is what authentication keeps in the database.
type Store interface {
	dtbase.UserStore
	dtbase.SessionStore
	dtbase.LoginThrottleStore
}

// uncachedSessions is implemented by a store that answers FindSession
// from recent lookups: a refresh asks the database, so that a rotation
// made by another replica is seen at once.
type uncachedSessions interface {
	FindSessionUncached(ctx context.Context, id string, now time.Time) (*dtbase.Session, *dtbase.User, error)
}

// Config holds the settings of an Auth.
type Config struct {
	Store  Store
	Secret []byte // HS256 key of tokens; the web session key derives from it

	AccessTTL    time.Duration // lifetime of an access token (default 1 h)
	RefreshGrace time.Duration // a refresh token lives AccessTTL + RefreshGrace
	SessionTTL   time.Duration // idle timeout of a browser session (default AccessTTL)

	BcryptCost int    // cost of new password hashes (default 12)
	Policy     Policy // rule for new passwords
	Throttle   Throttle
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client (DT_TRUSTED_PROXIES); without them the peer is the client.
	TrustedProxies []*net.IPNet

	Logger *slog.Logger
	// Now returns the current instant; tests replace it.
	Now func() time.Time
}

// Auth authenticates logins and requests. One Auth serves the API and the
// web interface, so both share one login throttle.
type Auth struct {
	cfg       Config
	store     Store
	webKey    []byte
	dummy     func() []byte
	lastPrune atomic.Int64
}

// New returns an Auth with defaults filled in.
func New(cfg Config) *Auth {
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = time.Hour
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = cfg.AccessTTL
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = 12
	}
	if cfg.Throttle == (Throttle{}) {
		cfg.Throttle = DefaultThrottle
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &Auth{cfg: cfg, store: cfg.Store, webKey: deriveKey(cfg.Secret, "dtbase web session v2")}
	// The dummy hash has the cost of real ones, so a login for an unknown
	// email takes as long as a wrong password (it is made on first use).
	a.dummy = sync.OnceValue(func() []byte {
		var b [16]byte
		rand.Read(b[:])
		h, err := bcrypt.GenerateFromPassword(b[:], cfg.BcryptCost)
		if err != nil {
			panic(err) // only an invalid cost, a programming error
		}
		return h
	})
	return a
}

func (a *Auth) now() time.Time { return a.cfg.Now().UTC() }

// Policy returns the password policy.
func (a *Auth) Policy() Policy { return a.cfg.Policy }

// HashNewPassword checks password against the policy and hashes it; the
// error is EUNPROCESSABLE with a message for the user.
func (a *Auth) HashNewPassword(password string) ([]byte, error) {
	if err := a.cfg.Policy.Check(password); err != nil {
		return nil, err
	}
	return HashPassword(password, a.cfg.BcryptCost)
}

// HashPassword hashes a password at the configured cost without the policy
// check, for passwords the operator sets in the environment.
func (a *Auth) HashPassword(password string) ([]byte, error) {
	return HashPassword(password, a.cfg.BcryptCost)
}

// Login checks an email and password from a client address. A wrong
// password and an unknown email both cost one bcrypt check at the
// configured cost and both answer EUNAUTHORIZED MsgBadLogin; too many
// failures answer a *RateLimitError.
func (a *Auth) Login(ctx context.Context, email, password, clientIP string) (*dtbase.User, error) {
	now := a.now()
	keys := a.cfg.Throttle.keys(email, clientIP)
	if wait, err := a.wait(ctx, keys, now); err != nil {
		return nil, err
	} else if wait > 0 {
		return nil, &RateLimitError{Wait: wait}
	}
	u, err := a.store.FindUserByEmail(ctx, email)
	if err != nil && dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		return nil, err
	}
	hash := a.dummy()
	if u != nil {
		hash = u.PasswordHash
	}
	ok := CheckPassword(hash, password)
	if u == nil || !ok || password == "" {
		if err := a.store.RecordLoginFailure(ctx, []string{keys.account, keys.address}, now, now.Add(-a.cfg.Throttle.Reset)); err != nil {
			return nil, err
		}
		a.prune(ctx, now)
		return nil, unauthorized(MsgBadLogin)
	}
	if err := a.store.ClearLoginFailures(ctx, keys.account); err != nil {
		return nil, err
	}
	return u, nil
}

// prune deletes expired sessions and stale throttle records, at most every
// ten minutes per process, so that both tables stay as small as the
// sessions and guesses of the last hours.
func (a *Auth) prune(ctx context.Context, now time.Time) {
	last := a.lastPrune.Load()
	if now.UnixNano()-last < int64(10*time.Minute) || !a.lastPrune.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	if err := a.store.DeleteLoginFailures(ctx, now.Add(-a.cfg.Throttle.Reset)); err != nil {
		a.cfg.Logger.Warn("prune login throttle", "err", err)
	}
	if err := a.store.DeleteExpiredSessions(ctx, now); err != nil {
		a.cfg.Logger.Warn("prune sessions", "err", err)
	}
}

// TokenPair is the answer of login and refresh.
type TokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// IssueTokens starts an API session for u and returns its first pair.
func (a *Auth) IssueTokens(ctx context.Context, u *dtbase.User) (TokenPair, error) {
	now := a.now()
	s := &dtbase.Session{ID: randomID(18), UserID: u.ID, RefreshID: randomID(18), Expires: now.Add(a.cfg.AccessTTL + a.cfg.RefreshGrace)}
	if err := a.store.CreateSession(ctx, s); err != nil {
		return TokenPair{}, err
	}
	a.prune(ctx, now)
	return a.pair(u, s.ID, s.RefreshID, now)
}

func (a *Auth) pair(u *dtbase.User, sid, refreshID string, now time.Time) (TokenPair, error) {
	sv := u.SessionVersion
	c := claims{Sub: u.Email, TokenType: "access", Exp: now.Add(a.cfg.AccessTTL).Unix(), UID: u.ID, SV: &sv, SID: sid}
	access, err := sign(a.cfg.Secret, c)
	if err != nil {
		return TokenPair{}, err
	}
	c.TokenType, c.Exp, c.JTI = "refresh", now.Add(a.cfg.AccessTTL+a.cfg.RefreshGrace).Unix(), refreshID
	refresh, err := sign(a.cfg.Secret, c)
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{access, refresh}, nil
}

// Credential is a verified bearer credential.
type Credential struct {
	Principal dtbase.Principal
	user      *dtbase.User
	refreshID string
}

// Authenticate checks the Authorization header of a request in the
// original's order (dtbase-api.md §4.2): scheme, signature and expiry, claim
// types, user, token type; then the session, which a change of password or
// role, a deletion or a sign-out ends. An API key is accepted wherever an
// access token is. Errors are EUNAUTHORIZED with the original's texts, or a
// *NotAuthenticatedError.
func (a *Auth) Authenticate(ctx context.Context, authorization string, wantRefresh bool) (*Credential, error) {
	scheme, token, _ := strings.Cut(authorization, " ")
	if !strings.EqualFold(scheme, "bearer") {
		return nil, &NotAuthenticatedError{}
	}
	if strings.HasPrefix(token, APIKeyPrefix) && !wantRefresh {
		k, err := a.store.FindAPIKeyByHash(ctx, HashAPIKey(token))
		if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
			return nil, unauthorized(MsgInvalid)
		}
		if err != nil {
			return nil, err
		}
		return &Credential{Principal: dtbase.Principal{Email: "apikey:" + k.Name, Role: k.Role, APIKeyID: k.ID}}, nil
	}
	now := a.now()
	mc, err := parse(a.cfg.Secret, token, now)
	if err != nil {
		return nil, err
	}
	sub, kind := mc["sub"].(string), mc["token_type"].(string)
	if kind == dtbase.ServiceTokenType && sub == dtbase.ServiceRunnerPrincipal && !wantRefresh {
		// The service runner's short-lived token for our own endpoints
		// (built-in services); only the server's secret can sign one.
		return &Credential{Principal: dtbase.Principal{Email: dtbase.ServiceRunnerPrincipal, Role: dtbase.RoleEditor}}, nil
	}
	want := "access"
	if wantRefresh {
		want = "refresh"
	}
	uid, okUID := intClaim(mc, "uid")
	sv, okSV := intClaim(mc, "sv")
	sid, okSID := mc["sid"].(string)
	if !okUID || !okSV || !okSID {
		// A token without a session (signed before sessions existed, or
		// forged with a leaked secret) is refused; the original's order
		// of user and type checks still decides the text.
		if _, err := a.store.FindUserByEmail(ctx, sub); dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
			return nil, unauthorized(MsgInvalid)
		} else if err != nil {
			return nil, err
		}
		if kind != want {
			return nil, unauthorized(MsgWrongType)
		}
		return nil, unauthorized(MsgInvalid)
	}
	find := a.store.FindSession
	if fresh, ok := a.store.(uncachedSessions); ok && wantRefresh {
		find = fresh.FindSessionUncached
	}
	s, u, err := find(ctx, sid, now)
	if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
		return nil, unauthorized(MsgInvalid)
	}
	if err != nil {
		return nil, err
	}
	if u.ID != uid || u.SessionVersion != sv || u.Email != sub {
		return nil, unauthorized(MsgInvalid)
	}
	if kind != want {
		return nil, unauthorized(MsgWrongType)
	}
	c := &Credential{Principal: dtbase.Principal{Email: u.Email, Role: u.Role, UserID: u.ID, SessionID: s.ID}, user: u}
	if wantRefresh {
		jti, _ := mc["jti"].(string)
		if s.RefreshID == "" || jti != s.RefreshID {
			// An older refresh token of this family: someone kept a copy.
			// End the family so neither copy works again.
			if err := a.store.RevokeSession(ctx, s.ID); err != nil {
				return nil, err
			}
			a.cfg.Logger.Warn("refresh token reused; session ended", "user_id", u.ID)
			return nil, unauthorized(MsgInvalid)
		}
		c.refreshID = jti
	}
	return c, nil
}

// Refresh rotates the refresh token of a verified refresh credential and
// returns a new pair; the old refresh token is spent.
func (a *Auth) Refresh(ctx context.Context, c *Credential) (TokenPair, error) {
	if c == nil || c.user == nil || c.refreshID == "" {
		return TokenPair{}, unauthorized(MsgInvalid)
	}
	now := a.now()
	next := randomID(18)
	err := a.store.RotateSession(ctx, c.Principal.SessionID, c.refreshID, next, now.Add(a.cfg.AccessTTL+a.cfg.RefreshGrace))
	switch dtbase.ErrorCode(err) {
	case "":
	case dtbase.ECONFLICT, dtbase.ENOTFOUND:
		return TokenPair{}, unauthorized(MsgInvalid)
	default:
		return TokenPair{}, err
	}
	return a.pair(c.user, c.Principal.SessionID, next, now)
}

// SignOutEverywhere ends every session of a user: tokens, refresh tokens
// and browser sessions, on every replica.
func (a *Auth) SignOutEverywhere(ctx context.Context, userID int64) error {
	return a.store.EndUserSessions(ctx, userID)
}
