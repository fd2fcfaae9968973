-- 0008: domain names routed by the reverse proxy to an installation's
-- port. A name is routed to one installation only (the primary key).

CREATE TABLE domains (
    name         TEXT NOT NULL PRIMARY KEY,
    namespace    TEXT NOT NULL,
    installation TEXT NOT NULL,
    service      TEXT NOT NULL,
    port         TEXT NOT NULL,
    tls          TEXT NOT NULL,
    created      TEXT NOT NULL
);

CREATE INDEX domains_installation ON domains (namespace, installation);
