-- Consent documents and records (issue 9; GDPR Art. 7). A document per provider and
-- purpose; its versions are never changed once published (the hash is SHA-256 of the text,
-- or of the URL where there is none); records are append-only decisions of users on
-- versions. titles: a JSON object language tag -> title.
CREATE TABLE consent_documents (
    id TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT NOT NULL REFERENCES providers (id),
    kind TEXT NOT NULL,
    titles TEXT NOT NULL,
    must_agree BOOLEAN NOT NULL,
    show_on_registration BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX consent_documents_provider ON consent_documents (provider_id);

CREATE TABLE consent_document_versions (
    id TEXT PRIMARY KEY NOT NULL,
    document_id TEXT NOT NULL REFERENCES consent_documents (id),
    number BIGINT NOT NULL,
    content_url TEXT,
    content_text TEXT,
    text_hash TEXT NOT NULL,
    effective_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (document_id, number)
);

CREATE TABLE consent_records (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    provider_id TEXT NOT NULL,
    document_id TEXT NOT NULL REFERENCES consent_documents (id),
    document_version_id TEXT NOT NULL REFERENCES consent_document_versions (id),
    version_number BIGINT NOT NULL,
    text_hash TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('agree', 'withdraw')),
    method TEXT NOT NULL CHECK (method IN ('registration', 'api', 'google_registration', 'after_login')),
    ip TEXT,
    user_agent TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX consent_records_user ON consent_records (user_id, created_at);
CREATE INDEX consent_records_document ON consent_records (document_id, id);

-- The re-consent step of a sign-in: a short-lived, single-use ticket (stored hashed) that
-- lets the user accept the documents and then get the session the sign-in was for.
CREATE TABLE consent_tickets (
    id TEXT PRIMARY KEY NOT NULL,
    ticket_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id),
    provider_id TEXT NOT NULL,
    method TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
