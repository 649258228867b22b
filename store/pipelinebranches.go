package store

import (
	"context"
	"fmt"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// BranchRun is the newest run of a pipeline on one branch (Escape's and
// Kraken's "last build" of a pipeline), as a pipeline's view shows it.
type BranchRun struct {
	Pipeline  string       `json:"-"`
	Branch    string       `json:"branch"`
	RunID     int64        `json:"run_id"`
	Number    int64        `json:"number"`
	Status    lathe.Status `json:"status"`
	CreatedAt time.Time    `json:"created_at"`
}

// maxBranchRuns bounds the branches a pipeline's view lists, the most
// recently run first.
const maxBranchRuns = 100

// LatestRunsByBranch returns, for each pipeline of the project, the newest
// run on each branch, the most recently run branches first (at most
// maxBranchRuns per pipeline). Pull requests' runs (which record the
// branch they target) and runs of tags are left out.
func (s *Store) LatestRunsByBranch(ctx context.Context, projectID int64) (map[string][]BranchRun, error) {
	rows, err := s.query(ctx, `SELECT pipeline, branch, id, number, status, created_at FROM runs WHERE id IN (
		SELECT max(id) FROM runs WHERE project_id = ? AND pull_request IS NULL AND branch <> '' GROUP BY pipeline, branch)
		ORDER BY id DESC`, projectID)
	if err != nil {
		return nil, fmt.Errorf("latest runs by branch of project %d: %w", projectID, err)
	}
	defer rows.Close()
	out := map[string][]BranchRun{}
	for rows.Next() {
		var b BranchRun
		var created int64
		if err := rows.Scan(&b.Pipeline, &b.Branch, &b.RunID, &b.Number, &b.Status, &created); err != nil {
			return nil, fmt.Errorf("latest runs by branch of project %d: %w", projectID, err)
		}
		if len(out[b.Pipeline]) < maxBranchRuns {
			b.CreatedAt = fromMicros(created)
			out[b.Pipeline] = append(out[b.Pipeline], b)
		}
	}
	return out, rows.Err()
}
