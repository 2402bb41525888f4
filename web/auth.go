package web

import (
	"crypto/subtle"
	"net/http"
	"strconv"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/api"
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
// rate-limited per account and per client address, as on the API.
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
	ip := api.ClientIP(r)
	if wait := h.limiter.Blocked(email, ip, h.now()); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		d.Error = "Too many failed sign-in attempts. Try again in a few minutes."
		h.renderLogin(w, r, http.StatusTooManyRequests, d)
		return
	}
	u, err := h.store.FindUserByEmail(r.Context(), email)
	if err != nil && dtbase.ErrorCode(err) != dtbase.ENOTFOUND {
		h.log.Error("login: find user", "err", err)
		d.Error = "The server could not check your password. Try again shortly."
		h.renderLogin(w, r, http.StatusInternalServerError, d)
		return
	}
	if u == nil || !api.CheckPassword(u.PasswordHash, password) {
		h.limiter.Fail(email, ip, h.now())
		d.Error = "Incorrect email or password."
		h.renderLogin(w, r, http.StatusUnauthorized, d)
		return
	}
	setCookie(w, r, loginCookie, "", -1)
	h.startSession(w, r, u)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

// logout ends the session. Sessions are stateless, so this clears the
// cookie; a copied cookie stays valid until it expires or the password
// changes.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		if s, _ := h.loadSession(w, r); s != nil && !s.checkCSRF(r) {
			h.errorPage(w, r, s, http.StatusForbidden, "Form expired", "Reload the page and sign out again.")
			return
		}
	}
	setCookie(w, r, sessionCookie, "", -1)
	setFlash(w, r, "success", "You have signed out.")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
