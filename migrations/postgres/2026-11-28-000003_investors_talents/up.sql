-- The investor library (客商库) with its contacts, follow-ups and yearly
-- figures, and the talent library (人才库).

CREATE TABLE investors (
    id                         TEXT PRIMARY KEY NOT NULL,
    park_code                  TEXT NOT NULL REFERENCES parks (code),
    kind                       TEXT NOT NULL,
    name                       TEXT NOT NULL,
    name_en                    TEXT,
    origin                     TEXT NOT NULL,
    region                     TEXT NOT NULL,
    taiwan_business_id         TEXT,
    unified_social_credit_code TEXT,
    taiwan_top100              BOOLEAN NOT NULL,
    industries                 TEXT NOT NULL, -- JSON array of industry values
    status                     TEXT NOT NULL,
    settled_on                 DATE,
    referred_by_id             TEXT REFERENCES investors (id),
    notes                      TEXT,
    search_text                TEXT NOT NULL, -- names, region, notes folded
    name_key                   TEXT NOT NULL, -- name folded, suffixes dropped: for matching
    name_en_key                TEXT,
    last_follow_up_on          DATE,          -- date of the latest follow-up
    follow_up_due_on           DATE,          -- its due date: overdue when past
    created_at                 TIMESTAMP NOT NULL,
    updated_at                 TIMESTAMP NOT NULL,
    created_by                 TEXT NOT NULL,
    updated_by                 TEXT NOT NULL,
    version                    INTEGER NOT NULL,
    deleted_at                 TIMESTAMP
);
CREATE INDEX investors_park_created ON investors (park_code, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX investors_created ON investors (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX investors_uscc ON investors (unified_social_credit_code) WHERE deleted_at IS NULL;
CREATE INDEX investors_ubn ON investors (taiwan_business_id) WHERE deleted_at IS NULL;
CREATE INDEX investors_name_key ON investors (name_key) WHERE deleted_at IS NULL;

CREATE TABLE investor_contacts (
    id          TEXT PRIMARY KEY NOT NULL,
    investor_id TEXT NOT NULL REFERENCES investors (id),
    name        TEXT NOT NULL,
    title       TEXT,
    phone       TEXT, -- E.164
    email       TEXT,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    updated_by  TEXT NOT NULL
);
CREATE INDEX investor_contacts_investor ON investor_contacts (investor_id);

CREATE TABLE investor_follow_ups (
    id          TEXT PRIMARY KEY NOT NULL,
    investor_id TEXT NOT NULL REFERENCES investors (id),
    date        DATE NOT NULL,
    channel     TEXT NOT NULL,
    summary     TEXT NOT NULL,
    next_step   TEXT,
    due_on      DATE,
    by_user     TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX investor_follow_ups_investor ON investor_follow_ups (investor_id, date);

CREATE TABLE investor_figures (
    id               TEXT PRIMARY KEY NOT NULL,
    investor_id      TEXT NOT NULL REFERENCES investors (id),
    year             INTEGER NOT NULL,
    output_value_cny BIGINT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    updated_by       TEXT NOT NULL,
    UNIQUE (investor_id, year)
);

CREATE TABLE talents (
    id             TEXT PRIMARY KEY NOT NULL,
    park_code      TEXT NOT NULL REFERENCES parks (code),
    full_name      TEXT NOT NULL,
    birth_year     INTEGER NOT NULL,
    origin_region  TEXT NOT NULL,
    education      TEXT NOT NULL,
    school         TEXT,
    major          TEXT,
    specialty      TEXT NOT NULL,
    qualifications TEXT NOT NULL, -- JSON array
    programmes     TEXT NOT NULL, -- JSON array
    status         TEXT NOT NULL,
    employer_id    TEXT REFERENCES investors (id),
    phone          TEXT,          -- personal data, E.164
    email          TEXT,          -- personal data
    permit_no      TEXT,          -- personal data: 台胞证号
    consent_on     DATE,
    notes          TEXT,
    search_text    TEXT NOT NULL,
    purged_at      TIMESTAMP,     -- personal data erased for good
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    created_by     TEXT NOT NULL,
    updated_by     TEXT NOT NULL,
    version        INTEGER NOT NULL,
    deleted_at     TIMESTAMP
);
CREATE INDEX talents_park_created ON talents (park_code, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX talents_created ON talents (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX talents_employer ON talents (employer_id);
