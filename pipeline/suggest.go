package pipeline

import (
	"fmt"
	"strings"
)

const (
	// maxSuggestDistance is how many single-character edits a typo may be
	// from a known word for us to suggest that word.
	maxSuggestDistance = 2
	// suggestBudget bounds the work spent on suggestions for one file (in
	// edit-distance table cells), so a file with thousands of bad job names
	// cannot make parsing slow. Past it, messages just lack the hint.
	suggestBudget = 20_000_000
)

// didYouMean returns ` (did you mean "x"?)` for the candidate closest to
// word, or "" when none is close enough or the budget is spent.
func didYouMean(word string, candidates []string, budget *int) string {
	if c := closest(word, candidates, budget); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}

// closest returns the candidate nearest to word by edit distance, ignoring
// case, or "" when none is within maxSuggestDistance. A candidate that
// shares nothing with word is no suggestion ("b" is not a typo of "a"), so
// the distance must also be less than word's length. Ties go to the first.
// Each comparison is charged to budget.
func closest(word string, candidates []string, budget *int) string {
	w := []rune(strings.ToLower(word))
	best, bestDist := "", min(maxSuggestDistance+1, len(w))
	for _, c := range candidates {
		r := []rune(strings.ToLower(c))
		if abs(len(r)-len(w)) > maxSuggestDistance {
			continue
		}
		*budget -= (len(w) + 1) * (len(r) + 1)
		if *budget < 0 {
			return ""
		}
		if d := distance(w, r); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
