package pipeline

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportsOnlyTheDomain keeps the layering: pipeline is pure and depends
// on the domain package (and its own sub-packages) only, never on an adapter
// beside it such as secret or store.
func TestImportsOnlyTheDomain(t *testing.T) {
	const module = "github.com/lathe-ci/lathe"
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, module+"/") && !strings.HasPrefix(p+"/", module+"/pipeline/") {
				t.Errorf("%s imports %s: pipeline may import only %s and its own packages", path, p, module)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
