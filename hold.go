package lathe

import "time"

// Autohold (Zuul's): a hold asks that the workspaces of the next Count
// failed attempts (failed or timed_out, as reported by their agent) of one
// job of one pipeline be kept on their agents for Duration, for someone to
// log in and look. The agent deletes a kept workspace once it expires.

// Hold is a hold request of a project.
type Hold struct {
	ID       int64  `json:"id"`
	Project  string `json:"project"`
	Pipeline string `json:"pipeline"`
	Job      string `json:"job"`
	// Count is how many more failed attempts the hold will catch; it goes
	// down by one for each caught attempt, and the hold is spent at zero.
	Count int `json:"count"`
	// DurationSec is how long each caught workspace is kept.
	DurationSec int64  `json:"duration_sec"`
	Reason      string `json:"reason"`
	// CreatedBy names the token that asked for the hold.
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Held lists the attempts the hold caught, oldest first.
	Held []HeldAttempt `json:"held"`
}

// HeldAttempt is an attempt whose workspace a hold kept.
type HeldAttempt struct {
	AttemptID int64  `json:"attempt_id"`
	JobID     int64  `json:"job_id"`
	RunID     int64  `json:"run_id"`
	Status    Status `json:"status"`
	Agent     string `json:"agent"`
	// Path is the workspace's absolute path on the agent's machine.
	Path      string    `json:"path"`
	HeldAt    time.Time `json:"held_at"`
	ExpiresAt time.Time `json:"expires_at"`
}
