-- SMS gateways (issue 7): which providers each serves, in which order, how it is spoken to
-- (`settings`, JSON), and its write-only credentials (JSON), never answered by the API.
CREATE TABLE sms_gateways (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('http', 'twilio')),
    all_providers BOOLEAN NOT NULL,
    provider_ids TEXT NOT NULL,
    priority BIGINT NOT NULL,
    resend_timeout_seconds BIGINT NOT NULL,
    code_validity_seconds BIGINT NOT NULL CHECK (code_validity_seconds <= 600),
    sender TEXT,
    templates TEXT NOT NULL,
    settings TEXT NOT NULL,
    credentials TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX sms_gateways_priority ON sms_gateways (priority);
