-- +goose Up
-- PostgreSQL gains lathe_expect_rows, which fails a transaction whose
-- counted write changed too few rows; SQLite counts them in Go at once (see
-- txn.writeAffecting). This number keeps the two dialects' lists alike.
SELECT 1;

-- +goose Down
SELECT 1;
