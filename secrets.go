package lathe

import "time"

// Secret is a stored secret as the API shows it: its name and history,
// never its value.
type Secret struct {
	Name string `json:"name"`
	// Kind is how a job gets the secret: SecretEnv or SecretFile.
	Kind string `json:"kind"`
	// Project is the project the secret belongs to; empty for a global secret.
	Project string `json:"project,omitempty"`
	// KeyID names the server key that sealed the value (it changes when
	// the values are re-encrypted after a key rotation).
	KeyID     string    `json:"key_id"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
	// Branches limits the secret to runs on a branch matching one of these
	// patterns ("main", "release/*"; a tag run is matched by its tag name,
	// a pull request's run never). Empty: any branch.
	Branches []string `json:"branches,omitempty"`
	// Events limits the secret to runs started by one of these events
	// ("push", "tag", …). Empty: any event.
	Events []string `json:"events,omitempty"`
	// Projects are the projects a global secret is granted to; a global
	// secret reaches no other project. Empty (and always for a project's
	// own secret): none.
	Projects []string `json:"projects,omitempty"`
}

// Secret kinds: how a job gets a secret (Kraken's secret kinds).
const (
	// SecretEnv puts the value in an environment variable of the secret's
	// name.
	SecretEnv = "env"
	// SecretFile writes the value to a private file of the job (mode
	// 0600, outside its workspace, removed with the job) and puts the
	// file's path in the variable: for keys, certificates, kubeconfigs.
	SecretFile = "file"
)

// SecretRules is a change to who may have a secret: each field that is
// set replaces the secret's list, an absent one leaves it as it is.
// Projects is for global secrets only.
type SecretRules struct {
	Branches *[]string `json:"branches,omitempty"`
	Events   *[]string `json:"events,omitempty"`
	Projects *[]string `json:"projects,omitempty"`
}

// JobSecret is a secret a job asks for, to get as an environment variable
// of that name: a stored secret of the project (or, failing that, a global
// one), or a value carried in the pipeline file encrypted with the
// project's public key.
type JobSecret struct {
	Name string `json:"name"`
	// Encrypted is the project ciphertext (lathe:v1:…) of a value written
	// in the pipeline file; empty for a stored secret.
	Encrypted string `json:"encrypted,omitempty"`
}
