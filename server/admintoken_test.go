package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/server"
)

// The admin token is written once, for the operator: a revoked admin
// token stays revoked after a restart, even though its file is still there.
func TestRevokedAdminTokenStaysRevokedAfterRestart(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.DataDir, o.Agents = t.TempDir(), -1
		l := lathetest.Start(t, o)
		first := l.AdminToken
		var spare lathe.APIToken
		l.Do(t, http.MethodPost, "/api/v1/tokens", map[string]any{"name": "spare", "scopes": []string{"read", "write", "admin"}}, &spare)
		var tokens struct{ Items []lathe.APIToken }
		l.Do(t, http.MethodGet, "/api/v1/tokens", nil, &tokens)
		for _, k := range tokens.Items {
			if k.Name == "admin" {
				l.Do(t, http.MethodDelete, fmt.Sprint("/api/v1/tokens/", k.ID), nil, nil)
			}
		}
		l.Stop()

		l = lathetest.Start(t, o)
		ctx := context.Background()
		err := l.ClientAs(t, first).Do(ctx, http.MethodGet, "/api/v1/users/me", nil, nil)
		if client.StatusOf(err) != http.StatusUnauthorized {
			t.Errorf("the revoked admin token after a restart: %v, want 401", err)
		}
		if err := l.ClientAs(t, spare.Token).Do(ctx, http.MethodGet, "/api/v1/users/me", nil, nil); err != nil {
			t.Errorf("the spare admin token after a restart: %v", err)
		}
		if b, _ := os.ReadFile(filepath.Join(o.DataDir, "admin.token")); strings.TrimSpace(string(b)) != first {
			t.Errorf("admin.token was rewritten: %q, want the first start's token", b)
		}
	})
}

// `lathe up` in a checkout whose .lathe/ holds a committed admin.token
// (but no Lathe database) refuses to start rather than make that token
// the admin's credential.
func TestUpRefusesACommittedAdminToken(t *testing.T) {
	bin := lathetest.Binary(t)
	t.Chdir(t.TempDir())
	planted := "lathe_planted0000000000000000000000000000"
	if err := os.MkdirAll(".lathe", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(".lathe", "admin.token"), []byte(planted+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	up := lathetest.StartProcess(t, bin, "up", "--addr", lathetest.FreeAddr(t), "--agents", "0")
	if code := up.Wait(t, 30*time.Second); code == 0 {
		t.Fatalf("lathe up started with a foreign admin.token; output:\n%s", up.Output.String())
	}
	if out := up.Output.String(); !strings.Contains(out, "admin.token") || !strings.Contains(out, "Lathe did not write it") {
		t.Errorf("lathe up's refusal does not say why:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(".lathe", "admin.token")); string(b) != planted+"\n" {
		t.Errorf("lathe up changed the planted file: %q", b)
	}
}

// The data directory is the operator's alone, even when it existed before
// with wider modes (a checkout's .lathe/, or files of an older Lathe).
func TestDataDirectoryModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: data directory: %v, mode %v; want 0700", when, err, fi.Mode().Perm())
		}
		for _, name := range []string{"lathe.db", "lathe.db-wal", "lathe.db-shm", "secret.key", "admin.token"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %s: %v, mode %v; want 0600", when, name, err, fi.Mode().Perm())
			}
		}
	}
	l := lathetest.Start(t, lathetest.Options{DataDir: dir, Agents: -1})
	check("first start")
	l.Stop()
	os.Chmod(dir, 0o755)
	for _, name := range []string{"lathe.db", "lathe.db-wal", "lathe.db-shm"} {
		os.Chmod(filepath.Join(dir, name), 0o644)
	}
	lathetest.Start(t, lathetest.Options{DataDir: dir, Agents: -1})
	check("restart")
}

// A server whose address is taken stops before it makes anything (no data
// directory, no database, no admin token that a later start would not
// show again), and says what to do.
func TestAServerWhoseAddressIsTakenMakesNothing(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := filepath.Join(t.TempDir(), "state")
	srv, err := server.New(context.Background(), server.Config{Addr: taken.Addr().String(), DataDir: dir})
	if err == nil {
		srv.Stop()
		t.Fatal("a server started on an address in use")
	}
	if want := "listen: " + taken.Addr().String() + " is in use: another program, perhaps a Lathe server, listens there (stop it, or give --addr another address)"; err.Error() != want {
		t.Errorf("error %q; want %q", err, want)
	}
	if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
		t.Errorf("the data directory was made (%v) by a server that could not listen", serr)
	}
}
