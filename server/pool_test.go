package server

import (
	"strings"
	"testing"
)

func TestPoolWarning(t *testing.T) {
	if w := poolWarning(16, 97, 40); w != "" {
		t.Errorf("16+3 of 57 free: %q, want no warning", w)
	}
	if w := poolWarning(16, 97, 78); w != "" {
		t.Errorf("16+3 of 19 free: %q, want no warning", w)
	}
	w := poolWarning(32, 97, 70)
	for _, want := range []string{"room for 27 more", "may open 35", "pool of 32", "--db-conns", "max_connections"} {
		if !strings.Contains(w, want) {
			t.Errorf("32+3 of 27 free: %q lacks %q", w, want)
		}
	}
}
