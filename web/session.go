package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

// Cookie names. The session cookie is the only credential of the web
// interface; the login cookie carries the double-submit CSRF token of the
// login form, the one form that is sent before there is a session.
const (
	sessionCookie = "dtbase_session"
	loginCookie   = "dtbase_login"
	flashCookie   = "dtbase_flash"
)

// session is a logged-in browser. It is stateless: the cookie holds the
// user's email, a random session id, the expiry and a tag of the user's
// password hash, signed with a key derived from the server secret. Every
// request re-reads the user, so a deleted user, a changed role or a changed
// password takes effect at once (a new password invalidates every session
// through the tag).
type session struct {
	User    *dtbase.User
	ID      string // random, stable for the session's life; the CSRF token derives from it
	Expires time.Time
	CSRF    string
}

// sessionKeys are derived from the server secret so that a session cookie
// can never be mistaken for an API token or the other way round.
type sessionKeys struct {
	sign []byte
}

func newSessionKeys(secret []byte) sessionKeys {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("dtbase web session v1"))
	return sessionKeys{sign: m.Sum(nil)}
}

func (k sessionKeys) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, k.sign)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

var b64 = base64.RawURLEncoding

// passwordTag binds a session to the password the user had at login.
func (k sessionKeys) passwordTag(hash []byte) string {
	return b64.EncodeToString(k.mac("password", string(hash))[:9])
}

// csrfToken is the form token of a session: an HMAC of its id, so it needs
// no storage and stays the same while the session slides forward.
func (k sessionKeys) csrfToken(sid string) string {
	return b64.EncodeToString(k.mac("csrf", sid)[:18])
}

// encode returns the cookie value of a session.
func (k sessionKeys) encode(email, sid string, exp time.Time, pwTag string) string {
	body := strings.Join([]string{"v1", b64.EncodeToString([]byte(email)), sid, strconv.FormatInt(exp.Unix(), 10), pwTag}, ".")
	return body + "." + b64.EncodeToString(k.mac("session", body))
}

// cookieState says what a request's session cookie amounted to.
type cookieState int

const (
	cookieNone    cookieState = iota // no cookie: never logged in here
	cookieValid                      // a good session
	cookieExpired                    // a genuine session that timed out or was invalidated
	cookieBad                        // garbage or a forged value
)

// decoded is a verified, unexpired cookie before the user is looked up.
type decoded struct {
	email, sid, pwTag string
	exp               time.Time
}

// decode verifies a cookie value's signature and expiry.
func (k sessionKeys) decode(value string, now time.Time) (decoded, cookieState) {
	parts := strings.Split(value, ".")
	if len(parts) != 6 || parts[0] != "v1" {
		return decoded{}, cookieBad
	}
	body := strings.Join(parts[:5], ".")
	sig, err := b64.DecodeString(parts[5])
	if err != nil || !hmac.Equal(sig, k.mac("session", body)) {
		return decoded{}, cookieBad
	}
	email, err := b64.DecodeString(parts[1])
	if err != nil {
		return decoded{}, cookieBad
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return decoded{}, cookieBad
	}
	d := decoded{email: string(email), sid: parts[2], pwTag: parts[4], exp: time.Unix(exp, 0)}
	if !now.Before(d.exp) {
		return d, cookieExpired
	}
	return d, cookieValid
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return b64.EncodeToString(b)
}

// secure reports whether the browser reached us over TLS, directly or
// through a proxy that says so. Trusting X-Forwarded-Proto here can only make
// a cookie stricter.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// setCookie writes an HttpOnly, SameSite=Lax cookie for the whole site,
// Secure when served over TLS. maxAge < 0 deletes it.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
}

// cookieGrace is how long the browser keeps a session cookie after the
// session inside it has expired: the expiry in the signed value is what
// counts, and a browser that still sends the expired cookie lets us say
// "your session has expired" rather than showing a bare login page.
const cookieGrace = 7 * 24 * time.Hour

func (h *Handler) sessionMaxAge() int { return int((h.cfg.SessionTTL + cookieGrace).Seconds()) }

// startSession issues the session cookie for u.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, u *dtbase.User) {
	exp := h.now().Add(h.cfg.SessionTTL)
	setCookie(w, r, sessionCookie, h.keys.encode(u.Email, randomToken(12), exp, h.keys.passwordTag(u.PasswordHash)), h.sessionMaxAge())
}

// loadSession returns the request's session and what its cookie amounted
// to. A valid session whose remaining life is under half the TTL is renewed,
// so the TTL is an idle timeout.
func (h *Handler) loadSession(w http.ResponseWriter, r *http.Request) (*session, cookieState) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, cookieNone
	}
	now := h.now()
	d, state := h.keys.decode(c.Value, now)
	if state != cookieValid {
		return nil, state
	}
	u, err := h.store.FindUserByEmail(r.Context(), d.email)
	if err != nil {
		if dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
			h.log.Error("load session user", "err", err)
		}
		return nil, cookieExpired
	}
	if subtle.ConstantTimeCompare([]byte(d.pwTag), []byte(h.keys.passwordTag(u.PasswordHash))) != 1 {
		return nil, cookieExpired
	}
	s := &session{User: u, ID: d.sid, Expires: d.exp, CSRF: h.keys.csrfToken(d.sid)}
	if d.exp.Sub(now) < h.cfg.SessionTTL/2 {
		s.Expires = now.Add(h.cfg.SessionTTL)
		setCookie(w, r, sessionCookie, h.keys.encode(u.Email, d.sid, s.Expires, d.pwTag), h.sessionMaxAge())
	}
	return s, cookieValid
}

// checkCSRF reports whether a state-changing request carries the session's
// token, in the csrf_token form field or the X-CSRF-Token header.
func (s *session) checkCSRF(r *http.Request) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf_token")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) == 1
}

// safeNext returns target when it is a path on this site, and "/" otherwise,
// so the login redirect can never send a user elsewhere.
func safeNext(target string) string {
	if target == "" || !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") || strings.HasPrefix(target, "/\\") {
		return "/"
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	if u.Path == "/login" || u.Path == "/logout" {
		return "/"
	}
	return u.RequestURI()
}

// returnPath is where a user goes back to after logging in again: the page
// asked for, or for a form sent after the session ended, the page the form
// was on.
func returnPath(r *http.Request) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return r.URL.RequestURI()
	}
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host {
		return ref.RequestURI()
	}
	return "/"
}
