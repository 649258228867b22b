-- +goose Up
-- A test result is flaky when the test failed and then passed on a retry
-- within its job (1), as its JUnit report says.
ALTER TABLE test_results ADD COLUMN flaky INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE test_results DROP COLUMN flaky;
