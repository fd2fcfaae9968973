-- 0009: a domain may put StackHub's login in front of its app (the
-- proxy's login gate).

ALTER TABLE domains ADD COLUMN login INTEGER NOT NULL DEFAULT 0;
