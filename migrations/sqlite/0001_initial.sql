-- Service store, SQLite dialect. Times are integer milliseconds since the Unix epoch (UTC);
-- JSON is stored as text. migrations/postgres/ holds the same schema for PostgreSQL: keep them in step.

CREATE TABLE cases (
    reference   TEXT PRIMARY KEY NOT NULL,
    case_type   TEXT NOT NULL,
    status      TEXT,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE case_references (
    case_ref    TEXT NOT NULL REFERENCES cases (reference) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (case_ref, name)
);
CREATE INDEX case_references_by_value ON case_references (name, value);

CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    case_ref      TEXT NOT NULL REFERENCES cases (reference) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    content       BLOB NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX attachments_by_case ON attachments (case_ref, id);

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL,
    attempts     BIGINT NOT NULL,
    run_at       BIGINT NOT NULL,
    lease_owner  TEXT,
    lease_until  BIGINT,
    progress     TEXT NOT NULL,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_leases ON jobs (state, lease_until);

CREATE TABLE integration_log (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    at                  BIGINT NOT NULL,
    case_ref            TEXT,
    template            TEXT,
    aurora_case_number  TEXT,
    job_id              BIGINT,
    attempt             BIGINT,
    outcome             TEXT NOT NULL,
    reason              TEXT,
    next_attempt_at     BIGINT
);
CREATE INDEX integration_log_by_time ON integration_log (at, id);
CREATE INDEX integration_log_by_case ON integration_log (case_ref, at);
CREATE INDEX integration_log_by_template ON integration_log (template, at);
CREATE INDEX integration_log_by_outcome ON integration_log (outcome, at);

CREATE TABLE processed_snapshots (
    name          TEXT PRIMARY KEY NOT NULL,
    processed_at  BIGINT NOT NULL
);

CREATE TABLE cursors (
    name        TEXT PRIMARY KEY NOT NULL,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE settings (
    name        TEXT PRIMARY KEY NOT NULL,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
