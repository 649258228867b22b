package lathe

import "time"

// The changes of a test result against the test's previous result on the
// same pipeline and branch (Kraken's regressions and fixes).
const (
	// ChangeNew is a failure (failed or error) where the previous result
	// was not one, or where there was none.
	ChangeNew = "new"
	// ChangeFixed is a pass where the previous result was a failure.
	ChangeFixed = "fixed"
	// ChangeSame is anything else.
	ChangeSame = "same"
)

// TestCaseStates are the states a comment puts a test case in.
var TestCaseStates = []string{"open", "investigating", "known", "fixed"}

// MaxReportBytes bounds one report file an agent sends; the server reads
// no more and records a larger one as a warning on its job.
const MaxReportBytes = 32 << 20

// MaxReportFiles bounds how many report files one job sends.
const MaxReportFiles = 200

// ReportGlobs are a job's `reports:`: globs of files in its workspace
// that the agent sends to the server after the steps, passed or not.
type ReportGlobs struct {
	// JUnit are JUnit XML test reports.
	JUnit []string `json:"junit,omitempty"`
	// Issues are findings files (SARIF, or compiler lines).
	Issues []string `json:"issues,omitempty"`
}

// TestResultInput is one test case's result as a job reports it.
type TestResultInput struct {
	Suite, Name, Status string
	DurationMS          int64
	Message             string
	// Flaky: it failed, then passed on a retry within the job.
	Flaky bool
}

// TestResult is one test case's result in a run.
type TestResult struct {
	// ID is the test case's ID (see /api/v1/test-cases/{test_case}).
	ID       int64  `json:"id"`
	ResultID int64  `json:"result_id"`
	RunID    int64  `json:"run_id"`
	JobID    int64  `json:"job_id"`
	Job      string `json:"job"`
	Suite    string `json:"suite"`
	Name     string `json:"name"`
	// Status is passed, failed, error or skipped.
	Status     string `json:"status"`
	DurationMS int64  `json:"duration_ms"`
	Message    string `json:"message"`
	// Change is ChangeNew, ChangeFixed or ChangeSame.
	Change string `json:"change"`
	// Instability is how many times the test's status flipped (between
	// passing and failing) over its last 10 results on the branch, this
	// one included: 0 is steady, 9 flips every time.
	Instability int `json:"instability"`
	// Flaky: the test failed, then passed when its runner tried it again
	// within the job; its status is passed, its message the failure's.
	Flaky bool `json:"flaky"`
}

// TestTotals counts a run's test results.
type TestTotals struct {
	Passed      int `json:"passed"`
	Failed      int `json:"failed"`
	Error       int `json:"error"`
	Skipped     int `json:"skipped"`
	NewFailures int `json:"new_failures"`
	Fixed       int `json:"fixed"`
	// Flaky counts the passed results that failed first (see TestResult.Flaky).
	Flaky int `json:"flaky"`
}

// Add counts n test results of a status ("passed", "failed", "error",
// "skipped"), a change (ChangeNew, ChangeFixed or none), flaky or not.
func (tt *TestTotals) Add(status, change string, flaky bool, n int) {
	if flaky {
		tt.Flaky += n
	}
	switch status {
	case "passed":
		tt.Passed += n
	case "failed":
		tt.Failed += n
	case "error":
		tt.Error += n
	case "skipped":
		tt.Skipped += n
	}
	switch change {
	case ChangeNew:
		tt.NewFailures += n
	case ChangeFixed:
		tt.Fixed += n
	}
}

// ReportWarning is a problem met reading a report file a job sent.
type ReportWarning struct {
	JobID   int64  `json:"job_id"`
	Job     string `json:"job"`
	File    string `json:"file"`
	Message string `json:"message"`
}

// RunTests is the answer to a run's test results.
type RunTests struct {
	Totals   TestTotals      `json:"totals"`
	Items    []*TestResult   `json:"items"`
	Next     *int64          `json:"next"`
	Warnings []ReportWarning `json:"warnings"`
}

// TestCase is one test of one job of a pipeline, across its runs.
type TestCase struct {
	ID        int64     `json:"id"`
	ProjectID int64     `json:"project_id"`
	Pipeline  string    `json:"pipeline"`
	Job       string    `json:"job"`
	Suite     string    `json:"suite"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// TestHistoryEntry is a test case's result in one run.
type TestHistoryEntry struct {
	ResultID    int64     `json:"result_id"`
	RunID       int64     `json:"run_id"`
	RunNumber   int64     `json:"run_number"`
	Branch      string    `json:"branch"`
	Commit      string    `json:"commit"`
	JobID       int64     `json:"job_id"`
	Status      string    `json:"status"`
	DurationMS  int64     `json:"duration_ms"`
	Message     string    `json:"message"`
	Change      string    `json:"change"`
	Instability int       `json:"instability"`
	Flaky       bool      `json:"flaky"`
	CreatedAt   time.Time `json:"created_at"`
}

// TestHistory is the answer to a test case's history, newest first.
type TestHistory struct {
	TestCase *TestCase          `json:"test_case"`
	Items    []TestHistoryEntry `json:"items"`
	Next     *int64             `json:"next"`
}

// TestComment is a comment on a test case (Kraken's test case comment).
type TestComment struct {
	ID         int64     `json:"id"`
	TestCaseID int64     `json:"test_case_id"`
	Author     string    `json:"author"`
	State      string    `json:"state"`
	Text       string    `json:"text"`
	CreatedAt  time.Time `json:"created_at"`
}

// IssueInput is one finding as a job reports it.
type IssueInput struct {
	File, Severity, Message, Symbol string
	Line, Column                    int
	// Fingerprint identifies the finding across runs.
	Fingerprint string
}

// RunIssue is a finding of a linter or compiler in a run (Kraken's run issue).
type RunIssue struct {
	ID       int64  `json:"id"`
	RunID    int64  `json:"run_id"`
	JobID    int64  `json:"job_id"`
	Job      string `json:"job"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Symbol   string `json:"symbol"`
	// New is true when the previous run of the pipeline on the branch did
	// not report it (for the same job).
	New bool `json:"new"`
}

// Build is a finished job as the builds search lists it (Zuul's build).
type Build struct {
	ID         int64      `json:"id"`
	RunID      int64      `json:"run_id"`
	RunNumber  int64      `json:"run_number"`
	Project    string     `json:"project"`
	Pipeline   string     `json:"pipeline"`
	Job        string     `json:"job"`
	Branch     string     `json:"branch"`
	Ref        string     `json:"ref"`
	Commit     string     `json:"commit"`
	Event      string     `json:"event"`
	Result     Status     `json:"result"`
	Agent      string     `json:"agent"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	DurationMS *int64     `json:"duration_ms"`
	Attempt    int        `json:"attempt"`
}

// RunDuration is one finished run in a duration series.
type RunDuration struct {
	RunID      int64     `json:"run_id"`
	Number     int64     `json:"number"`
	Status     Status    `json:"status"`
	FinishedAt time.Time `json:"finished_at"`
	DurationMS int64     `json:"duration_ms"`
}

// RunStats are Kraken's branch stats for a project's runs, by pipeline
// and branch when asked.
type RunStats struct {
	Total     int `json:"runs_total"`
	LastWeek  int `json:"runs_last_week"`
	LastMonth int `json:"runs_last_month"`
	// AvgDurationMS... are over finished runs; null with none.
	AvgDurationMS          *int64 `json:"avg_duration_ms"`
	AvgDurationLastWeekMS  *int64 `json:"avg_duration_last_week_ms"`
	AvgDurationLastMonthMS *int64 `json:"avg_duration_last_month_ms"`
	// Durations are the last finished runs, oldest first (at most 100).
	Durations []RunDuration `json:"durations"`
}

// BuildTimes are a job's durations over finished builds (Zuul's build-times).
type BuildTimes struct {
	Count int    `json:"count"`
	MinMS *int64 `json:"min_ms"`
	MaxMS *int64 `json:"max_ms"`
	AvgMS *int64 `json:"avg_ms"`
	P50MS *int64 `json:"p50_ms"`
	P90MS *int64 `json:"p90_ms"`
	P95MS *int64 `json:"p95_ms"`
	P99MS *int64 `json:"p99_ms"`
	// Items are the builds measured, newest first (at most the limit).
	Items []BuildTime `json:"items"`
}

// BuildTime is one finished job's duration.
type BuildTime struct {
	ID         int64     `json:"id"`
	RunID      int64     `json:"run_id"`
	Job        string    `json:"job"`
	Branch     string    `json:"branch"`
	Result     Status    `json:"result"`
	FinishedAt time.Time `json:"finished_at"`
	DurationMS int64     `json:"duration_ms"`
}

// RunResults is a run with the totals of its test results: one entry of
// the results history up to a run (Kraken's flow history).
type RunResults struct {
	*Run
	Tests TestTotals `json:"tests"`
}
