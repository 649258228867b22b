package lathe

import (
	"strings"
	"time"
)

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

// Deployment is one deployment of a candidate, or of a bare commit, to an
// environment.
type Deployment struct {
	ID          int64  `json:"id"`
	Project     string `json:"project"`
	Environment string `json:"environment"`
	// Version is the candidate's, VERSION-rcN; "" for a deployment of a
	// commit by a pipeline job in a run not started for a candidate.
	Version string `json:"version"`
	Commit  string `json:"commit"`
	// Status is one of DeploymentStatuses, or waiting_for_approval; with a
	// JobID it follows the job, else with a RunID it follows the run.
	Status string `json:"status"`
	RunID  int64  `json:"run_id,omitempty"`
	// JobID is the pipeline job (`environment: NAME`) that deploys.
	JobID int64 `json:"job_id,omitempty"`
	// WaitReason says why a deploy job waits in the queue (the
	// environment's lock held by another deployment).
	WaitReason string `json:"wait_reason,omitempty"`
	// Gate is the approval gate the deployment met (its job's, or the first
	// gated job of its deploy run), nil when it met none.
	Gate *Approval `json:"gate,omitempty"`
	// GateJobID is the job whose gate Gate is (approve or reject it there).
	GateJobID int64     `json:"gate_job_id,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// EnvironmentLock is the semaphore a deployment to an environment holds
// while its job runs: one deployment at a time, the others wait queued.
func EnvironmentLock(env string) string { return "environment:" + env }

// EnvironmentVariable is a variable or a secret of an environment: it
// reaches only the jobs deploying there. A secret's Value is never
// returned.
type EnvironmentVariable struct {
	Name      string    `json:"name"`
	Secret    bool      `json:"secret"`
	Value     string    `json:"value,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ReleaseSettings are a project's release settings.
type ReleaseSettings struct {
	// BuildPipeline is the pipeline a candidate's build runs with
	// trigger_build; "build" unless set.
	BuildPipeline string     `json:"build_pipeline"`
	UpdatedBy     string     `json:"updated_by,omitempty"`
	UpdatedAt     *time.Time `json:"updated_at,omitempty"`
}

// DefaultBuildPipeline is the build pipeline of a project that set none.
const DefaultBuildPipeline = "build"

// Gate is the approval gate of a deployment to a protected environment,
// nil for an unprotected one: the environment's approvers may open it
// (users by name, teams as @NAME, roles as role:ROLE), and when it demands
// a second person, not by (who asked for the deployment; "" when no user
// did, as for a push). The rules are the server's, never a pipeline file's.
func (e *Environment) Gate(message, by string) *Approval {
	if !e.Protected {
		return nil
	}
	g := &Approval{Message: message, From: []string{}}
	for _, a := range e.Approvers {
		kind, name, _ := strings.Cut(a, ":")
		switch kind {
		case "user":
			g.From = append(g.From, name)
		case "team":
			g.From = append(g.From, "@"+name)
		default:
			g.From = append(g.From, a)
		}
	}
	if e.SecondPerson {
		g.NotBy = by
	}
	return g
}

// NextEnvironment is the environment after from in promotion order among
// es (the lowest position above from's), nil when from is the last.
func NextEnvironment(es []*Environment, from *Environment) *Environment {
	var to *Environment
	for _, e := range es {
		if e.Position > from.Position && (to == nil || e.Position < to.Position) {
			to = e
		}
	}
	return to
}

// MatrixRow is one environment and what runs there: its last successful
// deployment, or none.
type MatrixRow struct {
	Environment string      `json:"environment"`
	Position    int         `json:"position"`
	Current     *Deployment `json:"current"`
}
