package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// maskingPipeline prints a secret through real tools in each encoding the
// masker covers (issue 12, item 19).
const maskingPipeline = `
jobs:
  encode:
    secrets: [ODD_VALUE]
    steps:
      - bash -c 'printf "q=%q\n" "$ODD_VALUE"'
      - printf 'hex=%s\n' "$(printf '%s' "$ODD_VALUE" | xxd -p -c0)"
      - printf 'HEX=%s\n' "$(printf '%s' "$ODD_VALUE" | xxd -p -c0 -u)"
      - printf 'b32=%s\n' "$(printf '%s' "$ODD_VALUE" | base32 -w0)"
      - printf 'json=%s\n' "$(printf '%s' "$ODD_VALUE" | jq -Rs .)"
      - printf 'uri=%s\n' "$(printf '%s' "$ODD_VALUE" | jq -rRs @uri | tr A-F a-f)"
      - printf 'plus=%s\n' "$(printf '%s' "$ODD_VALUE" | tr ' ' +)"
`

// A job's log masks its secret in every form a shell step can easily print
// it: bash's printf %q, hex (xxd, both cases), base32, JSON (jq), lower-case URL
// escapes, '+' for spaces.
func TestSecretMaskedInEveryEncodingAJobPrints(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	l.Project(t, "enc", lathetest.Repo(t, map[string]string{".lathe.yml": maskingPipeline}))
	mustCall(t, l, http.StatusCreated, "PUT", "/api/v1/projects/enc/secrets/ODD_VALUE", map[string]string{"value": `s3cr3t/välue+w ith?&'x"<y`})
	run := l.Wait(t, l.Trigger(t, "enc", "main", "").ID, 60*time.Second)
	job := lathetest.JobByName(t, run, "encode")
	log := l.Log(t, job.ID)
	if job.Status != lathe.StatusSuccess {
		t.Fatalf("encode: %s\n%s", job.Status, log)
	}
	for _, want := range []string{"\nq=***\n", "\nhex=***\n", "\nHEX=***\n", "\nb32=***E======\n", "\njson=\"***\"\n", "\nuri=***\n", "\nplus=***\n"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
}
