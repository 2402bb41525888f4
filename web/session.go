package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/auth"
)

// Cookie names. The session cookie is the only credential of the web
// interface; the login cookie carries the double-submit CSRF token of the
// login form, the one form that is sent before there is a session.
const (
	sessionCookie = "dtbase_session"
	loginCookie   = "dtbase_login"
	flashCookie   = "dtbase_flash"
)

// session is a signed-in browser (see auth.WebSession): every request
// finds it and its user in the database, so signing out, a deleted user, a
// changed role or a changed password ends it at once.
type session struct{ *auth.WebSession }

// cookieState says what a request's session cookie amounted to.
type cookieState = auth.CookieState

const (
	cookieNone    = auth.CookieNone    // no cookie: never logged in here
	cookieValid   = auth.CookieValid   // a good session
	cookieExpired = auth.CookieExpired // a genuine session that timed out or was ended
	cookieBad     = auth.CookieBad     // garbage or a forged value
)

var b64 = base64.RawURLEncoding

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
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, u *dtbase.User) error {
	value, err := h.auth.StartWebSession(r.Context(), u)
	if err != nil {
		return err
	}
	setCookie(w, r, sessionCookie, value, h.sessionMaxAge())
	return nil
}

// loadSession returns the request's session and what its cookie amounted
// to, renewing the cookie when the session slid forward.
func (h *Handler) loadSession(w http.ResponseWriter, r *http.Request) (*session, cookieState) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, cookieNone
	}
	ws, state, err := h.auth.WebSession(r.Context(), c.Value)
	if err != nil {
		h.log.Error("load session", "err", err)
	}
	if state != cookieValid {
		return nil, state
	}
	if ws.Renewed != "" {
		setCookie(w, r, sessionCookie, ws.Renewed, h.sessionMaxAge())
	}
	return &session{ws}, cookieValid
}

// checkCSRF reports whether a state-changing request carries the session's
// token, in the csrf_token form field or the X-CSRF-Token header.
func (s *session) checkCSRF(r *http.Request) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf_token")
	}
	return s.CheckCSRF(got)
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
