package trigger

import (
	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline"
)

// jobSecrets turns the secrets a pipeline job declares into what the job
// row keeps: names, and for a value written in the file its ciphertext.
// The server opens the values at claim time.
func jobSecrets(refs []pipeline.SecretRef) []lathe.JobSecret {
	if len(refs) == 0 {
		return nil
	}
	out := make([]lathe.JobSecret, len(refs))
	for i, s := range refs {
		out[i] = lathe.JobSecret{Name: s.Name, Encrypted: s.Encrypted}
	}
	return out
}
