-- Phone numbers and their verification (issue 7). A user's number is verified when
-- phone_verified_at is set; a verified number belongs to one user per provider (phone
-- sign-in finds the user by it). A staff change of the number clears the mark.
ALTER TABLE users ADD COLUMN phone_verified_at TIMESTAMP;
CREATE UNIQUE INDEX users_verified_phone_key ON users (provider_id, phone)
    WHERE phone_verified_at IS NOT NULL;

-- One-time SMS codes, kept as a salted SHA-256. binding = purpose + who the code is for
-- (an account, or a number at a provider); the latest code of a binding is the live one.
-- Rows also count the sends of the last hour (per number, account, IP), so they outlive
-- their codes for a while; GDPR clearing deletes a cleared user's.
CREATE TABLE phone_codes (
    id TEXT PRIMARY KEY NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_phone', 'login', 'registration', 'second_factor')),
    binding TEXT NOT NULL,
    provider_id TEXT,
    subject_kind TEXT CHECK (subject_kind IN ('user', 'employee')),
    subject_id TEXT,
    phone TEXT NOT NULL,
    ip TEXT,
    code_hash TEXT NOT NULL,
    wrong_tries INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX phone_codes_by_binding ON phone_codes (binding, created_at);
CREATE INDEX phone_codes_by_phone ON phone_codes (phone, created_at);
CREATE INDEX phone_codes_by_subject ON phone_codes (subject_id, created_at);
CREATE INDEX phone_codes_by_ip ON phone_codes (ip, created_at);
