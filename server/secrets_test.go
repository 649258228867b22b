package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/server"
	"github.com/lathe-ci/lathe/store"
)

// call sends a raw API request and returns the status and the body as sent.
func call(t *testing.T, l *lathetest.Lathe, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, l.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+l.AdminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := lathetest.HTTPClient(t).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func mustCall(t *testing.T, l *lathetest.Lathe, want int, method, path string, body any) []byte {
	t.Helper()
	code, b := call(t, l, method, path, body)
	if code != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, path, code, want, b)
	}
	return b
}

// noForms fails the test if text holds any form of any value (see secret.Forms).
func noForms(t *testing.T, where string, text []byte, values ...string) {
	t.Helper()
	for _, v := range values {
		for _, f := range secret.Forms(v) {
			if bytes.Contains(text, []byte(f)) {
				t.Errorf("%s holds %q (a form of a secret value)", where, f)
			}
		}
	}
}

const secretsPipeline = `
name: ci
stages: [test]
jobs:
  leak:
    stage: test
    secrets: [DB_PASSWORD, GLOBAL_TOKEN, MULTI]
    steps:
      - name: whole
        run: echo "password is $DB_PASSWORD and token is $GLOBAL_TOKEN"
      - name: pieces
        run: |
          v="$DB_PASSWORD"
          while [ -n "$v" ]; do rest="${v#?}"; printf '%s' "${v%"$rest"}"; v="$rest"; sleep 0.01; done
          printf '\n'
      - name: encoded
        run: |
          printf '%s' "$DB_PASSWORD" | base64
          printf 'x%s' "$DB_PASSWORD" | base64
          printf 'xy%s' "$GLOBAL_TOKEN" | base64 | tr '+/' '-_'
      - name: multiline
        run: |
          printf '%s\n' "$MULTI"
          printf '%s\n' "$MULTI" | sed -n 2p
      - name: proof
        run: printf '%s' "$DB_PASSWORD$GLOBAL_TOKEN" | sha256sum
  plain:
    stage: test
    steps:
      - test -z "${DB_PASSWORD:-}${GLOBAL_TOKEN:-}${MULTI:-}" && echo "no secrets here"
  missing:
    stage: test
    secrets: [NOT_DEFINED]
    steps:
      - echo never runs
`

// The story of issue 5, items 6 and 7: secrets go in through the API and
// never come out of it; a job gets only the secrets it names (the
// project's own winning over a global one of that name), and its log holds
// none of them however it prints them; a job naming a secret that does
// not exist fails saying so; and no value is stored anywhere in plaintext.
func TestSecretsReachOnlyTheirJobsMasked(t *testing.T) {
	const (
		dbPassword = "pr0ject-DB-password-4711"
		globalDB   = "global-db-password-0815"
		token      = "gl0bal+token/abc?def"
		multi      = "first-line-secret-AAA\nsecond-line-secret-BBB\nthird-line-secret-CCC"
	)
	values := []string{dbPassword, globalDB, token, multi}
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, map[string]string{".lathe.yml": secretsPipeline})
		l.Project(t, "shop", repo)

		var answers [][]byte
		answers = append(answers,
			mustCall(t, l, http.StatusCreated, "POST", "/api/v1/projects/shop/secrets", map[string]string{"name": "DB_PASSWORD", "value": dbPassword}),
			mustCall(t, l, http.StatusCreated, "PUT", "/api/v1/projects/shop/secrets/MULTI", map[string]string{"value": multi}),
			mustCall(t, l, http.StatusCreated, "POST", "/api/v1/secrets", map[string]string{"name": "DB_PASSWORD", "value": globalDB}),
			mustCall(t, l, http.StatusCreated, "PUT", "/api/v1/secrets/GLOBAL_TOKEN", map[string]string{"value": token}),
			mustCall(t, l, http.StatusOK, "PATCH", "/api/v1/secrets/GLOBAL_TOKEN", map[string]any{"projects": []string{"shop"}}),
			mustCall(t, l, http.StatusOK, "GET", "/api/v1/projects/shop/secrets", nil),
			mustCall(t, l, http.StatusOK, "GET", "/api/v1/projects/shop/secrets/DB_PASSWORD", nil),
			mustCall(t, l, http.StatusOK, "GET", "/api/v1/secrets", nil),
			mustCall(t, l, http.StatusOK, "GET", "/api/v1/secrets/GLOBAL_TOKEN", nil),
		)

		run := l.Wait(t, l.Trigger(t, "shop", "main", "").ID, 90*time.Second)
		leak, plain, missing := lathetest.JobByName(t, run, "leak"), lathetest.JobByName(t, run, "plain"), lathetest.JobByName(t, run, "missing")
		if leak.Status != lathe.StatusSuccess || plain.Status != lathe.StatusSuccess || missing.Status != lathe.StatusFailed {
			t.Errorf("jobs: leak %s, plain %s, missing %s; want success, success, failed", leak.Status, plain.Status, missing.Status)
		}

		log := l.Log(t, leak.ID)
		noForms(t, "the leak job's log", []byte(log), values...)
		sum := sha256.Sum256([]byte(dbPassword + token))
		for _, want := range []string{
			"password is *** and token is ***",
			hex.EncodeToString(sum[:]), // the job had the project's DB_PASSWORD, not the global one
		} {
			if !strings.Contains(log, want) {
				t.Errorf("the leak job's log lacks %q:\n%s", want, log)
			}
		}
		if n := strings.Count(log, secret.Mask); n < 8 {
			t.Errorf("the leak job's log has %d masks, want at least 8:\n%s", n, log)
		}
		if got := l.Log(t, plain.ID); !strings.Contains(got, "no secrets here") {
			t.Errorf("a job that names no secret got some:\n%s", got)
		}
		if got := l.Log(t, missing.ID); !strings.Contains(got, "secret NOT_DEFINED is not defined for project shop") || strings.Contains(got, "never runs") {
			t.Errorf("the missing-secret job's log:\n%s", got)
		}

		for _, path := range []string{fmt.Sprintf("/api/v1/jobs/%d", leak.ID), fmt.Sprintf("/api/v1/runs/%d", run.ID)} {
			answers = append(answers, mustCall(t, l, http.StatusOK, "GET", path, nil))
		}
		noForms(t, "the API's answers", bytes.Join(answers, nil), values...)

		dsn := o.DatabaseURL
		if dsn == "" {
			dsn = filepath.Join(l.DataDir, "lathe.db")
		}
		dump := lathetest.Dump(t, dsn)
		if !bytes.Contains(dump, []byte("GLOBAL_TOKEN")) {
			t.Fatal("the dump does not even hold the secrets' names")
		}
		for _, v := range values {
			if bytes.Contains(dump, []byte(v)) || strings.Contains(string(dump), b64(v)) {
				t.Errorf("the %s database holds a secret value", filepath.Base(t.Name()))
			}
		}
		// Nor does any file the server or its agents left in the data directory.
		filepath.WalkDir(l.DataDir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil // a FIFO or socket holds nothing, and reading one may block
			}
			b, _ := os.ReadFile(path)
			for _, v := range values {
				if bytes.Contains(b, []byte(v)) {
					t.Errorf("%s holds a secret value", path)
				}
			}
			return nil
		})
	})
}

func b64(v string) string {
	return strings.TrimRight(secret.EncodeKey([]byte(v)), "=")
}

func TestSecretsAPIRefusesWhatItCannotKeep(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{"README": "x"}))
	for _, c := range []struct {
		method, path string
		body         any
		want         int
		detail       string
	}{
		{"POST", "/api/v1/projects/shop/secrets", map[string]string{"name": "SHORT", "value": "12345"}, 422, "too short to mask in logs"},
		{"PUT", "/api/v1/secrets/SHORT", map[string]string{"value": "ab"}, 422, "too short to mask in logs"},
		{"PUT", "/api/v1/secrets/lower", map[string]string{"value": "long enough"}, 400, "[A-Z_][A-Z0-9_]*"},
		{"POST", "/api/v1/secrets", map[string]string{"name": "9LIVES", "value": "long enough"}, 400, "not starting with a digit"},
		{"POST", "/api/v1/secrets", map[string]string{"name": "LATHE_JOB", "value": "long enough"}, 400, "Lathe's own"},
		{"POST", "/api/v1/secrets", map[string]string{"name": "NUL", "value": "long\x00enough"}, 422, "NUL"},
		{"PUT", "/api/v1/secrets/A_NAME", map[string]string{"name": "OTHER", "value": "long enough"}, 400, "differs"},
		{"POST", "/api/v1/projects/nope/secrets", map[string]string{"name": "X_Y", "value": "long enough"}, 404, "nope"},
		{"GET", "/api/v1/projects/shop/secrets/NOT_THERE", nil, 404, "NOT_THERE"},
		{"DELETE", "/api/v1/secrets/NOT_THERE", nil, 404, "NOT_THERE"},
	} {
		code, body := call(t, l, c.method, c.path, c.body)
		if code != c.want || !strings.Contains(string(body), c.detail) {
			t.Errorf("%s %s: %d %s; want %d with %q", c.method, c.path, code, body, c.want, c.detail)
		}
	}

	mustCall(t, l, http.StatusCreated, "POST", "/api/v1/secrets", map[string]string{"name": "API_KEY", "value": "first-value"})
	mustCall(t, l, http.StatusConflict, "POST", "/api/v1/secrets", map[string]string{"name": "API_KEY", "value": "second-value"})
	var sec lathe.Secret
	json.Unmarshal(mustCall(t, l, http.StatusOK, "PUT", "/api/v1/secrets/API_KEY", map[string]string{"value": "third-value"}), &sec)
	if sec.Name != "API_KEY" || sec.Project != "" || sec.KeyID == "" || sec.UpdatedBy != "admin" {
		t.Errorf("after PUT: %+v", sec)
	}
	mustCall(t, l, http.StatusNoContent, "DELETE", "/api/v1/secrets/API_KEY", nil)
	mustCall(t, l, http.StatusNotFound, "GET", "/api/v1/secrets/API_KEY", nil)
}

// writeKeys replaces the data directory's key file.
func writeKeys(t *testing.T, dir string, keys ...[]byte) {
	t.Helper()
	var text string
	for _, k := range keys {
		text += secret.EncodeKey(k) + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.key"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A server started with another key than the one that sealed the stored
// secrets refuses to start; with the old key beside a new one it starts,
// re-encryption moves everything to the new key, and then the new key
// alone opens the secrets.
func TestSecretKeyRotation(t *testing.T) {
	dir := t.TempDir()
	l := lathetest.Start(t, lathetest.Options{DataDir: dir, Agents: -1})
	if fi, err := os.Stat(filepath.Join(dir, "secret.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("first start made no 0600 key file: %v", err)
	}
	p := l.Project(t, "shop", lathetest.Repo(t, map[string]string{"README": "x"}))
	mustCall(t, l, http.StatusCreated, "POST", "/api/v1/projects/shop/secrets", map[string]string{"name": "DB_PASSWORD", "value": "before-rotation"})
	mustCall(t, l, http.StatusOK, "GET", "/api/v1/projects/shop/key.pub", nil)
	l.Stop()

	oldKeys, err := secret.ReadKeyFile(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	oldKey, newKey := oldKeys[0], secret.NewKey()
	start := func(cfg server.Config) error {
		cfg.Addr, cfg.DataDir = "127.0.0.1:0", dir
		srv, err := server.New(context.Background(), cfg)
		if err == nil {
			srv.Store.Close()
		}
		return err
	}

	writeKeys(t, dir, newKey)
	err = start(server.Config{})
	want := "secret key does not match the key that encrypted the stored secrets (key id " + secret.KeyID(oldKey)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("start with a wrong key file: %v; want an error containing %q", err, want)
	}
	if err := start(server.Config{SecretKey: secret.EncodeKey(newKey)}); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("start with a wrong LATHE_SECRET_KEY: %v", err)
	}

	// Rotation: the new key first, the old one after it.
	writeKeys(t, dir, newKey, oldKey)
	var out bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if code := cli.Run(context.Background(), []string{"secrets", "reencrypt", "--data", dir}, env); code != 0 || !strings.Contains(out.String(), "re-encrypted 3 stored values") {
		t.Fatalf("lathe secrets reencrypt: exit %d: %s", code, out.String())
	}
	writeKeys(t, dir, newKey)
	if err := start(server.Config{}); err != nil {
		t.Fatalf("start with the new key alone after re-encryption: %v", err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, _ := secret.NewKeyring(newKey)
	if vals, err := st.SecretValues(context.Background(), k, p.ID, []string{"DB_PASSWORD"}); err != nil || vals["DB_PASSWORD"].Value != "before-rotation" {
		t.Errorf("after rotation: %v, %v", vals, err)
	}
	if _, err := st.ProjectPrivateKey(context.Background(), k, p.ID); err != nil {
		t.Errorf("project key after rotation: %v", err)
	}
}

// Item 8: the project's public key is served (made once), `lathe encrypt`
// seals a value with it and prints a snippet that, pasted as is under a job
// of the pipeline file, gives that job the value, masked in its log like
// any secret. A value sealed with another key fails its job saying so.
func TestProjectKeyEncryptedSecret(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	repo := lathetest.Repo(t, map[string]string{"README": "x"})
	l.Project(t, "shop", repo)
	pem1 := mustCall(t, l, http.StatusOK, "GET", "/api/v1/projects/shop/key.pub", nil)
	pem2 := mustCall(t, l, http.StatusOK, "GET", "/api/v1/projects/shop/key.pub", nil)
	if !bytes.Equal(pem1, pem2) || !bytes.HasPrefix(pem1, []byte("-----BEGIN PUBLIC KEY-----")) {
		t.Fatalf("key.pub: %q then %q", pem1, pem2)
	}
	const value = "sealed-in-the-pipeline-file"
	var out, errOut bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(value + "\n"), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	if code := cli.Run(context.Background(), []string{"encrypt", "--server", l.URL, "--token", l.AdminToken, "--project", "shop", "--name", "DEPLOY_KEY"}, env); code != 0 {
		t.Fatalf("lathe encrypt: exit %d: %s", code, errOut.String())
	}
	snippet := out.String()
	if !strings.Contains(snippet, "DEPLOY_KEY:") || !strings.Contains(snippet, lathe.EncryptedPrefix) || strings.Contains(snippet, value) {
		t.Fatalf("lathe encrypt printed:\n%s", snippet)
	}

	// The same for a key other than the project's, as if copied from
	// another project.
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := secret.EncryptForProject(&other.PublicKey, []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	pipeline := "name: ci\nstages: [build]\njobs:\n  deploy:\n    stage: build\n" + indent(snippet, "    ") +
		"    steps:\n      - echo \"key=$DEPLOY_KEY\"; printf '%s' \"$DEPLOY_KEY\" | sha256sum\n" +
		"  forged:\n    stage: build\n    secrets: {DEPLOY_KEY: {encrypted: \"" + forged + "\"}}\n    steps: [echo never runs]\n"
	lathetest.Commit(t, repo, map[string]string{".lathe.yml": pipeline})

	run := l.Trigger(t, "shop", "main", "")
	done := l.Wait(t, run.ID, 60*time.Second)
	deploy := lathetest.JobByName(t, done, "deploy")
	if deploy.Status != lathe.StatusSuccess || len(deploy.Secrets) != 1 || !strings.HasPrefix(deploy.Secrets[0].Encrypted, lathe.EncryptedPrefix) {
		t.Errorf("deploy: %s, secrets %+v; want success with one encrypted secret\n%s", deploy.Status, deploy.Secrets, pipeline)
	}
	log := l.Log(t, deploy.ID)
	sum := sha256.Sum256([]byte(value))
	if !strings.Contains(log, "key=***") || !strings.Contains(log, hex.EncodeToString(sum[:])) || strings.Contains(log, value) {
		t.Errorf("deploy log:\n%s", log)
	}
	if got := l.Log(t, lathetest.JobByName(t, done, "forged").ID); !strings.Contains(got, "does not open with project shop's key") || strings.Contains(got, "never runs") {
		t.Errorf("forged log:\n%s", got)
	}
	noForms(t, "the API's answer", mustCall(t, l, http.StatusOK, "GET", fmt.Sprintf("/api/v1/runs/%d", run.ID), nil), value)
}

// indent puts prefix before every line of text.
func indent(text, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimSuffix(text, "\n"), "\n", "\n"+prefix) + "\n"
}
