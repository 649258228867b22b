package engine

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// SecretRun is what decides whether a run may have a protected secret:
// the run's own ref and event as the server recorded them, never anything
// the pipeline file says.
type SecretRun struct {
	Ref, Branch, Event string
}

// SecretDenial says why a run may not have a secret limited to branches
// and events (either empty: no limit), or "" when it may. A branch run is
// matched by its branch, a tag run by its tag name; a pull request's run
// carries the target branch but runs the request's code, so it never
// matches a branch limit.
func SecretDenial(branches, events []string, run SecretRun) string {
	if len(events) > 0 && !slices.Contains(events, run.Event) {
		return fmt.Sprintf("it is limited to runs started by %s, and this run was started by %q", strings.Join(events, ", "), run.Event)
	}
	if len(branches) == 0 {
		return ""
	}
	name, what := run.Branch, "branch"
	switch {
	case run.Event == "pull_request":
		return fmt.Sprintf("it is limited to branches %s, and a pull request's run gets no branch-limited secret", strings.Join(branches, ", "))
	case strings.HasPrefix(run.Ref, "refs/tags/"):
		name, what = strings.TrimPrefix(run.Ref, "refs/tags/"), "tag"
	}
	for _, pat := range branches {
		if ok, _ := path.Match(pat, name); ok && name != "" {
			return ""
		}
	}
	return fmt.Sprintf("it is limited to branches %s, and this run is on %s %q", strings.Join(branches, ", "), what, name)
}
