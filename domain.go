package lathe

import "time"

// Project is a repository under CI.
type Project struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	URL           string `json:"url"`
	DefaultBranch string `json:"default_branch"`
	// Visibility is "private" (members only) or "public" (readable without login).
	Visibility string    `json:"visibility"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// URLCredentials are the credentials URL held (it shows them as ***),
	// sealed like a secret; they never leave the server but for git.
	URLCredentials string `json:"-"`
	// URLByAdmin says an admin set URL: only an admin's URL may name a
	// local path or a private address.
	URLByAdmin bool `json:"-"`
	// AllowAPIPipelines lets writers run pipeline YAML posted through the
	// API (never with secrets); only an owner sets it. Off by default.
	AllowAPIPipelines bool `json:"allow_api_pipelines"`
	// Forge names the project's forge connection ("" for none) and Repo
	// its repository there (owner/name); ForgeID is the connection's ID.
	Forge   string `json:"forge,omitempty"`
	Repo    string `json:"repo,omitempty"`
	ForgeID int64  `json:"-"`
	// URLFromForge says URL is the forge's (URL/owner/name.git) and
	// follows the connection's URL.
	URLFromForge bool `json:"-"`
	// ProtectedBranches are the patterns of branches whose pushes are
	// trusted; with none, every push is.
	ProtectedBranches []string `json:"protected_branches"`
	// PRTrust says who may open a trusted pull request from the repository
	// itself (PRTrustWriteOnForge, PRTrustWriteInLathe, PRTrustEveryone).
	PRTrust string `json:"pr_trust"`
	// UntrustedLabels are added to the runs-on of every job of the
	// project's untrusted runs (a fork's pull request), so that they run
	// only on agents kept for untrusted code; none: where their files say.
	UntrustedLabels []string `json:"untrusted_labels"`
	// HookSecretSet says the project has a secret signing its forge hooks
	// (the secret itself is never shown again).
	HookSecretSet bool `json:"hook_secret_set"`
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

// EventRerun is the event of a run that re-runs another (its ParentID).
const EventRerun = "rerun"

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
	// ParentID is the run this one re-runs (event EventRerun), if any.
	ParentID *int64 `json:"parent_id"`
	// Untrusted runs (a fork's pull request) get no secrets, and their jobs
	// wait until a user with write approves the commit.
	Untrusted bool `json:"untrusted"`
	// PullRequest is the number, on the project's forge, of the pull (merge)
	// request the run builds; 0 for runs of a branch, tag or commit.
	PullRequest int64 `json:"pull_request,omitempty"`
	// PipelineFromAPI is set on a run whose pipeline was posted through the
	// API rather than read from the repository: its jobs get no secrets.
	PipelineFromAPI bool `json:"pipeline_from_api,omitempty"`
	// Errors are the problems of a pipeline file that was too broken to
	// run: such a run is failed from the start and has no jobs.
	Errors []ConfigProblem `json:"errors,omitempty"`
	// Params are the values of the pipeline's parameters the run was
	// planned with, defaults included, in declared order.
	Params []EnvVar `json:"params"`
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
	// External is a stage an outside tool drives (PATCH /api/v1/stages/{stage}).
	External bool `json:"external"`
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
	TimeoutSec int64 `json:"timeout_sec"`
	// Concurrency names the semaphore the job holds while it runs, if any.
	Concurrency *Concurrency `json:"concurrency,omitempty"`
	Env         []EnvVar     `json:"env"`
	Steps       []StepDef    `json:"steps"`
	// Container, when set, runs the job in a container (see JobContainer).
	Container *JobContainer `json:"container,omitempty"`
	// Secrets are the secrets the job gets in its environment (by name;
	// values reach only the agent running it).
	Secrets []JobSecret `json:"secrets,omitempty"`
	// AllowFailure lets the job fail without failing the run or skipping
	// its dependents.
	AllowFailure bool `json:"allow_failure"`
	// Retry is how failures of the job are retried; nil for never (lost
	// attempts still get the server's infrastructure retries).
	Retry *Retry `json:"retry,omitempty"`
	// Approval is the gate before the job, or nil.
	Approval *Approval `json:"approval,omitempty"`
	// Environment is the environment a deploy job deploys to, or "".
	Environment string `json:"environment,omitempty"`
	// Reports are the files its agent sends after the steps; set when the
	// run is created and handed to the agent in its Assignment.
	Reports *ReportGlobs `json:"-"`
	// Attempt is the number of the current (latest) attempt, 0 before the first claim.
	Attempt int `json:"attempt"`
	// CarriedFrom is set on a job a re-run carried over with its result:
	// the job that ran (in an earlier run), whose attempts this one shows.
	CarriedFrom *int64 `json:"carried_from,omitempty"`
	// WaitReason says why a queued job is not running, when the server
	// knows (no online agent has its labels); empty once it is claimed.
	WaitReason string `json:"wait_reason,omitempty"`
	Timing
	Attempts []*Attempt `json:"attempts,omitempty"`
}

// JobEntry is a job in a list across runs, with its run's project,
// pipeline and number.
type JobEntry struct {
	*Job
	Project   string `json:"project"`
	Pipeline  string `json:"pipeline"`
	RunNumber int64  `json:"run_number"`
}

// EnvVar is one environment variable; order is kept as written.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// StepDef is what a step will run: a command, or a built-in action.
type StepDef struct {
	Name string `json:"name"`
	Run  string `json:"run"`
	// Action is set when the step is a built-in action; Run is then empty.
	Action *StepAction `json:"action,omitempty"`
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
	// LogComplete is false when the server cannot vouch that the log is the
	// job's whole output: the agent's checksum of it disagreed with the
	// stored bytes, or the attempt ended without its agent (lost, or timed
	// out by the server).
	LogComplete bool `json:"log_complete"`
	// LogExpiredAt is set once the retention sweep removed the log.
	LogExpiredAt *time.Time `json:"log_expired_at,omitempty"`
	// HeldUntil and HeldPath are set when a hold kept the attempt's
	// workspace: it stays at HeldPath on the agent until HeldUntil.
	HeldUntil *time.Time `json:"held_until,omitempty"`
	HeldPath  string     `json:"held_path,omitempty"`
	// EndReason says why the attempt ended when its status alone does not:
	// "handed back: …" (its agent stopped and returned the job, which runs
	// again without using up a retry), "lost: …", "infrastructure: …".
	EndReason string `json:"end_reason,omitempty"`
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

// Version is the version of this Lathe build; agents report it.
const Version = "0.3.0-dev"

// Agent is a worker that runs jobs.
type Agent struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Labels are the agent's own labels. Jobs route by these plus one
	// implicit label "group:NAME" per group the agent belongs to.
	Labels []string `json:"labels"`
	// Groups names the agent groups (pools) the agent is a member of.
	Groups []string `json:"groups"`
	// Authorized agents get work; a server that requires authorization
	// registers new agents unauthorized until an admin authorizes them.
	Authorized bool `json:"authorized"`
	// Disabled agents get no new work (a running job finishes).
	Disabled bool `json:"disabled"`
	// Online is true when the agent was heard from within AgentOnlineWindow.
	Online    bool       `json:"online"`
	Host      HostInfo   `json:"host"`
	CreatedAt time.Time  `json:"created_at"`
	LastSeen  *time.Time `json:"last_seen"`
}

// AgentOnlineWindow is how recently an agent must have been heard from to count as online.
const AgentOnlineWindow = 60 * time.Second

// GroupLabelPrefix starts the implicit label an agent carries for each of its
// groups: a job with runs-on [group:gpu-pool] runs on members of gpu-pool.
const GroupLabelPrefix = "group:"

// EffectiveLabels are the labels jobs route by: the agent's own, then
// "group:NAME" for each of its groups, then ContainerExecutorLabel when
// the agent announced a working container engine.
func (a *Agent) EffectiveLabels() []string {
	out := make([]string, 0, len(a.Labels)+len(a.Groups))
	out = append(out, a.Labels...)
	for _, g := range a.Groups {
		out = append(out, GroupLabelPrefix+g)
	}
	if a.Host.Container != "" {
		out = append(out, ContainerExecutorLabel)
	}
	return out
}

// AgentHostHeader is the request header in which an agent sends its
// HostInfo (as JSON) with each claim, so the server's view stays current.
const AgentHostHeader = "Lathe-Agent-Host"

// HostInfo describes the machine an agent runs on, as the agent reports it.
type HostInfo struct {
	Hostname    string `json:"hostname"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	CPUs        int    `json:"cpus"`
	MemoryBytes int64  `json:"memory_bytes"`
	Version     string `json:"version"`
	// Isolation says what keeps the agent's jobs from its machine:
	// "sandbox" (bubblewrap), or "none" for the shell executor.
	Isolation string `json:"isolation"`
	// Container names the container engine the agent runs image jobs
	// with ("docker 27.5.1"); empty when it has none that works.
	Container string `json:"container,omitempty"`
}

// AgentGroup is a named pool of agents.
type AgentGroup struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	AgentsCount int    `json:"agents_count"`
	// Provider starts the group's agents on demand (nil: none does).
	Provider  *AgentProvider `json:"provider"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// RegistrationToken lets new agents register. Only its hash is stored; the
// secret is shown once, when it is created.
type RegistrationToken struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Token is the secret, present only in the answer to create.
	Token     string     `json:"token,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	LastUsed  *time.Time `json:"last_used"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// Page is one page of a newest-first list. Next is the cursor for the
// following page (pass it as before=), or null on the last page.
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  *int64 `json:"next"`
}
