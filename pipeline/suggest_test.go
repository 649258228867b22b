package pipeline

import "testing"

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"steps", "steps", 0},
		{"step", "steps", 1},
		{"biuld", "build", 2},
		{"kitten", "sitting", 3},
		{"héllo", "hello", 1},
	}
	for _, tt := range tests {
		if got := distance([]rune(tt.a), []rune(tt.b)); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	keys := []string{"stage", "runs-on", "timeout", "env", "needs", "steps", "a"}
	tests := []struct {
		word, want string
	}{
		{"step", "steps"},
		{"Steps", "steps"},
		{"runs_on", "runs-on"},
		{"need", "needs"},
		{"timeotu", "timeout"},
		{"environment", ""},
		{"x", ""},
		{"ev", "env"},
		{"b", ""},
	}
	for _, tt := range tests {
		budget := suggestBudget
		if got := closest(tt.word, keys, &budget); got != tt.want {
			t.Errorf("closest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

func TestClosestStopsWhenBudgetIsSpent(t *testing.T) {
	budget := 10
	if got := closest("steps", []string{"step"}, &budget); got != "" {
		t.Errorf("closest with a spent budget = %q, want none", got)
	}
	if budget >= 0 {
		t.Errorf("budget = %d, want it spent", budget)
	}
}
