package pipeline

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// secrets reads `secrets:`, the names of project secrets a job receives as
// env variables of the same name. Only names are written here; values live
// encrypted on the server. A name must be a valid variable name. One not
// in upper case is only warned about: secret names are matched exactly,
// and the convention makes a mismatch (db_password vs DB_PASSWORD) rarer.
func (w *walker) secrets(n *yaml.Node, path string) []string {
	names, nodes := w.globs(n, path, "a secret name")
	var out []string
	for i, name := range names {
		switch {
		case !validEnvName.MatchString(name):
			w.errorf(nodes[i], path, "%q is not a valid secret name: start with a letter or '_', then use letters, digits or '_'", name)
		case slices.Contains(out, name):
			w.errorf(nodes[i], path, "duplicate secret %q", name)
		default:
			if name != strings.ToUpper(name) {
				w.warnf(nodes[i], path, "secret names are matched exactly and are usually upper case; is %q meant to be %q?", name, strings.ToUpper(name))
			}
			out = append(out, name)
		}
	}
	return out
}
