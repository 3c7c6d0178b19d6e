-- First claims (首报首谈) and project monitoring (DESIGN.md, "First claim
-- (首报首谈), duplicates and project monitoring"): a park's claim on the
-- investors of one of its projects, the identity keys claims are matched
-- by, and the configurable rules of the lights.

CREATE TABLE claims (
    id           TEXT PRIMARY KEY NOT NULL,
    park_code    TEXT NOT NULL REFERENCES parks (code), -- the project's park
    project_id   TEXT NOT NULL REFERENCES projects (id),
    evidence     TEXT NOT NULL,
    evidence_ref TEXT NOT NULL,
    identity     TEXT NOT NULL, -- JSON: the investors' codes and folded names when filed
    status       TEXT NOT NULL, -- active, contested, awarded, rejected, lapsed
    filed_at     TIMESTAMP NOT NULL,
    decided_by   TEXT,
    decided_at   TIMESTAMP,
    reason       TEXT,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    created_by   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    deleted_at   TIMESTAMP
);
CREATE INDEX claims_park_filed ON claims (park_code, filed_at, id) WHERE deleted_at IS NULL;
CREATE INDEX claims_filed ON claims (filed_at, id) WHERE deleted_at IS NULL;
CREATE INDEX claims_project ON claims (project_id) WHERE deleted_at IS NULL;
-- The targets leave out the projects of rejected claims.
CREATE INDEX claims_rejected ON claims (project_id) WHERE deleted_at IS NULL AND status = 'rejected';

-- One row per identity key of a claim: `uscc:…`, `ubn:…` or `name:…`.
CREATE TABLE claim_keys (
    claim_id TEXT NOT NULL REFERENCES claims (id),
    key      TEXT NOT NULL,
    PRIMARY KEY (claim_id, key)
);
CREATE INDEX claim_keys_key ON claim_keys (key, claim_id);

-- One row: the thresholds of the lights and of claims' lapse, as JSON.
CREATE TABLE monitoring_rules (
    id         INTEGER PRIMARY KEY NOT NULL, -- always 1
    rules      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL
);
INSERT INTO monitoring_rules VALUES (1, '{}', 1, CURRENT_TIMESTAMP, 'system');


-- Supervision notices (督办): issued by the province on a project, answered by its park.
CREATE TABLE notices (
    id           TEXT PRIMARY KEY NOT NULL,
    project_id   TEXT NOT NULL REFERENCES projects (id),
    park_code    TEXT NOT NULL REFERENCES parks (code), -- the project's park
    due_on       DATE NOT NULL,
    text         TEXT NOT NULL,
    issued_by    TEXT NOT NULL,
    issued_at    TIMESTAMP NOT NULL,
    response     TEXT,
    responded_by TEXT,
    responded_at TIMESTAMP,
    version      INTEGER NOT NULL
);
CREATE INDEX notices_project ON notices (project_id, issued_at, id);
-- Open notices by due date: what /monitoring lists.
CREATE INDEX notices_open ON notices (park_code, due_on, id) WHERE response IS NULL;

-- An investor merged into another (soft-deleted) names the one it lives on in.
ALTER TABLE investors ADD COLUMN merged_into TEXT; -- an investor id
