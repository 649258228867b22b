package dockerapi

import "testing"

func TestWithTag(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                           "busybox:latest",
		"busybox:1.36":                      "busybox:1.36",
		"registry.local:5000/team/app":      "registry.local:5000/team/app:latest",
		"registry.local:5000/team/app:v2":   "registry.local:5000/team/app:v2",
		"team/app@sha256:0123456789abcdef0": "team/app@sha256:0123456789abcdef0",
	} {
		if got := withTag(in); got != want {
			t.Errorf("withTag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOlderVersion(t *testing.T) {
	for _, c := range []struct {
		a, b  string
		older bool
	}{
		{"1.41", "1.43", true},
		{"1.43", "1.43", false},
		{"1.44", "1.43", false},
		{"1.9", "1.41", true},
		{"2.0", "1.43", false},
	} {
		if got := olderVersion(c.a, c.b); got != c.older {
			t.Errorf("olderVersion(%q, %q) = %v, want %v", c.a, c.b, got, c.older)
		}
	}
}

func TestValidRef(t *testing.T) {
	for ref, want := range map[string]bool{
		"busybox":                         true,
		"registry.local:5000/team/app:v2": true,
		"team/app@sha256:0123abcd":        true,
		"sha256:0123abcd":                 true,
		"":                                false,
		"../containers/x":                 false,
		"team/../x":                       false,
		"/abs":                            false,
		"a/b?c":                           false,
		"a b":                             false,
	} {
		if got := validRef(ref); got != want {
			t.Errorf("validRef(%q) = %v, want %v", ref, got, want)
		}
	}
}
