package service

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// hostList is the optional allow-list of hosts services may be called on.
// An empty list allows every host: services often run beside dtbase, on
// private or loopback addresses.
type hostList struct {
	exact    map[string]bool
	suffixes []string // ".example.com" for "*.example.com"
	prefixes []netip.Prefix
}

// parseHostList reads entries such as "api.example.com", "*.azurewebsites.net",
// "10.0.0.0/8" or "127.0.0.1".
func parseHostList(entries []string) (hostList, error) {
	l := hostList{exact: map[string]bool{}}
	for _, e := range entries {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case e == "":
		case strings.HasPrefix(e, "*."):
			l.suffixes = append(l.suffixes, e[1:])
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return l, fmt.Errorf("allowed hosts: %q is not a valid CIDR range", e)
			}
			l.prefixes = append(l.prefixes, p.Masked())
		default:
			if strings.ContainsAny(e, " :*?") && net.ParseIP(e) == nil {
				return l, fmt.Errorf("allowed hosts: %q is not a host name, *.suffix or CIDR range", e)
			}
			l.exact[strings.Trim(e, "[]")] = true
		}
	}
	return l, nil
}

func (l hostList) empty() bool {
	return len(l.exact) == 0 && len(l.suffixes) == 0 && len(l.prefixes) == 0
}

// allows reports whether host (a name or an IP address, without port) may be
// called.
func (l hostList) allows(host string) bool {
	if l.empty() {
		return true
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if l.exact[host] {
		return true
	}
	for _, s := range l.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		for _, p := range l.prefixes {
			if p.Contains(addr.Unmap()) {
				return true
			}
		}
	}
	return false
}
