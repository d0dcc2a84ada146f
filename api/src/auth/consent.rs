//! The re-consent gate of a sign-in (GDPR Art. 7): a user who has not agreed to the version
//! in force of every must-agree document of the provider gets no session, but a
//! `consent_required` problem with the documents and a short-lived, single-use ticket. The
//! ticket (stored hashed) and the accepted versions go to `POST /api/v1/auth/consent`
//! (`consent_step`), which records the consents (`after_login`) and finishes the sign-in.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::auth_method::AuthMethod;
use domain::consent::{
    ConsentDocument, ConsentMethod, ConsentRecord, Decision, DocumentVersion, missing_consents,
};
use domain::model::Subject;
use domain::provider::SubjectKind;
use domain::secret::{CONSENT_TOKEN_PREFIX, hash_secret};
use persistence::{ConsentTicket, Store};
use uuid::Uuid;

use super::client_info::ClientInfo;
use super::log::{Attempt, Reason, record};
use super::session::to_chrono;
use crate::problem::{ApiError, ConsentRequired, DocumentToShow};
use crate::secrets::new_secret;
use crate::state::AppState;

/// How long a `consent_required` ticket lives.
pub const CONSENT_TICKET_TTL: Duration = Duration::from_secs(10 * 60);

impl DocumentToShow {
    pub fn new(document: &ConsentDocument, version: &DocumentVersion) -> Self {
        Self {
            document_id: document.id,
            version_id: version.id,
            kind: document.kind.as_string(),
            titles: document.titles.clone(),
            url: version.content.url.clone(),
            text: version.content.text.clone(),
            text_hash: version.text_hash.clone(),
            version: version.number,
            effective_at: version.effective_at,
            must_agree: document.must_agree,
        }
    }
}

/// A decision of `user_id` on `version`, from the request `client`, now.
pub fn new_record(
    user_id: Uuid,
    document: &ConsentDocument,
    version: &DocumentVersion,
    decision: Decision,
    method: ConsentMethod,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> ConsentRecord {
    ConsentRecord {
        id: Uuid::now_v7(),
        user_id,
        provider_id: document.provider_id,
        document_id: document.id,
        document_version_id: version.id,
        version_number: version.number,
        text_hash: version.text_hash.clone(),
        decision,
        method,
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        created_at: now,
    }
}

/// The must-agree documents (version in force) that the user still has to accept.
pub(super) async fn due_for(
    state: &AppState,
    provider_id: Uuid,
    user_id: Uuid,
) -> Result<Vec<(ConsentDocument, DocumentVersion)>, ApiError> {
    let now = state.now();
    state
        .db(move |store| due_in(store, provider_id, user_id, now))
        .await
}

/// `due_for`, on the caller's trip to the store.
pub(super) fn due_in(
    store: &Store,
    provider_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<(ConsentDocument, DocumentVersion)>, ApiError> {
    let documents = store.consent_documents(provider_id)?;
    if documents.is_empty() {
        return Ok(Vec::new());
    }
    let history = store.user_consent_records(user_id)?;
    Ok(missing_consents(&documents, &history, now)
        .into_iter()
        .map(|(d, v)| (d.clone(), v.clone()))
        .collect())
}

/// The gate, called by `outcome::finish_sign_in` right before a session starts: passes
/// employees and users who agreed to everything due, and answers `consent_required` (with
/// a new ticket) to the others.
pub async fn consent_gate(
    state: &AppState,
    subject: Subject,
    provider_id: Option<Uuid>,
    method: AuthMethod,
    client: &ClientInfo,
) -> Result<(), ApiError> {
    let (SubjectKind::User, Some(provider_id)) = (subject.kind, provider_id) else {
        return Ok(());
    };
    let due = due_for(state, provider_id, subject.id).await?;
    if due.is_empty() {
        return Ok(());
    }
    Err(consent_required(state, subject, provider_id, method, due, client).await)
}

/// The `consent_required` answer for documents `due` (not empty): a new ticket, logged.
pub(super) async fn consent_required(
    state: &AppState,
    subject: Subject,
    provider_id: Uuid,
    method: AuthMethod,
    due: Vec<(ConsentDocument, DocumentVersion)>,
    client: &ClientInfo,
) -> ApiError {
    let token = new_secret(CONSENT_TOKEN_PREFIX);
    let hash = hash_secret(&token);
    let now = state.now();
    let ttl = to_chrono(CONSENT_TICKET_TTL);
    let ticket = ConsentTicket {
        id: Uuid::now_v7(),
        user_id: subject.id,
        provider_id,
        method: method.as_str().to_owned(),
    };
    let stored = state
        .db(move |store| Ok(store.create_consent_ticket(&ticket, &hash, now, now + ttl)?))
        .await;
    if let Err(e) = stored {
        return e;
    }
    let attempt = Attempt::new(method, Reason::ConsentRequired)
        .provider(Some(provider_id))
        .subject(Some(subject));
    record(state, attempt, client).await;
    ApiError::ConsentRequired(Box::new(ConsentRequired {
        consent_token: token,
        expires_in: ttl.num_seconds(),
        documents: due.iter().map(|(d, v)| DocumentToShow::new(d, v)).collect(),
    }))
}
