package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/auth"
)

// login signs in a user made by userToken and returns its token pair.
func (e *testEnv) login(email string) (access, refresh string) {
	e.t.Helper()
	r := e.do(http.MethodPost, "/auth/login", map[string]string{"email": email, "password": "pw-" + email}, "")
	if r.Status != 200 {
		e.t.Fatalf("login %s: %d %s", email, r.Status, r.Body)
	}
	var pair tokenPair
	r.JSON(e.t, &pair)
	return pair.AccessToken, pair.RefreshToken
}

// loginFrom posts a login from a client address.
func (e *testEnv) loginFrom(addr, email, password string) response {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req := newRequest(http.MethodPost, "/auth/login", string(body))
	req.RemoteAddr = addr
	return e.serve(req)
}

// expectRevoked checks an access and a refresh token no longer work.
func (e *testEnv) expectRevoked(t *testing.T, access, refresh string) {
	t.Helper()
	if r := e.do(http.MethodGet, "/sensor/list-sensor-types", nil, access); r.Status != 401 || r.Detail() != msgInvalid {
		t.Errorf("old access token: %d %s, want 401 %q", r.Status, r.Body, msgInvalid)
	}
	if refresh == "" {
		return
	}
	if r := e.do(http.MethodPost, "/auth/refresh", nil, refresh); r.Status != 401 || r.Detail() != msgInvalid {
		t.Errorf("old refresh token: %d %s, want 401 %q", r.Status, r.Body, msgInvalid)
	}
}

// TestSessionsEnd covers finding 3: every way of ending a user's sessions
// refuses the tokens issued before it, access and refresh alike.
func TestSessionsEnd(t *testing.T) {
	tests := []struct {
		name string
		end  func(e *testEnv, access string)
	}{
		{"password changed by an admin", func(e *testEnv, _ string) {
			e.must(200, "/user/change-password", map[string]string{"email": "u@example.com", "password": "a brand new password"})
		}},
		{"own password changed", func(e *testEnv, access string) {
			if r := e.do(http.MethodPost, "/user/change-password", map[string]string{"email": "u@example.com", "password": "a brand new password"}, access); r.Status != 200 {
				t.Fatalf("change own password: %d %s", r.Status, r.Body)
			}
		}},
		{"role changed", func(e *testEnv, _ string) {
			e.must(200, "/user/set-role", map[string]string{"email": "u@example.com", "role": "viewer"})
		}},
		{"sign out everywhere", func(e *testEnv, access string) {
			r := e.do(http.MethodPost, "/auth/logout-everywhere", nil, access)
			if r.Status != 200 || r.Detail() != "Signed out everywhere" {
				t.Fatalf("logout-everywhere: %d %s", r.Status, r.Body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.userToken("u@example.com", dtbase.RoleEditor)
			a1, r1 := e.login("u@example.com")
			a2, r2 := e.login("u@example.com") // a second device
			tt.end(e, a1)
			e.expectRevoked(t, a1, r1)
			e.expectRevoked(t, a2, r2)
			// Other users keep their sessions.
			if r := e.get("/user/list-users"); r.Status != 200 {
				t.Errorf("admin's token: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestRecreatedUserDoesNotReviveTokens: tokens name the user by id, so a
// deleted account's tokens stay dead when the email is created again.
func TestRecreatedUserDoesNotReviveTokens(t *testing.T) {
	e := newEnv(t)
	e.userToken("again@example.com", dtbase.RoleViewer)
	access, refresh := e.login("again@example.com")
	e.must(200, "/user/delete-user", map[string]string{"email": "again@example.com"})
	e.must(201, "/user/create-user", map[string]string{"email": "again@example.com", "password": "pw-again@example.com", "role": "admin"})
	e.expectRevoked(t, access, refresh)
	if r := e.do(http.MethodGet, "/user/list-users", nil, access); r.Status != 401 {
		t.Fatalf("old token has the new account's admin role: %d %s", r.Status, r.Body)
	}
}

// TestRefreshRotation: a refresh token is spent by its use, and using a
// spent one ends the whole family, the thief's tokens and the owner's.
func TestRefreshRotation(t *testing.T) {
	e := newEnv(t)
	_, r1 := e.login(testAdmin)
	var p2 tokenPair
	e.do(http.MethodPost, "/auth/refresh", nil, r1).JSON(t, &p2)
	if p2.RefreshToken == "" || p2.RefreshToken == r1 {
		t.Fatalf("refresh did not rotate: %+v", p2)
	}
	if r := e.do(http.MethodGet, "/user/list-users", nil, p2.AccessToken); r.Status != 200 {
		t.Fatalf("new access token: %d %s", r.Status, r.Body)
	}
	// r1 again: reuse. The family ends, including the tokens of p2.
	if r := e.do(http.MethodPost, "/auth/refresh", nil, r1); r.Status != 401 || r.Detail() != msgInvalid {
		t.Fatalf("reused refresh token: %d %s", r.Status, r.Body)
	}
	e.expectRevoked(t, p2.AccessToken, p2.RefreshToken)
	// Other sessions of the same user are untouched.
	if r := e.get("/user/list-users"); r.Status != 200 {
		t.Errorf("another session: %d %s", r.Status, r.Body)
	}
}

func TestLogoutEverywhereNeedsAUser(t *testing.T) {
	e := newEnv(t)
	var created createdAPIKey
	e.must(201, "/user/create-api-key", map[string]string{"name": "k", "role": "viewer"}).JSON(t, &created)
	if r := e.do(http.MethodPost, "/auth/logout-everywhere", nil, created.Key); r.Status != 400 {
		t.Errorf("API key: %d %s", r.Status, r.Body)
	}
	if r := e.do(http.MethodPost, "/auth/logout-everywhere", nil, ""); r.Status != 401 || r.Detail() != msgNotAuthenticated {
		t.Errorf("no token: %d %s", r.Status, r.Body)
	}
}

// TestPasswordPolicy covers finding 4 on every endpoint that sets one.
func TestPasswordPolicy(t *testing.T) {
	e := newEnv(t)
	e.userToken("p@example.com", dtbase.RoleViewer)
	tests := []struct {
		name, password string
		detail         string // "" for accepted
	}{
		{"empty", "", "Password must have at least 8 characters"},
		{"one character", "x", "Password must have at least 8 characters"},
		{"seven characters", "abcdefg", "Password must have at least 8 characters"},
		{"seven characters, multibyte", "ééééééé", "Password must have at least 8 characters"},
		{"common", "password1", "Password is one of the most common passwords; choose another"},
		{"common in capitals", "PASSWORD1", "Password is one of the most common passwords; choose another"},
		{"too long", strings.Repeat("x", auth.MaxPasswordLength+1), fmt.Sprintf("Password must have at most %d characters", auth.MaxPasswordLength)},
		{"eight characters", "kq8#vz!m", ""},
		{"long passphrase", strings.Repeat("correct horse battery staple ", 4), ""},
		{"only lower-case letters, no rules", "plainlowercaseletters", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := 201
			if tt.detail != "" {
				status = 422
			}
			email := fmt.Sprintf("new%d@example.com", i)
			r := e.post("/user/create-user", map[string]string{"email": email, "password": tt.password})
			if r.Status != status || (tt.detail != "" && r.Detail() != tt.detail) {
				t.Fatalf("create-user: %d %s, want %d %q", r.Status, r.Body, status, tt.detail)
			}
			if strings.Contains(string(r.Body), "kq8#") {
				t.Errorf("the answer echoes the password: %s", r.Body)
			}
			if status == 201 {
				status = 200
			}
			r = e.post("/user/change-password", map[string]string{"email": "p@example.com", "password": tt.password})
			if r.Status != status || (tt.detail != "" && r.Detail() != tt.detail) {
				t.Fatalf("change-password: %d %s, want %d %q", r.Status, r.Body, status, tt.detail)
			}
		})
	}
}

// TestEmptyPasswordLogin: an account whose stored hash is of "" (made by an
// older version) cannot be logged into with "".
func TestEmptyPasswordLogin(t *testing.T) {
	e := newEnv(t)
	hash, _ := auth.HashPassword("", bcrypt.MinCost)
	if err := e.db.CreateUser(context.Background(), &dtbase.User{Email: "empty@example.com", PasswordHash: hash, Role: dtbase.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if r := e.do(http.MethodPost, "/auth/login", map[string]string{"email": "empty@example.com", "password": ""}, ""); r.Status != 401 || r.Detail() != msgBadLogin {
		t.Fatalf("login with an empty password: %d %s", r.Status, r.Body)
	}
}

// TestThrottleWithoutLockout covers finding 5: guesses from one address
// slow that address down, never the owner signing in from another, and the
// count is shared by every server on the database.
func TestThrottleWithoutLockout(t *testing.T) {
	e := newEnv(t)
	const attacker, owner = "203.0.113.7:4000", "198.51.100.9:5000"
	good := "pw-" + testAdmin
	free := auth.DefaultThrottle.AccountFree
	// Two replicas on one database: the attacker alternates between them.
	replica := New(e.cfg)
	for i := 0; i < free; i++ {
		srv := e.srv
		if i%2 == 1 {
			srv = replica
		}
		body, _ := json.Marshal(map[string]string{"email": testAdmin, "password": fmt.Sprintf("guess %d", i)})
		req := newRequest(http.MethodPost, "/auth/login", string(body))
		req.RemoteAddr = attacker
		if r := (&testEnv{t: t, srv: srv}).serve(req); r.Status != 401 {
			t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := e.loginFrom(attacker, testAdmin, good)
	if r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("attacker after %d guesses over two replicas: %d %s, want 429 with Retry-After", free, r.Status, r.Body)
	}
	if r := e.loginFrom(owner, testAdmin, good); r.Status != 200 {
		t.Fatalf("owner from another address: %d %s", r.Status, r.Body)
	}

	// A flood over many accounts from one address slows that address only.
	for i := 0; i < auth.DefaultThrottle.AddressFree; i++ {
		e.loginFrom("203.0.113.8:1", fmt.Sprintf("user%d@example.com", i), "wrong password")
	}
	if r := e.loginFrom("203.0.113.8:1", testAdmin, good); r.Status != 429 {
		t.Fatalf("flooding address: %d %s, want 429", r.Status, r.Body)
	}
	if r := e.loginFrom(owner, testAdmin, good); r.Status != 200 {
		t.Fatalf("owner after the flood: %d %s", r.Status, r.Body)
	}
}

// TestLoginTimingUniform covers finding 6: a login for an unknown email
// costs what a wrong password for a real one costs. It compares medians of
// many tries measured in the same run (a ratio, not a wall-clock bound).
func TestLoginTimingUniform(t *testing.T) {
	if testing.Short() {
		t.Skip("timing comparison")
	}
	const cost = 8 // far above the minimum, so the hash dominates a try
	e := newEnv(t, func(c *Config) { c.BcryptCost = cost })
	hash, _ := auth.HashPassword("the real password", cost)
	if err := e.db.CreateUser(context.Background(), &dtbase.User{Email: "real@example.com", PasswordHash: hash, Role: dtbase.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	// Each try of a known email is paired with one of an unknown email
	// right after or before it, so that load from elsewhere on the machine
	// affects both alike; the median of the pairs' ratios is compared.
	const tries = 31
	try := func(i int, email string) time.Duration {
		start := time.Now()
		r := e.loginFrom(fmt.Sprintf("192.0.2.%d:1", i+1), email, "a wrong password")
		d := time.Since(start)
		if r.Status != 401 {
			t.Fatalf("%s: %d %s", email, r.Status, r.Body)
		}
		return d
	}
	try(0, "nobody@example.com") // warm up: the dummy hash is made on first use
	ratios := make([]float64, tries)
	for i := range ratios {
		var known, unknown time.Duration
		if i%2 == 0 {
			known, unknown = try(i, "real@example.com"), try(i, "nobody@example.com")
		} else {
			unknown, known = try(i, "nobody@example.com"), try(i, "real@example.com")
		}
		ratios[i] = float64(known) / float64(unknown)
	}
	slices.Sort(ratios)
	ratio := ratios[tries/2]
	t.Logf("median ratio of a known to an unknown email's login time: %.2f", ratio)
	if ratio > 1.5 || ratio < 1/1.5 {
		t.Fatalf("known and unknown emails differ by a factor %.2f, want within 1.5", ratio)
	}
}

// TestMetricsAccess covers finding 8's first half.
func TestMetricsAccess(t *testing.T) {
	e := newEnv(t)
	var key createdAPIKey
	e.must(201, "/user/create-api-key", map[string]string{"name": "prometheus", "role": "viewer"}).JSON(t, &key)
	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"anonymous", "", 401},
		{"viewer", e.as(dtbase.RoleViewer), 403},
		{"editor", e.as(dtbase.RoleEditor), 403},
		{"admin", e.token, 200},
		{"API key", key.Key, 200},
		{"bad token", "nope", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(http.MethodGet, "/metrics", nil, tt.token)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			if tt.status == 200 && !strings.Contains(string(r.Body), "dtbase_http_requests_total") {
				t.Errorf("not the metrics: %.200s", r.Body)
			}
		})
	}
	public := newEnv(t, func(c *Config) { c.MetricsPublic = true })
	if r := public.do(http.MethodGet, "/metrics", nil, ""); r.Status != 200 {
		t.Errorf("DT_METRICS_PUBLIC: %d %s", r.Status, r.Body)
	}
}
