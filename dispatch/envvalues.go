package dispatch

import (
	"context"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// withEnvironment gives a job that deploys to an environment of the server
// (see trigger's deployJobs) that environment's variables and secrets, at
// claim time: after any gate the job waited at, never stored with the job.
// Its variables override the job's own of the same name; a secret the job
// names is the environment's when the environment has one of that name,
// else the project's (withSecrets resolves those). An untrusted run's job,
// or one of a pipeline posted through the API, gets none of them.
func (s *Service) withEnvironment(ctx context.Context, as *lathe.Assignment) (*lathe.Assignment, error) {
	if as.Untrusted || as.FromAPI || as.Environment == "" {
		return as, nil
	}
	envID, err := s.store.EnvironmentOfJob(ctx, as.JobID)
	if err != nil || envID == 0 {
		return as, err
	}
	var k store.Sealer // a nil *secret.Keyring must stay a nil Sealer
	if s.keys != nil {
		k = s.keys
	}
	vars, secrets, err := s.store.EnvironmentValues(ctx, k, envID)
	if err != nil {
		return nil, err
	}
	for _, v := range vars {
		as.Env = setVar(as.Env, v)
	}
	refs := as.SecretRefs[:0:0]
	for _, ref := range as.SecretRefs {
		if v, ok := secrets[ref.Name]; ok && ref.Encrypted == "" {
			as.Secrets = append(as.Secrets, lathe.EnvVar{Name: ref.Name, Value: v})
			continue
		}
		refs = append(refs, ref)
	}
	as.SecretRefs = refs
	return as, nil
}

// setVar sets v in env, replacing a variable of its name.
func setVar(env []lathe.EnvVar, v lathe.EnvVar) []lathe.EnvVar {
	for i := range env {
		if env[i].Name == v.Name {
			env[i] = v
			return env
		}
	}
	return append(env, v)
}
