package cli_test

import (
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A command whose server does not answer says so in words, naming the
// address and where it came from, not Go's dial error.
func TestNoServerAnswersSaysSo(t *testing.T) {
	bin := lathetest.Binary(t)
	addr := closedAddr(t)
	out, err := exec.Command(bin, "runs", "--server", "http://"+addr, "--token", "lathe_x").CombinedOutput()
	want := "lathe: no Lathe server answers at " + addr + ": connection refused (is it running? check --server or LATHE_SERVER)"
	if err == nil || strings.TrimSpace(string(out)) != want {
		t.Errorf("lathe runs with no server: %v\n%s\nwant %s", err, out, want)
	}
}

// closedAddr is an address on 127.0.0.1 where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
