// Package outbound is the one HTTP client for calls to addresses that users
// choose (services today; webhooks and e-mail later). It calls only http
// and https URLs and, unless an allow-list says otherwise, refuses
// addresses that lead into the host, its private network or its cloud:
// loopback, link-local (with the cloud metadata addresses), private, unique
// local, carrier-grade NAT, multicast, unspecified and other special-purpose
// ranges. URLs are checked when they are registered (CheckURL) and on every
// request and redirect; the address actually connected to is checked by a
// dialer control after name resolution, so neither DNS rebinding nor a
// redirect can reach a refused address.
package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Options configure a Guard.
type Options struct {
	// AllowedHosts may be called although the default denial refuses them:
	// host names ("internal.example.org"), "*.suffix" patterns, IP
	// addresses and CIDR ranges ("10.0.0.0/8").
	AllowedHosts []string
	// Setting names the setting that holds AllowedHosts, for messages.
	Setting string
}

// Guard decides which URLs and addresses outbound calls may reach.
type Guard struct {
	allow   hostList
	setting string
}

// New returns a guard; it fails on an invalid AllowedHosts entry.
func New(o Options) (*Guard, error) {
	allow, err := parseHostList(o.AllowedHosts)
	if err != nil {
		return nil, err
	}
	if o.Setting == "" {
		o.Setting = "the allowed hosts"
	}
	return &Guard{allow: allow, setting: o.Setting}, nil
}

// DeniedError is a call refused because of where it leads.
type DeniedError struct {
	Host    string     // the URL's host
	Addr    netip.Addr // the address the host resolved to; invalid for a literal or a name refused as such
	Reason  string     // what the address is: "a loopback address"
	setting string
}

func (e *DeniedError) Error() string {
	what := e.Host
	if e.Addr.IsValid() && normalHost(e.Host) != e.Addr.String() {
		what = fmt.Sprintf("host %q resolves to %s, which", e.Host, e.Addr)
	}
	return fmt.Sprintf("%s is %s: refused unless %s lists it", what, e.Reason, e.setting)
}

// ErrScheme is returned for a URL that is not http or https.
var ErrScheme = errors.New("only http:// and https:// URLs can be called")

// ErrTooManyRedirects is returned when a call is redirected more often
// than the client allows.
var ErrTooManyRedirects = errors.New("too many redirects")

// CheckURL checks a URL before it is stored: an absolute http(s) URL whose
// host is not a refused address or a loopback name. Names are not resolved
// here (they may change); the address is checked again on every call.
func (g *Guard) CheckURL(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return fmt.Errorf("not a valid URL: %v", errors.Unwrap(err))
	}
	if err := g.checkTarget(u); err != nil {
		return err
	}
	if n := normalHost(u.Hostname()); (n == "localhost" || strings.HasSuffix(n, ".localhost")) && !g.allow.allowsName(n) {
		return &DeniedError{Host: u.Hostname(), Reason: "a loopback name", setting: g.setting}
	}
	return nil
}

// checkTarget checks a URL's scheme and, when its host is an address, the
// address. Names are checked by the dialer once resolved.
func (g *Guard) checkTarget(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		if u.Scheme == "" {
			return fmt.Errorf("%w: the URL has no scheme", ErrScheme)
		}
		return fmt.Errorf("%w, not %s://", ErrScheme, u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return errors.New("the URL has no host")
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if g.allow.allowsAddr(addr) {
			return nil
		}
		if reason := deniedReason(addr); reason != "" {
			return &DeniedError{Host: host, Reason: reason, setting: g.setting}
		}
	}
	return nil
}

// ClientOptions configure a client.
type ClientOptions struct {
	// Proxy chooses the proxy of each request, as http.Transport's does;
	// nil for none. A proxy is the operator's and may be on any address;
	// the target of a proxied request is resolved here and refused when
	// it resolves to a refused address (the proxy connects to it).
	Proxy func(*http.Request) (*url.URL, error)
	// MaxRedirects bounds the redirects followed; 10 when zero.
	MaxRedirects int
	// CheckRedirect, when set, is called for each redirect after the
	// guard's own checks passed.
	CheckRedirect func(req *http.Request, via []*http.Request) error
}

// Client returns an HTTP client whose every request, redirect and
// connection is checked by g.
func (g *Guard) Client(o ClientOptions) *http.Client {
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = 10
	}
	guarded := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, ControlContext: g.control}
	plain := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy: o.Proxy,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if p, _ := ctx.Value(proxyAddrKey{}).(string); p != "" && p == addr {
				return plain.DialContext(ctx, network, addr)
			}
			ctx, err := g.dialContext(ctx, addr)
			if err != nil {
				return nil, err
			}
			return guarded.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: &roundTripper{guard: g, base: transport, proxy: o.Proxy},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= o.MaxRedirects {
				return ErrTooManyRedirects
			}
			if err := g.checkTarget(req.URL); err != nil {
				return err
			}
			if o.CheckRedirect != nil {
				return o.CheckRedirect(req, via)
			}
			return nil
		},
	}
}

type (
	proxyAddrKey   struct{}
	dialHostKey    struct{}
	allowedNameKey struct{}
)

// control checks the address a connection is about to be made to, after
// name resolution.
func (g *Guard) control(ctx context.Context, _, address string, _ syscall.RawConn) error {
	if ok, _ := ctx.Value(allowedNameKey{}).(bool); ok {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("outbound: unexpected address %q", address)
	}
	return g.checkAddr(ctx, ap.Addr())
}

func (g *Guard) checkAddr(ctx context.Context, addr netip.Addr) error {
	if g.allow.allowsAddr(addr) {
		return nil
	}
	if reason := deniedReason(addr); reason != "" {
		host, _ := ctx.Value(dialHostKey{}).(string)
		if host == "" {
			host = addr.String()
		}
		return &DeniedError{Host: host, Addr: addr.Unmap().WithZone(""), Reason: reason, setting: g.setting}
	}
	return nil
}

// roundTripper checks each request's URL, and marks the proxy's address so
// that the dialer lets the operator's proxy be reached.
type roundTripper struct {
	guard *Guard
	base  *http.Transport
	proxy func(*http.Request) (*url.URL, error)
}

func (t *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	refuse := func(err error) (*http.Response, error) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if err := t.guard.checkTarget(req.URL); err != nil {
		return refuse(err)
	}
	if t.proxy != nil {
		pu, err := t.proxy(req)
		if err != nil {
			return refuse(err)
		}
		if pu != nil {
			if err := t.guard.checkProxiedTarget(req.Context(), req.URL.Hostname()); err != nil {
				return refuse(err)
			}
			req = req.WithContext(context.WithValue(req.Context(), proxyAddrKey{}, proxyAddr(pu)))
		}
	}
	return t.base.RoundTrip(req)
}

// checkProxiedTarget resolves the host of a request that goes through a
// proxy and refuses it if it resolves to a refused address. A name this
// process cannot resolve is left to the proxy.
func (g *Guard) checkProxiedTarget(ctx context.Context, host string) error {
	if _, err := netip.ParseAddr(host); err == nil || g.allow.allowsName(host) {
		return nil // literals were checked with the URL
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	ctx = context.WithValue(ctx, dialHostKey{}, host)
	for _, a := range addrs {
		if err := g.checkAddr(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// proxyAddr is the host:port the transport dials for a proxy URL.
func proxyAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "https":
			port = "443"
		case "socks5", "socks5h":
			port = "1080"
		default:
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// dialContext carries addr's host name, and whether the allow-list names
// it, to the check of the address connected to (control).
func (g *Guard) dialContext(ctx context.Context, addr string) (context.Context, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ctx = context.WithValue(ctx, dialHostKey{}, host)
	if g.allow.allowsName(host) {
		ctx = context.WithValue(ctx, allowedNameKey{}, true)
	}
	return ctx, nil
}

// Dial connects to addr (host:port) for a protocol other than HTTP, such
// as SMTP, with the checks of the client's connections: the address
// connected to, after name resolution, must not be refused.
func (g *Guard) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, err := g.dialContext(ctx, addr)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 10 * time.Second, ControlContext: g.control}
	return d.DialContext(ctx, network, addr)
}
