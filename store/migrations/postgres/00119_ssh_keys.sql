-- +goose Up
-- SSH keys for checking out private repositories (Zuul's project and
-- tenant SSH keys). Each project may have its own ed25519 key pair, made
-- on first use; the server has one for every project without its own.
-- The public key is an OpenSSH authorized_keys line, the private key
-- (OpenSSH PEM) is sealed like a secret. They are apart from project_keys,
-- which only seal secrets: one key, one purpose.
CREATE TABLE project_ssh_keys (
    project_id  BIGINT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    public_key  TEXT    NOT NULL,
    key_id      TEXT    NOT NULL,
    private_key TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE server_ssh_key (
    id          BIGINT  PRIMARY KEY CHECK (id = 1),
    public_key  TEXT    NOT NULL,
    key_id      TEXT    NOT NULL,
    private_key TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- The SSH host keys a project's repository host showed the first time the
-- server reached it (trust on first use), as known_hosts lines: later
-- contacts, the server's and the agents', must meet the same keys.
CREATE TABLE project_known_hosts (
    project_id  BIGINT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    known_hosts TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE project_known_hosts;
DROP TABLE server_ssh_key;
DROP TABLE project_ssh_keys;
