package lathe

import "time"

// Branch is a branch of a project that Lathe tracks (Kraken's branches):
// one a run was started on or a forge hook reported, and the project's
// default branch. Forgetting a branch (deleting it) removes it and its
// settings, never its runs.
type Branch struct {
	ID        int64  `json:"id"`
	ProjectID int64  `json:"project_id"`
	Project   string `json:"project"`
	Name      string `json:"name"`
	// HeadCommit is the commit the branch pointed at when last seen.
	HeadCommit string         `json:"head_commit"`
	CreatedAt  time.Time      `json:"created_at"`
	LastSeenAt time.Time      `json:"last_seen_at"`
	Settings   BranchSettings `json:"settings"`
	// LastRuns is the newest run of each pipeline on the branch, and
	// RunCounts how many of its runs are in each status (pull requests'
	// runs aside); both only when one branch is fetched, and absent while
	// it has no runs.
	LastRuns  []*Run         `json:"last_runs,omitempty"`
	RunCounts map[Status]int `json:"run_counts,omitempty"`
}

// BranchSettings are what a project's users set on one of its branches.
type BranchSettings struct {
	// Env is added to every job of every run planned on the branch, after
	// the pipeline's and the job's env: for the same name, the branch wins.
	Env []EnvVar `json:"env"`
	// KeepRuns and KeepDays are how many runs, and for how many days, the
	// branch's runs are kept; nil for the server's default.
	KeepRuns *int `json:"keep_runs"`
	KeepDays *int `json:"keep_days"`
	// Retention is how long the branch's runs keep their logs and
	// artifacts (Kraken's retention policy); the runs themselves stay.
	Retention Retention `json:"retention"`
}

// Retention is a branch's policy in days for logs and artifacts, CI runs
// (every event but manual) apart from manual ones; nil keeps them.
type Retention struct {
	CILogs          *int `json:"ci_logs"`
	CIArtifacts     *int `json:"ci_artifacts"`
	ManualLogs      *int `json:"manual_logs"`
	ManualArtifacts *int `json:"manual_artifacts"`
}

// Schedule is one cron trigger of a pipeline (its `on: schedule:`), as
// the server tracks it: when it fires next, on which branch, and whether a
// user paused it.
type Schedule struct {
	ID        int64  `json:"id"`
	ProjectID int64  `json:"project_id"`
	Project   string `json:"project"`
	Pipeline  string `json:"pipeline"`
	Cron      string `json:"cron"`
	// Branch is the branch its runs build.
	Branch string `json:"branch"`
	// NextAt is its next firing, in UTC.
	NextAt      time.Time  `json:"next_at"`
	LastFiredAt *time.Time `json:"last_fired_at"`
	// Paused schedules do not fire; resuming one fires it next at its
	// next time from then, never for the firings it missed.
	Paused bool `json:"paused"`
}
