package engine_test

import (
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

func TestDecideHookTrust(t *testing.T) {
	t.Parallel()
	protected := []string{"main", "release/*"}
	for _, c := range []struct {
		name string
		in   engine.HookTrust
		want engine.Trust
	}{
		{"fork PR, even with everyone", engine.HookTrust{PullRequest: true, Fork: true, PRTrust: lathe.PRTrustEveryone}, engine.Untrusted},
		{"push, nothing protected", engine.HookTrust{Branch: "feature"}, engine.Trusted},
		{"push to protected main", engine.HookTrust{Branch: "main", Protected: protected}, engine.Trusted},
		{"push to protected release/2", engine.HookTrust{Branch: "release/2", Protected: protected}, engine.Trusted},
		{"push elsewhere asks the forge", engine.HookTrust{Branch: "feature", Protected: protected}, engine.AuthorWriteOnForge},
		{"tag push with protection asks", engine.HookTrust{Protected: protected, PRTrust: lathe.PRTrustWriteInLathe}, engine.AuthorWriteInLathe},
		{"same-repo PR, default", engine.HookTrust{PullRequest: true}, engine.AuthorWriteOnForge},
		{"same-repo PR to protected main still asks", engine.HookTrust{PullRequest: true, Branch: "main", Protected: protected}, engine.AuthorWriteOnForge},
		{"same-repo PR, write in Lathe", engine.HookTrust{PullRequest: true, PRTrust: lathe.PRTrustWriteInLathe}, engine.AuthorWriteInLathe},
		{"same-repo PR, everyone", engine.HookTrust{PullRequest: true, PRTrust: lathe.PRTrustEveryone}, engine.Trusted},
		{"unknown rule trusts nobody", engine.HookTrust{PullRequest: true, PRTrust: "whoever"}, engine.Untrusted},
	} {
		if got := engine.DecideHookTrust(c.in); got != c.want {
			t.Errorf("%s: %v; want %v", c.name, got, c.want)
		}
	}
}
