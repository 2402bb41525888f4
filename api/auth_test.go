package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/auth"
)

func signToken(t *testing.T, secret []byte, method jwt.SigningMethod, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		body   any
		status int
		detail string
	}{
		{"ok", map[string]string{"email": testAdmin, "password": "pw-" + testAdmin}, 200, ""},
		{"wrong password", map[string]string{"email": testAdmin, "password": "nope"}, 401, msgBadLogin},
		{"unknown email", map[string]string{"email": "who@example.com", "password": "x"}, 401, msgBadLogin},
		{"email not checked for format", map[string]string{"email": "not an email", "password": "x"}, 401, msgBadLogin},
		{"missing password", map[string]string{"email": testAdmin}, 422, ""},
		{"number email", map[string]any{"email": 5, "password": "x"}, 422, ""},
		{"invalid JSON", `{"email":`, 422, ""},
		{"no body", nil, 422, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(http.MethodPost, "/auth/login", tt.body, "")
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if tt.detail != "" && r.Detail() != tt.detail {
				t.Errorf("detail %q, want %q", r.Detail(), tt.detail)
			}
			if tt.status == 200 {
				var pair tokenPair
				r.JSON(t, &pair)
				if pair.AccessToken == "" || pair.RefreshToken == "" {
					t.Fatalf("missing tokens: %s", r.Body)
				}
				// The access token works; the refresh token does not, on a protected route.
				if got := e.do(http.MethodGet, "/user/list-users", nil, pair.AccessToken).Status; got != 200 {
					t.Errorf("access token: status %d", got)
				}
				if got := e.do(http.MethodGet, "/user/list-users", nil, pair.RefreshToken); got.Detail() != msgWrongType {
					t.Errorf("refresh token on protected route: %s", got.Body)
				}
			}
		})
	}
}

func TestLoginClaimsAndLifetimes(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AccessTTL = 100 * time.Second; c.RefreshGrace = 50 * time.Second })
	var pair tokenPair
	e.do(http.MethodPost, "/auth/login", map[string]string{"email": testAdmin, "password": "pw-" + testAdmin}, "").JSON(t, &pair)
	now := time.Now().Unix()
	for _, tc := range []struct {
		tok, kind string
		ttl       int64
	}{{pair.AccessToken, "access", 100}, {pair.RefreshToken, "refresh", 150}} {
		claims := jwt.MapClaims{}
		tok, err := jwt.ParseWithClaims(tc.tok, claims, func(*jwt.Token) (any, error) { return e.cfg.Secret, nil })
		if err != nil {
			t.Fatal(err)
		}
		if tok.Header["alg"] != "HS256" || claims["sub"] != testAdmin || claims["token_type"] != tc.kind {
			t.Errorf("claims %v header %v", claims, tok.Header)
		}
		if exp := int64(claims["exp"].(float64)); exp < now+tc.ttl-2 || exp > now+tc.ttl+2 {
			t.Errorf("%s exp %d, want about now+%d", tc.kind, exp, tc.ttl)
		}
		// The original's three claims, then the session: user id, session
		// version, session id, and for a refresh token its own id.
		want := map[string]bool{"sub": true, "token_type": true, "exp": true, "uid": true, "sv": true, "sid": true, "jti": tc.kind == "refresh"}
		for k := range claims {
			if !want[k] {
				t.Errorf("unexpected claim %q in %v", k, claims)
			}
			delete(want, k)
		}
		for k, need := range want {
			if need {
				t.Errorf("missing claim %q in %v", k, claims)
			}
		}
	}
}

// TestBearerChecks follows docs/compatibility.md: every 401 text, and the order
// in which the checks run.
func TestBearerChecks(t *testing.T) {
	e := newEnv(t)
	secret := e.cfg.Secret
	past, future := time.Now().Add(-time.Minute).Unix(), time.Now().Add(time.Hour).Unix()
	e.userToken("gone@example.com", dtbase.RoleAdmin)
	if err := e.db.DeleteUser(t.Context(), "gone@example.com"); err != nil {
		t.Fatal(err)
	}
	tok := func(c jwt.MapClaims) string { return signToken(t, secret, jwt.SigningMethodHS256, c) }
	tests := []struct {
		name    string
		header  string
		detail  string
		wwwAuth bool
	}{
		{"no header", "", msgNotAuthenticated, true},
		{"basic scheme", "Basic abc", msgNotAuthenticated, true},
		{"bearer without token", "Bearer", msgInvalid, false},
		{"bearer empty token", "Bearer ", msgInvalid, false},
		{"lower-case scheme works", "bearer " + e.token, "", false},
		{"garbage", "Bearer not.a.jwt", msgInvalid, false},
		{"bad signature", "Bearer " + signToken(t, []byte("other"), jwt.SigningMethodHS256, jwt.MapClaims{"sub": testAdmin, "token_type": "access", "exp": future}), msgInvalid, false},
		{"HS512 refused", "Bearer " + signToken(t, secret, jwt.SigningMethodHS512, jwt.MapClaims{"sub": testAdmin, "token_type": "access", "exp": future}), msgInvalid, false},
		{"expired", "Bearer " + tok(jwt.MapClaims{"sub": testAdmin, "token_type": "access", "exp": past}), msgExpired, false},
		{"expired beats wrong type", "Bearer " + tok(jwt.MapClaims{"sub": testAdmin, "token_type": "refresh", "exp": past}), msgExpired, false},
		{"expired beats unknown user", "Bearer " + tok(jwt.MapClaims{"sub": "nobody@x", "token_type": "access", "exp": past}), msgExpired, false},
		{"string exp", "Bearer " + tok(jwt.MapClaims{"sub": testAdmin, "token_type": "access", "exp": "soon"}), msgInvalid, false},
		{"missing exp", "Bearer " + tok(jwt.MapClaims{"sub": testAdmin, "token_type": "access"}), msgInvalid, false},
		{"integer sub", "Bearer " + tok(jwt.MapClaims{"sub": 5, "token_type": "access", "exp": future}), msgInvalid, false},
		{"missing token_type", "Bearer " + tok(jwt.MapClaims{"sub": testAdmin, "exp": future}), msgInvalid, false},
		{"future nbf", "Bearer " + tok(jwt.MapClaims{"sub": testAdmin, "token_type": "access", "exp": future, "nbf": future}), msgInvalid, false},
		{"deleted user", "Bearer " + tok(jwt.MapClaims{"sub": "gone@example.com", "token_type": "access", "exp": future}), msgInvalid, false},
		{"deleted user beats wrong type", "Bearer " + tok(jwt.MapClaims{"sub": "gone@example.com", "token_type": "refresh", "exp": future}), msgInvalid, false},
		{"refresh token on protected route", "Bearer " + tok(jwt.MapClaims{"sub": testAdmin, "token_type": "refresh", "exp": future}), msgWrongType, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(http.MethodGet, "/user/list-users", "")
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			r := e.serve(req)
			if tt.detail == "" {
				if r.Status != 200 {
					t.Fatalf("status %d: %s", r.Status, r.Body)
				}
				return
			}
			if r.Status != 401 || r.Detail() != tt.detail {
				t.Fatalf("got %d %s, want 401 %q", r.Status, r.Body, tt.detail)
			}
			if got := r.Header.Get("WWW-Authenticate") == "Bearer"; got != tt.wwwAuth {
				t.Errorf("WWW-Authenticate present=%v, want %v", got, tt.wwwAuth)
			}
		})
	}
}

func TestRefresh(t *testing.T) {
	e := newEnv(t)
	pair, _ := e.srv.issueTokens(testAdmin)
	r := e.do(http.MethodPost, "/auth/refresh", "ignored body", pair.RefreshToken)
	if r.Status != 200 {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	var fresh tokenPair
	r.JSON(t, &fresh)
	if e.do(http.MethodGet, "/user/list-users", nil, fresh.AccessToken).Status != 200 {
		t.Error("refreshed access token rejected")
	}
	if got := e.do(http.MethodPost, "/auth/refresh", nil, pair.AccessToken); got.Status != 401 || got.Detail() != msgWrongType {
		t.Errorf("access token on refresh: %d %s", got.Status, got.Body)
	}
	if got := e.do(http.MethodPost, "/auth/refresh", nil, ""); got.Status != 401 || got.Detail() != msgNotAuthenticated {
		t.Errorf("no token on refresh: %d %s", got.Status, got.Body)
	}
}

func TestRoutingErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/nope", 404, `{"detail":"Not Found"}`},
		{"POST", "/sensor/nope", 404, `{"detail":"Not Found"}`},
		{"POST", "/user/list-users", 405, `{"detail":"Method Not Allowed"}`},
		{"GET", "/auth/login", 405, `{"detail":"Method Not Allowed"}`},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			r := e.do(tt.method, tt.path, nil, "") // no token: routing comes first
			if r.Status != tt.status || string(r.Body) != tt.body {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tt.status, tt.body)
			}
			if tt.status == 405 && r.Header.Get("Allow") == "" {
				t.Error("405 without Allow header")
			}
		})
	}
	r := e.do("POST", "/user/create-user/", nil, "")
	if r.Status != 307 || r.Header.Get("Location") != "/user/create-user" {
		t.Errorf("trailing slash: %d %v", r.Status, r.Header)
	}
}

func TestInvalidJSONBeforeAuth(t *testing.T) {
	e := newEnv(t)
	r := e.do(http.MethodPost, "/user/create-user", `{"email": "a@b",`, "")
	if r.Status != 422 || !strings.Contains(string(r.Body), `"json_invalid"`) {
		t.Fatalf("got %d %s, want a 422 json_invalid before the 401", r.Status, r.Body)
	}
	// A well-formed body without a token is a 401, before validation.
	if r := e.do(http.MethodPost, "/user/create-user", `{}`, ""); r.Status != 401 {
		t.Fatalf("got %d %s, want 401", r.Status, r.Body)
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t)
	bad := map[string]string{"email": testAdmin, "password": "wrong"}
	for i := 0; i < auth.DefaultThrottle.AccountFree; i++ {
		if r := e.do(http.MethodPost, "/auth/login", bad, ""); r.Status != 401 {
			t.Fatalf("attempt %d: %d", i, r.Status)
		}
	}
	r := e.do(http.MethodPost, "/auth/login", map[string]string{"email": testAdmin, "password": "pw-" + testAdmin}, "")
	if r.Status != 429 || r.Header.Get("Retry-After") == "" || !strings.Contains(r.Detail(), "Too many failed login attempts") {
		t.Fatalf("got %d %s %v, want 429 with Retry-After", r.Status, r.Body, r.Header)
	}
	// Another account from another address is unaffected.
	e.userToken("other@example.com", dtbase.RoleViewer)
	if r := e.do(http.MethodPost, "/auth/login", map[string]string{"email": "other@example.com", "password": "pw-other@example.com"}, ""); r.Status != 200 {
		t.Fatalf("other account: %d %s", r.Status, r.Body)
	}
}
