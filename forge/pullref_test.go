package forge_test

import (
	"testing"

	"github.com/lathe-ci/lathe/forge"
)

func TestPullRef(t *testing.T) {
	t.Parallel()
	for kind, want := range map[forge.Kind]string{
		forge.GitHub: "refs/pull/42/head",
		forge.Gitea:  "refs/pull/42/head",
		forge.GitLab: "refs/merge-requests/42/head",
	} {
		if got := forge.PullRef(kind, 42); got != want {
			t.Errorf("PullRef(%s, 42) = %q, want %q", kind, got, want)
		}
	}
}
