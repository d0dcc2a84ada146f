-- The register of processors (issue 9; GDPR Art. 28, 30, chapter V): where each processor
-- is, the ground of the transfer, the DPA, and which sign-in methods and SMS gateways send
-- data to it (JSON arrays of method names and gateway ids). dpa_signed_on: YYYY-MM-DD.
CREATE TABLE processors (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    purpose TEXT NOT NULL,
    country TEXT NOT NULL,
    mechanism TEXT NOT NULL CHECK (mechanism IN ('eea', 'adequacy', 'dpf', 'scc', 'bcr', 'art49_derogation', 'none')),
    dpa_signed_on TEXT,
    auth_methods TEXT NOT NULL,
    sms_gateway_ids TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL
);
