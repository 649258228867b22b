package store_test

import (
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// An upload is recorded for the run of the attempt that made it; the same
// job replaces it, another job of the run may not, and only the agent
// holding a running attempt may upload at all.
func TestUploadsBelongToARunAndTheJobThatMadeThem(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		a, b := mustAgent(t, s, "a1"), mustAgent(t, s, "a2")
		r := mustRun(t, s, p.ID, "ci", []string{"build"}, job("linux", "build"), job("mac", "build"))
		first, second := mustClaim(t, s, a), mustClaim(t, s, b)

		sc, err := s.AttemptScope(ctx, a.ID, first.AttemptID)
		if err != nil || sc.RunID != r.ID || sc.JobID != first.JobID {
			t.Fatalf("AttemptScope = %+v, %v; want run %d job %d", sc, err, r.ID, first.JobID)
		}
		_, err = s.AttemptScope(ctx, b.ID, first.AttemptID)
		wantErr(t, "scope of another agent's attempt", err, lathe.ErrForbidden)
		_, err = s.AttemptScope(ctx, a.ID, 999999)
		wantErr(t, "scope of a missing attempt", err, lathe.ErrNotFound)

		put := func(ag *lathe.Agent, as *lathe.Assignment, name, sum string) (*lathe.Upload, *lathe.Upload, error) {
			u := &lathe.Upload{RunID: r.ID, Name: name, AttemptID: as.AttemptID, Size: 10, SHA256: sum}
			prev, err := s.PutUpload(ctx, ag.ID, u, 1<<30)
			return u, prev, err
		}
		u, prev, err := put(a, first, "dist", "aa")
		if err != nil || prev != nil || u.Job != first.Job || u.Attempt != 1 || u.CreatedAt.IsZero() {
			t.Fatalf("first upload = %+v (replaced %+v), %v", u, prev, err)
		}
		_, prev, err = put(a, first, "dist", "bb")
		if err != nil || prev == nil || prev.SHA256 != "aa" {
			t.Fatalf("second upload of the same job replaced %+v, %v; want the first", prev, err)
		}
		_, _, err = put(b, second, "dist", "cc")
		wantErr(t, "upload of a name another job owns", err, lathe.ErrConflict)
		_, _, err = put(b, first, "other", "dd")
		wantErr(t, "upload through another agent's attempt", err, lathe.ErrForbidden)

		got, err := s.Upload(ctx, r.ID, "dist")
		if err != nil || got.SHA256 != "bb" || got.JobID != first.JobID {
			t.Errorf("Upload(dist) = %+v, %v; want the second upload of %s", got, err, first.Job)
		}
		_, err = s.Upload(ctx, r.ID, "missing")
		wantErr(t, "a name never uploaded", err, lathe.ErrNotFound)

		finish(t, s, a, first, lathe.StatusSuccess)
		_, _, err = put(a, first, "late", "ee")
		wantErr(t, "upload after the attempt finished", err, lathe.ErrFenced)
		_, err = s.AttemptScope(ctx, a.ID, first.AttemptID)
		wantErr(t, "scope of a finished attempt", err, lathe.ErrFenced)

		list, err := s.Uploads(ctx, r.ID)
		if err != nil || len(list) != 1 || list[0].Name != "dist" || list[0].Size != 10 {
			t.Errorf("Uploads = %+v, %v; want just dist", list, err)
		}
		_, err = s.Uploads(ctx, 999999)
		wantErr(t, "uploads of a missing run", err, lathe.ErrNotFound)
	})
}
