package engine

import "testing"

func TestSecretDenial(t *testing.T) {
	main, rel := []string{"main", "release/*"}, []string{"push", "tag"}
	for _, c := range []struct {
		name             string
		branches, events []string
		run              SecretRun
		want             string
	}{
		{"no limits", nil, nil, SecretRun{"refs/heads/x", "x", "manual"}, ""},
		{"main push", main, rel, SecretRun{"refs/heads/main", "main", "push"}, ""},
		{"release push", main, rel, SecretRun{"refs/heads/release/1.2", "release/1.2", "push"}, ""},
		{"nested release", main, nil, SecretRun{"refs/heads/release/1/2", "release/1/2", "push"},
			`it is limited to branches main, release/*, and this run is on branch "release/1/2"`},
		{"feature push", main, rel, SecretRun{"refs/heads/feature", "feature", "push"},
			`it is limited to branches main, release/*, and this run is on branch "feature"`},
		{"manual on main", main, rel, SecretRun{"refs/heads/main", "main", "manual"},
			`it is limited to runs started by push, tag, and this run was started by "manual"`},
		{"pull request to main", main, nil, SecretRun{"refs/pull/2/head", "main", "pull_request"},
			`it is limited to branches main, release/*, and a pull request's run gets no branch-limited secret`},
		{"tag not matching", main, rel, SecretRun{"refs/tags/v1", "", "tag"},
			`it is limited to branches main, release/*, and this run is on tag "v1"`},
		{"tag matching", []string{"v*"}, rel, SecretRun{"refs/tags/v1", "", "tag"}, ""},
		{"events only", nil, []string{"schedule"}, SecretRun{"refs/heads/main", "main", "schedule"}, ""},
	} {
		if got := SecretDenial(c.branches, c.events, c.run); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
