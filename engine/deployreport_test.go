package engine

import "testing"

func TestReportStartsDeployment(t *testing.T) {
	for _, c := range []struct {
		last   string
		newest bool
		status string
		want   bool
	}{
		{"", true, "pending", true},
		{"", false, "success", true},
		{"pending", true, "in_progress", false},
		{"in_progress", false, "success", false},
		{"canceling", true, "canceled", false},
		{"unknown", true, "success", false},
		{"success", true, "pending", true},
		{"success", false, "success", true},
		{"success", true, "success", false},
		{"failure", true, "in_progress", true},
		{"failure", true, "failure", false},
		{"canceled", false, "canceled", true},
	} {
		if got := ReportStartsDeployment(c.last, c.newest, c.status); got != c.want {
			t.Errorf("ReportStartsDeployment(%q, %t, %q) = %t; want %t", c.last, c.newest, c.status, got, c.want)
		}
	}
}
