package store

import (
	"context"
	"fmt"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// historyLen is how many of a test case's last results on a branch its
// instability is counted over.
const historyLen = 10

// statusLetters are the letters a test_case_branches history is written in.
var statusLetters = map[string]byte{"passed": 'P', "failed": 'F', "error": 'E', "skipped": 'S'}

func failing(letter byte) bool { return letter == 'F' || letter == 'E' }

// jobContext is what storing a job's results needs to know about it.
type jobContext struct {
	runID, projectID  int64
	job, pipeline, br string
}

func (t *txn) jobContext(ctx context.Context, jobID int64) (jobContext, error) {
	var c jobContext
	err := t.queryRow(ctx, `SELECT j.run_id, r.project_id, j.name, r.pipeline, r.branch FROM jobs j JOIN runs r ON r.id = j.run_id
		WHERE j.id = ?`, jobID).Scan(&c.runID, &c.projectID, &c.job, &c.pipeline, &c.br)
	return c, notFoundOrNil(err, "job", jobID)
}

// AddReport records that job jobID sent the report file (kind junit or
// issues) with entries entries, and the problem met reading it ("" for
// none): a broken report is a warning on its job, never an error.
func (s *Store) AddReport(ctx context.Context, jobID int64, kind, file string, entries int, warning string) error {
	return s.tx(ctx, func(t *txn) error {
		c, err := t.jobContext(ctx, jobID)
		if err != nil {
			return err
		}
		return t.addReport(ctx, c.runID, jobID, kind, file, entries, warning)
	})
}

// addReport records a report file of a job; the same file sent again (by
// a later attempt of the job) replaces what the earlier one said.
func (t *txn) addReport(ctx context.Context, runID, jobID int64, kind, file string, entries int, warning string) error {
	warnings := []string{}
	if warning != "" {
		warnings = append(warnings, warning)
	}
	if _, err := t.exec(ctx, `DELETE FROM job_reports WHERE job_id = ? AND kind = ? AND file = ?`, jobID, kind, file); err != nil {
		return err
	}
	_, err := t.exec(ctx, `INSERT INTO job_reports (run_id, job_id, kind, file, entries, warnings, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		runID, jobID, kind, file, entries, jsonText(warnings), micros(t.now))
	return err
}

// AddTestResults stores the results of one JUnit file of job jobID. Each
// test case (the job's name in the pipeline, the suite and the name) is
// found or created; its result's change and instability are decided
// against its last results on the run's branch, which this result joins. A
// case reported twice in the file keeps its worst result (the parser has
// made one flaky case of a failure and a pass); a case the job reported
// before (another file, an earlier attempt) is replaced.
func (s *Store) AddTestResults(ctx context.Context, jobID int64, file string, cases []lathe.TestResultInput) error {
	cases = worstOnce(cases)
	return s.tx(ctx, func(t *txn) error {
		c, err := t.jobContext(ctx, jobID)
		if err != nil {
			return err
		}
		if err := t.addReport(ctx, c.runID, jobID, "junit", file, len(cases), ""); err != nil {
			return err
		}
		if len(cases) == 0 {
			return nil
		}
		ids, err := t.testCaseIDs(ctx, c, cases)
		if err != nil {
			return err
		}
		history, err := t.branchHistory(ctx, c)
		if err != nil {
			return err
		}
		results := make([][]any, 0, len(cases))
		branches := make([][]any, 0, len(cases))
		for i, tc := range cases {
			id := ids[i]
			prev := history[id]
			if prev.runID == c.runID && prev.statuses != "" {
				prev.statuses = prev.statuses[:len(prev.statuses)-1] // this run's earlier result
			}
			letter := statusLetters[tc.Status]
			change := lathe.ChangeSame
			last := byte(0)
			if n := len(prev.statuses); n > 0 {
				last = prev.statuses[n-1]
			}
			switch {
			case failing(letter) && !failing(last):
				change = lathe.ChangeNew
			case letter == 'P' && failing(last):
				change = lathe.ChangeFixed
			}
			statuses := prev.statuses + string(letter)
			if len(statuses) > historyLen {
				statuses = statuses[len(statuses)-historyLen:]
			}
			results = append(results, []any{c.runID, jobID, id, tc.Status, tc.DurationMS, tc.Message, change, instability(statuses), boolInt(tc.Flaky)})
			branches = append(branches, []any{id, c.br, statuses, c.runID})
		}
		err = t.execBatches(ctx, `INSERT INTO test_results (run_id, job_id, test_case_id, status, duration_ms, message, change, instability, flaky) VALUES`,
			` ON CONFLICT (job_id, test_case_id) DO UPDATE SET status = excluded.status, duration_ms = excluded.duration_ms,
				message = excluded.message, change = excluded.change, instability = excluded.instability, flaky = excluded.flaky`, 9, results)
		if err != nil {
			return fmt.Errorf("store test results of job %d: %w", jobID, err)
		}
		err = t.execBatches(ctx, `INSERT INTO test_case_branches (test_case_id, branch, statuses, run_id) VALUES`,
			` ON CONFLICT (test_case_id, branch) DO UPDATE SET statuses = excluded.statuses, run_id = excluded.run_id`, 4, branches)
		if err != nil {
			return fmt.Errorf("store test history of job %d: %w", jobID, err)
		}
		return nil
	})
}

// instability counts the flips between passing and failing in a history
// (skips are left out: a skipped test neither passed nor failed).
func instability(statuses string) int {
	flips := 0
	var prev byte
	for i := 0; i < len(statuses); i++ {
		s := statuses[i]
		if s == 'S' {
			continue
		}
		if prev != 0 && failing(prev) != failing(s) {
			flips++
		}
		prev = s
	}
	return flips
}

// worstOnce keeps one result per suite and name, the worst, in first-seen order.
func worstOnce(cases []lathe.TestResultInput) []lathe.TestResultInput {
	type key struct{ suite, name string }
	at := make(map[key]int, len(cases))
	out := make([]lathe.TestResultInput, 0, len(cases))
	for _, c := range cases {
		k := key{c.Suite, c.Name}
		i, seen := at[k]
		if !seen {
			at[k] = len(out)
			out = append(out, c)
			continue
		}
		if severityRank(c.Status) > severityRank(out[i].Status) {
			out[i] = c
		}
	}
	return out
}

func severityRank(status string) int {
	return strings.Index("SPFE", string(statusLetters[status]))
}

// testCaseIDs returns the IDs of the job's test cases, creating the new ones.
func (t *txn) testCaseIDs(ctx context.Context, c jobContext, cases []lathe.TestResultInput) ([]int64, error) {
	type key struct{ suite, name string }
	known := map[key]int64{}
	rows, err := t.query(ctx, `SELECT id, suite, name FROM test_cases WHERE project_id = ? AND pipeline = ? AND job = ?`,
		c.projectID, c.pipeline, c.job)
	if err != nil {
		return nil, fmt.Errorf("test cases of job %s: %w", c.job, err)
	}
	for rows.Next() {
		var id int64
		var k key
		if err := rows.Scan(&id, &k.suite, &k.name); err != nil {
			rows.Close()
			return nil, err
		}
		known[k] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var fresh [][]any
	for _, tc := range cases {
		if _, ok := known[key{tc.Suite, tc.Name}]; !ok {
			fresh = append(fresh, []any{c.projectID, c.pipeline, c.job, tc.Suite, tc.Name, micros(t.now)})
		}
	}
	if len(fresh) > 0 {
		err := t.execBatches(ctx, `INSERT INTO test_cases (project_id, pipeline, job, suite, name, created_at) VALUES`,
			` ON CONFLICT (project_id, pipeline, job, suite, name) DO NOTHING`, 6, fresh)
		if err != nil {
			return nil, fmt.Errorf("create test cases of job %s: %w", c.job, err)
		}
		return t.testCaseIDs(ctx, c, cases)
	}
	ids := make([]int64, len(cases))
	for i, tc := range cases {
		ids[i] = known[key{tc.Suite, tc.Name}]
	}
	return ids, nil
}

// branchState is a test case's last statuses on a branch.
type branchState struct {
	statuses string
	runID    int64
}

// branchHistory reads the histories on the run's branch of the job's test cases.
func (t *txn) branchHistory(ctx context.Context, c jobContext) (map[int64]branchState, error) {
	rows, err := t.query(ctx, `SELECT b.test_case_id, b.statuses, b.run_id FROM test_case_branches b
		JOIN test_cases c ON c.id = b.test_case_id
		WHERE c.project_id = ? AND c.pipeline = ? AND c.job = ? AND b.branch = ?`, c.projectID, c.pipeline, c.job, c.br)
	if err != nil {
		return nil, fmt.Errorf("test history of job %s: %w", c.job, err)
	}
	defer rows.Close()
	out := map[int64]branchState{}
	for rows.Next() {
		var id int64
		var st branchState
		if err := rows.Scan(&id, &st.statuses, &st.runID); err != nil {
			return nil, err
		}
		out[id] = st
	}
	return out, rows.Err()
}

// TestFilter selects a run's test results (Kraken's results filters).
type TestFilter struct {
	RunID int64
	// Statuses and Changes keep results in any of them (none: all).
	Statuses, Changes []string
	// MinInstability and MaxInstability bound the instability (Max < 0: none).
	MinInstability, MaxInstability int
	// Text keeps results whose suite, name or message contains it.
	Text string
	// Job keeps the results of the job of that name.
	Job string
	// Flaky, when set, keeps the flaky results (true) or the others.
	Flaky  *bool
	Before int64
	Limit  int
}

// RunTests lists a run's test results, newest stored first, with the
// totals of the whole run (not only the page) and the warnings its
// report files gave.
func (s *Store) RunTests(ctx context.Context, f TestFilter) (*lathe.RunTests, error) {
	if _, err := s.runExists(ctx, f.RunID); err != nil {
		return nil, err
	}
	out := &lathe.RunTests{Items: []*lathe.TestResult{}, Warnings: []lathe.ReportWarning{}}
	if err := s.testTotals(ctx, f.RunID, &out.Totals); err != nil {
		return nil, err
	}
	where := []string{"t.run_id = ?"}
	args := []any{f.RunID}
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("t.status", f.Statuses)
	in("t.change", f.Changes)
	if f.MinInstability > 0 {
		where, args = append(where, "t.instability >= ?"), append(args, f.MinInstability)
	}
	if f.MaxInstability >= 0 {
		where, args = append(where, "t.instability <= ?"), append(args, f.MaxInstability)
	}
	if f.Text != "" {
		like := "%" + likeEscape(strings.ToLower(f.Text)) + "%"
		where = append(where, `(lower(c.suite) LIKE ? ESCAPE '\' OR lower(c.name) LIKE ? ESCAPE '\' OR lower(t.message) LIKE ? ESCAPE '\')`)
		args = append(args, like, like, like)
	}
	if f.Job != "" {
		where, args = append(where, "c.job = ?"), append(args, f.Job)
	}
	if f.Flaky != nil {
		where, args = append(where, "t.flaky = ?"), append(args, boolInt(*f.Flaky))
	}
	if f.Before > 0 {
		where, args = append(where, "t.id < ?"), append(args, f.Before)
	}
	rows, err := s.query(ctx, `SELECT c.id, t.id, t.run_id, t.job_id, c.job, c.suite, c.name, t.status, t.duration_ms, t.message,
			t.change, t.instability, t.flaky
		FROM test_results t JOIN test_cases c ON c.id = t.test_case_id`+whereClause(where)+` ORDER BY t.id DESC LIMIT ?`,
		append(args, f.Limit+1)...)
	if err != nil {
		return nil, fmt.Errorf("test results of run %d: %w", f.RunID, err)
	}
	defer rows.Close()
	var items []*lathe.TestResult
	for rows.Next() {
		var r lathe.TestResult
		var flaky int64
		if err := rows.Scan(&r.ID, &r.ResultID, &r.RunID, &r.JobID, &r.Job, &r.Suite, &r.Name, &r.Status, &r.DurationMS,
			&r.Message, &r.Change, &r.Instability, &flaky); err != nil {
			return nil, err
		}
		r.Flaky = flaky != 0
		items = append(items, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	p := page(items, f.Limit, func(r *lathe.TestResult) int64 { return r.ResultID })
	out.Items, out.Next = p.Items, p.Next
	out.Warnings, err = s.reportWarnings(ctx, f.RunID)
	return out, err
}

// likeEscape escapes LIKE's wildcards (with \ as the escape).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (s *Store) runExists(ctx context.Context, runID int64) (lathe.Status, error) {
	var st lathe.Status
	err := s.queryRow(ctx, `SELECT status FROM runs WHERE id = ?`, runID).Scan(&st)
	return st, notFoundOrNil(err, "run", runID)
}

func (s *Store) testTotals(ctx context.Context, runID int64, tt *lathe.TestTotals) error {
	rows, err := s.query(ctx, `SELECT status, change, flaky, count(*) FROM test_results WHERE run_id = ? GROUP BY status, change, flaky`, runID)
	if err != nil {
		return fmt.Errorf("test totals of run %d: %w", runID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var status, change string
		var flaky int64
		var n int
		if err := rows.Scan(&status, &change, &flaky, &n); err != nil {
			return err
		}
		tt.Add(status, change, flaky != 0, n)
	}
	return rows.Err()
}

func (s *Store) reportWarnings(ctx context.Context, runID int64) ([]lathe.ReportWarning, error) {
	rows, err := s.query(ctx, `SELECT r.job_id, j.name, r.file, r.warnings FROM job_reports r JOIN jobs j ON j.id = r.job_id
		WHERE r.run_id = ? AND r.warnings <> '[]' ORDER BY r.id`, runID)
	if err != nil {
		return nil, fmt.Errorf("report warnings of run %d: %w", runID, err)
	}
	defer rows.Close()
	out := []lathe.ReportWarning{}
	for rows.Next() {
		var w lathe.ReportWarning
		var text string
		if err := rows.Scan(&w.JobID, &w.Job, &w.File, &text); err != nil {
			return nil, err
		}
		var msgs []string
		if err := fromJSON(text, &msgs); err != nil {
			return nil, fmt.Errorf("report warnings of job %d: %w", w.JobID, err)
		}
		for _, m := range msgs {
			w.Message = m
			out = append(out, w)
		}
	}
	return out, rows.Err()
}

// TestCase returns one test case.
func (s *Store) TestCase(ctx context.Context, id int64) (*lathe.TestCase, error) {
	var c lathe.TestCase
	var created int64
	err := s.queryRow(ctx, `SELECT id, project_id, pipeline, job, suite, name, created_at FROM test_cases WHERE id = ?`, id).
		Scan(&c.ID, &c.ProjectID, &c.Pipeline, &c.Job, &c.Suite, &c.Name, &created)
	if err != nil {
		return nil, notFound(err, "test case", id)
	}
	c.CreatedAt = fromMicros(created)
	return &c, nil
}

// TestCaseHistory lists a test case's results across runs, newest run
// first; branch, when set, keeps that branch's. A result carried into a
// re-run with its job is the same result: it is listed once, in the run
// where the test ran.
func (s *Store) TestCaseHistory(ctx context.Context, id int64, branch string, before int64, limit int) (*lathe.TestHistory, error) {
	tc, err := s.TestCase(ctx, id)
	if err != nil {
		return nil, err
	}
	where := []string{"t.test_case_id = ?", "j.carried_from IS NULL"}
	args := []any{id}
	if branch != "" {
		where, args = append(where, "r.branch = ?"), append(args, branch)
	}
	if before > 0 {
		where, args = append(where, "t.run_id < ?"), append(args, before)
	}
	rows, err := s.query(ctx, `SELECT t.id, t.run_id, r.number, r.branch, r.commit_sha, t.job_id, t.status, t.duration_ms, t.message,
			t.change, t.instability, t.flaky, r.created_at
		FROM test_results t JOIN runs r ON r.id = t.run_id JOIN jobs j ON j.id = t.job_id`+whereClause(where)+`
		ORDER BY t.run_id DESC, t.id DESC LIMIT ?`,
		append(args, limit+1)...)
	if err != nil {
		return nil, fmt.Errorf("history of test case %d: %w", id, err)
	}
	defer rows.Close()
	var items []lathe.TestHistoryEntry
	for rows.Next() {
		var e lathe.TestHistoryEntry
		var created, flaky int64
		if err := rows.Scan(&e.ResultID, &e.RunID, &e.RunNumber, &e.Branch, &e.Commit, &e.JobID, &e.Status, &e.DurationMS,
			&e.Message, &e.Change, &e.Instability, &flaky, &created); err != nil {
			return nil, err
		}
		e.Flaky = flaky != 0
		e.CreatedAt = fromMicros(created)
		items = append(items, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	p := page(items, limit, func(e lathe.TestHistoryEntry) int64 { return e.RunID })
	return &lathe.TestHistory{TestCase: tc, Items: p.Items, Next: p.Next}, nil
}

// putReportGlobs stores the report files a new job's agent will send.
func (t *txn) putReportGlobs(ctx context.Context, j *lathe.Job) error {
	if j.Reports == nil {
		return nil
	}
	_, err := t.exec(ctx, `UPDATE jobs SET reports = ? WHERE id = ?`, jsonObject(j.Reports), j.ID)
	return err
}
