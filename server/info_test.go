package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// GET /api/v1/info answers anyone, without a credential, with the
// server's version and settings, and shows no path of the server's.
func TestInfoIsPublicAndSaysWhatTheServerIs(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		anon := l.ClientAs(t, "")
		resp, err := anon.Request(context.Background(), http.MethodGet, "/api/v1/info", nil, nil)
		if err != nil {
			t.Fatalf("GET /api/v1/info without a credential: %v", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		var info struct {
			Version   string `json:"version"`
			GoVersion string `json:"go_version"`
			Database  string `json:"database"`
			Features  struct {
				Executor          string   `json:"executor"`
				ContainerExecutor bool     `json:"container_executor"`
				EmbeddedAgents    int      `json:"embedded_agents"`
				Secrets           bool     `json:"secrets"`
				Forges            []string `json:"forges"`
			} `json:"features"`
			Auth []string `json:"auth"`
		}
		if err := json.Unmarshal(body, &info); err != nil {
			t.Fatal(err)
		}
		wantDB := "sqlite"
		if o.DatabaseURL != "" {
			wantDB = "postgres"
		}
		f := info.Features
		if info.Version != lathe.Version || info.GoVersion != runtime.Version() || info.Database != wantDB {
			t.Errorf("version %q go %q database %q, want %q %q %q", info.Version, info.GoVersion, info.Database, lathe.Version, runtime.Version(), wantDB)
		}
		if f.EmbeddedAgents != 2 || f.Executor == "" || !f.Secrets || len(f.Forges) != 3 || len(info.Auth) != 2 {
			t.Errorf("features %+v auth %v", f, info.Auth)
		}
		if strings.Contains(string(body), l.DataDir) || strings.Contains(string(body), "postgres://") {
			t.Errorf("info shows a path or a database URL: %s", body)
		}
	})
}
