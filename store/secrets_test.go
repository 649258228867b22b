package store_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/store"
)

func keyring(t *testing.T, keys ...[]byte) *secret.Keyring {
	t.Helper()
	k, err := secret.NewKeyring(keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSecretsStoreAndResolve(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		k := keyring(t, secret.NewKey())
		p := mustProject(t, s, "web")
		other := mustProject(t, s, "api")
		if _, err := s.CreateSecret(ctx, k, p.ID, "DB_PASSWORD", "project-value", "alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateSecret(ctx, k, p.ID, "DB_PASSWORD", "again", "alice"); !errors.Is(err, lathe.ErrConflict) {
			t.Errorf("second create: %v, want ErrConflict", err)
		}
		for _, g := range []struct{ name, value string }{{"DB_PASSWORD", "global-value"}, {"REGISTRY_TOKEN", "global-token"}} {
			if _, err := s.CreateSecret(ctx, k, 0, g.name, g.value, "admin"); err != nil {
				t.Fatal(err)
			}
		}
		sec, created, err := s.SetSecret(ctx, k, p.ID, "DB_PASSWORD", "project-value-2", "bob")
		if err != nil || created || sec.UpdatedBy != "bob" || sec.CreatedBy != "alice" || sec.Project != "web" || sec.KeyID != k.CurrentID() {
			t.Errorf("set: %+v created=%v err=%v", sec, created, err)
		}
		list, err := s.Secrets(ctx, p.ID)
		if err != nil || len(list) != 1 || list[0].Name != "DB_PASSWORD" {
			t.Errorf("project list: %+v, %v", list, err)
		}
		if list, _ := s.Secrets(ctx, 0); len(list) != 2 || list[0].Project != "" {
			t.Errorf("global list: %+v", list)
		}

		// The project's own secret overrides the global one; names found
		// nowhere are simply absent.
		vals, err := s.SecretValues(ctx, k, p.ID, []string{"DB_PASSWORD", "REGISTRY_TOKEN", "NOPE"})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]store.StoredSecret{"DB_PASSWORD": {Value: "project-value-2", Kind: lathe.SecretEnv},
			"REGISTRY_TOKEN": {Value: "global-token", Kind: lathe.SecretEnv, Global: true}}
		if fmt.Sprint(vals) != fmt.Sprint(want) {
			t.Errorf("values for web: %v, want %v", vals, want)
		}
		if vals, _ := s.SecretValues(ctx, k, other.ID, []string{"DB_PASSWORD"}); vals["DB_PASSWORD"].Value != "global-value" || vals["DB_PASSWORD"].Granted {
			t.Errorf("values for api: %v", vals)
		}

		// Grants and limits come back with the values, and with the secret.
		branches, events, projects := []string{"main"}, []string{"push"}, []string{"web"}
		sec, err = s.SetSecretRules(ctx, 0, "REGISTRY_TOKEN", lathe.SecretRules{Branches: &branches, Events: &events, Projects: &projects}, "root")
		if err != nil || fmt.Sprintf("%v %v %v %s", sec.Branches, sec.Events, sec.Projects, sec.UpdatedBy) != "[main] [push] [web] root" {
			t.Errorf("set rules: %+v, %v", sec, err)
		}
		nope := []string{"web", "nope"}
		if _, err := s.SetSecretRules(ctx, 0, "REGISTRY_TOKEN", lathe.SecretRules{Projects: &nope}, "root"); !errors.Is(err, lathe.ErrInvalid) {
			t.Errorf("grant to a missing project: %v, want ErrInvalid", err)
		}
		vals, _ = s.SecretValues(ctx, k, p.ID, []string{"REGISTRY_TOKEN"})
		if got := fmt.Sprint(vals["REGISTRY_TOKEN"]); got != "{global-token env true true [main] [push]}" {
			t.Errorf("granted value for web: %s", got)
		}
		if vals, _ := s.SecretValues(ctx, k, other.ID, []string{"REGISTRY_TOKEN"}); vals["REGISTRY_TOKEN"].Granted {
			t.Errorf("api has a grant it was never given: %v", vals)
		}

		if err := s.DeleteSecret(ctx, p.ID, "DB_PASSWORD"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSecret(ctx, p.ID, "DB_PASSWORD"); !errors.Is(err, lathe.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
		if _, err := s.Secret(ctx, p.ID, "DB_PASSWORD"); !errors.Is(err, lathe.ErrNotFound) {
			t.Errorf("get deleted: %v", err)
		}
		if vals, _ := s.SecretValues(ctx, k, p.ID, []string{"DB_PASSWORD"}); vals["DB_PASSWORD"].Value != "global-value" {
			t.Errorf("after deleting the project's secret, got %v, want the global one", vals)
		}
	})
}

// A job's named secrets come back with its assignment, as names only.
func TestAssignmentCarriesSecretNames(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		j := job("deploy", "build")
		j.Secrets = []lathe.JobSecret{{Name: "DB_PASSWORD"}, {Name: "INLINE", Encrypted: "lathe:v1:xyz"}}
		mustRun(t, s, p.ID, "ci", []string{"build"}, j)
		as := mustClaim(t, s, mustAgent(t, s, "a1"))
		if len(as.SecretRefs) != 2 || as.SecretRefs[1].Encrypted != "lathe:v1:xyz" || len(as.Secrets) != 0 {
			t.Errorf("assignment secrets: refs %+v, values %+v", as.SecretRefs, as.Secrets)
		}
		got, err := s.Job(t.Context(), as.JobID)
		if err != nil || len(got.Secrets) != 2 || got.Secrets[0].Name != "DB_PASSWORD" {
			t.Errorf("job secrets: %+v, %v", got, err)
		}
	})
}

func TestSecretKeyCheckAndRotation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		oldKey, newKey := secret.NewKey(), secret.NewKey()
		old := keyring(t, oldKey)
		if err := s.CheckSecretKey(ctx, old); err != nil {
			t.Fatalf("first check stores the key check: %v", err)
		}
		p := mustProject(t, s, "web")
		s.CreateSecret(ctx, old, p.ID, "DB_PASSWORD", "rotate-me-please", "alice")
		s.AddProjectKey(ctx, old, p.ID, "PEM", []byte("private key bytes"))

		err := s.CheckSecretKey(ctx, keyring(t, newKey))
		if !errors.Is(err, store.ErrSecretKey) || !strings.Contains(err.Error(), "key id "+old.CurrentID()) {
			t.Errorf("check with a wrong key: %v, want ErrSecretKey naming key id %s", err, old.CurrentID())
		}
		rotated := keyring(t, newKey, oldKey)
		if err := s.CheckSecretKey(ctx, rotated); err != nil {
			t.Errorf("check with new and old keys: %v", err)
		}
		n, err := s.ReencryptSecrets(ctx, rotated)
		if err != nil || n != 3 {
			t.Errorf("re-encrypt: %d values, %v; want 3 (secret, project key, key check)", n, err)
		}
		if n, _ := s.ReencryptSecrets(ctx, rotated); n != 0 {
			t.Errorf("second re-encrypt re-sealed %d values", n)
		}
		only := keyring(t, newKey)
		if err := s.CheckSecretKey(ctx, only); err != nil {
			t.Errorf("after re-encrypt, the new key alone: %v", err)
		}
		vals, err := s.SecretValues(ctx, only, p.ID, []string{"DB_PASSWORD"})
		if err != nil || vals["DB_PASSWORD"].Value != "rotate-me-please" {
			t.Errorf("value after rotation: %v, %v", vals, err)
		}
		if der, err := s.ProjectPrivateKey(ctx, only, p.ID); err != nil || string(der) != "private key bytes" {
			t.Errorf("project key after rotation: %q, %v", der, err)
		}
		if sec, _ := s.Secret(ctx, p.ID, "DB_PASSWORD"); sec.KeyID != only.CurrentID() {
			t.Errorf("key id after rotation: %s", sec.KeyID)
		}
		if err := s.CheckSecretKey(ctx, old); !errors.Is(err, store.ErrSecretKey) {
			t.Errorf("after re-encrypt, the old key alone: %v, want ErrSecretKey", err)
		}
	})
}

// The dump test: after secrets are stored, no table, no column, and (for
// SQLite) no byte of the database files holds a value.
func TestSecretsDumpHasNoPlaintext(t *testing.T) {
	values := []string{"s3cret-plaintext-db-password", "global-registry-token-777", "ZZ-private-key-material-ZZ"}
	check := func(t *testing.T, s *store.Store, dsn string) {
		ctx := t.Context()
		k := keyring(t, secret.NewKey())
		if err := s.CheckSecretKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		p := mustProject(t, s, "web")
		if _, err := s.CreateSecret(ctx, k, p.ID, "DB_PASSWORD", values[0], "alice"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SetSecret(ctx, k, 0, "REGISTRY_TOKEN", values[1], "admin"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddProjectKey(ctx, k, p.ID, "PUBLIC", []byte(values[2])); err != nil {
			t.Fatal(err)
		}
		j := job("deploy", "build")
		j.Secrets = []lathe.JobSecret{{Name: "DB_PASSWORD"}, {Name: "REGISTRY_TOKEN"}}
		mustRun(t, s, p.ID, "ci", []string{"build"}, j)
		mustClaim(t, s, mustAgent(t, s, "a1"))

		dump := lathetest.Dump(t, dsn)
		if !bytes.Contains(dump, []byte("DB_PASSWORD")) {
			t.Fatalf("the dump (%d bytes) does not even hold the secret's name", len(dump))
		}
		for _, v := range values {
			for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v))} {
				if bytes.Contains(dump, []byte(form)) {
					t.Errorf("the %s dump holds %q", s.Engine(), form)
				}
			}
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "lathe.db")
		check(t, open(t, path), path)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.Shared(t).NewDatabase(t)
		check(t, open(t, dsn), dsn)
	})
}
