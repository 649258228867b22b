-- +goose Up
-- Uploads: named sets of files a job stored for later jobs of its run
-- (the upload and download actions). The archive itself is a file in the
-- server's data directory; the row says which job owns the name in the run
-- (only it may replace the upload, in a later attempt) and what the file's
-- size and SHA-256 must be.
CREATE TABLE uploads (
    run_id     BIGINT  NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    job_id     BIGINT  NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    attempt_id BIGINT  NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    size       BIGINT  NOT NULL,
    sha256     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (run_id, name)
);

-- +goose Down
DROP TABLE uploads;
