package store

import (
	"fmt"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// sqlStatuses writes statuses out as an SQL list, "('pending', 'queued')",
// for a statement that should not bind them (see movableJobs). Statuses are
// the package's constants, lower-case letters and underscores; anything
// else is a programming error.
func sqlStatuses(ss ...lathe.Status) string {
	quoted := make([]string, len(ss))
	for i, s := range ss {
		if strings.Trim(string(s), "abcdefghijklmnopqrstuvwxyz_") != "" || s == "" {
			panic(fmt.Sprintf("store: status %q cannot be written into SQL", s))
		}
		quoted[i] = "'" + string(s) + "'"
	}
	return "(" + strings.Join(quoted, ", ") + ")"
}
