// Package outbound is the one HTTP client Lathe calls other servers with:
// commit statuses to forges and project webhooks. A URL a project names can
// point anywhere, so the client refuses destinations that are not public —
// loopback, link-local, private, unspecified, multicast and reserved ranges
// — unless the operator allows them (--outbound-allow). The check is made
// on the address actually dialed, at connect time, so a redirect or a DNS
// answer that changes after a check (rebinding) cannot slip past it.
//
// It imports nothing of Lathe's but internal/retry.
package outbound

import (
	"fmt"
	"net/netip"
	"strings"
)

// Allow is what the operator lets the client reach beyond public
// addresses: networks, and host names (whatever they resolve to).
type Allow struct {
	Networks []netip.Prefix
	Hosts    []string
}

// ParseAllow reads a comma-separated allow-list: CIDRs (10.0.0.0/8), single
// addresses (127.0.0.1, ::1) and host names (forge.internal).
func ParseAllow(list string) (Allow, error) {
	var a Allow
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
			continue
		case strings.Contains(item, "/"):
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return Allow{}, fmt.Errorf("--outbound-allow: %q is not a CIDR such as 10.0.0.0/8", item)
			}
			a.Networks = append(a.Networks, p.Masked())
		default:
			if addr, err := netip.ParseAddr(item); err == nil {
				a.Networks = append(a.Networks, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
				continue
			}
			if !validHost(item) {
				return Allow{}, fmt.Errorf("--outbound-allow: %q is neither a CIDR, an address nor a host name", item)
			}
			a.Hosts = append(a.Hosts, strings.ToLower(strings.TrimSuffix(item, ".")))
		}
	}
	return a, nil
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// String is the list as ParseAllow reads it.
func (a Allow) String() string {
	var parts []string
	for _, n := range a.Networks {
		parts = append(parts, n.String())
	}
	return strings.Join(append(parts, a.Hosts...), ",")
}

// host reports whether the host name h is allowed whatever it resolves to.
func (a Allow) host(h string) bool {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	for _, x := range a.Hosts {
		if x == h {
			return true
		}
	}
	return false
}

// addr reports whether an address in a refused range is allowed anyway.
func (a Allow) addr(ip netip.Addr) bool {
	for _, n := range a.Networks {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// special is a range that is not a public destination, with what it is.
type special struct {
	prefix netip.Prefix
	what   string
}

// specials are the ranges the client refuses by default (IANA's special-
// purpose registries, the ones a server could be tricked into reaching).
var specials = func() []special {
	var out []special
	for _, s := range []struct{ cidr, what string }{
		{"0.0.0.0/8", "unspecified"},
		{"10.0.0.0/8", "private"},
		{"100.64.0.0/10", "shared (carrier-grade NAT)"},
		{"127.0.0.0/8", "loopback"},
		{"169.254.0.0/16", "link-local"},
		{"172.16.0.0/12", "private"},
		{"192.0.0.0/24", "reserved (IETF protocol assignments)"},
		{"192.0.2.0/24", "reserved (documentation)"},
		{"192.168.0.0/16", "private"},
		{"198.18.0.0/15", "reserved (benchmarking)"},
		{"198.51.100.0/24", "reserved (documentation)"},
		{"203.0.113.0/24", "reserved (documentation)"},
		{"224.0.0.0/4", "multicast"},
		{"240.0.0.0/4", "reserved"},
		{"::/128", "unspecified"},
		{"::1/128", "loopback"},
		{"64:ff9b:1::/48", "reserved (local NAT64)"},
		{"100::/64", "reserved (discard)"},
		{"2001:db8::/32", "reserved (documentation)"},
		{"fc00::/7", "private (unique local)"},
		{"fe80::/10", "link-local"},
		{"ff00::/8", "multicast"},
	} {
		out = append(out, special{netip.MustParsePrefix(s.cidr), s.what})
	}
	return out
}()

// nat64 is the well-known NAT64 prefix: its addresses reach the IPv4
// address in their last 32 bits, which is judged instead.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Classify says what kind of non-public address ip is, or "" for a public one.
func Classify(ip netip.Addr) string {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		return Classify(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	}
	for _, s := range specials {
		if s.prefix.Contains(ip) {
			return s.what
		}
	}
	return ""
}

// RefusedError is a destination the client would not connect to.
type RefusedError struct {
	Addr netip.Addr
	// What the address is: "loopback", "private", …
	What string
}

func (e *RefusedError) Error() string {
	article := "a"
	if strings.IndexByte("aeiou", e.What[0]) >= 0 {
		article = "an"
	}
	return fmt.Sprintf("destination %s is %s %s address; allow it with --outbound-allow", e.Addr, article, e.What)
}

// check refuses ip unless it is public or allowed.
func (a Allow) check(ip netip.Addr) error {
	ip = ip.Unmap()
	what := Classify(ip)
	if what == "" || a.addr(ip) {
		return nil
	}
	return &RefusedError{Addr: ip, What: what}
}
