package store

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// The claim reads the queue from the partial index jobs_queue, in the
// index's order, with no sort: its cost follows the queued jobs, not every
// job ever run. (A bound status would hide the index from SQLite's planner,
// which must prove the index's WHERE from the query's.)
func TestClaimQueueReadsThePartialIndexInOrder(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.w.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+claimQueue, int64(math.MinInt64), 0, claimPage)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	got := strings.Join(plan, "; ")
	if !strings.Contains(got, "SEARCH jobs USING INDEX jobs_queue") || strings.Contains(got, "TEMP B-TREE") {
		t.Errorf("the claim's plan is %q; want a search of jobs_queue and no sort", got)
	}
}
