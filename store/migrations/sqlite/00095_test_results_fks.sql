-- +goose Up
-- Storing a JUnit file of 10,000 cases checked three foreign keys per
-- result (issue 17's ingest target). Two of them guard nothing job_id does
-- not: a result's run is its job's run (jobs.run_id cascades from runs),
-- and its test case belongs to the run's project, which is the only thing
-- that deletes test cases and takes the runs, jobs and results with it.
-- job_id stays: deleting a run, a stage or a project still removes its
-- results through the job. SQLite drops a foreign key by rebuilding the
-- table; the rebuilt table keeps the ids and the id sequence.
CREATE TABLE test_results_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       INTEGER NOT NULL,
    job_id       INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    test_case_id INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    duration_ms  INTEGER NOT NULL,
    message      TEXT    NOT NULL,
    change       TEXT    NOT NULL,
    instability  INTEGER NOT NULL
);
INSERT INTO test_results_new (id, run_id, job_id, test_case_id, status, duration_ms, message, change, instability)
    SELECT id, run_id, job_id, test_case_id, status, duration_ms, message, change, instability FROM test_results;
DELETE FROM sqlite_sequence WHERE name = 'test_results_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'test_results_new', seq FROM sqlite_sequence WHERE name = 'test_results';
DROP TABLE test_results;
ALTER TABLE test_results_new RENAME TO test_results;
CREATE UNIQUE INDEX test_results_job ON test_results (job_id, test_case_id);
CREATE INDEX test_results_run ON test_results (run_id, id);
CREATE INDEX test_results_case ON test_results (test_case_id, run_id);

-- +goose Down
CREATE TABLE test_results_old (
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
INSERT INTO test_results_old (id, run_id, job_id, test_case_id, status, duration_ms, message, change, instability)
    SELECT id, run_id, job_id, test_case_id, status, duration_ms, message, change, instability FROM test_results;
DELETE FROM sqlite_sequence WHERE name = 'test_results_old';
INSERT INTO sqlite_sequence (name, seq) SELECT 'test_results_old', seq FROM sqlite_sequence WHERE name = 'test_results';
DROP TABLE test_results;
ALTER TABLE test_results_old RENAME TO test_results;
CREATE UNIQUE INDEX test_results_job ON test_results (job_id, test_case_id);
CREATE INDEX test_results_run ON test_results (run_id, id);
CREATE INDEX test_results_case ON test_results (test_case_id, run_id);
