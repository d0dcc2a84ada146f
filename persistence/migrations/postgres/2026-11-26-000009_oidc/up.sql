-- Signing in through OpenID Connect (issue 8).

-- Keycloak realms (or any OpenID Connect provider) that sign employees in, for the whole
-- service. redirect_uris and role_mappings are JSON arrays; client_secret is write-only at
-- the API.
CREATE TABLE staff_identity_providers (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    role_mappings TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (issuer, client_id)
);

-- One authorization-code flow in progress: state (kept as its SHA-256), nonce and PKCE
-- verifier, single use, short-lived. kind: who signs in (`google` user, `keycloak`
-- employee) or `link_google` (a signed-in user links a Google account; user_id says who).
CREATE TABLE oidc_transactions (
    id TEXT PRIMARY KEY NOT NULL,
    state_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('google', 'keycloak', 'link_google')),
    provider_id TEXT REFERENCES providers (id),
    staff_idp_id TEXT REFERENCES staff_identity_providers (id),
    user_id TEXT REFERENCES users (id),
    issuer TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX oidc_transactions_by_expiry ON oidc_transactions (expires_at);

-- A user's account at an identity provider: (issuer, subject) within one provider, never
-- an e-mail.
CREATE TABLE user_identity_links (
    id TEXT PRIMARY KEY NOT NULL,
    provider_id TEXT NOT NULL REFERENCES providers (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    UNIQUE (provider_id, issuer, subject)
);
CREATE INDEX user_identity_links_by_user ON user_identity_links (user_id);

-- An employee's account at a staff identity provider: (issuer, subject).
CREATE TABLE employee_identity_links (
    id TEXT PRIMARY KEY NOT NULL,
    employee_id TEXT NOT NULL REFERENCES employees (id),
    staff_idp_id TEXT NOT NULL REFERENCES staff_identity_providers (id),
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    UNIQUE (issuer, subject)
);
