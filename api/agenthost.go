package api

import (
	"encoding/json"
	"sync"

	lathe "github.com/lathe-ci/lathe"
)

// hostHeaders remembers the last host-info header (lathe.AgentHostHeader)
// each agent sent and what it decoded to: an agent sends the same header
// with every claim, and decoding it each time is a good part of what an
// idle poll costs.
type hostHeaders struct {
	mu sync.Mutex
	m  map[int64]decodedHost
}

type decodedHost struct {
	raw  string
	host lathe.HostInfo
}

// hostHeadersMax bounds the agents remembered; past it, everything is forgotten.
const hostHeadersMax = 100_000

// decode returns the host info in raw, the header agent sent, and whether
// it is valid JSON of one.
func (h *hostHeaders) decode(agent int64, raw string) (lathe.HostInfo, bool) {
	h.mu.Lock()
	d, ok := h.m[agent]
	h.mu.Unlock()
	if ok && d.raw == raw {
		return d.host, true
	}
	var info lathe.HostInfo
	if json.Unmarshal([]byte(raw), &info) != nil {
		return info, false
	}
	h.mu.Lock()
	if h.m == nil || len(h.m) >= hostHeadersMax {
		h.m = map[int64]decodedHost{}
	}
	h.m[agent] = decodedHost{raw: raw, host: info}
	h.mu.Unlock()
	return info, true
}
