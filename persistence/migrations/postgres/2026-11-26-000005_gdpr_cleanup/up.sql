-- GDPR client data cleaning (issue 10): which optional modules are installed, and one audit
-- record per cleared client (who, when, why, and the report of counts; no personal data).
CREATE TABLE modules (
    name TEXT PRIMARY KEY NOT NULL,
    installed BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE client_clearings (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES clients (id),
    employee_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    report TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
