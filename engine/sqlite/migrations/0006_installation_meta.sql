-- 0006: an installation's labels and the names of the parameter and
-- credential sets its last command used, as one JSON object
-- {"labels": {...}, "parameterSets": [...], "credentialSets": [...]}.

ALTER TABLE installations ADD COLUMN meta TEXT NOT NULL DEFAULT '{}';
