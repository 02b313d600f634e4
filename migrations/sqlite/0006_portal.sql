-- The national portal (DVCQG): one job per dossier status step, done in order per dossier
-- (sync the dossier, then report the step); online dossiers handed to one-stop-shop
-- installations; where pollers of external lists stopped.
CREATE TABLE portal_jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dossier_code    TEXT   NOT NULL REFERENCES dossiers (code),
    seq             BIGINT NOT NULL,        -- the dossier_events row it reports
    stage           TEXT   NOT NULL,        -- sync | progress | done | dead
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    done_at         BIGINT,
    UNIQUE (dossier_code, seq)
);
CREATE INDEX portal_jobs_due ON portal_jobs (stage, next_attempt_at);
CREATE TABLE dossier_inbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    member       TEXT   NOT NULL,           -- the installation it is handed to
    dossier_code TEXT   NOT NULL REFERENCES dossiers (code),
    created_at   BIGINT NOT NULL,
    UNIQUE (member, dossier_code)
);
CREATE TABLE cursors (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
