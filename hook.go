package lathe

import "time"

// HookToken opens a project's generic webhook, POST /api/v1/hooks/{token}:
// whoever holds it may start the project's push and webhook runs (Escape's
// and Kraken's token-authenticated triggers, and a forge without a native
// integration). Only its hash is stored.
type HookToken struct {
	ID        int64  `json:"id"`
	ProjectID int64  `json:"project_id"`
	Name      string `json:"name"`
	// Token is the secret, present only in the answer to create.
	Token     string     `json:"token,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	LastUsed  *time.Time `json:"last_used"`
	RevokedAt *time.Time `json:"revoked_at"`
}
