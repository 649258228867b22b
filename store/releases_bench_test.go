package store_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// BenchmarkMatrix50Envs1000Releases answers what runs where for 50
// environments with 1,000 releases each deployed to every environment
// (50,000 deployments; every 7th failed, so the current one is not always
// the latest), beside the floor of 50 indexed reads of each environment's
// latest deployment id. Target: ≤ 20 ms.
func BenchmarkMatrix50Envs1000Releases(b *testing.B) { benchEngines(b, benchMatrix) }

func benchMatrix(b *testing.B, s *store.Store, db *sql.DB, pid int64) {
	ctx := b.Context()
	const envs, releases = 50, 1000
	envIDs := make([]int64, 0, envs)
	for i := range envs {
		e := &lathe.Environment{Name: fmt.Sprintf("env%02d", i), Position: i, Approvers: []string{}}
		if err := s.CreateEnvironment(ctx, pid, e); err != nil {
			b.Fatal(err)
		}
		envIDs = append(envIDs, e.ID)
	}
	exec := func(q string) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatalf("%.200s: %v", q, err)
		}
	}
	var rl, rc strings.Builder
	for i := 1; i <= releases; i++ {
		sep := map[bool]string{true: "", false: ","}[i == 1]
		fmt.Fprintf(&rl, "%s(%d, %d, '1.%d.0', 0, 'bench', %d)", sep, i, pid, i, i)
		fmt.Fprintf(&rc, "%s(%d, %d, 1, '%040x', 'bench', %d)", sep, i, i, i, i)
	}
	exec("INSERT INTO releases (id, project_id, version, final, created_by, created_at) VALUES " + rl.String())
	exec("INSERT INTO release_candidates (id, release_id, number, commit_id, created_by, created_at) VALUES " + rc.String())
	for _, env := range envIDs {
		var d strings.Builder
		for i := 1; i <= releases; i++ {
			status := "success"
			if (i+int(env))%7 == 0 || i == releases {
				status = "failure"
			}
			sep := map[bool]string{true: "", false: ","}[i == 1]
			fmt.Fprintf(&d, "%s(%d, %d, '%s', 'bench', %d, %d)", sep, env, i, status, i, i)
		}
		exec("INSERT INTO deployments (environment_id, candidate_id, status, created_by, created_at, updated_at) VALUES " + d.String())
	}
	var matrix, floor time.Duration
	n := 0
	for b.Loop() {
		n++
		start := time.Now()
		m, err := s.Matrix(ctx, pid)
		if err != nil || len(m) != envs || m[0].Current == nil || m[0].Current.Status != "success" {
			b.Fatalf("matrix: %v %d", err, len(m))
		}
		matrix += time.Since(start)
		start = time.Now()
		for _, env := range envIDs {
			var id int64
			if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT id FROM deployments WHERE environment_id = %d ORDER BY id DESC LIMIT 1", env)).Scan(&id); err != nil {
				b.Fatal(err)
			}
		}
		floor += time.Since(start)
	}
	b.ReportMetric(float64(matrix.Microseconds())/1000/float64(n), "matrix-ms")
	b.ReportMetric(float64(floor.Microseconds())/1000/float64(n), "floor-ms")
	b.ReportMetric(float64(matrix)/float64(floor), "x-floor")
}
