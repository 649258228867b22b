package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/secret"
)

// Issue 12, item 16: an encrypted value that cannot be opened because the
// project has no key at all (it was sealed for some other project) fails
// its job at once with a clear error. It used to fail the claim instead, so
// a real agent asked for the same job again and again until its lease ran
// out.
func TestEncryptedSecretWithoutProjectKeyFailsTheJobAtOnce(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := secret.EncryptForProject(&other.PublicKey, []byte("sealed-for-another-project"))
	if err != nil {
		t.Fatal(err)
	}
	pipeline := "name: ci\nstages: [build]\njobs:\n  deploy:\n    stage: build\n" +
		"    secrets: {DEPLOY_KEY: {encrypted: \"" + sealed + "\"}}\n    steps: [echo never runs]\n"
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": pipeline}))
	l.StartAgent(t, l.RegistrationToken(t), "remote", "")

	// Well inside the lease (60 s): a job whose claim keeps failing would
	// still be running here.
	done := l.Wait(t, l.Trigger(t, "shop", "main", "").ID, 20*time.Second)
	job := lathetest.JobByName(t, done, "deploy")
	log := l.Log(t, job.ID)
	const want = "secret DEPLOY_KEY: the encrypted value in the pipeline cannot open: project shop has no key yet"
	if job.Status != lathe.StatusFailed || !strings.Contains(log, want) || strings.Contains(log, "never runs") {
		t.Errorf("deploy: %s, log:\n%s\nwant failed with %q", job.Status, log, want)
	}
}
