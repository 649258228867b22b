-- +goose Up
-- People and service accounts. password_hash is an argon2id PHC string, or
-- '' for accounts that cannot log in with a password (service accounts, and
-- the built-in admin until someone sets one).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL DEFAULT '',
    admin         INTEGER NOT NULL DEFAULT 0,
    service       INTEGER NOT NULL DEFAULT 0,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- The built-in admin owns the token `lathe up` prints.
INSERT INTO users (name, admin, created_at, updated_at) VALUES ('admin', 1, 0, 0);

-- Every API token and login session belongs to a user; kind is 'token' or
-- 'session'; scopes is a space-separated subset of read, write, admin.
-- Tokens from before users existed were the admin's.
ALTER TABLE api_tokens ADD COLUMN user_id INTEGER REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE api_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'token';
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'read write admin';
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
UPDATE api_tokens SET user_id = (SELECT id FROM users WHERE name = 'admin');
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE team_members (
    team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

-- A role on a project, granted to a user or to a team (exactly one of them).
CREATE TABLE project_members (
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
    team_id    INTEGER REFERENCES teams(id) ON DELETE CASCADE,
    role       TEXT    NOT NULL CHECK (role IN ('read', 'write', 'owner')),
    CHECK ((user_id IS NULL) <> (team_id IS NULL))
);
CREATE UNIQUE INDEX project_members_user ON project_members (project_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX project_members_team ON project_members (project_id, team_id) WHERE team_id IS NOT NULL;

-- Public projects are readable without logging in.
ALTER TABLE projects ADD COLUMN visibility TEXT NOT NULL DEFAULT 'private';

-- The audit log: who did what. project_id is kept as a plain ID (no
-- foreign key) so a project's history outlives the project.
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    project_id INTEGER,
    details    TEXT    NOT NULL
);
CREATE INDEX audit_events_project ON audit_events (project_id, id);

-- +goose Down
DROP TABLE audit_events;
ALTER TABLE projects DROP COLUMN visibility;
DROP TABLE project_members;
DROP TABLE team_members;
DROP TABLE teams;
DROP INDEX api_tokens_user;
ALTER TABLE api_tokens DROP COLUMN expires_at;
ALTER TABLE api_tokens DROP COLUMN scopes;
ALTER TABLE api_tokens DROP COLUMN kind;
ALTER TABLE api_tokens DROP COLUMN user_id;
DROP TABLE users;
