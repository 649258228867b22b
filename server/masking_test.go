package server_test

import (
	"fmt"
	"net/http"
	"path/filepath"
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

// reportsPipeline's job writes its secrets into its JUnit report (a test's
// name, a failure's message and text, its output) and a findings file, as
// a test that prints its configuration does: ODD_VALUE as an XML writer
// escapes it, PLAIN_VALUE as it is.
const reportsPipeline = `
jobs:
  test:
    secrets: [PLAIN_VALUE, ODD_VALUE]
    steps:
      - |
        odd=$(printf '%s' "$ODD_VALUE" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g')
        cat > junit.xml <<EOF
        <testsuite name="s"><testcase classname="calc" name="connects to $PLAIN_VALUE"><failure message="refused $odd">dial $PLAIN_VALUE</failure><system-out>config $odd</system-out></testcase></testsuite>
        EOF
        echo "main.go:1:2: leaked $PLAIN_VALUE (vet)" > vet.txt
    reports:
      junit: [junit.xml]
      issues: [vet.txt]
`

// A job's test reports and findings hold none of its secrets once they
// reach the server: the agent masks a report as it masks the log, so
// neither the API nor the database ever has them.
func TestSecretMaskedInTheReportsAJobSends(t *testing.T) {
	const plain, odd = "r3port-plain-value-4711", "r3port&odd<value>"
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	l.Project(t, "rep", lathetest.Repo(t, map[string]string{".lathe.yml": reportsPipeline}))
	mustCall(t, l, http.StatusCreated, "PUT", "/api/v1/projects/rep/secrets/PLAIN_VALUE", map[string]string{"value": plain})
	mustCall(t, l, http.StatusCreated, "PUT", "/api/v1/projects/rep/secrets/ODD_VALUE", map[string]string{"value": odd})
	run := l.Wait(t, l.Trigger(t, "rep", "main", "").ID, 60*time.Second)
	if job := lathetest.JobByName(t, run, "test"); job.Status != lathe.StatusSuccess {
		t.Fatalf("test: %s\n%s", job.Status, l.Log(t, job.ID))
	}
	tests := mustCall(t, l, http.StatusOK, "GET", fmt.Sprintf("/api/v1/runs/%d/tests", run.ID), nil)
	issues := mustCall(t, l, http.StatusOK, "GET", fmt.Sprintf("/api/v1/runs/%d/issues", run.ID), nil)
	for _, want := range []string{`"name":"connects to ***"`, `"message":"refused ***"`} {
		if !strings.Contains(string(tests), want) {
			t.Errorf("the run's tests lack %s: %s", want, tests)
		}
	}
	if !strings.Contains(string(issues), "leaked ***") {
		t.Errorf("the run's issues lack the masked finding: %s", issues)
	}
	noForms(t, "the run's tests and issues", append(tests, issues...), plain, odd)
	noForms(t, "the database", lathetest.Dump(t, filepath.Join(l.DataDir, "lathe.db")), plain, odd)
}
