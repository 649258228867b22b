-- +goose Up
-- A write whose rows the store counts may go in one round trip with the
-- transaction's COMMIT (see txn.writeAffecting): the database itself fails
-- the transaction when the write changed fewer rows than it must, with
-- SQLSTATE LA001, which the store reads as "it changed meanwhile".
-- +goose StatementBegin
CREATE FUNCTION lathe_expect_rows(got bigint, want bigint, what text) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
	IF got < want THEN
		RAISE EXCEPTION USING ERRCODE = 'LA001', MESSAGE = what || ': changed ' || got || ' rows, want ' || want;
	END IF;
	RETURN got;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION lathe_expect_rows(bigint, bigint, text);
