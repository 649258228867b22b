-- +goose Up
-- Tools: named, versioned steps (a step's `uses: NAME@VERSION`) that
-- admins publish as gzipped tar archives. A version is never replaced: it
-- is deleted and published again. manifest is the archive's
-- lathe-tool.yml as JSON (parameters, entry point), read when a run is
-- planned; the archive is the blob blob_key, which the server makes of
-- the name, version and content digest.
CREATE TABLE tools (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    manifest    TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT    NOT NULL,
    blob_key    TEXT    NOT NULL,
    created_by  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX tools_version ON tools (name, version);

-- +goose Down
DROP TABLE tools;
