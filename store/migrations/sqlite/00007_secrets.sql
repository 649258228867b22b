-- +goose Up
-- Secrets (issue 5, items 6-8). No value is stored in plaintext: each is
-- sealed with AES-256-GCM under the server's keyring, with the row's
-- identity as associated data, and stored as base64 beside the ID of the
-- key that sealed it (see package secret).
CREATE TABLE secrets (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER REFERENCES projects(id) ON DELETE CASCADE, -- NULL: a global secret
    name        TEXT    NOT NULL,
    key_id      TEXT    NOT NULL,
    ciphertext  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT    NOT NULL
);
CREATE UNIQUE INDEX secrets_project_name ON secrets (project_id, name) WHERE project_id IS NOT NULL;
CREATE UNIQUE INDEX secrets_global_name ON secrets (name) WHERE project_id IS NULL;

-- One value sealed under the key that sealed the stored secrets, so a
-- server started with another key refuses to start even before any secret
-- exists.
CREATE TABLE secret_key_check (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    key_id      TEXT    NOT NULL,
    ciphertext  TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Each project's RSA key pair (made on first use): the public key in PEM,
-- the private key (PKCS #8) sealed like a secret.
CREATE TABLE project_keys (
    project_id  INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    public_key  TEXT    NOT NULL,
    key_id      TEXT    NOT NULL,
    private_key TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

-- The secrets a job gets, by name (and, for values encrypted in the
-- pipeline file, their project ciphertext): a JSON list of lathe.JobSecret.
ALTER TABLE jobs ADD COLUMN secrets TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE jobs DROP COLUMN secrets;
DROP TABLE project_keys;
DROP TABLE secret_key_check;
DROP TABLE secrets;
