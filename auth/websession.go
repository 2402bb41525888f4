package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

// WebSession is a signed-in browser. Its cookie holds the user's id and
// session version, the session id and the expiry, signed with a key derived
// from the server secret; every request also finds the session and its user
// in the database, so signing out, a deleted user, a changed role or a
// changed password ends it at once.
type WebSession struct {
	User    *dtbase.User
	ID      string // stable for the session's life; the CSRF token derives from it
	Expires time.Time
	CSRF    string
	// Renewed is a new cookie value when the session slid forward, else "".
	Renewed string
}

// CookieState says what a request's session cookie amounted to.
type CookieState int

// The states of a session cookie.
const (
	CookieNone    CookieState = iota // no cookie: never signed in here
	CookieValid                      // a good session
	CookieExpired                    // a genuine session that timed out or was ended
	CookieBad                        // garbage or a forged value
)

var b64 = base64.RawURLEncoding

// deriveKey derives a key for one purpose from the server secret, so that a
// session cookie can never be mistaken for an API token or the other way
// round.
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

func (a *Auth) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, a.webKey)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// csrfToken is the form token of a session: an HMAC of its id, so it needs
// no storage and stays the same while the session slides forward.
func (a *Auth) csrfToken(sid string) string { return b64.EncodeToString(a.mac("csrf", sid)[:18]) }

func (a *Auth) encodeCookie(uid int64, sid string, sv int64, exp time.Time) string {
	body := strings.Join([]string{"v2", strconv.FormatInt(uid, 10), sid, strconv.FormatInt(sv, 10), strconv.FormatInt(exp.Unix(), 10)}, ".")
	return body + "." + b64.EncodeToString(a.mac("session", body))
}

type cookieValue struct {
	uid, sv int64
	sid     string
	exp     time.Time
}

func (a *Auth) decodeCookie(value string, now time.Time) (cookieValue, CookieState) {
	parts := strings.Split(value, ".")
	if len(parts) != 6 || parts[0] != "v2" {
		return cookieValue{}, CookieBad
	}
	body := strings.Join(parts[:5], ".")
	sig, err := b64.DecodeString(parts[5])
	if err != nil || !hmac.Equal(sig, a.mac("session", body)) {
		return cookieValue{}, CookieBad
	}
	uid, err1 := strconv.ParseInt(parts[1], 10, 64)
	sv, err2 := strconv.ParseInt(parts[3], 10, 64)
	exp, err3 := strconv.ParseInt(parts[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return cookieValue{}, CookieBad
	}
	v := cookieValue{uid: uid, sv: sv, sid: parts[2], exp: time.Unix(exp, 0)}
	if !now.Before(v.exp) {
		return v, CookieExpired
	}
	return v, CookieValid
}

// StartWebSession starts a browser session for u and returns its cookie
// value.
func (a *Auth) StartWebSession(ctx context.Context, u *dtbase.User) (string, error) {
	exp := a.now().Add(a.cfg.SessionTTL)
	s := &dtbase.Session{ID: randomID(12), UserID: u.ID, Expires: exp}
	if err := a.store.CreateSession(ctx, s); err != nil {
		return "", err
	}
	a.prune(ctx, exp.Add(-a.cfg.SessionTTL))
	return a.encodeCookie(u.ID, s.ID, u.SessionVersion, exp), nil
}

// WebSession checks a session cookie value. A valid session whose remaining
// life is under half the TTL is renewed (Renewed is set), so the TTL is an
// idle timeout. The error is a database failure (the state is then
// CookieExpired).
func (a *Auth) WebSession(ctx context.Context, value string) (*WebSession, CookieState, error) {
	now := a.now()
	v, state := a.decodeCookie(value, now)
	if state != CookieValid {
		return nil, state, nil
	}
	s, u, err := a.store.FindSession(ctx, v.sid, now)
	if dtbase.ErrorCode(err) == dtbase.ENOTFOUND {
		return nil, CookieExpired, nil
	}
	if err != nil {
		return nil, CookieExpired, err
	}
	if u.ID != v.uid || u.SessionVersion != v.sv || s.RefreshID != "" {
		return nil, CookieExpired, nil
	}
	ws := &WebSession{User: u, ID: s.ID, Expires: v.exp, CSRF: a.csrfToken(s.ID)}
	if v.exp.Sub(now) < a.cfg.SessionTTL/2 {
		ws.Expires = now.Add(a.cfg.SessionTTL)
		if err := a.store.ExtendSession(ctx, s.ID, ws.Expires); err != nil {
			return nil, CookieExpired, err
		}
		ws.Renewed = a.encodeCookie(u.ID, s.ID, u.SessionVersion, ws.Expires)
	}
	return ws, CookieValid, nil
}

// EndWebSession ends the browser session of a cookie value, if it is one.
func (a *Auth) EndWebSession(ctx context.Context, value string) error {
	v, state := a.decodeCookie(value, a.now())
	if state == CookieBad {
		return nil
	}
	return a.store.RevokeSession(ctx, v.sid)
}

// CheckCSRF reports whether token is the session's form token.
func (s *WebSession) CheckCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}
