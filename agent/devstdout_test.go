package agent_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/enginetest"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// devStdoutPipeline's steps open their output again by name, as tools do
// (`> /dev/stdout`, `tee /dev/stderr`): the shell opens it with O_TRUNC. A
// job with secrets has its log masked on the way; the other not. image,
// when set, runs both in a container of it.
func devStdoutPipeline(image string) string {
	return `
jobs:
  reopen:
    ` + image + `
    steps: &steps
      - echo line-one; echo via-dev-stdout > /dev/stdout; echo line-three
      - echo tee-test | tee /dev/stderr
      - echo "step3 $TOKEN" > /dev/stderr
  masked:
    ` + image + `
    secrets: [TOKEN]
    steps: *steps
`
}

// A step that writes to /dev/stdout or /dev/stderr neither fails (the job
// user may open its own output) nor truncates the log: every line of every
// step is in the log, in order, as the agent's user runs steps (the shell
// executor), as the sandbox's job user, and in a container, with or without
// a secret to mask on the way.
func TestStepsWritingToDevStdoutKeepTheWholeLog(t *testing.T) {
	for _, c := range []struct{ name, kind string }{
		{"shell", executor.KindShell}, {"sandbox", executor.KindSandbox}, {"container", executor.KindShell},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o := lathetest.Options{Agents: 1, Executor: executor.Options{Kind: c.kind}}
			image := ""
			switch c.name {
			case "sandbox":
				lathetest.NeedSandbox(t)
			case "container":
				o.Executor.ContainerHost = enginetest.Engine(t).Host
				image = "image: " + enginetest.Image
			}
			l := lathetest.Start(t, o)
			repo := lathetest.Repo(t, map[string]string{".lathe.yml": devStdoutPipeline(image)})
			l.Project(t, "reopen", repo)
			l.Do(t, http.MethodPut, "/api/v1/projects/reopen/secrets/TOKEN", map[string]string{"value": "s3cr3t-t0ken"}, nil)
			run := l.Wait(t, l.Trigger(t, "reopen", "", "").ID, 2*time.Minute)
			commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
			for job, token := range map[string]string{"reopen": "", "masked": "***"} {
				j := lathetest.JobByName(t, run, job)
				log := l.Log(t, j.ID)
				want := "$ git checkout " + commit + "\n" +
					"$ echo line-one; echo via-dev-stdout > /dev/stdout; echo line-three\nline-one\nvia-dev-stdout\nline-three\n" +
					"$ echo tee-test | tee /dev/stderr\ntee-test\ntee-test\n" +
					"$ echo \"step3 $TOKEN\" > /dev/stderr\nstep3 " + token + "\n"
				if j.Status != lathe.StatusSuccess || log != want {
					t.Errorf("job %s: %s with log\n%s\nwant success with log\n%s", job, j.Status, log, want)
				}
			}
		})
	}
}
