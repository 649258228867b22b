package dispatch

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/store"
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
func (s *Service) withSecrets(ctx context.Context, agentID int64, as *lathe.Assignment) (*lathe.Assignment, error) {
	if len(as.SecretRefs) == 0 {
		return as, nil
	}
	if as.Untrusted {
		// A fork's pull request runs code nobody trusted yet: even once a
		// user approved the commit, it runs without the project's secrets.
		as.SecretRefs = nil
		return as, nil
	}
	var vals []lathe.EnvVar
	var err error
	if as.FromAPI {
		// The pipeline was posted through the API, not read from the
		// repository: whoever posted it must not be able to name the
		// project's secrets into a job (the trigger already refuses such
		// a file; this holds if one ever gets through).
		err = failf("lathe: this run's pipeline was posted through the API, and such a run gets no secrets; " +
			"commit the pipeline to the repository to use them")
	} else {
		vals, as.SecretFiles, err = s.resolveSecrets(ctx, as)
	}
	var jerr *jobSecretError
	if !errors.As(err, &jerr) {
		if err != nil {
			return nil, err
		}
		as.Secrets = append(as.Secrets, vals...)
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

// resolveSecrets opens the job's secrets in the order it names them, and
// names those of kind file. It returns what it resolved so far with any
// error.
func (s *Service) resolveSecrets(ctx context.Context, as *lathe.Assignment) ([]lathe.EnvVar, []string, error) {
	if s.keys == nil {
		return nil, nil, failf("lathe: this job needs secrets, but the server has no secret key configured")
	}
	p, err := s.store.Project(ctx, as.Project)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, ref := range as.SecretRefs {
		if ref.Encrypted == "" {
			names = append(names, ref.Name)
		}
	}
	stored, err := s.store.SecretValues(ctx, s.keys, p.ID, names)
	if err != nil {
		return nil, nil, err
	}
	run := engine.SecretRun{Ref: as.Ref, Branch: as.Branch, Event: as.Event}
	var out []lathe.EnvVar
	var files []string
	for _, ref := range as.SecretRefs {
		var v string
		if ref.Encrypted != "" {
			b, err := s.openEncrypted(ctx, p, ref.Name, ref.Encrypted)
			if err != nil {
				return out, nil, err
			}
			v = string(b)
		} else {
			sec, ok := stored[ref.Name]
			if err := storedSecretDenial(p.Name, ref.Name, sec, ok, run); err != nil {
				return out, nil, err
			}
			v = sec.Value
			if sec.Kind == lathe.SecretFile {
				files = append(files, ref.Name)
			}
		}
		if utf8.RuneCountInString(v) < secret.MinLength {
			return out, nil, failf("lathe: secret %s: too short to mask in logs (at least %d characters)", ref.Name, secret.MinLength)
		}
		out = append(out, lathe.EnvVar{Name: ref.Name, Value: v})
	}
	return out, files, nil
}

func failf(format string, args ...any) error { return &jobSecretError{fmt.Sprintf(format, args...)} }

// storedSecretDenial says why the run may not have a stored secret: there
// is none of that name, it is a global one not granted to the project, or
// its branch and event limits leave the run out. The job then fails
// naming the secret and the reason; it never runs with the variable empty,
// which would hide the refusal and could make a deploy do the wrong thing.
func storedSecretDenial(project, name string, sec store.StoredSecret, found bool, run engine.SecretRun) error {
	switch {
	case !found:
		return failf("lathe: secret %s is not defined for project %s nor globally; add it with `lathe secrets set --project %s %s`",
			name, project, project, name)
	case sec.Global && !sec.Granted:
		return failf("lathe: secret %s is a global secret that is not granted to project %s; an admin grants it with "+
			"`lathe secrets grant %s %s`", name, project, name, project)
	}
	if why := engine.SecretDenial(sec.Branches, sec.Events, run); why != "" {
		return failf("lathe: secret %s is protected: %s (the run's ref is %s)", name, why, run.Ref)
	}
	return nil
}

// openEncrypted opens a value carried encrypted in the pipeline file. A
// value that does not open fails the job: as a claim error the agent would
// ask for the same job again and again.
func (s *Service) openEncrypted(ctx context.Context, p *lathe.Project, name, ciphertext string) ([]byte, error) {
	b, err := s.decryptForProject(ctx, p.ID, ciphertext)
	switch {
	case errors.Is(err, secret.ErrProjectCiphertext):
		return nil, failf("lathe: secret %s: the encrypted value in the pipeline does not open with project %s's key "+
			"(encrypt it with `lathe encrypt --project %s`)", name, p.Name, p.Name)
	case errors.Is(err, lathe.ErrNotFound):
		// No key was ever made for the project, so nothing was encrypted
		// with it: the value came from elsewhere.
		return nil, failf("lathe: secret %s: the encrypted value in the pipeline cannot open: project %s has no key yet, "+
			"so it was not encrypted for this project (encrypt it with `lathe encrypt --project %s`)", name, p.Name, p.Name)
	}
	return b, err
}

// decryptForProject opens a value sealed with the project's public key
// (secret.EncryptForProject; text "lathe:v1:…"). It is how secrets carried
// encrypted in a pipeline file reach a job.
func (s *Service) decryptForProject(ctx context.Context, projectID int64, ciphertext string) ([]byte, error) {
	if s.keys == nil {
		return nil, errors.New("this server has no secret key")
	}
	der, err := s.store.ProjectPrivateKey(ctx, s.keys, projectID)
	if err != nil {
		return nil, err
	}
	priv, err := secret.ParsePrivateKey(der)
	if err != nil {
		return nil, err
	}
	return secret.DecryptForProject(priv, ciphertext)
}
