package lathe

import "time"

// Secret is a stored secret as the API shows it: its name and history,
// never its value.
type Secret struct {
	Name string `json:"name"`
	// Project is the project the secret belongs to; empty for a global secret.
	Project string `json:"project,omitempty"`
	// KeyID names the server key that sealed the value (it changes when
	// the values are re-encrypted after a key rotation).
	KeyID     string    `json:"key_id"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
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
