package cli_test

import (
	"testing"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// lathe secrets list and get say how a job gets each secret: in its
// variable (env) or as a file whose path the variable holds.
func TestCLISecretsShowTheirKind(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [true]\n"}))
	for _, args := range [][]string{
		{"secrets", "set", "--project", "shop", "DB_PASSWORD"},
		{"secrets", "set", "--project", "shop", "--kind", "file", "KUBECONFIG"},
	} {
		if code, _, stderr := cov2Run(t, l, "a-value-of-some-length\n", args...); code != 0 {
			t.Fatalf("lathe %v: exit %d: %s", args, code, stderr)
		}
	}
	_, list, _ := cov2Run(t, l, "", "secrets", "list", "--project", "shop")
	_, get, _ := cov2Run(t, l, "", "secrets", "get", "--project", "shop", "KUBECONFIG")
	if !cov2Row(list, "NAME", "KIND", "SCOPE") || !cov2Row(list, "DB_PASSWORD", "env", "shop") || !cov2Row(list, "KUBECONFIG", "file", "shop") {
		t.Errorf("lathe secrets list:\n%s", list)
	}
	if !cov2Row(get, "KUBECONFIG", "file", "shop") {
		t.Errorf("lathe secrets get:\n%s", get)
	}
}
