-- The audit trail of settings changes (issue 9): who changed what, before and after, when.
-- Before and after are the API's own views of the object, so write-only secrets are never in
-- them.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT,
    provider_id TEXT,
    before_value TEXT,
    after_value TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_by_provider ON audit_events (provider_id, id);
CREATE INDEX audit_events_by_time ON audit_events (created_at);
