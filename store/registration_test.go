package store_test

import (
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

func TestRegisterAgent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		rt := &lathe.RegistrationToken{Name: "ci fleet"}
		if err := s.CreateRegistrationToken(ctx, rt, "reg-hash"); err != nil {
			t.Fatal(err)
		}
		a := &lathe.Agent{Name: "m1", Labels: []string{"linux"}, Host: lathe.HostInfo{OS: "linux", CPUs: 4, MemoryBytes: 1 << 30}}
		if err := s.RegisterAgent(ctx, "reg-hash", a, "cred-1", false); err != nil {
			t.Fatalf("register: %v", err)
		}
		got, err := s.AgentByToken(ctx, "cred-1")
		if err != nil || got.ID != a.ID || !got.Authorized || got.Host != a.Host || got.LastSeen == nil {
			t.Errorf("registered agent = %+v, %v", got, err)
		}
		wantErr(t, "a taken name", s.RegisterAgent(ctx, "reg-hash", &lathe.Agent{Name: "m1"}, "cred-x", false), lathe.ErrConflict)
		wantErr(t, "an unknown token", s.RegisterAgent(ctx, "nope", &lathe.Agent{Name: "m2"}, "cred-2", false), lathe.ErrUnauthorized)

		held := &lathe.Agent{Name: "m3"}
		if err := s.RegisterAgent(ctx, "reg-hash", held, "cred-3", true); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Agent(ctx, "m3"); got == nil || got.Authorized {
			t.Errorf("agent registered under required authorization = %+v; want unauthorized", got)
		}

		if err := s.RevokeRegistrationToken(ctx, rt.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeRegistrationToken(ctx, rt.ID); err != nil {
			t.Errorf("revoke twice: %v", err)
		}
		wantErr(t, "a revoked token", s.RegisterAgent(ctx, "reg-hash", &lathe.Agent{Name: "m4"}, "cred-4", false), lathe.ErrUnauthorized)
		if _, err := s.AgentByToken(ctx, "cred-1"); err != nil {
			t.Errorf("an agent registered before the revocation lost its credential: %v", err)
		}
		wantErr(t, "revoke unknown", s.RevokeRegistrationToken(ctx, 99999), lathe.ErrNotFound)
		page, err := s.RegistrationTokens(ctx, 0, 10)
		if err != nil || len(page.Items) != 1 || page.Items[0].RevokedAt == nil || page.Items[0].LastUsed == nil || page.Items[0].Token != "" {
			t.Errorf("RegistrationTokens = %+v, %v; want the one token, used and revoked, without secret", page.Items, err)
		}
	})
}
