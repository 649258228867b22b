package lathe_test

import (
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
)

func TestCheckArtifactPath(t *testing.T) {
	for _, p := range []string{"a", "dist/app.bin", "dist/sub/notes.txt", ".hidden", "a..b", "a/.gitignore", "résumé.pdf", "with space.txt"} {
		if err := lathe.CheckArtifactPath(p); err != nil {
			t.Errorf("CheckArtifactPath(%q) = %v; want nil", p, err)
		}
	}
	for _, p := range []string{"", "..", "../x", "a/../../b", "a/..", "/etc/passwd", "//x", "a\x00b", `a\b`, `..\..\x`, ".git", ".git/config",
		"a//b", "./a", "a/./b", "a/", ".", "a\nb", "a\x7fb", strings.Repeat("x", 1025)} {
		if err := lathe.CheckArtifactPath(p); err == nil {
			t.Errorf("CheckArtifactPath(%q) = nil; want an error", p)
		} else if !strings.Contains(err.Error(), "artifact path") {
			t.Errorf("CheckArtifactPath(%q) = %v; want it to name the artifact path", p, err)
		}
	}
}

func TestCheckCacheKey(t *testing.T) {
	for _, k := range []string{"go-0123abcd", "linux/go-1.22+race", "a_b.c"} {
		if err := lathe.CheckCacheKey(k); err != nil {
			t.Errorf("CheckCacheKey(%q) = %v", k, err)
		}
	}
	for _, k := range []string{"", "a b", "a\x00", "{{ x }}", strings.Repeat("k", 201), "a%2f"} {
		if lathe.CheckCacheKey(k) == nil {
			t.Errorf("CheckCacheKey(%q) = nil; want an error", k)
		}
	}
}
