-- +goose Up
-- What a project sends out when its runs and jobs change: bit 1, commit
-- statuses to its forge; bit 2, run events to webhooks; bit 4, job events
-- to webhooks. A run's status write reads it with the run's row, so a
-- project with nothing to send costs no write (see store/outbox.go).
ALTER TABLE projects ADD COLUMN outbound INTEGER NOT NULL DEFAULT 0;

-- A project's webhooks: signed (Standard Webhooks) POSTs of its run and
-- job events. The secret is sealed with the server key.
CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    url        TEXT    NOT NULL,
    events     TEXT    NOT NULL,
    active     INTEGER NOT NULL,
    key_id     TEXT    NOT NULL,
    secret     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX webhooks_project ON webhooks (project_id);

-- The outbox: every commit status and webhook message to send, written in
-- the transaction of the change it reports, then sent by the delivery
-- loop. kind is 'status' or 'webhook'; status is queued (next_at says
-- when), delivered, failed (given up), superseded (a newer state of the
-- same run and context replaced it) or skipped (nothing to send it to).
CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL,
    run_id        INTEGER REFERENCES runs(id) ON DELETE CASCADE,
    webhook_id    INTEGER REFERENCES webhooks(id) ON DELETE CASCADE,
    context       TEXT    NOT NULL,
    state         TEXT    NOT NULL DEFAULT '',
    message_id    TEXT    NOT NULL DEFAULT '',
    payload       TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       INTEGER,
    claimed_until INTEGER,
    http_code     INTEGER,
    error         TEXT    NOT NULL DEFAULT '',
    target        TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    delivered_at  INTEGER,
    redelivery_of INTEGER
);
CREATE INDEX deliveries_due ON deliveries (next_at) WHERE status = 'queued';
CREATE INDEX deliveries_run ON deliveries (run_id, context, id);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);

-- Each try of a delivery: when, the HTTP status answered (NULL: none
-- came) and what went wrong.
CREATE TABLE delivery_tries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    tried_at    INTEGER NOT NULL,
    http_code   INTEGER,
    error       TEXT    NOT NULL
);
CREATE INDEX delivery_tries_delivery ON delivery_tries (delivery_id, id);

-- +goose Down
DROP TABLE delivery_tries;
DROP TABLE deliveries;
DROP TABLE webhooks;
ALTER TABLE projects DROP COLUMN outbound;
