package cli_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A server whose PostgreSQL does not answer says that its database does
// not, naming the flag: not the client commands' "no Lathe server
// answers… check --server", which sent operators looking for the wrong
// process.
func TestServerWithoutItsDatabaseNamesTheDatabase(t *testing.T) {
	bin := lathetest.Binary(t)
	addr := lathetest.FreeAddr(t)
	cmd := exec.Command(bin, "server", "--data", filepath.Join(t.TempDir(), "data"), "--addr", "127.0.0.1:0",
		"--database-url", "postgres://lathe@"+addr+"/lathe?sslmode=disable")
	out, err := cmd.CombinedOutput()
	msg := strings.TrimSpace(string(out))
	if err == nil || !strings.HasPrefix(msg, "lathe: --database-url: ") || !strings.Contains(msg, addr) ||
		!strings.Contains(msg, "connection refused") || strings.Contains(msg, "Lathe server") {
		t.Errorf("lathe server with its database down: %v\n%s\nwant it to say --database-url at %s refused the connection", err, out, addr)
	}
}
