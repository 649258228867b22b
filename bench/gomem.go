package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// goMemory is where a `lathe server`'s memory goes, from its /metrics
// (Go collector), so the fleet's VmRSS can be read as stacks and heap.
type goMemory struct {
	Goroutines float64 `json:"goroutines"`
	StackMB    float64 `json:"stack_inuse_mb"`
	HeapMB     float64 `json:"heap_inuse_mb"`
	// HeapSysMB is the heap's memory from the OS (in use, idle and not yet returned).
	HeapSysMB float64 `json:"heap_sys_mb"`
}

// freeAddr returns a 127.0.0.1 address with a port free now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// readGoMemory scrapes the Go runtime's figures from a /metrics address.
func readGoMemory(ctx context.Context, addr string) (*goMemory, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	m := &goMemory{}
	fields := map[string]*float64{
		"go_goroutines":                 &m.Goroutines,
		"go_memstats_stack_inuse_bytes": &m.StackMB,
		"go_memstats_heap_inuse_bytes":  &m.HeapMB,
		"go_memstats_heap_sys_bytes":    &m.HeapSysMB,
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if p := fields[name]; ok && p != nil {
			*p, _ = strconv.ParseFloat(value, 64)
		}
	}
	m.StackMB /= 1 << 20
	m.HeapMB /= 1 << 20
	m.HeapSysMB /= 1 << 20
	return m, sc.Err()
}
