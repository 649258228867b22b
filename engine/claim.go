package engine

import (
	"sort"
	"strings"
)

// Eligible reports whether an agent with the labels have may run a job that
// runs on want: it has every one of them.
func Eligible(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// WaitReason says why no agent of fleet can take a job needing runsOn, or ""
// when one can.
func WaitReason(runsOn []string, fleet [][]string) string {
	for _, have := range fleet {
		if Eligible(have, runsOn) {
			return ""
		}
	}
	if len(fleet) == 0 {
		return "no online agent"
	}
	var missing []string
	for _, l := range runsOn {
		found := false
		for _, have := range fleet {
			if Eligible(have, []string{l}) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, l)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return "no online agent with labels: " + strings.Join(missing, ", ")
	}
	return "no online agent with all of the labels: " + strings.Join(runsOn, ", ")
}
