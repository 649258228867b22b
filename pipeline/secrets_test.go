package pipeline

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/secret"
)

// A job's secrets are a list of stored names, or a map that can also carry
// values sealed with the project's key, written as `lathe encrypt` prints
// them (on one line, or folded over several); extends inherits them whole.
func TestSecretsMapForm(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := secret.EncryptForProject(&key.PublicKey, []byte("a value from lathe encrypt"))
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimPrefix(sealed, lathe.EncryptedPrefix)
	folded := lathe.EncryptedPrefix + body[:100] + "\n      " + body[100:300] + "\n      " + body[300:]
	p := mustParse(t, ".lathe.yml", fmt.Sprintf(`
templates:
  deploy:
    secrets:
      DB_PASSWORD: stored
      API_KEY:
        encrypted: %q
jobs:
  names: {steps: [x], secrets: [DB_PASSWORD, TOKEN]}
  flow: {steps: [x], secrets: {TOKEN: stored, API_KEY: {encrypted: %q}}}
  folded:
    steps: [x]
    secrets:
      API_KEY:
        encrypted: >-
          %s
  inherits: {extends: deploy, steps: [x]}
  overrides: {extends: deploy, steps: [x], secrets: [TOKEN]}
`, sealed, "  "+sealed+" ", strings.ReplaceAll(folded, "\n      ", "\n          ")))
	stored := func(name string) SecretRef { return SecretRef{Name: name} }
	enc := SecretRef{Name: "API_KEY", Encrypted: sealed}
	want := map[string][]SecretRef{
		"names":     {stored("DB_PASSWORD"), stored("TOKEN")},
		"flow":      {stored("TOKEN"), enc},
		"folded":    {enc},
		"inherits":  {stored("DB_PASSWORD"), enc},
		"overrides": {stored("TOKEN")},
	}
	for _, j := range p.Jobs {
		if got := fmt.Sprint(j.Secrets); got != fmt.Sprint(want[j.Name]) {
			t.Errorf("jobs.%s.secrets = %s\nwant %s", j.Name, got, fmt.Sprint(want[j.Name]))
		}
		if j.Name == "inherits" {
			if got := fmt.Sprint(j.View().Secrets); got != "[DB_PASSWORD API_KEY]" {
				t.Errorf("the plan's view of jobs.inherits.secrets = %s, want names only", got)
			}
		}
	}
	if _, err := secret.DecryptForProject(key, p.Jobs[2].Secrets[0].Encrypted); err != nil {
		t.Errorf("the folded value no longer opens: %v", err)
	}
}

func TestParseFileErrorsSecrets(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "map form",
		src: `jobs:
  a:
    steps: [x]
    secrets:
      1B: stored
      C: project
      D: {encrypted: "lathe:v2:AAAA"}
      E: {encrypted: "lathe:v1:not base64!"}
      F: {encrypted: "lathe:v1:AAAA"}
      G: {encrypted: [x]}
      H: {cipher: x}
      I: stored
      J:
`,
		want: []wantErr{
			{line: 5, col: 7, field: "jobs.a.secrets.1B", msg: `"1B" is not a valid secret name`},
			{line: 6, col: 10, field: "jobs.a.secrets.C", msg: `must be "stored" (a secret set on the server) or {encrypted: "lathe:v1:…"} (a value from lathe encrypt), not a string`},
			{line: 7, col: 22, field: "jobs.a.secrets.D.encrypted", msg: `must start with "lathe:v1:"; paste the value lathe encrypt printed`},
			{line: 8, col: 22, field: "jobs.a.secrets.E.encrypted", msg: `is not valid base64 after "lathe:v1:"`},
			{line: 9, col: 22, field: "jobs.a.secrets.F.encrypted", msg: "is too short to be a value lathe encrypt printed; was it cut off?"},
			{line: 10, col: 22, field: "jobs.a.secrets.G.encrypted", msg: "must be the text lathe encrypt printed, not a list"},
			{line: 11, col: 10, field: "jobs.a.secrets.H.encrypted", msg: "missing; paste the value lathe encrypt printed"},
			{line: 11, col: 11, field: "jobs.a.secrets.H.cipher", msg: `unknown key "cipher"; expected one of: encrypted`},
			{line: 13, col: 9, field: "jobs.a.secrets.J", msg: "not empty"},
		},
	}, {
		name: "a list of maps is not the map form",
		src:  "jobs:\n  a: {steps: [x], secrets: [A, {B: stored}]}\n",
		want: []wantErr{{line: 2, col: 32, field: "jobs.a.secrets", msg: "must be a secret name, not a map"}},
	}})
}
