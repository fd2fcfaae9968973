-- 0001: installations, runs, results, outputs, port leases and jobs.
-- Times are TEXT in UTC with a fixed-width RFC 3339 layout, so they sort as
-- text; maps are JSON TEXT checked with json_valid.

CREATE TABLE installations (
    id             TEXT NOT NULL PRIMARY KEY,
    namespace      TEXT NOT NULL DEFAULT '',
    name           TEXT NOT NULL,
    app            TEXT NOT NULL DEFAULT '',
    bundle_version TEXT NOT NULL DEFAULT '',
    bundle_digest  TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    container_name TEXT NOT NULL DEFAULT '',
    ports          TEXT NOT NULL DEFAULT 'null' CHECK (json_valid(ports)),
    parameters     TEXT NOT NULL DEFAULT 'null' CHECK (json_valid(parameters)),
    last_action    TEXT NOT NULL DEFAULT '',
    last_run_id    TEXT NOT NULL DEFAULT '',
    job_id         TEXT NOT NULL DEFAULT '',
    created        TEXT NOT NULL,
    modified       TEXT NOT NULL,
    installed      TEXT,
    uninstalled    TEXT,
    UNIQUE (namespace, name)
);

CREATE TABLE runs (
    id            TEXT NOT NULL PRIMARY KEY,
    namespace     TEXT NOT NULL DEFAULT '',
    installation  TEXT NOT NULL,
    revision      TEXT NOT NULL DEFAULT '',
    action        TEXT NOT NULL DEFAULT '',
    bundle_ref    TEXT NOT NULL DEFAULT '',
    bundle_digest TEXT NOT NULL DEFAULT '',
    bundle        BLOB,
    parameters    TEXT NOT NULL DEFAULT 'null' CHECK (json_valid(parameters)),
    created       TEXT NOT NULL
);
CREATE INDEX runs_installation ON runs (namespace, installation, created);

-- Results and outputs belong to a run and go with it.
CREATE TABLE results (
    id      TEXT NOT NULL PRIMARY KEY,
    run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    status  TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);
CREATE INDEX results_run ON results (run_id, created);

CREATE TABLE outputs (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    namespace    TEXT NOT NULL DEFAULT '',
    installation TEXT NOT NULL,
    run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    result_id    TEXT NOT NULL DEFAULT '',
    sensitive    INTEGER NOT NULL DEFAULT 0,
    value        BLOB,
    created      TEXT NOT NULL
);
CREATE INDEX outputs_installation ON outputs (namespace, installation, name, seq);
CREATE INDEX outputs_run ON outputs (run_id);

-- One row per leased host port: UNIQUE (port, protocol) is what makes two
-- installs unable to hold the same port, whatever the application does.
CREATE TABLE port_leases (
    port         INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    protocol     TEXT NOT NULL,
    installation TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    created      TEXT NOT NULL,
    UNIQUE (port, protocol)
);
CREATE INDEX port_leases_installation ON port_leases (installation);

CREATE TABLE jobs (
    id           TEXT NOT NULL PRIMARY KEY,
    installation TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL DEFAULT '',
    run_id       TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    message      TEXT NOT NULL DEFAULT '',
    created      TEXT NOT NULL,
    finished     TEXT
);
CREATE INDEX jobs_status ON jobs (status, created);
