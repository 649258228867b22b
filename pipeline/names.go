package pipeline

import (
	"path"
	"strings"
)

// The naming rules are checked byte by byte rather than with regular
// expressions: every parse checks names, and compiling a regexp costs a
// `lathe exec` more than the rest of its parse. The patterns stay, for the
// JSON schema (and the tests hold the checks to them).
const (
	// namePattern is the rule for pipeline, stage and job names: safe in
	// URLs, file names and log lines. "." and ".." are not names: a URL
	// path holding one as a segment is cleaned away (GET
	// …/pipelines/.. is GET …/projects/P), and so is a file path.
	namePattern = `^(?:[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}|\.[A-Za-z0-9_-][A-Za-z0-9_.-]{0,98}|\.\.[A-Za-z0-9_.-]{1,98})$`
	// envNamePattern is the portable shell rule for environment variables.
	envNamePattern = `^[A-Za-z_][A-Za-z0-9_]*$`
	// identPattern is the rule for parameter and matrix axis names: they
	// are written in expressions (params.NAME) and become env variables.
	identPattern = `^[A-Za-z_][A-Za-z0-9_-]{0,63}$`
)

// validName reports whether s follows namePattern.
func validName(s string) bool {
	if len(s) < 1 || len(s) > 100 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// validEnvName reports whether s follows envNamePattern.
func validEnvName(s string) bool {
	if s == "" || isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' {
			return false
		}
	}
	return true
}

// validIdent reports whether s follows identPattern.
func validIdent(s string) bool {
	if s == "" || len(s) > 64 || isDigit(s[0]) || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnum(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// nameRule is said in every message about an invalid name.
const nameRule = "use 1 to 100 ASCII letters, digits, '.', '_' or '-', other than . and .."

// defaultName derives a pipeline's name from its file: the base name without
// its extension, except that the root .lathe.yml is "main".
// NameFromFile is the name a pipeline file's pipeline has when it sets no
// `name:`: ".lathe/deploy.yml" is "deploy", ".lathe.yml" is "main".
func NameFromFile(file string) string { return defaultName(file) }

func defaultName(file string) string {
	base := path.Base(file)
	for _, ext := range []string{".yml", ".yaml"} {
		if strings.HasSuffix(base, ext) {
			base = strings.TrimSuffix(base, ext)
			break
		}
	}
	if base == ".lathe" {
		return "main"
	}
	return base
}

// ValidName reports whether name is a valid pipeline, stage or job name.
func ValidName(name string) bool { return validName(name) }
