package executor

import (
	"os"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
)

// DefaultPath is a job's PATH when the agent has none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// BaseEnv is where an agent's job environment starts: built from nothing,
// never from the agent's own environment, which holds the agent's and
// server's credentials (LATHE_TOKEN, LATHE_SECRET_KEY,
// LATHE_DATABASE_URL, …). It has PATH and LANG (the agent's values, or
// defaults), HOME, and the variables the operator named to pass through
// (--pass-env), with the agent's values.
func BaseEnv(home string, pass []string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = DefaultPath
	}
	lang := os.Getenv("LANG")
	if lang == "" {
		lang = "C.UTF-8"
	}
	env := []string{"PATH=" + path, "HOME=" + home, "LANG=" + lang}
	for _, name := range pass {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return env
}

// JobEnv is the one place a job's environment is built: base (BaseEnv on
// an agent; `lathe exec` passes the user's own environment), then the
// LATHE_* variables describing the job, then the pipeline's and job's env
// (which may override anything before it), then the secrets the job names.
func JobEnv(base []string, as *lathe.Assignment, workspace string) []string {
	env := append([]string(nil), base...)
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
