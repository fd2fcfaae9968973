-- 0002: users, sessions and API tokens. Secrets are never stored: passwords
-- as argon2id PHC strings, session ids, CSRF tokens and API tokens as
-- SHA-256 hex digests.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'admin',
    created       TEXT NOT NULL,
    modified      TEXT NOT NULL
);

CREATE TABLE sessions (
    id_hash   TEXT NOT NULL PRIMARY KEY,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_hash TEXT NOT NULL,
    created   TEXT NOT NULL,
    expires   TEXT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires);

CREATE TABLE api_tokens (
    token_hash TEXT NOT NULL PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL DEFAULT '',
    created    TEXT NOT NULL,
    last_used  TEXT
);
