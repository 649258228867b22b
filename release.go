package lathe

import "time"

// Environment is a place a project's releases are deployed to (staging,
// production, ...). Its protection rules are kept on the server.
type Environment struct {
	ID      int64  `json:"id"`
	Project string `json:"project"`
	Name    string `json:"name"`
	// Position orders the environments for promotion, lowest first.
	Position int `json:"position"`
	// DeployPipeline is the pipeline a deployment runs; empty: deployments
	// are reported by an outside CD.
	DeployPipeline string `json:"deploy_pipeline"`
	// Protected deployments wait for an approval by one of Approvers.
	Protected bool `json:"protected"`
	// Approvers may approve: "user:NAME", "team:NAME" or "role:ROLE".
	Approvers []string `json:"approvers"`
	// SecondPerson forbids the deployer approving their own deployment.
	SecondPerson bool      `json:"second_person"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Release is a version of a project with its candidates.
type Release struct {
	ID         int64        `json:"id"`
	Project    string       `json:"project"`
	Version    string       `json:"version"`
	Final      bool         `json:"final"`
	CreatedBy  string       `json:"created_by"`
	CreatedAt  time.Time    `json:"created_at"`
	Candidates []*Candidate `json:"candidates"`
}

// Candidate is one commit proposed as a release: VERSION-rcN.
type Candidate struct {
	ID      int64  `json:"id"`
	Version string `json:"version"`
	Number  int    `json:"number"`
	Commit  string `json:"commit"`
	// RunID is the candidate's build run; 0: it was ready at once.
	RunID int64 `json:"run_id,omitempty"`
	// Status is ready, building or failed (from its build run).
	Status    string    `json:"status"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Deployment statuses an outside CD may report (Aviator's).
var DeploymentStatuses = []string{"pending", "in_progress", "success", "failure", "canceling", "canceled", "unknown"}

// Deployment is one deployment of a candidate to an environment.
type Deployment struct {
	ID          int64  `json:"id"`
	Environment string `json:"environment"`
	Version     string `json:"version"`
	Commit      string `json:"commit"`
	// Status is one of DeploymentStatuses; with a RunID, it follows the run.
	Status    string    `json:"status"`
	RunID     int64     `json:"run_id,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MatrixRow is one environment and what runs there: its last successful
// deployment, or none.
type MatrixRow struct {
	Environment string      `json:"environment"`
	Position    int         `json:"position"`
	Current     *Deployment `json:"current"`
}
