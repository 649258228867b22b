package api

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// RequestIDHeader carries a request's ID: the one a proxy in front set,
// when it is a plain token, or one made here. The answer carries it back,
// and every log line about the request says it (request_id), so a client's
// report of a failed request finds the server's lines about it.
const RequestIDHeader = "X-Request-Id"

// maxRequestID bounds the length of a request ID taken from a request.
const maxRequestID = 64

// requestIDs makes request IDs: a random prefix per server (so replicas'
// IDs never collide) and a counter, cheap enough for every request.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	b := make([]byte, 4)
	rand.Read(b)
	return &requestIDs{prefix: hex.EncodeToString(b) + "-"}
}

// of returns r's request ID: its header's when valid, else a new one.
func (g *requestIDs) of(r *http.Request) string {
	if id := r.Header.Get(RequestIDHeader); validRequestID(id) {
		return id
	}
	var b [maxRequestID]byte
	return string(strconv.AppendUint(append(b[:0], g.prefix...), g.n.Add(1), 36))
}

// validRequestID accepts 1–64 letters, digits, '.', '_', ':' and '-'.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// pathIDs names the log attribute of a path value by the segment before it
// ("/api/v1/runs/{id}" → run_id).
var pathIDs = map[string]string{"runs": "run_id", "jobs": "job_id", "attempts": "attempt_id", "stages": "stage_id"}

// requestAttrs are r's request ID and the IDs its route's path names.
func requestAttrs(r *http.Request, id string) []any {
	attrs := []any{"request_id", id}
	segs := strings.Split(r.Pattern, "/")
	for i := 1; i < len(segs); i++ {
		name, ok := strings.CutPrefix(segs[i], "{")
		if !ok {
			continue
		}
		name = strings.TrimSuffix(strings.TrimSuffix(name, "}"), "...")
		if key, ok := pathIDs[segs[i-1]]; ok {
			if v := r.PathValue(name); v != "" {
				attrs = append(attrs, key, v)
			}
		}
	}
	return attrs
}
