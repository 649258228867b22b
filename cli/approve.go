package cli

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
)

// cmdApprove opens the approval gate of a job waiting at it.
func cmdApprove(ctx context.Context, args []string, env *Env) int {
	return decideGate(ctx, args, env, "approve", "approved: queued")
}

// cmdReject closes the approval gate of a job for good; --comment says why.
func cmdReject(ctx context.Context, args []string, env *Env) int {
	return decideGate(ctx, args, env, "reject", "rejected: canceled")
}

func decideGate(ctx context.Context, args []string, env *Env, verb, done string) int {
	fs := newFlags(env, verb, "JOB")
	mk := clientFlags(fs, env)
	var comment *string
	if verb == "reject" {
		comment = fs.String("comment", "", "why: kept with the job and its deployment, and in the audit log")
	}
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return fail(env, fmt.Errorf("%q is not a job ID", pos[0]))
	}
	var body any
	if comment != nil && *comment != "" {
		body = map[string]string{"comment": *comment}
	}
	var j lathe.Job
	if err := mk().Do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/%s", id, verb), body, &j); err != nil {
		return fail(env, err)
	}
	fmt.Fprintf(env.Stdout, "job %d (%s) %s\n", j.ID, field(j.Name), done)
	return 0
}
