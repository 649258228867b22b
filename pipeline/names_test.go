package pipeline

import (
	"regexp"
	"strings"
	"testing"
)

// TestNameChecksFollowTheirPatterns holds the byte-by-byte name checks to
// the patterns the JSON schema publishes.
func TestNameChecksFollowTheirPatterns(t *testing.T) {
	inputs := []string{"", "a", "A", "_", "-", ".", "..", "...", ".-", "-.", "..x", "0", "9a", "a9", "_x", "-x", ".x", "x-y", "x.y", "x_y",
		"build", "Build.2", "a b", "é", "a\n", "\na", "x$", "a/b", strings.Repeat("a", 63), strings.Repeat("a", 64),
		strings.Repeat("a", 65), strings.Repeat("a", 100), strings.Repeat("a", 101), "_" + strings.Repeat("9", 63)}
	for _, c := range []struct {
		pattern string
		check   func(string) bool
	}{{namePattern, validName}, {envNamePattern, validEnvName}, {identPattern, validIdent}} {
		re := regexp.MustCompile(c.pattern)
		for _, in := range inputs {
			if got, want := c.check(in), re.MatchString(in); got != want {
				t.Errorf("%s: check(%q) = %v, the pattern says %v", c.pattern, in, got, want)
			}
		}
	}
}

// FuzzNameChecks holds the checks to their patterns on any input.
func FuzzNameChecks(f *testing.F) {
	f.Add("build")
	f.Add("_x-1")
	res := []*regexp.Regexp{regexp.MustCompile(namePattern), regexp.MustCompile(envNamePattern), regexp.MustCompile(identPattern)}
	checks := []func(string) bool{validName, validEnvName, validIdent}
	f.Fuzz(func(t *testing.T, s string) {
		for i, re := range res {
			if got, want := checks[i](s), re.MatchString(s); got != want {
				t.Errorf("%s: check(%q) = %v, the pattern says %v", re, s, got, want)
			}
		}
	})
}
