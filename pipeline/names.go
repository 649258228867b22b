package pipeline

import (
	"path"
	"regexp"
	"strings"
	"sync"
)

var (
	// validName is the rule for pipeline, stage and job names: safe in URLs,
	// file names and log lines.
	validName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`) })
	// validEnvName is the portable shell rule for environment variables.
	validEnvName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })
)

// nameRule is said in every message about an invalid name.
const nameRule = "use 1 to 100 letters, digits, '.', '_' or '-'"

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
func ValidName(name string) bool { return validName().MatchString(name) }
