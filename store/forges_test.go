package store_test

import (
	"errors"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/clock"
	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/store"
)

// A forge's token and a project's hook secret are sealed, open with the
// key that sealed them, survive a key rotation's re-encryption, and are
// part of the key check; a forge in use is not deleted.
func TestForgeTokensAndHookSecretsAreSealed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		oldKey, newKey := secret.NewKey(), secret.NewKey()
		k := keyring(t, oldKey)
		f := &lathe.Forge{Name: "gh", Kind: "github", URL: "https://github.com", APIURL: "https://api.github.com"}
		if err := s.CreateForge(ctx, k, f, "tok-123"); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateForge(ctx, k, &lathe.Forge{Name: "gh", Kind: "gitea", URL: "https://x", APIURL: "https://x/api/v1"}, "t"); !errors.Is(err, lathe.ErrConflict) {
			t.Errorf("second forge gh: %v; want ErrConflict", err)
		}
		p := mustProject(t, s, "web")
		p.ForgeID, p.Repo, p.URLFromForge = f.ID, "acme/web", true
		if err := s.UpdateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := s.SetHookSecret(ctx, k, p.ID, "hook-secret-0123456789"); err != nil {
			t.Fatal(err)
		}
		got, err := s.Project(ctx, "web")
		if err != nil || got.Forge != "gh" || got.Repo != "acme/web" || !got.HookSecretSet || got.PRTrust != lathe.PRTrustWriteOnForge {
			t.Fatalf("project = %+v, %v", got, err)
		}

		rotated := keyring(t, newKey, oldKey)
		if n, err := s.ReencryptSecrets(ctx, rotated); err != nil || n < 2 {
			t.Fatalf("re-encrypt: %d, %v; want the token and the hook secret among them", n, err)
		}
		onlyNew := keyring(t, newKey)
		if err := s.CheckSecretKey(ctx, onlyNew); err != nil {
			t.Errorf("key check after rotation: %v", err)
		}
		if tok, err := s.ForgeToken(ctx, onlyNew, f.ID); err != nil || tok != "tok-123" {
			t.Errorf("token = %q, %v", tok, err)
		}
		if sec, err := s.HookSecret(ctx, onlyNew, p.ID); err != nil || string(sec) != "hook-secret-0123456789" {
			t.Errorf("hook secret = %q, %v", sec, err)
		}
		if err := s.CheckSecretKey(ctx, keyring(t, oldKey)); !errors.Is(err, store.ErrSecretKey) {
			t.Errorf("key check with the retired key alone: %v; want ErrSecretKey", err)
		}

		f.URL = "https://github.example.com"
		if err := s.UpdateForge(ctx, onlyNew, f, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Project(ctx, "web"); got.URL != "https://github.example.com/acme/web.git" {
			t.Errorf("the project's URL after its forge moved: %s", got.URL)
		}
		if err := s.DeleteForge(ctx, f.ID); !errors.Is(err, lathe.ErrConflict) {
			t.Errorf("delete a forge in use: %v; want ErrConflict", err)
		}
	})
}

// A delivery is taken once; a replay within a day is refused, one after
// it is taken again, and a forgotten delivery (its handling failed) can be
// taken again at once.
func TestHookDeliveriesAreTakenOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := clock.NewManual(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
		s.SetClock(c)
		p := mustProject(t, s, "web")
		take := func(d string) bool {
			t.Helper()
			fresh, err := s.TakeDelivery(ctx, p.ID, d)
			if err != nil {
				t.Fatal(err)
			}
			return fresh
		}
		if !take("a") || take("a") {
			t.Fatal("delivery a: want taken once")
		}
		if !take("b") {
			t.Fatal("delivery b is new")
		}
		c.Advance(store.DeliveryWindow - time.Minute)
		if take("a") {
			t.Error("a replay within the day was taken")
		}
		c.Advance(2 * time.Minute)
		if !take("a") {
			t.Error("a delivery a day old is not taken again")
		}
		if err := s.ForgetDelivery(ctx, p.ID, "a"); err != nil || !take("a") {
			t.Errorf("a forgotten delivery: %v", err)
		}
	})
}
