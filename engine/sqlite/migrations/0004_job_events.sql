-- 0004: the events of a job (status changes, steps, log lines), so that a
-- job's progress and log can be replayed after it ended or after a restart.

CREATE TABLE job_events (
    job_id   TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    type     TEXT NOT NULL,
    status   TEXT NOT NULL DEFAULT '',
    step     TEXT NOT NULL DEFAULT '',
    progress INTEGER NOT NULL DEFAULT 0,
    line     TEXT NOT NULL DEFAULT '',
    time     TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
