package outbound

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// hostList is the allow-list of hosts and address ranges that may be
// called although the default denial would refuse them.
type hostList struct {
	exact    map[string]bool
	suffixes []string // ".example.com" for "*.example.com"
	prefixes []netip.Prefix
}

// parseHostList reads entries such as "internal.example.org",
// "*.corp.example.org", "10.0.0.0/8", "127.0.0.1" or "::1".
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
			if addr, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
				l.prefixes = append(l.prefixes, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
				continue
			}
			if strings.ContainsAny(e, " :*?[]") || net.ParseIP(e) != nil {
				return l, fmt.Errorf("allowed hosts: %q is not a host name, *.suffix, IP address or CIDR range", e)
			}
			l.exact[strings.TrimSuffix(e, ".")] = true
		}
	}
	return l, nil
}

// allowsName reports whether a host name (not an address) is on the list.
func (l hostList) allowsName(host string) bool {
	host = normalHost(host)
	if l.exact[host] {
		return true
	}
	for _, s := range l.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// allowsAddr reports whether an address is in one of the listed ranges.
func (l hostList) allowsAddr(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	for _, p := range l.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func normalHost(host string) string {
	return strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
}
