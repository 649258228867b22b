package pipeline

import (
	"fmt"
	"strings"

	"github.com/lathe-ci/lathe"
)

// Choose picks the pipeline called name from those of one commit or
// directory, or the only one when name is empty. Its errors list the names
// there are, so the caller can name one.
func Choose(ps []*Pipeline, name string) (*Pipeline, error) {
	var names []string
	for _, p := range ps {
		if p.Name == name || name == "" && len(ps) == 1 {
			return p, nil
		}
		names = append(names, p.Name)
	}
	if name == "" {
		return nil, fmt.Errorf("there are several pipelines (%s); name one: %w", strings.Join(names, ", "), lathe.ErrInvalid)
	}
	return nil, fmt.Errorf("no pipeline %q (the pipelines are %s): %w", name, strings.Join(names, ", "), lathe.ErrNotFound)
}
