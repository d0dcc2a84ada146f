//! The records the store takes and answers that are not domain types: sessions, API
//! tokens, auth events. Rows (`rows.rs`) convert to and from them; the store uses both.

use chrono::{DateTime, Utc};
use domain::model::Subject;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub id: Uuid,
    pub subject: Subject,
    pub provider_id: Option<Uuid>,
    pub name: String,
    pub token_prefix: String,
    pub token_hash: String,
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiTokenRecord {
    pub id: Uuid,
    pub subject: Subject,
    pub provider_id: Option<Uuid>,
    pub name: String,
    pub token_prefix: String,
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// One line of the auth log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthEventRecord {
    pub id: Uuid,
    pub provider_id: Option<Uuid>,
    pub subject: Option<Subject>,
    pub method: String,
    pub outcome: String,
    pub reason: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: Uuid,
    pub subject: Subject,
    pub provider_id: Option<Uuid>,
    pub method: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// How the session was authenticated (RFC 8176 values).
    pub amr: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub id: Uuid,
    pub subject: Subject,
    pub provider_id: Option<Uuid>,
    pub method: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub amr: Vec<String>,
}

/// A session as a person's data export shows it: ended ones too.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedSession {
    pub session: SessionRecord,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An API token's metadata (never its secret or prefix), revoked ones too.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedApiToken {
    pub token: ApiTokenRecord,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A one-time key issued for a person, without the key.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedTemporaryKey {
    pub id: Uuid,
    pub issued_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// Everything held about one user (GDPR Art. 15 and 20).
#[derive(Debug, Clone)]
pub struct UserExport {
    pub user: domain::model::User,
    pub sessions: Vec<ExportedSession>,
    pub api_tokens: Vec<ExportedApiToken>,
    pub temporary_keys: Vec<ExportedTemporaryKey>,
    pub auth_events: Vec<AuthEventRecord>,
    /// Their consent decisions, oldest first.
    pub consents: Vec<domain::consent::ConsentRecord>,
    /// Their accounts at identity providers (Google), oldest first.
    pub links: Vec<ExportedLink>,
    /// Their second factors, without secrets.
    pub second_factors: ExportedSecondFactors,
}

/// An account at an identity provider linked to a user.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedLink {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What second factors a user has, never their secrets or codes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExportedSecondFactors {
    /// When TOTP was enrolled and confirmed, if it is.
    pub totp_enrolled_at: Option<DateTime<Utc>>,
    pub totp_confirmed_at: Option<DateTime<Utc>>,
    /// Recovery codes issued and not used yet.
    pub recovery_codes_left: i64,
}

/// Everything held about a client and its users.
#[derive(Debug, Clone)]
pub struct ClientExport {
    pub client: domain::model::Client,
    pub billing: Option<domain::billing::BillingDetails>,
    pub users: Vec<UserExport>,
    /// When the client's data was cleared, if it was.
    pub cleared_at: Option<DateTime<Utc>>,
}

/// A background job's last run, across instances.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRunRecord {
    pub name: String,
    pub last_started_at: DateTime<Utc>,
    pub last_duration_ms: i64,
    /// What the last run removed or changed (0 after a failure).
    pub last_removed: i64,
    /// `done` or `error`.
    pub last_outcome: String,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Runs that held the lease, since the table exists.
    pub runs: i64,
}

/// One change of a setting, for the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEventRecord {
    pub id: Uuid,
    /// `employee`.
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    /// What was done: `provider.create`, `provider.policies.update`, `processor.delete`…
    pub action: String,
    /// `provider`, `processor`, `sms_gateway`, `module`, …
    pub target_kind: String,
    pub target_id: Option<String>,
    /// The provider the setting belongs to; `None` for the service's own settings.
    pub provider_id: Option<Uuid>,
    /// The API's view of the object before and after (JSON); `None` for a creation or a
    /// deletion.
    pub before: Option<String>,
    pub after: Option<String>,
    pub created_at: DateTime<Utc>,
}
