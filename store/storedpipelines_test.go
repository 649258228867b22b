package store_test

import (
	"errors"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// Stored pipelines are kept per project by name: a second put replaces the
// YAML, deleting twice is not found, and a project's removal takes them.
func TestStoredPipelinesOnEachEngine(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "shop")
		other := mustProject(t, s, "docs")
		sp, created, err := s.PutStoredPipeline(ctx, lathe.StoredPipeline{ProjectID: p.ID, Name: "nightly", YAML: "v1", UpdatedBy: "ann"})
		if err != nil || !created || sp.ID == 0 || sp.YAML != "v1" || sp.UpdatedBy != "ann" || sp.CreatedAt.IsZero() {
			t.Fatalf("first put: %+v %v %v", sp, created, err)
		}
		again, created, err := s.PutStoredPipeline(ctx, lathe.StoredPipeline{ProjectID: p.ID, Name: "nightly", YAML: "v2", UpdatedBy: "bob"})
		if err != nil || created || again.ID != sp.ID || again.YAML != "v2" || again.UpdatedBy != "bob" || !again.CreatedAt.Equal(sp.CreatedAt) {
			t.Fatalf("second put: %+v %v %v", again, created, err)
		}
		if _, _, err := s.PutStoredPipeline(ctx, lathe.StoredPipeline{ProjectID: other.ID, Name: "nightly", YAML: "other"}); err != nil {
			t.Fatal(err)
		}
		list, err := s.StoredPipelines(ctx, p.ID)
		if err != nil || len(list) != 1 || list[0].YAML != "v2" {
			t.Fatalf("list: %+v %v", list, err)
		}
		if err := s.DeleteStoredPipeline(ctx, p.ID, "nightly"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteStoredPipeline(ctx, p.ID, "nightly"); !errors.Is(err, lathe.ErrNotFound) {
			t.Errorf("second delete: %v, want not found", err)
		}
		if _, err := s.StoredPipeline(ctx, p.ID, "nightly"); !errors.Is(err, lathe.ErrNotFound) {
			t.Errorf("get after delete: %v, want not found", err)
		}
		if sp, err := s.StoredPipeline(ctx, other.ID, "nightly"); err != nil || sp.YAML != "other" {
			t.Errorf("the other project's: %+v %v", sp, err)
		}
	})
}
