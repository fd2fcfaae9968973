-- 0005: the audit log (who did what) and service settings (open
-- registration, default language). Users keep their role in users.role
-- (0002): admin, operator or viewer.

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    time     TEXT NOT NULL,
    username TEXT NOT NULL DEFAULT '',
    action   TEXT NOT NULL,
    target   TEXT NOT NULL DEFAULT '',
    job_id   TEXT NOT NULL DEFAULT '',
    ip       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_time ON audit_log (time);

CREATE TABLE settings (
    key      TEXT NOT NULL PRIMARY KEY,
    value    TEXT NOT NULL,
    modified TEXT NOT NULL
);
