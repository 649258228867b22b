package lathe

import "time"

// Project is a repository under CI.
type Project struct {
	ID            int64     `json:"id"`
	Name          string    `json:"name"`
	URL           string    `json:"url"`
	DefaultBranch string    `json:"default_branch"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Timing is the lifecycle clock shared by runs, stages, jobs, attempts and steps.
type Timing struct {
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	// DurationMS is finished − started, or null while not finished.
	DurationMS *int64 `json:"duration_ms"`
}

// Finish fills DurationMS from the start and finish times.
func (t *Timing) Finish() {
	t.DurationMS = nil
	if t.StartedAt != nil && t.FinishedAt != nil {
		d := t.FinishedAt.Sub(*t.StartedAt).Milliseconds()
		t.DurationMS = &d
	}
}

// Run is one execution of a pipeline at one commit, numbered per pipeline.
type Run struct {
	ID        int64  `json:"id"`
	ProjectID int64  `json:"project_id"`
	Project   string `json:"project"`
	Pipeline  string `json:"pipeline"`
	Number    int64  `json:"number"`
	Ref       string `json:"ref"`
	Branch    string `json:"branch,omitempty"`
	Commit    string `json:"commit"`
	Event     string `json:"event"`
	Status    Status `json:"status"`
	Timing
	Stages []*Stage `json:"stages,omitempty"`
	Jobs   []*Job   `json:"jobs,omitempty"`
}

// Stage is an ordered group of jobs inside a run.
type Stage struct {
	ID       int64  `json:"id"`
	RunID    int64  `json:"run_id"`
	Name     string `json:"name"`
	Position int    `json:"position"`
	Status   Status `json:"status"`
	Timing
	UpdatedAt time.Time `json:"updated_at"`
}

// Job is the unit an agent runs.
type Job struct {
	ID      int64    `json:"id"`
	RunID   int64    `json:"run_id"`
	StageID int64    `json:"stage_id"`
	Stage   string   `json:"stage"`
	Name    string   `json:"name"`
	Status  Status   `json:"status"`
	Needs   []string `json:"needs"`
	// Deps are the jobs this one waits for: Needs when given, else every job of earlier stages.
	Deps   []string `json:"deps"`
	RunsOn []string `json:"runs_on"`
	// TimeoutSec bounds one attempt's running time.
	TimeoutSec int64     `json:"timeout_sec"`
	Env        []EnvVar  `json:"env"`
	Steps      []StepDef `json:"steps"`
	// Attempt is the number of the current (latest) attempt, 0 before the first claim.
	Attempt int `json:"attempt"`
	Timing
	Attempts []*Attempt `json:"attempts,omitempty"`
}

// EnvVar is one environment variable; order is kept as written.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// StepDef is what a step will run.
type StepDef struct {
	Name string `json:"name"`
	Run  string `json:"run"`
}

// Attempt is one try of a job on one agent. Its log belongs to it.
type Attempt struct {
	ID      int64  `json:"id"`
	JobID   int64  `json:"job_id"`
	Number  int    `json:"number"`
	AgentID int64  `json:"agent_id"`
	Agent   string `json:"agent,omitempty"`
	Status  Status `json:"status"`
	// LogSize is the number of log bytes the server holds durably.
	LogSize int64 `json:"log_size"`
	Timing
	Steps []*Step `json:"steps,omitempty"`
}

// Step is one command inside an attempt, with its slice of the attempt's log.
type Step struct {
	AttemptID int64  `json:"attempt_id"`
	Index     int    `json:"index"`
	Name      string `json:"name"`
	Status    Status `json:"status"`
	ExitCode  *int   `json:"exit_code"`
	LogStart  int64  `json:"log_start"`
	LogEnd    *int64 `json:"log_end"`
	Timing
}

// Agent is a worker that runs jobs.
type Agent struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Labels    []string   `json:"labels"`
	CreatedAt time.Time  `json:"created_at"`
	LastSeen  *time.Time `json:"last_seen"`
}

// Page is one page of a newest-first list. Next is the cursor for the
// following page (pass it as before=), or null on the last page.
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  *int64 `json:"next"`
}
