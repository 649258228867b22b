package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// execIn runs `lathe exec --dir dir args…` in-process and returns its exit
// code, stdout and stderr. It fails the test if the command takes over a
// minute.
func execIn(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	code := cli.Run(ctx, append([]string{"exec", "--dir", dir}, args...), env)
	if ctx.Err() != nil {
		t.Fatalf("lathe exec %v did not finish in a minute\n%s%s", args, stdout.String(), stderr.String())
	}
	return code, stdout.String(), stderr.String()
}

// wantLines fails unless every pattern matches a whole line of out.
func wantLines(t *testing.T, out string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(`(?m)^` + p + `$`).MatchString(out) {
			t.Errorf("no line matches %q in:\n%s", p, out)
		}
	}
}

// logPart is the output before the summary table.
func logPart(t *testing.T, out string) string {
	t.Helper()
	log, _, ok := strings.Cut(out, "\n  JOB ")
	if !ok {
		t.Fatalf("no summary table in:\n%s", out)
	}
	return log
}

const dagPipeline = `
env:
  GREETING: from-pipeline
jobs:
  compile:
    steps:
      - echo compiling
      - name: check
        run: |
          echo checking
          exit 3
  package:
    needs: [compile]
    steps: [echo packaging]
  lint:
    env:
      GREETING: from-job
    steps:
      - echo "job=$LATHE_JOB event=$LATHE_EVENT branch=$LATHE_BRANCH ref=$LATHE_REF pipeline=$LATHE_PIPELINE ci=$CI"
      - echo "greeting=$GREETING extra=$EXTRA"
      - echo "commit=$LATHE_COMMIT"; echo "workspace=$LATHE_WORKSPACE"; echo "pwd=$(pwd -P)"
`

// A failing job fails the run and skips its dependent; an independent job
// still runs, with the same LATHE_* variables an agent gives it. Every log
// line carries its job's prefix, and the summary says how each job ended.
func TestExecRunsTheDAGAndSkipsDependentsOfAFailure(t *testing.T) {
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": dagPipeline})
	commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	real, err := filepath.EvalSymlinks(repo)
	if err != nil {
		t.Fatal(err)
	}

	code, out, stderr := execIn(t, repo, "--env", "EXTRA=given")
	if code != 1 {
		t.Errorf("exit code = %d, want 1 (the run failed)\nstderr: %s", code, stderr)
	}
	log := logPart(t, out)
	for _, line := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		if !regexp.MustCompile(`^\[(compile|package|lint)\] +\S`).MatchString(line) {
			t.Errorf("log line without a job prefix: %q", line)
		}
	}
	wantLines(t, log,
		`\[compile\] +\$ echo compiling`,
		`\[compile\] +compiling`,
		`\[compile\] +── step 2/2: check`,
		`\[compile\] +checking`,
		`\[compile\] +exit status 3`,
		`\[package\] +skipped: needs compile \(failed\)`,
		`\[lint\] +job=lint event=exec branch=main ref=refs/heads/main pipeline=main ci=true`,
		`\[lint\] +greeting=from-job extra=given`,
		`\[lint\] +commit=`+commit,
	)
	// The job ran in a checkout of its own, not in the repository.
	ws := regexp.MustCompile(`(?m)^\[lint\] +workspace=(\S+)$`).FindStringSubmatch(log)
	if ws == nil || ws[1] == repo || ws[1] == real || !strings.Contains(log, "pwd="+ws[1]+"\n") {
		t.Errorf("lint's workspace = %q; want a checkout of its own, its working directory\n%s", ws, log)
	}
	if strings.Contains(log, "packaging") {
		t.Error("the dependent of the failed job ran")
	}
	wantLines(t, out,
		`  JOB +STATUS +DURATION`,
		`  compile +failed +\d\S* +exit status 3 in step 2/2: check`,
		`  package +skipped +- +needs compile \(failed\)`,
		`  lint +success +\d\S*`,
		`pipeline main: failed in \S+`,
	)
	if strings.Contains(out, "\x1b[") {
		t.Error("colors in output that is not a terminal")
	}
}

// --job runs one job and the jobs it needs, nothing else; --env overrides
// the job's own environment.
func TestExecJobRunsOnlyThatJobAndItsNeeds(t *testing.T) {
	dir := lathetest.Repo(t, map[string]string{".lathe.yml": dagPipeline})

	code, out, stderr := execIn(t, dir, "--job", "lint", "--env", "GREETING=flag")
	if code != 0 {
		t.Fatalf("exit code = %d, want 0\n%s%s", code, out, stderr)
	}
	wantLines(t, out, `\[lint\] +greeting=flag extra=`, `  lint +success +\S+`, `pipeline main: success in \S+`)
	if strings.Contains(out, "compile") || strings.Contains(out, "package") {
		t.Errorf("jobs lint does not need were run or listed:\n%s", out)
	}

	code, out, _ = execIn(t, dir, "--job", "package")
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	wantLines(t, out, `  compile +failed .*`, `  package +skipped .*`)
	if strings.Contains(out, "lint") {
		t.Errorf("lint ran though package does not need it:\n%s", out)
	}

	code, _, stderr = execIn(t, dir, "--job", "nope")
	if code != 1 || !strings.Contains(stderr, `no job "nope"`) || !strings.Contains(stderr, "compile") {
		t.Errorf("unknown job: exit %d, stderr %q; want 1 and the list of jobs", code, stderr)
	}
}

// Stages order the jobs; a job that runs out of time is timed out, and the
// jobs of later stages are skipped.
func TestExecStagesAndTimeout(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, ".lathe.yml", `
stages: [build, test]
jobs:
  slow:
    stage: build
    timeout: 1
    steps: [sleep 30]
  after:
    stage: test
    steps: [echo never]
`)
	start := time.Now()
	code, out, _ := execIn(t, dir, "--grace", "1s")
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v; the one-second timeout did not stop the step", d)
	}
	wantLines(t, out,
		`\[slow\] +▶ started in stage build`,
		`\[slow\] +✗ timed_out in \S+: timed out after 1s in step 1/1`,
		`  JOB +STAGE +STATUS +DURATION`,
		`  slow +build +timed_out +\S+ +timed out after 1s in step 1/1`,
		`  after +test +skipped +- +needs slow \(timed_out\)`,
		`pipeline main: failed in \S+`,
	)
}

// Which pipeline runs: the only one, the one named, or an error listing
// them; broken files are reported with their positions and nothing runs.
func TestExecPicksThePipeline(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, ".lathe/a.yml", "jobs:\n  one:\n    steps: [echo from-a]\n")
	writeFile(t, dir, ".lathe/b.yml", "jobs:\n  two:\n    steps: [echo from-b]\n")
	writeFile(t, dir, ".lathe/admin.token", "not a pipeline")

	code, _, stderr := execIn(t, dir)
	if code != 1 || !strings.Contains(stderr, "several pipelines (a, b); name one") {
		t.Errorf("no pipeline named: exit %d, stderr %q", code, stderr)
	}
	code, out, _ := execIn(t, dir, "b")
	if code != 0 || !strings.Contains(out, "[two] from-b") || strings.Contains(out, "from-a") {
		t.Errorf("exec b: exit %d\n%s", code, out)
	}
	code, _, stderr = execIn(t, dir, "c")
	if code != 1 || !strings.Contains(stderr, `no pipeline "c" (the pipelines are a, b)`) {
		t.Errorf("exec c: exit %d, stderr %q", code, stderr)
	}

	broken := t.TempDir()
	writeFile(t, broken, ".lathe.yml", "jobs:\n  one:\n    stepz: [echo]\n")
	code, out, stderr = execIn(t, broken)
	if code != 1 || !regexp.MustCompile(`\.lathe\.yml:3:5: jobs\.one`).MatchString(stderr) || out != "" {
		t.Errorf("broken file: exit %d, stdout %q, stderr %q", code, out, stderr)
	}

	code, _, stderr = execIn(t, t.TempDir())
	if code != 1 || !strings.Contains(stderr, "has no .lathe.yml or .lathe/*.yml") {
		t.Errorf("no pipeline file: exit %d, stderr %q", code, stderr)
	}
}

// With --parallel, jobs run at the same time (each waits to see the other
// started), and their lines never mix, however fast they write.
func TestExecParallelJobsNeverInterleaveMidLine(t *testing.T) {
	dir := t.TempDir()
	job := func(me, other string) string {
		return `
  ` + me + `:
    timeout: 20
    steps:
      - touch ` + me + `.started; until [ -f ` + other + `.started ]; do sleep 0.01; done
      - i=0; while [ $i -lt 2000 ]; do echo "` + me + `-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; i=$((i+1)); done; printf '` + me + `-tail'`
	}
	writeFile(t, dir, ".lathe.yml", "jobs:"+job("left", "right")+job("right", "left")+"\n")
	// The jobs see each other's files only in a shared workspace.
	code, out, stderr := execIn(t, dir, "--parallel", "2", "--shared-workspace")
	if code != 0 {
		t.Fatalf("exit code = %d\n%s%s", code, out, stderr)
	}
	line := regexp.MustCompile(`^\[(left|right)\] +(?:(left|right)-(?:\d+-x{68}|tail)|[$▶✓─].*)$`)
	counts := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(logPart(t, out), "\n"), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil || m[2] != "" && m[1] != m[2] {
			t.Fatalf("mixed or unprefixed line: %q", l)
		}
		if m[2] != "" {
			counts[m[2]]++
		}
	}
	if counts["left"] != 2001 || counts["right"] != 2001 {
		t.Errorf("line counts = %v, want 2001 each", counts)
	}
}

// Ctrl-C stops the run: the running step's whole process group gets
// SIGTERM (then SIGKILL), nothing it started in the background survives,
// jobs not started are canceled, and lathe exits 130.
func TestExecCtrlCStopsEveryProcess(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "sleep.pid")
	writeFile(t, dir, ".lathe.yml", `
jobs:
  long:
    steps:
      - sleep 300 & echo $! > sleep.pid; echo started; wait
  after:
    needs: [long]
    steps: [echo never]
  other:
    steps: [echo never either]
`)
	// While the test holds its own subscription, a stray SIGINT can never
	// kill the test binary, whatever state lathe is in.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)

	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		// Shared and unsandboxed, the step's pid file is where the test reads it.
		done <- cli.Main([]string{"lathe", "exec", "--dir", dir, "--grace", "2s", "--shared-workspace"}, nil, &stdout, &stderr)
	}()
	var pid int
	deadline := time.Now().Add(30 * time.Second)
	for pid == 0 {
		if b, err := os.ReadFile(pidFile); err == nil && bytes.HasSuffix(b, []byte("\n")) {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if time.Now().After(deadline) {
			t.Fatal("the step never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	var code int
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("lathe exec did not stop after Ctrl-C\n%s", stdout.String())
	}
	if code != 130 {
		t.Errorf("exit code = %d, want 130\n%s%s", code, stdout.String(), stderr.String())
	}
	// The orphaned sleep is reaped by init; give it a moment.
	gone := false
	for end := time.Now().Add(5 * time.Second); !gone && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		gone = syscall.Kill(pid, 0) != nil
	}
	if !gone {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the step's background sleep (pid %d) survived Ctrl-C", pid)
	}
	wantLines(t, stdout.String(),
		`  long +canceled +\S+ +canceled in step 1/1`,
		`  after +canceled +- *`,
		`  other +canceled +- *`,
		`pipeline main: canceled in \S+`,
	)
}

// An approval gate cannot be answered on this machine: the gated job is
// skipped with a notice, and so are the jobs that need it, unless --approve
// answers it. Skipping it does not fail the run.
func TestExecApprovalGate(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, ".lathe.yml", `
jobs:
  build:
    steps: [echo built]
  production:
    needs: [build]
    approval: {from: [ops]}
    steps: [echo deploying]
  announce:
    needs: [production]
    steps: [echo announced]
`)
	code, out, stderr := execIn(t, dir)
	if code != 0 {
		t.Errorf("exit code = %d, want 0\n%s", code, stderr)
	}
	wantLines(t, out,
		`\[build\] +built`,
		`\[production\] +approval required from ops: skipped \(use --approve\)`,
		`\[announce\] +skipped: needs production \(skipped\)`,
		`  production +skipped +- +approval required from ops`,
		`  announce +skipped +- +needs production \(skipped\)`,
		`pipeline main: success in \S+`,
	)
	if strings.Contains(out, "deploying") || strings.Contains(out, "announced") {
		t.Errorf("a job behind the gate ran:\n%s", out)
	}

	code, out, _ = execIn(t, dir, "--approve")
	if code != 0 {
		t.Errorf("--approve: exit code = %d, want 0", code)
	}
	wantLines(t, out,
		`\[production\] +approval required from ops: approved \(--approve\)`,
		`\[production\] +deploying`,
		`\[announce\] +announced`,
		`  announce +success +\S+`,
	)
}

// Parameters reach the jobs as PARAM_* and conditions; a matrix job is
// expanded, and --job with its file name runs every expansion.
func TestExecParametersAndMatrix(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, ".lathe.yml", `
parameters:
  target: {type: choice, choices: [staging, production], default: staging}
jobs:
  test:
    matrix: {os: [linux, darwin]}
    steps: ['echo "testing on $MATRIX_OS"']
  deploy:
    needs: [test]
    if: params.target == "production"
    steps: ['echo "deploying to $PARAM_TARGET"']
`)
	code, out, _ := execIn(t, dir)
	if code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
	wantLines(t, out,
		`\[test \(os=linux\)\] +testing on linux`,
		`\[test \(os=darwin\)\] +testing on darwin`,
		`\[deploy\] +left out: if: params.target == "production" is false`,
		`  deploy +skipped +- +if: .*`,
	)

	code, out, _ = execIn(t, dir, "--param", "target=production")
	if code != 0 {
		t.Errorf("--param target=production: exit code = %d, want 0", code)
	}
	wantLines(t, out, `\[deploy\] +deploying to production`)

	code, out, _ = execIn(t, dir, "--job", "test")
	if code != 0 || !strings.Contains(out, "testing on linux") || !strings.Contains(out, "testing on darwin") || strings.Contains(out, "deploy") {
		t.Errorf("--job test: exit %d\n%s", code, out)
	}

	code, _, stderr := execIn(t, dir, "--param", "target=moon", "--param", "colour=red")
	if code != 1 || !strings.Contains(stderr, `parameter "target"`) || !strings.Contains(stderr, `parameter "colour"`) {
		t.Errorf("bad parameters: exit %d, stderr %q", code, stderr)
	}
}

// A job retried on failure runs again as a new attempt; a job allowed to
// fail does not fail the run or skip its dependents.
func TestExecRetryAndAllowFailure(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, ".lathe.yml", `
jobs:
  flaky:
    retry: 2
    steps: ['echo "attempt $LATHE_ATTEMPT"; echo x >> tries; [ $(wc -l < tries) -ge 2 ]']
  optional:
    allow_failure: true
    steps: [exit 4]
  after:
    needs: [optional]
    steps: [echo after ran]
`)
	// The attempts count in the shared directory; on their own, each
	// would start from a fresh workspace (as on an agent).
	code, out, stderr := execIn(t, dir, "--shared-workspace")
	if code != 0 {
		t.Errorf("exit code = %d, want 0\n%s%s", code, out, stderr)
	}
	wantLines(t, out,
		`\[flaky\] +attempt 1`,
		`\[flaky\] +↻ exit status 1 in step 1/1: attempt 2 of 3`,
		`\[flaky\] +attempt 2`,
		`\[after\] +after ran`,
		`  flaky +success +\S+`,
		`  optional +failed +\S+ +exit status 4 in step 1/1 \(failure allowed\)`,
		`pipeline main: success in \S+`,
	)
	if strings.Contains(out, "attempt 3") {
		t.Error("a third attempt ran after the second succeeded")
	}
}

// A process that leaves the step's process group (setsid) and keeps the
// job's output open does not hold the run up: its output is cut off a
// moment after the job ends.
func TestExecDoesNotWaitForAnEscapedProcess(t *testing.T) {
	dir := t.TempDir()
	// The step ends only once the sleep is in a session of its own.
	writeFile(t, dir, ".lathe.yml", `
jobs:
  escape:
    timeout: 20
    steps:
      - setsid sleep 30 & echo $! > escaped.pid; until [ "$(ps -o sid= -p $! | tr -d ' ')" = "$!" ]; do sleep 0.01; done
`)
	start := time.Now()
	code, out, _ := execIn(t, dir)
	if b, err := os.ReadFile(filepath.Join(dir, "escaped.pid")); err == nil {
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if code != 0 {
		t.Errorf("exit code = %d\n%s", code, out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v; the run waited for the escaped process", d)
	}
}

// On this machine a job's secrets come from the environment, and win over
// an env value of the same name, as on an agent; what the job prints
// masks them.
func TestExecSecretsComeFromTheEnvironment(t *testing.T) {
	t.Setenv("EXEC_TEST_TOKEN", "from-environment")
	dir := t.TempDir()
	writeFile(t, dir, ".lathe.yml", `
jobs:
  publish:
    env: {EXEC_TEST_TOKEN: from-file}
    secrets: [EXEC_TEST_TOKEN, EXEC_TEST_MISSING]
    steps: ['test "$EXEC_TEST_TOKEN" = from-environment; echo "token=$EXEC_TEST_TOKEN"']
`)
	code, out, _ := execIn(t, dir)
	if code != 0 {
		t.Errorf("exit code = %d\n%s", code, out)
	}
	wantLines(t, out,
		`\[publish\] +secret EXEC_TEST_MISSING is not set; on this machine secrets come from the environment`,
		`\[publish\] +token=\*\*\*`,
	)
}

// A value encrypted in the pipeline file opens only on the server: here
// the job runs without it, saying so, unless the environment supplies it.
func TestExecEncryptedSecretsAreNotOpened(t *testing.T) {
	t.Setenv("EXEC_TEST_SEALED_SET", "from-environment")
	// The shape of a sealed value: a 2-byte length, a 4-byte "wrapped
	// key", a nonce and a tag; it opens nowhere.
	sealed := "lathe:v1:" + strings.Repeat("A", 2) + "Q" + strings.Repeat("A", 45)
	dir := t.TempDir()
	writeFile(t, dir, ".lathe.yml", `
jobs:
  deploy:
    secrets:
      EXEC_TEST_SEALED: {encrypted: "`+sealed+`"}
      EXEC_TEST_SEALED_SET: {encrypted: "`+sealed+`"}
    steps: ['test "$EXEC_TEST_SEALED_SET" = from-environment; echo "sealed=${EXEC_TEST_SEALED:-unset} set=$EXEC_TEST_SEALED_SET"']
`)
	code, out, _ := execIn(t, dir)
	if code != 0 {
		t.Errorf("exit code = %d\n%s", code, out)
	}
	wantLines(t, out,
		`\[deploy\] +secret EXEC_TEST_SEALED is encrypted in the pipeline file and only the server can open it; the job runs without it unless EXEC_TEST_SEALED is set in the environment`,
		`\[deploy\] +sealed=unset set=\*\*\*`,
	)
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A reader that goes away (`lathe exec | head`) stops the run as Ctrl-C
// would, and lathe cleans up before it exits 141: no job directory, no git
// worktree of the repository is left behind.
func TestExecStoppedByAClosedPipeCleansUp(t *testing.T) {
	bin := lathetest.Binary(t)
	dir, tmp := t.TempDir(), t.TempDir()
	writeFile(t, dir, ".lathe.yml", `
jobs:
  chatty:
    steps:
      - i=0; while [ $i -lt 100000 ]; do echo line $i; i=$((i+1)); done
`)
	gitIn(t, dir, "init", "-q")
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "one")
	cmd := exec.Command(bin, "exec", "--executor", "shell", "--grace", "2s")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatalf("first line: %v", err)
	}
	out.Close() // the reader goes, as head does after its lines
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-time.After(60 * time.Second):
		t.Fatal("lathe exec went on after its reader left")
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 141 {
		t.Errorf("exit: %v, want code 141\n%s", err, stderr.String())
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in TMPDIR: %v", left)
	}
	if wt := gitIn(t, dir, "worktree", "list"); strings.Count(wt, "\n") != 1 {
		t.Errorf("worktrees left:\n%s", wt)
	}
}

// gitIn runs git in dir and returns its output, failing the test on error.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}
