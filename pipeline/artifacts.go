package pipeline

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The moments artifacts are kept.
const (
	ArtifactsOnSuccess = "on_success"
	ArtifactsOnFailure = "on_failure"
	ArtifactsAlways    = "always"
)

// MaxArtifactExpiry bounds `expire_in`.
const MaxArtifactExpiry = 365 * 24 * time.Hour

var (
	artifactKeys  = []string{"paths", "expire_in", "when"}
	artifactWhens = []string{ArtifactsOnSuccess, ArtifactsOnFailure, ArtifactsAlways}
)

// Artifacts declares the files a job keeps after it ends.
type Artifacts struct {
	// Paths are globs relative to the workspace.
	Paths []string
	// ExpireIn is how long they are kept; 0 means the server's default.
	ExpireIn time.Duration
	// When is ArtifactsOnSuccess (the default), ArtifactsOnFailure or
	// ArtifactsAlways.
	When string
}

// artifacts reads `artifacts:`: a list of globs, or {paths, expire_in, when}.
func (w *walker) artifacts(n *yaml.Node, path string) *Artifacts {
	a := &Artifacts{When: ArtifactsOnSuccess}
	if n.Kind != yaml.MappingNode {
		a.Paths = w.relGlobs(n, path)
		return a
	}
	var sawPaths bool
	for _, e := range w.entries(n, path) {
		field := join(path, e.key.Value)
		switch e.key.Value {
		case "paths":
			sawPaths = true
			a.Paths = w.relGlobs(e.value, field)
		case "expire_in":
			a.ExpireIn = w.expiry(e.value, field)
		case "when":
			switch {
			case !isScalar(e.value):
				w.errorf(e.value, field, "must be one of %s, not %s", strings.Join(artifactWhens, ", "), describe(e.value))
			case !slices.Contains(artifactWhens, e.value.Value):
				w.errorf(e.value, field, "unknown value %q%s; use %s", e.value.Value, w.didYouMean(e.value.Value, artifactWhens), strings.Join(artifactWhens, ", "))
			default:
				a.When = e.value.Value
			}
		default:
			w.unknownKey(e.key, path, artifactKeys)
		}
	}
	if !sawPaths {
		w.errorf(n, join(path, "paths"), "missing; list the files to keep, as in `paths: [dist/**]`")
	}
	return a
}

// relGlobs reads globs of files in the workspace: valid patterns that stay
// inside it (no absolute paths, no `..`).
func (w *walker) relGlobs(n *yaml.Node, path string) []string {
	globs := w.globList(n, path, "a path glob")
	out := globs[:0]
	for _, g := range globs {
		if strings.HasPrefix(g, "/") || slices.Contains(strings.Split(g, "/"), "..") {
			w.errorf(n, path, "%q leaves the workspace; paths are relative to it and cannot use ..", g)
			continue
		}
		out = append(out, g)
	}
	return out
}

// expiry reads a duration such as 30m, 12h, 7d or 2w.
func (w *walker) expiry(n *yaml.Node, path string) time.Duration {
	const help = "must be a duration such as 12h, 7d or 2w"
	if !isScalar(n) {
		w.errorf(n, path, "%s, not %s", help, describe(n))
		return 0
	}
	d, ok := parseExpiry(n.Value)
	switch {
	case !ok:
		w.errorf(n, path, "%s; %q is not one", help, n.Value)
	case d <= 0:
		w.errorf(n, path, "must be greater than zero")
	case d > MaxArtifactExpiry:
		w.errorf(n, path, "must be at most 365d")
	default:
		return d
	}
	return 0
}

// parseExpiry reads Go durations plus days (d) and weeks (w).
func parseExpiry(s string) (time.Duration, bool) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if num, ok := strings.CutSuffix(s, suffix); ok {
			n, err := strconv.Atoi(num)
			if err != nil {
				return 0, false
			}
			if n > 10_000 {
				return MaxArtifactExpiry + 1, true
			}
			return time.Duration(n) * unit, true
		}
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}
