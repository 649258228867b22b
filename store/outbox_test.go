package store_test

import (
	"errors"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/store"
)

// A project that sends nothing gets no deliveries; one with commit
// statuses gets one per state its runs reach, sent one at a time in order
// per run and pipeline, and a state that failed gives way to a newer one.
func TestOutboxStatusesInOrder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		quiet := mustProject(t, s, "quiet")
		r := mustRun(t, s, quiet.ID, "ci", []string{"build"}, job("build", "build"))
		if ds, err := s.RunStatuses(ctx, r.ID); err != nil || len(ds) != 0 {
			t.Fatalf("a project without statuses: %v, %v", ds, err)
		}
		mustClaim(t, s, mustAgent(t, s, "a0")) // drains quiet's job

		p := mustProject(t, s, "loud")
		if err := s.SetCommitStatuses(ctx, p.ID, true); err != nil {
			t.Fatal(err)
		}
		r = mustRun(t, s, p.ID, "ci", []string{"build"}, job("build", "build"))
		mustClaim(t, s, mustAgent(t, s, "a1"))
		ds, err := s.RunStatuses(ctx, r.ID)
		if err != nil || len(ds) != 2 || ds[0].State != "pending" || ds[1].State != "running" || ds[0].Context != "lathe/ci" {
			t.Fatalf("statuses %+v, %v; want pending then running of lathe/ci", ds, err)
		}
		claimed, err := s.ClaimDeliveries(ctx, nil, 10, time.Minute)
		if err != nil || len(claimed) != 1 || claimed[0].ID != ds[0].ID || claimed[0].Commit != r.Commit {
			t.Fatalf("claimed %+v, %v; want only the first state (the second waits for it)", claimed, err)
		}
		if again, _ := s.ClaimDeliveries(ctx, nil, 10, time.Minute); len(again) != 0 {
			t.Errorf("claimed twice: %+v", again)
		}
		// It fails and would wait; the newer state replaces it.
		if err := s.RecordTry(ctx, ds[0].ID, store.Try{Code: 502, Err: "HTTP 502", Retry: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		claimed, err = s.ClaimDeliveries(ctx, nil, 10, time.Minute)
		if err != nil || len(claimed) != 1 || claimed[0].ID != ds[1].ID {
			t.Fatalf("claimed %+v, %v; want the second state", claimed, err)
		}
		if err := s.RecordTry(ctx, ds[1].ID, store.Try{Code: 201, Delivered: true}); err != nil {
			t.Fatal(err)
		}
		ds, _ = s.RunStatuses(ctx, r.ID)
		if ds[0].Status != lathe.DeliverySuperseded || ds[1].Status != lathe.DeliveryDelivered || len(ds[0].Tries) != 1 || ds[0].Tries[0].HTTPCode != 502 {
			t.Errorf("after: %+v, %+v", ds[0], ds[1])
		}
		if _, ok, err := s.NextDelivery(ctx); ok || err != nil {
			t.Errorf("next delivery: %v, %v; want none queued", ok, err)
		}
		// Turned off, the next run queues nothing.
		if err := s.SetCommitStatuses(ctx, p.ID, false); err != nil {
			t.Fatal(err)
		}
		r = mustRun(t, s, p.ID, "ci", []string{"build"}, job("build", "build"))
		if ds, err := s.RunStatuses(ctx, r.ID); err != nil || len(ds) != 0 {
			t.Errorf("statuses off: %+v, %v", ds, err)
		}
	})
}

// Webhook secrets are sealed like every secret and re-encrypted with them.
func TestWebhookSecretsRotate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		oldKey, newKey := secret.NewKey(), secret.NewKey()
		old := keyring(t, oldKey)
		if err := s.CheckSecretKey(ctx, old); err != nil {
			t.Fatal(err)
		}
		p := mustProject(t, s, "web")
		w := &lathe.Webhook{URL: "https://hooks.example/in", Events: []string{"run"}, Active: true, CreatedBy: "alice"}
		if err := s.CreateWebhook(ctx, old, p.ID, w, "whsec_c2VjcmV0"); err != nil {
			t.Fatal(err)
		}
		rotated := keyring(t, newKey, oldKey)
		if n, err := s.ReencryptSecrets(ctx, rotated); err != nil || n != 2 {
			t.Errorf("re-encrypt: %d values, %v; want 2 (webhook secret, key check)", n, err)
		}
		if err := s.CheckSecretKey(ctx, keyring(t, newKey)); err != nil {
			t.Errorf("after re-encrypt, the new key alone: %v", err)
		}
		if err := s.CheckSecretKey(ctx, old); !errors.Is(err, store.ErrSecretKey) {
			t.Errorf("after re-encrypt, the old key alone: %v, want ErrSecretKey", err)
		}
	})
}
