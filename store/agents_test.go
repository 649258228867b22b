package store_test

import (
	"reflect"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// An agent is known by its name: putting it again keeps its ID and replaces
// its labels and credential.
func TestPutAgentIsAnUpsertByName(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		first := &lathe.Agent{Name: "builder", Labels: []string{"linux"}}
		if err := s.PutAgent(ctx, first, "old-hash"); err != nil {
			t.Fatal(err)
		}
		mustAgent(t, s, "another")
		again := &lathe.Agent{Name: "builder", Labels: []string{"linux", "gpu"}}
		if err := s.PutAgent(ctx, again, "new-hash"); err != nil {
			t.Fatal(err)
		}
		if again.ID != first.ID {
			t.Errorf("put again: ID %d, want %d", again.ID, first.ID)
		}
		got, err := s.AgentByToken(ctx, "new-hash")
		if err != nil || got.ID != first.ID || !reflect.DeepEqual(got.Labels, []string{"linux", "gpu"}) || got.LastSeen != nil {
			t.Errorf("AgentByToken(new) = %+v, %v", got, err)
		}
		_, err = s.AgentByToken(ctx, "old-hash")
		wantErr(t, "the replaced credential", err, lathe.ErrNotFound)

		if err := s.TouchAgent(ctx, first.ID); err != nil {
			t.Fatal(err)
		}
		all, err := s.Agents(ctx)
		if err != nil || len(all) != 2 || all[0].Name != "another" || all[1].Name != "builder" || all[1].LastSeen == nil {
			t.Errorf("Agents = %+v, %v; want another, builder (seen)", all, err)
		}
	})
}
