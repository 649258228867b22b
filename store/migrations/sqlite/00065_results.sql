-- +goose Up
-- Results a job reports (issue 17): test cases and their results, the
-- findings of linters and compilers, and external stages.

-- A stage declared `external: true`: an outside tool sets its status
-- through the API; it has no jobs.
ALTER TABLE stages ADD COLUMN external INTEGER NOT NULL DEFAULT 0;

-- The report files a job sends after its steps: a JSON ReportGlobs, or ''
-- for none.
ALTER TABLE jobs ADD COLUMN reports TEXT NOT NULL DEFAULT '';

-- A test case is one test of one job of a pipeline, across its runs.
CREATE TABLE test_cases (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    pipeline   TEXT    NOT NULL,
    job        TEXT    NOT NULL,
    suite      TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX test_cases_key ON test_cases (project_id, pipeline, job, suite, name);

-- One result of a test case in a job. change (new, fixed, same) and
-- instability (status flips over the last results on the run's branch)
-- are decided when the result is stored, so reading a run's results is
-- one indexed scan.
CREATE TABLE test_results (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    job_id       INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    test_case_id INTEGER NOT NULL REFERENCES test_cases(id) ON DELETE CASCADE,
    status       TEXT    NOT NULL,
    duration_ms  INTEGER NOT NULL,
    message      TEXT    NOT NULL,
    change       TEXT    NOT NULL,
    instability  INTEGER NOT NULL
);
CREATE UNIQUE INDEX test_results_job ON test_results (job_id, test_case_id);
CREATE INDEX test_results_run ON test_results (run_id, id);
CREATE INDEX test_results_case ON test_results (test_case_id, run_id);

-- The last statuses of a test case on a branch (newest last, one letter
-- each, at most 10) and the run of the newest: what change and instability
-- are decided from.
CREATE TABLE test_case_branches (
    test_case_id INTEGER NOT NULL REFERENCES test_cases(id) ON DELETE CASCADE,
    branch       TEXT    NOT NULL,
    statuses     TEXT    NOT NULL,
    run_id       INTEGER NOT NULL,
    PRIMARY KEY (test_case_id, branch)
);

-- Comments on a test case (Kraken's test case comment): who, what, and
-- the state the author put it in (open, investigating, known, fixed).
CREATE TABLE test_case_comments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    test_case_id INTEGER NOT NULL REFERENCES test_cases(id) ON DELETE CASCADE,
    author       TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    text         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX test_case_comments_case ON test_case_comments (test_case_id, id);

-- Each report file a job sent: its kind (junit, issues), how many entries
-- it gave, and the problems met reading it (a JSON list of strings).
CREATE TABLE job_reports (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    job_id     INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    file       TEXT    NOT NULL,
    entries    INTEGER NOT NULL,
    warnings   TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX job_reports_run ON job_reports (run_id, id);
CREATE INDEX job_reports_job ON job_reports (job_id, kind);

-- A finding of a linter or compiler in a job (Kraken's run issues).
-- fingerprint (file, symbol, message: not the line, which moves) tells
-- whether the previous run had it; is_new says it did not.
CREATE TABLE run_issues (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    job_id      INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    file        TEXT    NOT NULL,
    line        INTEGER NOT NULL,
    col         INTEGER NOT NULL,
    severity    TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    symbol      TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    is_new      INTEGER NOT NULL
);
CREATE INDEX run_issues_run ON run_issues (run_id, id);
CREATE INDEX run_issues_job ON run_issues (job_id, fingerprint);

-- Builds search and statistics read finished jobs and runs by time.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX runs_pipeline_branch ON runs (project_id, pipeline, branch, id);

-- +goose Down
DROP INDEX runs_pipeline_branch;
DROP INDEX jobs_finished;
DROP TABLE run_issues;
DROP TABLE job_reports;
DROP TABLE test_case_comments;
DROP TABLE test_case_branches;
DROP TABLE test_results;
DROP TABLE test_cases;
ALTER TABLE jobs DROP COLUMN reports;
ALTER TABLE stages DROP COLUMN external;
