package local_test

import (
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/local"
	"github.com/lathe-ci/lathe/secret"
)

// lathe exec masks the secrets a job takes from the environment in what it
// prints, as an agent masks a job's log, however the steps print them: its
// output may be another CI's log, or a screen others see.
func TestExecMasksTheSecretsAJobPrints(t *testing.T) {
	const value = "l0cal-secret&value"
	t.Setenv("LOCAL_TOKEN", value)
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  show:
    secrets: [LOCAL_TOKEN]
    steps:
      - echo "plain $LOCAL_TOKEN"
      - echo "stderr $LOCAL_TOKEN" >&2
      - printf 'split %s' "${LOCAL_TOKEN%%&*}"; sleep 0.2; printf '&%s\n' "${LOCAL_TOKEN#*&}"
      - printf 'b64 %s\n' "$(printf '%s' "$LOCAL_TOKEN" | base64)"
`})
	res, out := runIn(t, repo, local.Options{})
	if res.Status != lathe.StatusSuccess {
		t.Fatalf("run = %s\n%s", res.Status, out)
	}
	for _, want := range []string{"plain ***\n", "stderr ***\n", "split ***\n", "b64 ***"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range secret.Forms(value) {
		if strings.Contains(out, f) {
			t.Errorf("output holds %q, a form of the secret:\n%s", f, out)
		}
	}
}
