package api

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/secret"
)

// A job gets the secrets it names, and only those, at claim time: the
// server opens them and sends the values in the Assignment, over the
// agent's authenticated connection. They are never stored with the job.

// jobSecretError is a reason a job cannot have its secrets: it fails the
// job, where an error of the server's own (a database that went away) only
// fails the claim, which the agent retries.
type jobSecretError struct{ msg string }

func (e *jobSecretError) Error() string { return e.msg }

// withSecrets fills in the values of the secrets the assignment's job
// names. When the job cannot have them, its attempt fails at once with the
// reason in its log, and withSecrets returns nil: no job for this claim.
func (s *Server) withSecrets(ctx context.Context, agentID int64, as *lathe.Assignment) (*lathe.Assignment, error) {
	if len(as.SecretRefs) == 0 {
		return as, nil
	}
	if as.Untrusted {
		// A fork's pull request runs code nobody trusted yet: even once a
		// user approved the commit, it runs without the project's secrets.
		as.SecretRefs = nil
		return as, nil
	}
	vals, err := s.resolveSecrets(ctx, as)
	var jerr *jobSecretError
	if !errors.As(err, &jerr) {
		if err != nil {
			return nil, err
		}
		as.Secrets = vals
		return as, nil
	}
	// The message names secrets, never values; mask anyway, in case a
	// value found its way into an error.
	var known []string
	for _, v := range vals {
		known = append(known, v.Value)
	}
	msg := []byte(secret.NewMasks(known).String(jerr.msg) + "\n")
	s.log.Warn("job failed: its secrets cannot be delivered", "job_id", as.JobID, "attempt_id", as.AttemptID, "reason", string(msg))
	_, err = s.store.Report(ctx, agentID, as.AttemptID, &lathe.Report{
		Log:    msg,
		Finish: &lathe.FinishReport{Status: lathe.StatusFailed, LogSize: int64(len(msg))},
	})
	if err != nil && !errors.Is(err, lathe.ErrFenced) {
		return nil, err
	}
	return nil, nil
}

// resolveSecrets opens the job's secrets in the order it names them. It
// returns what it resolved so far with any error.
func (s *Server) resolveSecrets(ctx context.Context, as *lathe.Assignment) ([]lathe.EnvVar, error) {
	failf := func(format string, args ...any) error { return &jobSecretError{fmt.Sprintf(format, args...)} }
	if s.keys == nil {
		return nil, failf("lathe: this job needs secrets, but the server has no secret key configured")
	}
	p, err := s.store.Project(ctx, as.Project)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, ref := range as.SecretRefs {
		if ref.Encrypted == "" {
			names = append(names, ref.Name)
		}
	}
	stored, err := s.store.SecretValues(ctx, s.keys, p.ID, names)
	if err != nil {
		return nil, err
	}
	var out []lathe.EnvVar
	for _, ref := range as.SecretRefs {
		v, ok := stored[ref.Name]
		if ref.Encrypted != "" {
			b, err := s.decryptForProject(ctx, p.ID, ref.Encrypted)
			switch {
			case errors.Is(err, secret.ErrProjectCiphertext):
				return out, failf("lathe: secret %s: the encrypted value in the pipeline does not open with project %s's key "+
					"(encrypt it with `lathe encrypt --project %s`)", ref.Name, p.Name, p.Name)
			case errors.Is(err, lathe.ErrNotFound):
				// No key was ever made for the project, so nothing was
				// encrypted with it: the value came from elsewhere. This
				// fails the job; as a claim error the agent would ask for
				// the same job again and again.
				return out, failf("lathe: secret %s: the encrypted value in the pipeline cannot open: project %s has no key yet, "+
					"so it was not encrypted for this project (encrypt it with `lathe encrypt --project %s`)", ref.Name, p.Name, p.Name)
			case err != nil:
				return out, err
			}
			v, ok = string(b), true
		}
		switch {
		case !ok:
			return out, failf("lathe: secret %s is not defined for project %s nor globally; add it with `lathe secrets set --project %s %s`",
				ref.Name, p.Name, p.Name, ref.Name)
		case utf8.RuneCountInString(v) < secret.MinLength:
			return out, failf("lathe: secret %s: too short to mask in logs (at least %d characters)", ref.Name, secret.MinLength)
		}
		out = append(out, lathe.EnvVar{Name: ref.Name, Value: v})
	}
	return out, nil
}
