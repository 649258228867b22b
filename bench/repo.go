package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The benchmark's repository holds one pipeline per measurement, each an
// ordinary .lathe/*.yml file: nothing in Lathe knows they are benchmarks.
const (
	latencyPipeline = "latency"
	stepsPipeline   = "steps"
	logsPipeline    = "logs"

	// firstStep is the one step of the latency pipeline.
	firstStep = "echo started"
	// stepCount is the number of steps of the steps pipeline.
	stepCount = 50
	// logLines is how many lines the logs pipeline prints.
	logLines = 200_000
)

// logCommand prints logLines numbered lines from a shell loop: one write per
// line, as a test runner flushing after each line would. The direct baseline
// runs the very same command.
var logCommand = fmt.Sprintf(`i=0; while [ $i -lt %d ]; do echo "line $i of the log throughput benchmark"; i=$((i+1)); done`, logLines)

// logLine is line i of logCommand's output.
func logLine(i int) string { return fmt.Sprintf("line %d of the log throughput benchmark", i) }

// pipelineFiles are the benchmark repository's pipeline files.
func pipelineFiles() map[string]string {
	var steps strings.Builder
	steps.WriteString("jobs:\n  many-steps:\n    steps:\n")
	for i := 1; i <= stepCount; i++ {
		fmt.Fprintf(&steps, "      - name: true-%02d\n        run: \"true\"\n", i)
	}
	return map[string]string{
		".lathe/" + latencyPipeline + ".yml": "jobs:\n  first-step:\n    steps:\n      - " + firstStep + "\n",
		".lathe/" + stepsPipeline + ".yml":   steps.String(),
		".lathe/" + logsPipeline + ".yml":    "jobs:\n  log-lines:\n    steps:\n      - name: print lines\n        run: '" + logCommand + "'\n",
		"README":                             "A repository made by `go run ./bench` to measure Lathe.\n",
	}
}

// makeRepo creates the benchmark's repository (pipelineFiles) and returns
// its commit ID.
func makeRepo(ctx context.Context, dir string) (string, error) {
	return makeRepoWith(ctx, dir, pipelineFiles())
}

// gitEnv is the environment Lathe's git package gives git.
func gitEnv() []string {
	return append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "LC_ALL=C")
}

// gitCmd builds a git command in dir with Lathe's git environment.
func gitCmd(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	return cmd
}

// gitOut runs git and returns its standard output; errors carry its stderr.
func gitOut(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := gitCmd(ctx, dir, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// makeMirror makes a bare mirror of repo at dir the way git/git.go does
// (init --bare, then fetch every branch and tag).
func makeMirror(ctx context.Context, repo, dir string) error {
	if _, err := gitOut(ctx, "", "init", "--bare", "--quiet", dir); err != nil {
		return err
	}
	_, err := gitOut(ctx, dir, "fetch", "--quiet", "--prune", "--force", "--no-tags", "--end-of-options", repo,
		"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
	return err
}

// removeWorktree deletes a worktree made by `git worktree add` and git's
// record of it, as git/checkout.go's RemoveWorktree does.
func removeWorktree(mirror, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(mirror, "worktrees", filepath.Base(dir)))
}
