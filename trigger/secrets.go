package trigger

import lathe "github.com/lathe-ci/lathe"

// jobSecrets turns the secret names a pipeline job declares into what the
// job row keeps: names only. The server opens the values at claim time.
func jobSecrets(names []string) []lathe.JobSecret {
	if len(names) == 0 {
		return nil
	}
	out := make([]lathe.JobSecret, len(names))
	for i, n := range names {
		out[i] = lathe.JobSecret{Name: n}
	}
	return out
}
