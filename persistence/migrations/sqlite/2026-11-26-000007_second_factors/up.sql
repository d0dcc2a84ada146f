-- Second factors (issue 7). How each session was authenticated (RFC 8176 `amr` values,
-- space-separated); sessions from before know only their first factor.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
UPDATE sessions SET amr = 'otk' WHERE method = 'temporary_key';

-- One TOTP factor a person: its secret (base32; never answered after enrollment), when it
-- was confirmed (NULL: enrolled, not active yet), and the last time step a code was used
-- for, so that a code cannot be replayed.
CREATE TABLE totp_factors (
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'employee')),
    subject_id TEXT NOT NULL,
    secret TEXT NOT NULL,
    confirmed_at TIMESTAMP,
    last_used_step BIGINT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (subject_kind, subject_id)
);

-- Recovery codes, as SHA-256 of high-entropy random codes; renewing deletes the old ones.
CREATE TABLE recovery_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'employee')),
    subject_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX recovery_codes_subject ON recovery_codes (subject_kind, subject_id);

-- A sign-in waiting for its second factor: who, after which first factor, until when;
-- used_at is set by the one verify that wins.
CREATE TABLE mfa_challenges (
    id TEXT PRIMARY KEY NOT NULL,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'employee')),
    subject_id TEXT NOT NULL,
    provider_id TEXT,
    method TEXT NOT NULL,
    methods TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX mfa_challenges_subject ON mfa_challenges (subject_kind, subject_id);
