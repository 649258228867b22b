package api

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// SetTrustedProxies names the reverse proxies whose X-Forwarded-For header
// the server believes. Without any, the client is the peer address: behind
// a proxy every client would share the proxy's rate-limit bucket, and a
// header anyone can send must not pick the bucket. Call it before serving.
func (s *Server) SetTrustedProxies(p []netip.Prefix) { s.trustedProxies = p }

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.trustedProxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// clientIP is the address the request came from: the peer, or, when the
// peer is a trusted proxy, the nearest address in X-Forwarded-For that is
// not one (read from the right, as each proxy appends the address it saw;
// what lies left of the first untrusted hop is the client's to forge).
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a garbled hop: trust nothing further left
		}
		host = a.Unmap().String()
		if !s.trusted(a) {
			break
		}
	}
	return host
}
