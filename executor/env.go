package executor

import (
	"os"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
)

// JobEnv is the one place a job's environment is built: the agent's own
// environment, then the LATHE_* variables describing the job, then the
// pipeline's and job's env (which may override anything before it), then
// the secrets the job names.
func JobEnv(as *lathe.Assignment, workspace string) []string {
	env := os.Environ()
	add := func(k, v string) { env = append(env, k+"="+v) }
	add("CI", "true")
	add("LATHE", "true")
	add("LATHE_PROJECT", as.Project)
	add("LATHE_PIPELINE", as.Pipeline)
	add("LATHE_RUN_ID", strconv.FormatInt(as.RunID, 10))
	add("LATHE_RUN_NUMBER", strconv.FormatInt(as.RunNumber, 10))
	add("LATHE_STAGE", as.Stage)
	add("LATHE_JOB", as.Job)
	add("LATHE_JOB_ID", strconv.FormatInt(as.JobID, 10))
	add("LATHE_ATTEMPT", strconv.Itoa(as.Attempt))
	add("LATHE_COMMIT", as.Commit)
	add("LATHE_REF", as.Ref)
	add("LATHE_BRANCH", as.Branch)
	add("LATHE_EVENT", as.Event)
	add("LATHE_WORKSPACE", workspace)
	for _, v := range as.Env {
		add(v.Name, v.Value)
	}
	// The job's secrets come last: a secret wins over an env value of its name.
	for _, v := range as.Secrets {
		add(v.Name, v.Value)
	}
	return env
}
