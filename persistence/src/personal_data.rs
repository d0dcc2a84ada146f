//! What every stored column holds, for GDPR: the one list that clearing a client, exporting
//! a person's data and the retention jobs read. A test (`tests/migrations.rs`) fails when a
//! migration adds a table or column that is not classified here, so a new feature cannot
//! store personal data that clearing would miss.

/// What clearing a person's data does to a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clearing {
    /// Replaced by a random value that cannot be mapped back (no kept mapping, no hash).
    Replace,
    /// Set to NULL.
    Remove,
    /// The whole row goes.
    DeleteRow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataClass {
    /// Identifies or describes a person.
    Personal(Clearing),
    /// A person's credential or a secret derived from one: revoked and removed on clearing.
    Credential,
    /// Kept while a legal hold (tax law) runs, then anonymized.
    LegalHold,
    /// Says nothing about a person: ids, times, states, settings, service keys.
    NotPersonal,
}

use Clearing::{DeleteRow, Remove, Replace};
use DataClass::{Credential, LegalHold, NotPersonal, Personal};

/// Every column of every table, with its class.
pub const COLUMNS: &[(&str, &str, DataClass)] = &[
    // A provider is a hosting brand (a company), not a person.
    ("providers", "id", NotPersonal),
    ("providers", "slug", NotPersonal),
    ("providers", "name", NotPersonal),
    ("providers", "jurisdiction", NotPersonal),
    ("providers", "status", NotPersonal),
    ("providers", "auth_methods", NotPersonal),
    ("providers", "policies", NotPersonal),
    ("providers", "created_at", NotPersonal),
    ("providers", "updated_at", NotPersonal),
    ("providers", "version", NotPersonal),
    // A client may be a natural person: its name is personal.
    ("clients", "id", NotPersonal),
    ("clients", "provider_id", NotPersonal),
    ("clients", "name", Personal(Replace)),
    ("clients", "status", NotPersonal),
    ("clients", "created_at", NotPersonal),
    ("clients", "updated_at", NotPersonal),
    ("clients", "version", NotPersonal),
    // Billing details: a sole trader's legal name and address are personal; tax law makes
    // the provider keep them after clearing until the hold ends.
    ("clients", "legal_name", LegalHold),
    ("clients", "tax_id", LegalHold),
    ("clients", "billing_address", LegalHold),
    ("clients", "legal_hold_until", NotPersonal),
    ("users", "id", NotPersonal),
    ("users", "provider_id", NotPersonal),
    ("users", "client_id", NotPersonal),
    ("users", "email", Personal(Replace)),
    ("users", "name", Personal(Replace)),
    ("users", "phone", Personal(Remove)),
    ("users", "status", NotPersonal),
    ("users", "password_hash", Credential),
    ("users", "created_at", NotPersonal),
    ("users", "updated_at", NotPersonal),
    ("users", "version", NotPersonal),
    // When the number was verified: says nothing once the number is gone, but goes with it.
    ("users", "phone_verified_at", Personal(Remove)),
    // The key the user's events' origins are sealed under: destroying it clears them all.
    ("users", "origin_key", Credential),
    // Employees are staff; clearing a client does not touch them, but their data is
    // personal all the same.
    ("employees", "id", NotPersonal),
    ("employees", "login", Personal(Replace)),
    ("employees", "name", Personal(Replace)),
    ("employees", "email", Personal(Remove)),
    ("employees", "status", NotPersonal),
    ("employees", "all_providers", NotPersonal),
    ("employees", "password_hash", Credential),
    ("employees", "created_at", NotPersonal),
    ("employees", "updated_at", NotPersonal),
    ("employees", "version", NotPersonal),
    ("employee_roles", "employee_id", NotPersonal),
    ("employee_roles", "role", NotPersonal),
    ("employee_providers", "employee_id", NotPersonal),
    ("employee_providers", "provider_id", NotPersonal),
    // The service's own signing keys.
    ("signing_keys", "kid", NotPersonal),
    ("signing_keys", "algorithm", NotPersonal),
    ("signing_keys", "private_key", NotPersonal),
    ("signing_keys", "public_key", NotPersonal),
    ("signing_keys", "created_at", NotPersonal),
    ("temporary_keys", "id", NotPersonal),
    ("temporary_keys", "key_hash", Credential),
    ("temporary_keys", "subject_kind", NotPersonal),
    ("temporary_keys", "subject_id", NotPersonal),
    ("temporary_keys", "provider_id", NotPersonal),
    ("temporary_keys", "issued_by", NotPersonal),
    ("temporary_keys", "created_at", NotPersonal),
    ("temporary_keys", "expires_at", NotPersonal),
    ("temporary_keys", "used_at", NotPersonal),
    // One-time SMS codes: the number (also in the binding) and the asking address are
    // personal, the hash a credential; a cleared user's rows go whole.
    ("phone_codes", "id", NotPersonal),
    ("phone_codes", "purpose", NotPersonal),
    ("phone_codes", "binding", Personal(DeleteRow)),
    ("phone_codes", "provider_id", NotPersonal),
    ("phone_codes", "subject_kind", NotPersonal),
    ("phone_codes", "subject_id", NotPersonal),
    ("phone_codes", "phone", Personal(DeleteRow)),
    ("phone_codes", "ip", Personal(DeleteRow)),
    ("phone_codes", "code_hash", Credential),
    ("phone_codes", "wrong_tries", NotPersonal),
    ("phone_codes", "created_at", NotPersonal),
    ("phone_codes", "expires_at", NotPersonal),
    ("phone_codes", "used_at", NotPersonal),
    ("sessions", "id", NotPersonal),
    ("sessions", "subject_kind", NotPersonal),
    ("sessions", "subject_id", NotPersonal),
    ("sessions", "provider_id", NotPersonal),
    ("sessions", "method", NotPersonal),
    ("sessions", "ip", Personal(Remove)),
    ("sessions", "user_agent", Personal(Remove)),
    ("sessions", "created_at", NotPersonal),
    ("sessions", "last_seen_at", NotPersonal),
    ("sessions", "expires_at", NotPersonal),
    ("sessions", "revoked_at", NotPersonal),
    ("sessions", "amr", NotPersonal),
    ("refresh_tokens", "token_hash", Credential),
    ("refresh_tokens", "session_id", NotPersonal),
    ("refresh_tokens", "created_at", NotPersonal),
    ("refresh_tokens", "used_at", NotPersonal),
    ("api_tokens", "id", NotPersonal),
    ("api_tokens", "subject_kind", NotPersonal),
    ("api_tokens", "subject_id", NotPersonal),
    ("api_tokens", "provider_id", NotPersonal),
    // People name tokens after themselves and their devices.
    ("api_tokens", "name", Personal(Replace)),
    ("api_tokens", "token_prefix", Credential),
    ("api_tokens", "token_hash", Credential),
    ("api_tokens", "scope", NotPersonal),
    ("api_tokens", "created_at", NotPersonal),
    ("api_tokens", "expires_at", NotPersonal),
    ("api_tokens", "last_used_at", NotPersonal),
    ("api_tokens", "revoked_at", NotPersonal),
    // The key names an account or hashes a typed login.
    ("auth_throttle", "throttle_key", Personal(DeleteRow)),
    ("auth_throttle", "failures", NotPersonal),
    ("auth_throttle", "last_attempt_at", NotPersonal),
    ("auth_throttle", "streak_started_at", NotPersonal),
    // Auth events stay as evidence; who and from where is stripped.
    ("auth_events", "id", NotPersonal),
    ("auth_events", "provider_id", NotPersonal),
    ("auth_events", "subject_kind", NotPersonal),
    ("auth_events", "subject_id", NotPersonal),
    ("auth_events", "method", NotPersonal),
    ("auth_events", "outcome", NotPersonal),
    ("auth_events", "reason", NotPersonal),
    ("auth_events", "ip", Personal(Remove)),
    ("auth_events", "user_agent", Personal(Remove)),
    // A user's event's address and user agent, sealed under `users.origin_key`.
    ("auth_events", "sealed_origin", Personal(Remove)),
    ("auth_events", "created_at", NotPersonal),
    // SMS gateways are the service's configuration; their credentials are the provider's
    // secrets, not a person's.
    ("sms_gateways", "id", NotPersonal),
    ("sms_gateways", "name", NotPersonal),
    ("sms_gateways", "kind", NotPersonal),
    ("sms_gateways", "all_providers", NotPersonal),
    ("sms_gateways", "provider_ids", NotPersonal),
    ("sms_gateways", "priority", NotPersonal),
    ("sms_gateways", "resend_timeout_seconds", NotPersonal),
    ("sms_gateways", "code_validity_seconds", NotPersonal),
    ("sms_gateways", "sender", NotPersonal),
    ("sms_gateways", "templates", NotPersonal),
    ("sms_gateways", "settings", NotPersonal),
    ("sms_gateways", "credentials", NotPersonal),
    ("sms_gateways", "created_at", NotPersonal),
    ("sms_gateways", "updated_at", NotPersonal),
    ("sms_gateways", "version", NotPersonal),
    // A processor is a company, its register entry a setting of the installation.
    ("processors", "id", NotPersonal),
    ("processors", "name", NotPersonal),
    ("processors", "purpose", NotPersonal),
    ("processors", "country", NotPersonal),
    ("processors", "mechanism", NotPersonal),
    ("processors", "dpa_signed_on", NotPersonal),
    ("processors", "auth_methods", NotPersonal),
    ("processors", "sms_gateway_ids", NotPersonal),
    ("processors", "created_at", NotPersonal),
    ("processors", "updated_at", NotPersonal),
    ("processors", "version", NotPersonal),
    // OpenID Connect (issue 8). A staff identity provider is configuration.
    ("staff_identity_providers", "id", NotPersonal),
    ("staff_identity_providers", "name", NotPersonal),
    ("staff_identity_providers", "issuer", NotPersonal),
    ("staff_identity_providers", "client_id", NotPersonal),
    ("staff_identity_providers", "client_secret", NotPersonal),
    ("staff_identity_providers", "redirect_uris", NotPersonal),
    ("staff_identity_providers", "role_mappings", NotPersonal),
    ("staff_identity_providers", "enabled", NotPersonal),
    ("staff_identity_providers", "accept_idp_mfa", NotPersonal),
    (
        "staff_identity_providers",
        "idp_mfa_acr_values",
        NotPersonal,
    ),
    ("staff_identity_providers", "created_at", NotPersonal),
    ("staff_identity_providers", "updated_at", NotPersonal),
    // A flow in progress: its secrets go with the person (a link being made names a user).
    ("oidc_transactions", "id", NotPersonal),
    ("oidc_transactions", "state_hash", Credential),
    ("oidc_transactions", "kind", NotPersonal),
    ("oidc_transactions", "provider_id", NotPersonal),
    ("oidc_transactions", "staff_idp_id", NotPersonal),
    ("oidc_transactions", "user_id", NotPersonal),
    ("oidc_transactions", "issuer", NotPersonal),
    ("oidc_transactions", "redirect_uri", NotPersonal),
    ("oidc_transactions", "nonce", Credential),
    ("oidc_transactions", "pkce_verifier", Credential),
    ("oidc_transactions", "created_at", NotPersonal),
    ("oidc_transactions", "expires_at", NotPersonal),
    // The identity-provider account of a person: the subject identifies them there.
    ("user_identity_links", "id", NotPersonal),
    ("user_identity_links", "provider_id", NotPersonal),
    ("user_identity_links", "user_id", NotPersonal),
    ("user_identity_links", "issuer", NotPersonal),
    ("user_identity_links", "subject", Personal(DeleteRow)),
    ("user_identity_links", "email", Personal(DeleteRow)),
    ("user_identity_links", "created_at", NotPersonal),
    ("user_identity_links", "last_used_at", NotPersonal),
    ("employee_identity_links", "id", NotPersonal),
    ("employee_identity_links", "employee_id", NotPersonal),
    ("employee_identity_links", "staff_idp_id", NotPersonal),
    ("employee_identity_links", "issuer", NotPersonal),
    ("employee_identity_links", "subject", Personal(DeleteRow)),
    ("employee_identity_links", "created_at", NotPersonal),
    ("employee_identity_links", "last_used_at", NotPersonal),
    // Second factors: secrets and hashed codes of a person, gone when their client is cleared.
    ("totp_factors", "subject_kind", NotPersonal),
    ("totp_factors", "subject_id", NotPersonal),
    ("totp_factors", "secret", Credential),
    ("totp_factors", "confirmed_at", NotPersonal),
    ("totp_factors", "last_used_step", NotPersonal),
    ("totp_factors", "created_at", NotPersonal),
    ("recovery_codes", "code_hash", Credential),
    ("recovery_codes", "subject_kind", NotPersonal),
    ("recovery_codes", "subject_id", NotPersonal),
    ("recovery_codes", "created_at", NotPersonal),
    ("recovery_codes", "used_at", NotPersonal),
    ("mfa_challenges", "id", Credential),
    ("mfa_challenges", "subject_kind", NotPersonal),
    ("mfa_challenges", "subject_id", NotPersonal),
    ("mfa_challenges", "provider_id", NotPersonal),
    ("mfa_challenges", "method", NotPersonal),
    ("mfa_challenges", "methods", NotPersonal),
    ("mfa_challenges", "created_at", NotPersonal),
    ("mfa_challenges", "expires_at", NotPersonal),
    ("mfa_challenges", "used_at", NotPersonal),
    // Job runs: names, times, counts and error messages of the service's own work.
    ("job_runs", "name", NotPersonal),
    ("job_runs", "last_started_at", NotPersonal),
    ("job_runs", "last_duration_ms", NotPersonal),
    ("job_runs", "last_removed", NotPersonal),
    ("job_runs", "last_outcome", NotPersonal),
    ("job_runs", "last_success_at", NotPersonal),
    ("job_runs", "last_error", NotPersonal),
    ("job_runs", "last_error_at", NotPersonal),
    ("job_runs", "runs", NotPersonal),
    // The audit trail of settings: an employee's id and the API's views of settings (no
    // write-only secret, no person's data: providers, methods, policies, processors,
    // gateways, modules).
    ("audit_events", "id", NotPersonal),
    ("audit_events", "actor_kind", NotPersonal),
    ("audit_events", "actor_id", NotPersonal),
    ("audit_events", "action", NotPersonal),
    ("audit_events", "target_kind", NotPersonal),
    ("audit_events", "target_id", NotPersonal),
    ("audit_events", "provider_id", NotPersonal),
    ("audit_events", "before_value", NotPersonal),
    ("audit_events", "after_value", NotPersonal),
    ("audit_events", "created_at", NotPersonal),
    // Consent documents are the provider's texts.
    ("consent_documents", "id", NotPersonal),
    ("consent_documents", "provider_id", NotPersonal),
    ("consent_documents", "kind", NotPersonal),
    ("consent_documents", "titles", NotPersonal),
    ("consent_documents", "must_agree", NotPersonal),
    ("consent_documents", "show_on_registration", NotPersonal),
    ("consent_documents", "created_at", NotPersonal),
    ("consent_documents", "updated_at", NotPersonal),
    ("consent_documents", "version", NotPersonal),
    ("consent_document_versions", "id", NotPersonal),
    ("consent_document_versions", "document_id", NotPersonal),
    ("consent_document_versions", "number", NotPersonal),
    ("consent_document_versions", "content_url", NotPersonal),
    ("consent_document_versions", "content_text", NotPersonal),
    ("consent_document_versions", "text_hash", NotPersonal),
    ("consent_document_versions", "effective_at", NotPersonal),
    ("consent_document_versions", "created_at", NotPersonal),
    // Consent records are the provider's evidence (Art. 7(1)) and stay on clearing; where
    // the decision came from is stripped.
    ("consent_records", "id", NotPersonal),
    ("consent_records", "user_id", NotPersonal),
    ("consent_records", "provider_id", NotPersonal),
    ("consent_records", "document_id", NotPersonal),
    ("consent_records", "document_version_id", NotPersonal),
    ("consent_records", "version_number", NotPersonal),
    ("consent_records", "text_hash", NotPersonal),
    ("consent_records", "decision", NotPersonal),
    ("consent_records", "method", NotPersonal),
    ("consent_records", "ip", Personal(Remove)),
    ("consent_records", "user_agent", Personal(Remove)),
    ("consent_records", "created_at", NotPersonal),
    // A pending re-consent step of a sign-in: a credential; a cleared user's go.
    ("consent_tickets", "id", NotPersonal),
    ("consent_tickets", "ticket_hash", Credential),
    ("consent_tickets", "user_id", NotPersonal),
    ("consent_tickets", "provider_id", NotPersonal),
    ("consent_tickets", "method", NotPersonal),
    ("consent_tickets", "created_at", NotPersonal),
    ("consent_tickets", "expires_at", NotPersonal),
    ("consent_tickets", "used_at", NotPersonal),
    ("job_leases", "name", NotPersonal),
    ("job_leases", "holder", NotPersonal),
    ("job_leases", "expires_at", NotPersonal),
    ("modules", "name", NotPersonal),
    ("modules", "installed", NotPersonal),
    ("modules", "updated_at", NotPersonal),
    // The audit trail of clearing: ids, counts and the officer's reason. The reason is
    // asked for without personal data (the API says so); the report holds counts only.
    ("client_clearings", "client_id", NotPersonal),
    ("client_clearings", "cleared_by", NotPersonal),
    ("client_clearings", "employee_id", NotPersonal),
    ("client_clearings", "reason", NotPersonal),
    ("client_clearings", "report", NotPersonal),
    ("client_clearings", "created_at", NotPersonal),
    ("client_clearings", "origins_swept_at", NotPersonal),
];

/// The class of `table.column`, if it is listed.
pub fn class_of(table: &str, column: &str) -> Option<DataClass> {
    COLUMNS
        .iter()
        .find(|(t, c, _)| *t == table && *c == column)
        .map(|(_, _, class)| *class)
}

/// The columns of personal data (and credentials) that clearing must handle.
pub fn personal_columns() -> impl Iterator<Item = (&'static str, &'static str, DataClass)> {
    COLUMNS
        .iter()
        .copied()
        .filter(|(_, _, class)| !matches!(class, DataClass::NotPersonal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_column_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for (table, column, _) in COLUMNS {
            assert!(seen.insert((table, column)), "{table}.{column} twice");
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(class_of("users", "email"), Some(Personal(Replace)));
        assert_eq!(class_of("auth_events", "ip"), Some(Personal(Remove)));
        assert_eq!(class_of("users", "nope"), None);
        assert!(personal_columns().any(|(t, c, _)| (t, c) == ("users", "password_hash")));
        assert!(!personal_columns().any(|(t, _, _)| t == "providers"));
    }
}
