-- Webhooks (DESIGN.md, "Feed, statistics, webhooks, dashboard"). The audit
-- trail is the outbox: its events are written in the change's transaction
-- (none for a rolled-back change), and each hook keeps its place in the
-- change feed, (cursor_tx, cursor_seq), moved on only after its receiver
-- answered 2xx. A worker holds a hook while it delivers (lease_until).

CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY NOT NULL,
    park_code       TEXT REFERENCES parks (code), -- NULL: every park (provincial_admin only)
    url             TEXT NOT NULL,
    events          TEXT NOT NULL, -- JSON array of event names, or ["*"]
    secret          TEXT NOT NULL,
    active          BOOLEAN NOT NULL,
    cursor_tx       BIGINT NOT NULL,
    cursor_seq      BIGINT NOT NULL,
    failing_since   TIMESTAMP, -- the first failure of the event being retried
    attempts        INTEGER NOT NULL, -- failed attempts of that event
    next_attempt_at TIMESTAMP,
    paused_at       TIMESTAMP, -- failing for 24 hours: no more attempts until resumed
    last_error      TEXT,
    lease_until     TIMESTAMP,
    lease_owner     TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    created_by      TEXT NOT NULL,
    updated_by      TEXT NOT NULL,
    version         INTEGER NOT NULL,
    deleted_at      TIMESTAMP
);
CREATE INDEX webhooks_park ON webhooks (park_code, created_at, id) WHERE deleted_at IS NULL;

-- Every attempt to deliver one event to one hook.
CREATE TABLE webhook_deliveries (
    id          TEXT PRIMARY KEY NOT NULL,
    webhook_id  TEXT NOT NULL REFERENCES webhooks (id),
    event_id    TEXT NOT NULL, -- the audit event: the payload's `id`
    event       TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    at          TIMESTAMP NOT NULL,
    status_code INTEGER,
    ok          BOOLEAN NOT NULL,
    error       TEXT,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, at, id);
