package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/enginetest"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

const secretFileSteps = `
    secrets: [KUBECONFIG, API_TOKEN]
    steps:
      - 'echo "mode=$(stat -c %a "$KUBECONFIG")"'
      - 'case "$KUBECONFIG" in "$LATHE_WORKSPACE"/*) echo inside the workspace; exit 1;; esac'
      - 'echo "path=$KUBECONFIG"'
      - 'echo "sum=$(sha256sum < "$KUBECONFIG" | cut -d" " -f1)"'
      - 'cat "$KUBECONFIG"; echo'
      - 'echo "token-length=${#API_TOKEN}"'
`

var secretFilePipeline = `
jobs:
  on-host:` + secretFileSteps + `
  in-image:
    image: ` + enginetest.Image + secretFileSteps

// A secret of kind file reaches the job as a private file (mode 0600, in
// the job's control directory, not in the workspace) whose path is in the
// variable; it is never printed, and it is gone when the job ends. Alike
// in the sandbox and in the container executor.
func TestFileSecretsAreWrittenToAPrivateFile(t *testing.T) {
	e := enginetest.Engine(t)
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = 1
		o.Executor.ContainerHost = e.Host
		l := lathetest.Start(t, o)
		l.Project(t, "kube", lathetest.Repo(t, map[string]string{".lathe.yml": secretFilePipeline}))
		const value = "kube-config-secret-value-4242"
		sum := sha256.Sum256([]byte(value))

		if err := l.Client.Do(t.Context(), http.MethodPost, "/api/v1/projects/kube/secrets",
			map[string]string{"name": "KUBECONFIG", "value": value, "kind": "zip"}, nil); client.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("kind zip: %v, want 400", err)
		}
		var sec lathe.Secret
		l.Do(t, http.MethodPost, "/api/v1/projects/kube/secrets", map[string]string{"name": "KUBECONFIG", "value": "first-value-1234", "kind": "file"}, &sec)
		if sec.Kind != lathe.SecretFile {
			t.Errorf("created kind %q, want file", sec.Kind)
		}
		l.Do(t, http.MethodPut, "/api/v1/projects/kube/secrets/KUBECONFIG", map[string]string{"value": value}, &sec)
		if sec.Kind != lathe.SecretFile {
			t.Errorf("kind after a PUT without kind: %q, want file kept", sec.Kind)
		}
		l.Do(t, http.MethodPost, "/api/v1/projects/kube/secrets", map[string]string{"name": "API_TOKEN", "value": "token-value-98765"}, &sec)
		if sec.Kind != lathe.SecretEnv {
			t.Errorf("default kind %q, want env", sec.Kind)
		}

		run := l.Wait(t, l.Trigger(t, "kube", "", "").ID, 2*time.Minute)
		for _, name := range []string{"on-host", "in-image"} {
			job := lathetest.JobByName(t, run, name)
			log := l.Log(t, job.ID)
			if job.Status != lathe.StatusSuccess {
				t.Fatalf("%s: %s\n%s", name, job.Status, log)
			}
			for _, want := range []string{"mode=600", "sum=" + hex.EncodeToString(sum[:]), "token-length=17"} {
				if !strings.Contains(log, want) {
					t.Errorf("%s: log lacks %q:\n%s", name, want, log)
				}
			}
			if strings.Contains(log, value) || strings.Contains(log, "token-value-98765") {
				t.Errorf("%s: a secret value is in the log:\n%s", name, log)
			}
			m := regexp.MustCompile(`(?m)^path=(/\S+)`).FindStringSubmatch(log)
			if m == nil || !strings.HasPrefix(m[1], l.DataDir) || !strings.HasSuffix(m[1], "/control/secrets/KUBECONFIG") {
				t.Fatalf("%s: no path, or not in the job's control directory: %v\n%s", name, m, log)
			}
			if _, err := os.Stat(m[1]); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: %s still there after the job: %v", name, m[1], err)
			}
		}
	})
}
