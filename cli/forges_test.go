package cli_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/outbound"
)

// Forge connections are managed from the CLI as through the API: the
// token goes in on stdin and never comes out, and the connection's
// repositories are listed from the forge.
func TestCLIForgeCommands(t *testing.T) {
	var auth []string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		fmt.Fprint(w, `[{"full_name":"acme/widget","clone_url":"https://github.com/acme/widget.git","html_url":"https://github.com/acme/widget","private":true,"default_branch":"main"}]`)
	}))
	defer fake.Close()
	allow, err := outbound.ParseAllow("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	l := lathetest.Start(t, lathetest.Options{Agents: -1, OutboundAllow: allow})

	out := runCLIStdin(t, l, "forge-token-42\n", []string{"forge", "create", "gh", "--kind", "github", "--url", "https://github.com",
		"--api-url", fake.URL, "--with-token"})
	if !strings.Contains(out, "forge gh: github at https://github.com") || strings.Contains(out, "forge-token-42") {
		t.Errorf("forge create printed:\n%s", out)
	}
	var f lathe.Forge
	l.Do(t, http.MethodGet, "/api/v1/forges/gh", nil, &f)
	if f.Kind != "github" || f.APIURL != fake.URL {
		t.Errorf("the forge as the API has it: %+v", f)
	}
	if out := runCLI(t, l, []string{"forge", "list"}); !strings.Contains(out, "gh") || !strings.Contains(out, fake.URL) {
		t.Errorf("forge list:\n%s", out)
	}
	if out := runCLI(t, l, []string{"forge", "repos", "gh"}); !strings.Contains(out, "acme/widget") || !strings.Contains(out, "https://github.com/acme/widget.git") {
		t.Errorf("forge repos:\n%s", out)
	}
	if len(auth) != 1 || auth[0] != "Bearer forge-token-42" {
		t.Errorf("the forge was asked with %q, want the token given on stdin", auth)
	}
	runCLI(t, l, []string{"forge", "update", "gh", "--url", "https://github.example"})
	l.Do(t, http.MethodGet, "/api/v1/forges/gh", nil, &f)
	if f.URL != "https://github.example" {
		t.Errorf("after update: %+v", f)
	}
	runCLI(t, l, []string{"forge", "delete", "gh"})
	if err := l.Client.Do(context.Background(), http.MethodGet, "/api/v1/forges/gh", nil, nil); err == nil {
		t.Error("the forge is still there after delete")
	}
}
