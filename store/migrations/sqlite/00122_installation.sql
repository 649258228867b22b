-- +goose Up
-- The installation's marker: a random name the database keeps for good, and
-- that a server writes into the shared blob store it uses, so a server of
-- another installation pointed at the same bucket and prefix is refused
-- instead of deleting, as orphans, the objects whose runs it does not know.
CREATE TABLE installation (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	marker TEXT NOT NULL
);

-- +goose Down
DROP TABLE installation;
