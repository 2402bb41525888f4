package outbound

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

func mustGuard(t *testing.T, allowed ...string) *Guard {
	t.Helper()
	g, err := New(Options{AllowedHosts: allowed, Setting: "DT_TEST_ALLOWED_HOSTS"})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestCheckURL(t *testing.T) {
	g := mustGuard(t)
	cases := []struct {
		url, err string // err: a part of the message; "" when allowed
	}{
		{"http://169.254.169.254/metadata/identity/oauth2/token", "169.254.169.254 is the cloud metadata address: refused unless DT_TEST_ALLOWED_HOSTS lists it"},
		{"http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254 is the cloud metadata address"},
		{"http://169.254.1.1/", "is a link-local address"},
		{"http://127.0.0.1:5000/service/run-service", "127.0.0.1 is a loopback address"},
		{"http://127.8.9.10/", "is a loopback address"},
		{"http://[::1]:5000/", "::1 is a loopback address"},
		{"http://[::ffff:127.0.0.1]/", "is a loopback address"},
		{"http://10.1.2.3/", "10.1.2.3 is a private address (RFC 1918)"},
		{"http://172.16.0.1/", "is a private address (RFC 1918)"},
		{"http://192.168.1.1/", "is a private address (RFC 1918)"},
		{"http://100.64.0.1/", "100.64.0.1 is a carrier-grade NAT address"},
		{"http://[fd12:3456::1]/", "is a unique local address"},
		{"http://[fe80::1]/", "is a link-local address"},
		{"http://0.0.0.0/", "is an unspecified address"},
		{"http://[::]/", "is an unspecified address"},
		{"http://224.0.0.1/", "is a multicast address"},
		{"http://[ff02::1]/", "is a multicast address"},
		{"http://255.255.255.255/", "is a reserved address"},
		{"http://[64:ff9b::7f00:1]/", "is an IPv4/IPv6 translation address"},
		{"http://localhost:8080/", "localhost is a loopback name"},
		{"http://api.localhost/", "is a loopback name"},
		{"file:///etc/passwd", "only http:// and https:// URLs can be called, not file://"},
		{"gopher://example.org:70/_x", "not gopher://"},
		{"ftp://example.org/", "not ftp://"},
		{"example.org/run", "the URL has no scheme"},
		{"http:///path", "the URL has no host"},
		{"http://example.org/run", ""},
		{"https://8.8.8.8/", ""},
		{"https://[2606:4700::1111]/", ""},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			err := g.CheckURL(c.url)
			if c.err == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("got %v, want %q", err, c.err)
			}
		})
	}
}

func TestAllowList(t *testing.T) {
	g := mustGuard(t, "127.0.0.1", "10.0.0.0/8", "internal.example.org", "*.corp.example.org", "::1", "localhost")
	for _, u := range []string{"http://127.0.0.1:1/", "http://10.9.8.7/", "http://[::1]/", "http://localhost/", "http://internal.example.org/", "http://a.corp.example.org/"} {
		if err := g.CheckURL(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"http://127.0.0.2/", "http://172.16.0.1/", "http://169.254.169.254/"} {
		if err := g.CheckURL(u); err == nil {
			t.Errorf("%s allowed", u)
		}
	}
	for _, bad := range []string{"a b", "10.0.0.0/33", "*", "x:y"} {
		if _, err := New(Options{AllowedHosts: []string{bad}}); err == nil {
			t.Errorf("allow-list entry %q accepted", bad)
		}
	}
}

// serveOn serves h on a loopback address of the given IP (Linux answers on
// all of 127.0.0.0/8).
func serveOn(t *testing.T, ip string, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"ok":true}`)) })

func get(c *http.Client, u string) error {
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// TestConnectTime checks the address connected to: a name that resolves to
// loopback passes the URL check but not the dialer.
func TestConnectTime(t *testing.T) {
	srv := serveOn(t, "127.0.0.1", ok)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	byName := "http://localhost:" + port + "/"
	g := mustGuard(t)
	err := get(g.Client(ClientOptions{}), byName)
	var denied *DeniedError
	if !errors.As(err, &denied) || !denied.Addr.IsLoopback() || !strings.Contains(err.Error(), `host "localhost" resolves to`) {
		t.Fatalf("dial by a loopback name: %v", err)
	}
	// Allowed by address or by name, the same call goes through.
	for _, allow := range []string{"127.0.0.0/8", "localhost"} {
		g := mustGuard(t, allow, "::1")
		if err := get(g.Client(ClientOptions{}), byName); err != nil {
			t.Errorf("allowed by %s: %v", allow, err)
		}
	}
}

// TestRedirects re-checks every hop: an allowed server cannot send the
// client on to a refused address, by literal or by name.
func TestRedirects(t *testing.T) {
	target := serveOn(t, "127.0.0.1", ok)
	_, port, _ := net.SplitHostPort(target.Listener.Addr().String())
	var to string
	redirector := serveOn(t, "127.0.0.2", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to, http.StatusFound)
	}))
	g := mustGuard(t, "127.0.0.2")
	c := g.Client(ClientOptions{MaxRedirects: 3})
	for _, dest := range []string{"http://127.0.0.1:" + port + "/", "http://localhost:" + port + "/", "http://169.254.169.254/", "file:///etc/passwd"} {
		to = dest
		err := get(c, redirector.URL)
		var denied *DeniedError
		if !errors.As(err, &denied) && !errors.Is(err, ErrScheme) {
			t.Errorf("redirect to %s: %v", dest, err)
		}
	}
	to = redirector.URL + "/again"
	if err := get(c, redirector.URL); !errors.Is(err, ErrTooManyRedirects) {
		t.Errorf("redirect loop: %v", err)
	}
}

// TestProxy lets the operator's proxy be on a loopback address, and still
// refuses a target that resolves to a refused address.
func TestProxy(t *testing.T) {
	var seen string
	proxy := serveOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.URL.String()
		w.Write([]byte(`{"via":"proxy"}`))
	}))
	pu, _ := url.Parse(proxy.URL)
	c := mustGuard(t).Client(ClientOptions{Proxy: http.ProxyURL(pu)})
	if err := get(c, "http://api.example.org/run"); err != nil || seen != "http://api.example.org/run" {
		t.Fatalf("through the proxy: %v %q", err, seen)
	}
	var denied *DeniedError
	if err := get(c, "http://localhost/"); !errors.As(err, &denied) {
		t.Fatalf("a loopback name through the proxy: %v", err)
	}
	if err := get(c, "http://10.0.0.1/"); !errors.As(err, &denied) {
		t.Fatalf("a private address through the proxy: %v", err)
	}
}

func TestDeniedReasonUnmaps(t *testing.T) {
	g := mustGuard(t)
	ctx := context.Background()
	for _, a := range []string{"::ffff:169.254.169.254", "::ffff:10.0.0.1", "fe80::1%eth0"} {
		addr := netip.MustParseAddr(a)
		if err := g.checkAddr(ctx, addr); err == nil {
			t.Errorf("%s allowed", a)
		}
	}
}
