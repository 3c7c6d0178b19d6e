-- Users, the refresh-token store, revoked access tokens and failed logins.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL UNIQUE, -- stored lower-case
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,        -- argon2id, PHC string
    role          TEXT NOT NULL,
    park_code     TEXT REFERENCES parks (code),
    active        BOOLEAN NOT NULL,
    -- Raised when role, park, password or active change: tokens carrying an
    -- older value stop working at once.
    token_version INTEGER NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    created_by    TEXT NOT NULL,
    updated_by    TEXT NOT NULL,
    version       INTEGER NOT NULL
);

-- Opaque refresh tokens, stored only as SHA-256 hashes. A family is one
-- login; each use spends a token and adds the next to its family.
CREATE TABLE refresh_tokens (
    id         TEXT PRIMARY KEY NOT NULL,
    family_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Access tokens revoked before they expire (logout), by jti.
CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE TABLE login_failures (
    id        TEXT PRIMARY KEY NOT NULL,
    username  TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    at        TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_username ON login_failures (username, at);
CREATE INDEX login_failures_ip ON login_failures (client_ip, at);
