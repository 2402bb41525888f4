package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// cookieOf returns the browser's session cookie value.
func (b *browser) cookieOf(t *testing.T) string {
	t.Helper()
	u, _ := url.Parse(b.e.srv.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// getWith requests a page with a copied session cookie.
func (e *testEnv) getWith(t *testing.T, cookie, path string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	return e.browser().do(req).Status
}

// mustEndSession submits a form that ends the session (signing out, a new
// password): the answer sends the browser to the login page, and it is
// signed out.
func (b *browser) mustEndSession(t *testing.T, path string, form url.Values, referer string) {
	t.Helper()
	if res := b.submit(path, form, referer); res.Status != http.StatusSeeOther || res.Location != "/login" {
		t.Fatalf("%s: %d to %q, want the login page", path, res.Status, res.Location)
	}
	b.wantSignedOut(t, "after "+path+", the browser")
}

// wantSignedOut stops the test unless the browser has no session: the
// dashboard sends it to the login page.
func (b *browser) wantSignedOut(t *testing.T, who string) {
	t.Helper()
	if p := b.get("/"); p.Status != http.StatusSeeOther {
		t.Fatalf("%s is still signed in: %d", who, p.Status)
	}
}

// TestSignOutEndsTheSession covers finding 3 in the browser: a copy of the
// cookie is refused after sign-out, on the server.
func TestSignOutEndsTheSession(t *testing.T) {
	e := newEnv(t)
	t.Run("sign out", func(t *testing.T) {
		b := e.signIn("viewer@example.com")
		stolen := b.cookieOf(t)
		if got := e.getWith(t, stolen, "/"); got != http.StatusOK {
			t.Fatalf("copied cookie before sign-out: %d", got)
		}
		if res := b.submit("/logout", url.Values{}, "/"); res.Status != http.StatusSeeOther {
			t.Fatalf("sign out: %d", res.Status)
		}
		if got := e.getWith(t, stolen, "/"); got != http.StatusSeeOther {
			t.Fatalf("copied cookie after sign-out: %d, want a redirect to the login page", got)
		}
	})
	t.Run("sign out everywhere", func(t *testing.T) {
		b, other := e.signIn("editor@example.com"), e.signIn("editor@example.com")
		b.mustEndSession(t, "/account/logout-everywhere", url.Values{}, "/account")
		other.wantSignedOut(t, "the other browser")
		b.login("editor@example.com") // a new sign-in works
	})
	t.Run("a role change ends the session", func(t *testing.T) {
		admin, b := e.signIn("admin@example.com"), e.signIn("viewer@example.com")
		admin.submit("/users/role", url.Values{"email": {"viewer@example.com"}, "role": {"editor"}}, "/users")
		b.wantSignedOut(t, "after a role change, the browser")
	})
}

// TestWebPasswordPolicy: the web applies the API's policy, common
// passwords included (finding 4).
func TestWebPasswordPolicy(t *testing.T) {
	e := newEnv(t)
	b := e.signIn("admin@example.com")
	for _, tt := range []struct{ password, want string }{
		{"short", "Password must have at least 8 characters."},
		{"password1", "Password is one of the most common passwords; choose another."},
		{"quiet meadow 42", ""},
	} {
		b.submit("/users/create", url.Values{"email": {"pol@example.com"}, "password": {tt.password}, "role": {"viewer"}}, "/users")
		p := b.get("/users")
		created := strings.Contains(p.Body, "User pol@example.com created")
		if tt.want == "" != created || (tt.want != "" && !strings.Contains(p.Body, tt.want)) {
			t.Errorf("%q: created %v, want message %q; page flash: %s", tt.password, created, tt.want, flashOf(p.Body))
		}
	}
}
