package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dtbase/dtbase"
)

// Throttle slows down password guessing without locking anyone out.
// Failures are counted per (account, client address) and per client
// address, in the database, so every replica sees the same counts. After a
// number of free failures each further one doubles the wait before the next
// try from that address, up to MaxDelay. A flood of guesses from one address
// never delays the owner signing in from another, and a successful login
// clears its (account, address) count.
type Throttle struct {
	AccountFree int           // failures for one account from one address before waits begin
	AddressFree int           // failures from one address, any accounts, before waits begin
	BaseDelay   time.Duration // the first wait
	MaxDelay    time.Duration // the longest wait
	Reset       time.Duration // a count with no failure for this long starts over
}

// DefaultThrottle allows 10 failures per account and address and 100 per
// address before waits of 15 s, doubling to 15 min; counts reset after an
// hour without failures.
var DefaultThrottle = Throttle{AccountFree: 10, AddressFree: 100, BaseDelay: 15 * time.Second, MaxDelay: 15 * time.Minute, Reset: time.Hour}

// delay is the wait after count consecutive failures, with free allowed.
func (t Throttle) delay(count, free int) time.Duration {
	if count < free {
		return 0
	}
	n := count - free
	if n > 30 {
		return t.MaxDelay
	}
	return min(t.BaseDelay<<n, t.MaxDelay)
}

type throttleKeys struct{ account, address string }

// keys names the counts of a login. The key is a hash, so that a long email
// costs no more to store than a short one; emails are compared without case
// so that case variants do not multiply the guesses.
func (t Throttle) keys(email, clientIP string) throttleKeys {
	addr := addressGroup(clientIP)
	h := func(parts ...string) string {
		sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
		return hex.EncodeToString(sum[:16])
	}
	return throttleKeys{account: "a:" + h(strings.ToLower(email), addr), address: "c:" + h(addr)}
}

// addressGroup is the unit a client controls: an IPv4 address, or an IPv6
// /64, since one host usually holds a whole /64.
func addressGroup(ip string) string {
	p := net.ParseIP(ip)
	if p == nil || p.To4() != nil {
		return ip
	}
	return p.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// wait returns how long a login under keys must wait, or 0.
func (a *Auth) wait(ctx context.Context, keys throttleKeys, now time.Time) (time.Duration, error) {
	got, err := a.store.LoginFailures(ctx, []string{keys.account, keys.address})
	if err != nil {
		return 0, err
	}
	t := a.cfg.Throttle
	var wait time.Duration
	for key, free := range map[string]int{keys.account: t.AccountFree, keys.address: t.AddressFree} {
		f, ok := got[key]
		if !ok || now.Sub(f.Last) >= t.Reset {
			continue
		}
		if w := f.Last.Add(t.delay(f.Count, free)).Sub(now); w > wait {
			wait = w
		}
	}
	return wait, nil
}

// RateLimitError is a login refused until Wait has passed.
type RateLimitError struct{ Wait time.Duration }

func (e *RateLimitError) Error() string { return "too many failed logins" }

// RetryAfter is the Retry-After header value: whole seconds, rounded up.
func (e *RateLimitError) RetryAfter() string {
	return strconv.Itoa(max(1, int(math.Ceil(e.Wait.Seconds()))))
}

func (e *RateLimitError) Unwrap() error {
	return dtbase.Errorf(dtbase.ERATELIMIT, "Too many failed login attempts; try again in %s seconds", e.RetryAfter())
}

// ClientIP is the address a request came from: the connection's peer, or,
// when the peer is one of the trusted proxies, the last address in
// X-Forwarded-For that is not a trusted proxy. Without trusted proxies the
// header is ignored, since any client can send it.
func (a *Auth) ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(a.cfg.TrustedProxies) == 0 || !a.trusted(host) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if net.ParseIP(hop) == nil {
			break // a malformed entry: stop at the last address we can vouch for
		}
		host = hop
		if !a.trusted(hop) {
			break
		}
	}
	return host
}

func (a *Auth) trusted(ip string) bool {
	p := net.ParseIP(ip)
	for _, n := range a.cfg.TrustedProxies {
		if p != nil && n.Contains(p) {
			return true
		}
	}
	return false
}

// ParseCIDRs parses a comma-separated list of CIDRs or single addresses.
func ParseCIDRs(list string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			ip := net.ParseIP(s)
			if ip == nil {
				return nil, fmt.Errorf("%q is neither an address nor a CIDR", s)
			}
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR", s)
		}
		out = append(out, n)
	}
	return out, nil
}
