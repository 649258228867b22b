package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lathe-ci/lathe/client"
)

// serverChild is `lathe server` run as its own process, so its memory can
// be read from /proc on its own.
type serverChild struct {
	*child
	url   string
	admin *client.Client
}

// startServerChild starts `lathe server` on 127.0.0.1 with SQLite in
// dataDir, waits until it answers /readyz, and reads its admin token.
func startServerChild(ctx context.Context, bin, dataDir string, extra ...string) (*serverChild, error) {
	args := append([]string{"server", "--addr", "127.0.0.1:0", "--data", dataDir, "--log-level", "warn"}, extra...)
	c, err := startChild("lathe server", bin, args...)
	if err != nil {
		return nil, err
	}
	s := &serverChild{child: c}
	if err := s.ready(ctx, dataDir); err != nil {
		c.stop(stopTimeout)
		return nil, fmt.Errorf("%w\nlathe server output:\n%s", err, tailString(c.out.String(), 20))
	}
	return s, nil
}

func (s *serverChild) ready(ctx context.Context, dataDir string) error {
	deadline := time.Now().Add(readyTimeout)
	wait := func() error {
		if !s.running() {
			return errors.New("lathe server exited at start")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lathe server not ready within %s", readyTimeout)
		}
		select {
		case <-time.After(20 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for s.url == "" {
		if m := urlLine.FindStringSubmatch(s.out.String()); m != nil {
			s.url = m[1]
		} else if err := wait(); err != nil {
			return err
		}
	}
	for {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if err := wait(); err != nil {
			return err
		}
	}
	tok, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	if err != nil {
		return err
	}
	s.admin = client.New(s.url, strings.TrimSpace(string(tok)))
	return nil
}

// status reads the server's /proc/PID/status.
func (s *serverChild) status() ([]byte, error) {
	return os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid()))
}

// openFDs counts the server's open file descriptors.
func (s *serverChild) openFDs() int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.pid()))
	if err != nil {
		return -1
	}
	return len(ents)
}
