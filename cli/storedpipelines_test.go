package cli_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A pipeline stored from the CLI shows beside the repository's, reads
// back as it was put, and goes when deleted.
func TestCLIStoredPipelines(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [true]\n"}))
	yaml := "on:\n  manual: {}\njobs:\n  check:\n    steps: [echo checked]\n"
	if out := runCLIStdin(t, l, yaml, []string{"stored-pipeline", "put", "shop", "nightly"}); !strings.Contains(out, "stored pipeline nightly of shop") {
		t.Errorf("put printed:\n%s", out)
	}
	if out := runCLI(t, l, []string{"stored-pipeline", "get", "shop", "nightly"}); out != yaml {
		t.Errorf("get printed %q, want the YAML put", out)
	}
	if out := runCLI(t, l, []string{"stored-pipeline", "list", "shop"}); !strings.Contains(out, "nightly") || !strings.Contains(out, "admin") {
		t.Errorf("list:\n%s", out)
	}
	if out := runCLI(t, l, []string{"pipelines", "shop"}); !strings.Contains(out, "pipeline nightly (stored:nightly") {
		t.Errorf("pipelines does not show the stored one:\n%s", out)
	}
	runCLI(t, l, []string{"stored-pipeline", "delete", "shop", "nightly"})
	if err := l.Client.Do(context.Background(), http.MethodGet, "/api/v1/projects/shop/stored-pipelines/nightly", nil, nil); err == nil {
		t.Error("the stored pipeline is still there after delete")
	}
}
