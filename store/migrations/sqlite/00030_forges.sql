-- +goose Up
-- Connections to code forges (GitHub, GitLab, Gitea): their web and API
-- base URLs and a token, sealed like a secret (key_id names the key).
CREATE TABLE forges (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    kind       TEXT    NOT NULL,
    url        TEXT    NOT NULL,
    api_url    TEXT    NOT NULL,
    key_id     TEXT    NOT NULL,
    token      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- A project names its forge and repository (owner/name). url_from_forge:
-- its URL is the forge's (URL/owner/name.git) and follows it. Pushes to
-- protected_branches (a JSON list of patterns) are trusted; pr_trust says
-- who may open a trusted pull request from the repository itself.
ALTER TABLE projects ADD COLUMN forge_id INTEGER REFERENCES forges(id);
ALTER TABLE projects ADD COLUMN repo TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN url_from_forge INTEGER NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN protected_branches TEXT NOT NULL DEFAULT '[]';
ALTER TABLE projects ADD COLUMN pr_trust TEXT NOT NULL DEFAULT 'write_on_forge';
-- The secret that signs the project's forge hooks, sealed ('' when unset).
ALTER TABLE projects ADD COLUMN hook_secret_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN hook_secret TEXT NOT NULL DEFAULT '';
CREATE INDEX projects_forge ON projects (forge_id);

-- +goose Down
DROP INDEX projects_forge;
ALTER TABLE projects DROP COLUMN hook_secret;
ALTER TABLE projects DROP COLUMN hook_secret_key_id;
ALTER TABLE projects DROP COLUMN pr_trust;
ALTER TABLE projects DROP COLUMN protected_branches;
ALTER TABLE projects DROP COLUMN url_from_forge;
ALTER TABLE projects DROP COLUMN repo;
ALTER TABLE projects DROP COLUMN forge_id;
DROP TABLE forges;
