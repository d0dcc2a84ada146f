-- The same schema on SQLite and PostgreSQL: ids as TEXT (UUID v7, so their order is the
-- order of creation), times as TIMESTAMP in UTC, closed sets as TEXT with a CHECK, JSON as TEXT.

CREATE TABLE providers (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    auth_methods TEXT NOT NULL,
    policies TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE clients (
    id TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT NOT NULL REFERENCES providers (id),
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX clients_by_provider ON clients (provider_id, id);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT NOT NULL REFERENCES providers (id),
    client_id TEXT NOT NULL REFERENCES clients (id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    password_hash TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (provider_id, email)
);
CREATE INDEX users_by_client ON users (client_id, id);

CREATE TABLE employees (
    id TEXT PRIMARY KEY NOT NULL,
    login TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    email TEXT,
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    all_providers BOOLEAN NOT NULL,
    password_hash TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE employee_roles (
    employee_id TEXT NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'support', 'billing', 'dpo')),
    PRIMARY KEY (employee_id, role)
);

CREATE TABLE employee_providers (
    employee_id TEXT NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    provider_id TEXT NOT NULL REFERENCES providers (id),
    PRIMARY KEY (employee_id, provider_id)
);

-- Keys that sign access tokens; in the database so that every instance signs and verifies
-- with the same ones.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    algorithm TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- One-time login keys; only the SHA-256 of a key is kept.
CREATE TABLE temporary_keys (
    id TEXT PRIMARY KEY NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'employee')),
    subject_id TEXT NOT NULL,
    provider_id TEXT REFERENCES providers (id),
    issued_by TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX temporary_keys_by_subject ON temporary_keys (subject_kind, subject_id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'employee')),
    subject_id TEXT NOT NULL,
    provider_id TEXT REFERENCES providers (id),
    method TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX sessions_by_subject ON sessions (subject_kind, subject_id);

-- Every refresh token a session has had; a used one that comes back revokes the session.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'employee')),
    subject_id TEXT NOT NULL,
    provider_id TEXT REFERENCES providers (id),
    name TEXT NOT NULL,
    token_prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'full')),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX api_tokens_by_subject ON api_tokens (subject_kind, subject_id);

-- The failure budget of each account (or of each unknown login, so that both look alike).
CREATE TABLE auth_throttle (
    throttle_key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    last_attempt_at TIMESTAMP NOT NULL
);

CREATE TABLE auth_events (
    id TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT,
    subject_kind TEXT CHECK (subject_kind IN ('user', 'employee')),
    subject_id TEXT,
    method TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    reason TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX auth_events_by_time ON auth_events (created_at);
CREATE INDEX auth_events_by_provider ON auth_events (provider_id, id);
CREATE INDEX auth_events_by_subject ON auth_events (subject_id, id);
