-- +goose Up
-- Storing a JUnit file of 10,000 cases checked three foreign keys per
-- result (issue 17's ingest target). Two of them guard nothing job_id does
-- not: a result's run is its job's run (jobs.run_id cascades from runs),
-- and its test case belongs to the run's project, which is the only thing
-- that deletes test cases and takes the runs, jobs and results with it.
-- job_id stays: deleting a run, a stage or a project still removes its
-- results through the job.
ALTER TABLE test_results DROP CONSTRAINT test_results_run_id_fkey;
ALTER TABLE test_results DROP CONSTRAINT test_results_test_case_id_fkey;

-- +goose Down
ALTER TABLE test_results ADD CONSTRAINT test_results_run_id_fkey
    FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE;
ALTER TABLE test_results ADD CONSTRAINT test_results_test_case_id_fkey
    FOREIGN KEY (test_case_id) REFERENCES test_cases(id) ON DELETE CASCADE;
