package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// The floors that are servers run as this binary's children (see
// pollfloor.go and queuefloor.go), so their CPU is their own.

// serveFloor serves h on 127.0.0.1, prints the URL for startFloor, and
// returns at SIGTERM or SIGINT.
func serveFloor(h http.Handler) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("floor listening at http://%s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startFloor runs this binary with args as the floor server name and
// returns it once it listens, with its URL.
func startFloor(name string, args ...string) (*child, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	c, err := startChild(name, self, args...)
	if err != nil {
		return nil, "", err
	}
	for deadline := time.Now().Add(readyTimeout); ; {
		if line, _, ok := strings.Cut(c.out.String(), "\n"); ok {
			if u, ok := strings.CutPrefix(line, "floor listening at "); ok {
				return c, u, nil
			}
		}
		if !c.running() || time.Now().After(deadline) {
			c.stop(stopTimeout)
			return nil, "", fmt.Errorf("%s did not start: %s", name, c.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
