package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dtbase/dtbase"
	"github.com/dtbase/dtbase/sqldb"
	"github.com/dtbase/dtbase/sqldb/sqldbtest"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newAuth(t *testing.T) (*Auth, *sqldb.DB, *clock) {
	t.Helper()
	db := sqldbtest.Open(t)
	clk := &clock{now: time.Now().UTC()}
	a := New(Config{Store: db, Secret: []byte("auth-test"), BcryptCost: bcrypt.MinCost, Now: clk.Now})
	hash, _ := HashPassword("the right password", bcrypt.MinCost)
	if err := db.CreateUser(context.Background(), &dtbase.User{Email: "owner@example.com", PasswordHash: hash, Role: dtbase.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	return a, db, clk
}

func TestThrottleDelays(t *testing.T) {
	th := DefaultThrottle
	tests := []struct {
		count, free int
		want        time.Duration
	}{
		{0, 10, 0}, {9, 10, 0}, {10, 10, 15 * time.Second}, {11, 10, 30 * time.Second},
		{12, 10, time.Minute}, {15, 10, 8 * time.Minute}, {16, 10, 15 * time.Minute}, {1000, 10, 15 * time.Minute},
	}
	for _, tt := range tests {
		if got := th.delay(tt.count, tt.free); got != tt.want {
			t.Errorf("delay(%d, %d) = %v, want %v", tt.count, tt.free, got, tt.want)
		}
	}
}

// TestLoginWaitsGrow: each failure past the free ones doubles the wait
// from that address; the wait passes, and the owner elsewhere never waits.
func TestLoginWaitsGrow(t *testing.T) {
	a, _, clk := newAuth(t)
	ctx := context.Background()
	fail := func(ip string) error {
		_, err := a.Login(ctx, "owner@example.com", "a guess", ip)
		return err
	}
	for i := 0; i < DefaultThrottle.AccountFree; i++ {
		if err := fail("203.0.113.1"); dtbase.ErrorCode(err) != dtbase.EUNAUTHORIZED {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	var waits []time.Duration
	for i := 0; i < 4; i++ {
		var rl *RateLimitError
		if err := fail("203.0.113.1"); !errors.As(err, &rl) {
			t.Fatalf("round %d: %v, want a rate limit", i, err)
		} else {
			waits = append(waits, rl.Wait)
			clk.advance(rl.Wait)
		}
		if err := fail("203.0.113.1"); dtbase.ErrorCode(err) != dtbase.EUNAUTHORIZED {
			t.Fatalf("round %d after the wait: %v", i, err)
		}
		if u, err := a.Login(ctx, "owner@example.com", "the right password", "198.51.100.1"); err != nil || u.Email != "owner@example.com" {
			t.Fatalf("owner from another address: %v", err)
		}
	}
	for i, want := range []time.Duration{15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute} {
		if waits[i].Round(time.Second) != want { // stored to the microsecond
			t.Errorf("wait %d = %v, want %v (all %v)", i, waits[i], want, waits)
		}
	}
	// An hour without failures starts over.
	clk.advance(DefaultThrottle.Reset)
	if err := fail("203.0.113.1"); dtbase.ErrorCode(err) != dtbase.EUNAUTHORIZED {
		t.Fatalf("after the reset: %v", err)
	}
}

func TestAddressGroup(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":              "192.0.2.1",
		"2001:db8:1:2:3:4:5:6":   "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1":   "2001:db8:1:2::/64",
		"::ffff:192.0.2.1":       "::ffff:192.0.2.1",
		"not an address":         "not an address",
		"[2001:db8::1]:whatever": "[2001:db8::1]:whatever",
	} {
		if got := addressGroup(in); got != want {
			t.Errorf("addressGroup(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPolicy(t *testing.T) {
	if n := len(commonPasswords()); n < 3000 {
		t.Fatalf("%d common passwords embedded, want thousands", n)
	}
	tests := []struct {
		policy   Policy
		password string
		ok       bool
	}{
		{Policy{}, "", false},
		{Policy{}, "1234567", false},
		{Policy{}, "12345678", false}, // common
		{Policy{}, "Qwertyuiop", false},
		{Policy{}, "glass-otter", true},
		{Policy{MinLength: 4}, "abc12", false}, // never below 8
		{Policy{MinLength: 12}, "glass-otter", false},
		{Policy{MinLength: 12}, "glass-otter-7", true},
		{Policy{}, strings.Repeat("é", MaxPasswordLength), true},
		{Policy{}, strings.Repeat("é", MaxPasswordLength+1), false},
	}
	for _, tt := range tests {
		err := tt.policy.Check(tt.password)
		if (err == nil) != tt.ok {
			t.Errorf("%+v.Check(%q) = %v, want ok=%v", tt.policy, tt.password, err, tt.ok)
		}
		if err != nil && dtbase.ErrorCode(err) != dtbase.EUNPROCESSABLE {
			t.Errorf("code %q, want unprocessable", dtbase.ErrorCode(err))
		}
	}
}

// TestServiceToken: the runner's token is built here and accepted here.
func TestServiceToken(t *testing.T) {
	a, _, _ := newAuth(t)
	tok, err := ServiceToken([]byte("auth-test"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Authenticate(context.Background(), "Bearer "+tok, false)
	if err != nil || c.Principal.Email != dtbase.ServiceRunnerPrincipal || c.Principal.Role != dtbase.RoleEditor {
		t.Fatalf("service token: %+v %v", c, err)
	}
	if _, err := a.Authenticate(context.Background(), "Bearer "+tok, true); dtbase.ErrorCode(err) != dtbase.EUNAUTHORIZED {
		t.Fatalf("service token as a refresh token: %v", err)
	}
}

// TestWebSessionIdle: a browser session is an idle timeout, renewed by use,
// and ends on the server when signed out.
func TestWebSessionIdle(t *testing.T) {
	a, db, clk := newAuth(t)
	ctx := context.Background()
	u, _ := db.FindUserByEmail(ctx, "owner@example.com")
	value, err := a.StartWebSession(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	clk.advance(40 * time.Minute)
	s, state, err := a.WebSession(ctx, value)
	if state != CookieValid || err != nil || s.Renewed == "" {
		t.Fatalf("after 40 min: %v %v %+v", state, err, s)
	}
	clk.advance(40 * time.Minute) // past the first expiry, within the renewed one
	if _, state, _ := a.WebSession(ctx, s.Renewed); state != CookieValid {
		t.Fatalf("renewed cookie: %v", state)
	}
	if _, state, _ := a.WebSession(ctx, value); state != CookieExpired {
		t.Fatalf("old cookie past its expiry: %v", state)
	}
	if err := a.EndWebSession(ctx, s.Renewed); err != nil {
		t.Fatal(err)
	}
	if _, state, _ := a.WebSession(ctx, s.Renewed); state != CookieExpired {
		t.Fatalf("after sign-out: %v", state)
	}
	for _, bad := range []string{"", "v2.1.x.0.9", s.Renewed + "x", strings.Replace(s.Renewed, "v2.", "v2.9", 1), fmt.Sprintf("v1.%s", s.Renewed)} {
		if _, state, _ := a.WebSession(ctx, bad); state != CookieBad {
			t.Errorf("%q: %v, want bad", bad, state)
		}
	}
}

func TestClientIP(t *testing.T) {
	proxies, err := ParseCIDRs("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCIDRs("10.0.0.0/99"); err == nil {
		t.Error("bad CIDR accepted")
	}
	tests := []struct {
		name    string
		proxies []*net.IPNet
		remote  string
		xff     []string
		want    string
	}{
		{"no proxies: header ignored", nil, "203.0.113.5:1", []string{"198.51.100.1"}, "203.0.113.5"},
		{"untrusted peer: header ignored", proxies, "203.0.113.5:1", []string{"198.51.100.1"}, "203.0.113.5"},
		{"trusted proxy", proxies, "10.1.2.3:1", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client-sent entries before the proxy's are ignored", proxies, "10.1.2.3:1", []string{"6.6.6.6, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", proxies, "10.1.2.3:1", []string{"198.51.100.1, 192.0.2.1", "10.9.9.9"}, "198.51.100.1"},
		{"malformed entry", proxies, "10.1.2.3:1", []string{"junk"}, "10.1.2.3"},
		{"no header", proxies, "10.1.2.3:1", nil, "10.1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(Config{TrustedProxies: tt.proxies})
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := a.ClientIP(r); got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}
