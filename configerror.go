package lathe

import "time"

// ConfigProblem is one problem in a project's pipeline files, located well
// enough for an editor to jump to it.
type ConfigProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Field   string `json:"field"`
	Message string `json:"message"`
	// Severity is "error" (the pipeline cannot run) or "warning".
	Severity string `json:"severity"`
}

// ConfigErrors are the problems Lathe met the last time it read the pipeline
// files of a branch (Zuul's config-errors). A branch whose files read cleanly
// has none.
type ConfigErrors struct {
	ProjectID int64           `json:"project_id"`
	Project   string          `json:"project"`
	Branch    string          `json:"branch"`
	Commit    string          `json:"commit"`
	Errors    []ConfigProblem `json:"errors"`
	UpdatedAt time.Time       `json:"updated_at"`
}
