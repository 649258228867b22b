package lathe

import (
	"fmt"
	"path/filepath"
	"strings"
)

// MaxUploadNameLen bounds an upload's name.
const MaxUploadNameLen = 100

// CheckUploadName says why name cannot name an upload, or returns nil. The
// server keeps an upload in a file named after it, so the rule is written
// as several independent checks rather than one pattern: each alone keeps
// a name inside its run's directory, and an upload named ".." or
// "..%2Fetc" (as it arrives after a router has unescaped it, or not) is
// refused by more than one of them.
func CheckUploadName(name string) error {
	switch {
	case name == "" || len(name) > MaxUploadNameLen:
		return fmt.Errorf("upload name %q: must be 1 to %d characters", name, MaxUploadNameLen)
	case strings.ContainsAny(name, `/\%`):
		return fmt.Errorf("upload name %q: must not contain '/', '\\' or '%%' (no paths, no escaped characters)", name)
	case strings.Contains(name, ".."):
		return fmt.Errorf("upload name %q: must not contain '..'", name)
	case name == "." || !filepath.IsLocal(name) || filepath.Base(name) != name:
		return fmt.Errorf("upload name %q: not a plain file name", name)
	}
	for _, c := range []byte(name) {
		if !uploadNameByte(c) {
			return fmt.Errorf("upload name %q: %q is not allowed: use letters, digits, '.', '_' or '-'", name, c)
		}
	}
	return nil
}

func uploadNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}
