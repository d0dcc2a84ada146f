-- A lease per background job, so that of many instances sharing the database only one runs
-- a job at a time; a lease that expires (its holder died) can be taken over.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
