-- What the data-protection officer sees of the background jobs (issue 9): each job's last
-- run across all instances, how long it took, how much it removed, and its last error.
CREATE TABLE job_runs (
    name TEXT PRIMARY KEY NOT NULL,
    last_started_at TIMESTAMP NOT NULL,
    last_duration_ms BIGINT NOT NULL,
    last_removed BIGINT NOT NULL,
    last_outcome TEXT NOT NULL,
    last_success_at TIMESTAMP,
    last_error TEXT,
    last_error_at TIMESTAMP,
    runs BIGINT NOT NULL
);
