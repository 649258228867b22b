package lathe

import "time"

// Built-in actions: a step that is not a command but something the agent
// does itself, the same on every executor. Jobs of one run hand files to
// each other through uploads: a job's `upload` stores a named set of files
// on the server, and a later job of the same run `download`s it into its
// workspace.

// The kinds of StepAction (the same words as the pipeline's action keys).
const (
	ActionCheckout = "checkout"
	ActionUpload   = "upload"
	ActionDownload = "download"
	// ActionArtifacts uploads the job's `artifacts:` once its steps ended.
	ActionArtifacts = "artifacts"
	// ActionCacheRestore restores a `cache:` before the job's steps, and
	// ActionCacheSave saves it after them when the job succeeded.
	ActionCacheRestore = "cache_restore"
	ActionCacheSave    = "cache_save"
	// ActionTool runs a published tool (a step's `uses: NAME@VERSION`).
	ActionTool = "tool"
)

// The moments an action after the job's steps runs (StepAction.When).
const (
	WhenOnSuccess = "on_success"
	WhenOnFailure = "on_failure"
	WhenAlways    = "always"
)

// StepAction is the built-in action a step does instead of running a command.
type StepAction struct {
	// Kind is ActionCheckout, ActionUpload or ActionDownload.
	Kind string `json:"kind"`
	// Depth is a checkout's history depth as written (0: all of it). The
	// agent checks out from its own mirror, so it is not applied there.
	Depth int `json:"depth,omitempty"`
	// Name names an upload: what an upload stores and a download fetches.
	Name string `json:"name,omitempty"`
	// Paths are the globs an upload stores, relative to the workspace
	// (`**` matches any number of directories).
	Paths []string `json:"paths,omitempty"`
	// When is WhenOnSuccess (empty means it too), WhenOnFailure or
	// WhenAlways: whether the step runs after an earlier step failed.
	When string `json:"when,omitempty"`
	// ExpireInSec is how long artifacts are kept (0: the branch's policy).
	ExpireInSec int64 `json:"expire_in_sec,omitempty"`
	// Key is a cache's key template ("go-{{ hashFiles('go.sum') }}"),
	// evaluated by the agent over the checkout; RestoreKeys are the
	// prefixes a restore falls back to, in order.
	Key         string   `json:"key,omitempty"`
	RestoreKeys []string `json:"restore_keys,omitempty"`
	// Tool is a tool step's "NAME@VERSION"; With its parameters as
	// written, and, once the run is planned, every parameter's value
	// (defaults filled in). ToolSHA256 and Entrypoint are the published
	// archive's digest and entry point, set when the run is planned so the
	// agent runs exactly what was checked.
	Tool       string            `json:"tool,omitempty"`
	With       map[string]string `json:"with,omitempty"`
	ToolSHA256 string            `json:"tool_sha256,omitempty"`
	Entrypoint string            `json:"entrypoint,omitempty"`
}

// RunsAfterFailure reports whether the step runs when an earlier step of
// the job failed; RunsAfterSuccess whether it runs when none did.
func (a *StepAction) RunsAfterFailure() bool {
	return a != nil && (a.When == WhenOnFailure || a.When == WhenAlways)
}

// RunsAfterSuccess reports whether a step runs when no earlier step failed.
func (a *StepAction) RunsAfterSuccess() bool {
	return a == nil || a.When != WhenOnFailure
}

// Upload is a named set of files one job of a run stored for later jobs of
// the run, kept on the server as a gzipped tar archive.
type Upload struct {
	RunID int64  `json:"run_id"`
	Name  string `json:"name"`
	// JobID and Job name the job that uploaded it; only that job (in any
	// of its attempts) may replace it.
	JobID int64  `json:"job_id"`
	Job   string `json:"job"`
	// AttemptID and Attempt name the attempt whose upload is kept: the latest.
	AttemptID int64 `json:"attempt_id"`
	Attempt   int   `json:"attempt"`
	// Size is the archive's size in bytes; SHA256 its hex SHA-256.
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	CreatedAt time.Time `json:"created_at"`
}

// UploadSHA256Header carries an upload archive's hex SHA-256: the agent
// sends it with the archive, and the server sends it back with a download,
// so each end checks the bytes it received.
const UploadSHA256Header = "Lathe-Upload-SHA256"
