-- 0003: the OCI reference (or archive) an installation's bundle came from;
-- empty for bundles from the catalog.

ALTER TABLE installations ADD COLUMN reference TEXT NOT NULL DEFAULT '';
