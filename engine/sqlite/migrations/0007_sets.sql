-- 0007: named credential and parameter sets (porter-compat.md 7.2): the
-- set document with its sources, not their values, encrypted like other
-- secrets (secrets.go).

CREATE TABLE sets (
    kind      TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    doc       BLOB NOT NULL,
    created   TEXT NOT NULL,
    modified  TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name)
);
