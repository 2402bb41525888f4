package web

import (
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/auth"
)

// loginData is the login page's model.
type loginData struct {
	Email   string
	Next    string
	Expired bool
	Error   string
	Token   string // double-submit CSRF token, also in the login cookie
}

// loginPage shows the sign-in form. A visitor with a valid session goes
// straight on.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if s, _ := h.loadSession(w, r); s != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	d := &loginData{Next: next, Expired: r.URL.Query().Get("expired") == "1"}
	h.renderLogin(w, r, http.StatusOK, d)
}

func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, d *loginData) {
	d.Token = randomToken(18)
	setCookie(w, r, loginCookie, d.Token, 3600)
	h.render(w, r, status, "login.html", &view{Title: "Sign in", Data: d})
}

// loginSubmit checks the password and starts a session. Failures are
// throttled with the API's, per account and client address and per address.
func (h *Handler) loginSubmit(w http.ResponseWriter, r *http.Request) {
	email := r.PostFormValue("email")
	password := r.PostFormValue("password")
	d := &loginData{Email: email, Next: safeNext(r.PostFormValue("next"))}
	c, err := r.Cookie(loginCookie)
	token := r.PostFormValue("csrf_token")
	if err != nil || token == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(token)) != 1 {
		d.Error = "The sign-in form expired. Please try again."
		h.renderLogin(w, r, http.StatusForbidden, d)
		return
	}
	u, err := h.auth.Login(r.Context(), email, password, h.auth.ClientIP(r))
	var limited *auth.RateLimitError
	switch {
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", limited.RetryAfter())
		d.Error = "Too many failed sign-in attempts. Try again in a few minutes."
		h.renderLogin(w, r, http.StatusTooManyRequests, d)
		return
	case dtbase.ErrorCode(err) == dtbase.EUNAUTHORIZED:
		d.Error = "Incorrect email or password."
		h.renderLogin(w, r, http.StatusUnauthorized, d)
		return
	case err != nil:
		h.log.Error("login", "err", err)
		d.Error = "The server could not check your password. Try again shortly."
		h.renderLogin(w, r, http.StatusInternalServerError, d)
		return
	}
	setCookie(w, r, loginCookie, "", -1)
	if err := h.startSession(w, r, u); err != nil {
		h.log.Error("login: start session", "err", err)
		d.Error = "The server could not start your session. Try again shortly."
		h.renderLogin(w, r, http.StatusInternalServerError, d)
		return
	}
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

// logout ends the session on the server, so a copy of the cookie is no
// longer accepted, and clears the cookie.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	s, _ := h.loadSession(w, r)
	if r.Method == http.MethodPost && s != nil && !s.checkCSRF(r) {
		h.errorPage(w, r, s, http.StatusForbidden, "Form expired", "Reload the page and sign out again.")
		return
	}
	if s != nil {
		if c, err := r.Cookie(sessionCookie); err == nil {
			if err := h.auth.EndWebSession(r.Context(), c.Value); err != nil {
				h.fail(w, r, s, err)
				return
			}
		}
	}
	setCookie(w, r, sessionCookie, "", -1)
	setFlash(w, r, "success", "You have signed out.")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
