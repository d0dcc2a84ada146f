//! Consent documents per provider, their versions, and the consent records (GDPR Art. 7):
//! the administration of the documents, a user's own consents (give, withdraw, history),
//! the data-protection officer's views per user and per document, and the acceptance step
//! of a sign-in answered `consent_required` (`auth::consent`).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use domain::ValidationErrors;
use domain::consent::{
    ConsentDocument, ConsentKind, ConsentMethod, ConsentRecord, Decision, DocumentVersion,
    VersionContent, last_decision, parse_titles, version_in_force,
};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::audit_events as audit;
use super::params::{PageQuery, parse_id};
use super::precondition::{IfMatch, Stale, edit, tagged};
use super::resource;
use super::responses::{BadQuery, Invalid, NeedsCredentials, NeedsPermission, NotFound, NotJson};
use crate::auth::consent::new_record;
use crate::auth::consent_step::accept_and_sign_in;
use crate::auth::outcome::LoginResponse;
use crate::extract::{Actor, ClientInfo, Json, Principal, Staff, need};
use crate::problem::{ApiError, ApiResult, DocumentToShow};
use crate::state::{AppState, State};

/// A new document and its first version.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsentDocument {
    /// `privacy_policy`, `user_agreement`, `marketing_email`, `marketing_sms` or
    /// `custom:<slug>` (a-z, 0-9, `_`, `-`).
    #[schema(example = "privacy_policy")]
    pub kind: String,
    /// The title by language tag; at least one.
    #[schema(example = json!({"en": "Privacy policy"}))]
    pub titles: BTreeMap<String, String>,
    /// Registration and sign-in need the user's agreement to the version in force.
    #[serde(default)]
    pub must_agree: bool,
    /// Shown on the registration form (listed by the login options).
    #[serde(default)]
    pub show_on_registration: bool,
    /// The first version: a URL, a text, or both, in force from `effective_at` (now when
    /// left out; never in the past).
    #[schema(example = "https://acme.example/privacy")]
    pub url: Option<String>,
    pub text: Option<String>,
    pub effective_at: Option<DateTime<Utc>>,
}

/// A version to publish: a URL, a text or both, in force from `effective_at` (now when
/// left out; never in the past).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    #[schema(example = "https://acme.example/privacy/v2")]
    pub url: Option<String>,
    pub text: Option<String>,
    pub effective_at: Option<DateTime<Utc>>,
}

/// What an update changes; the kind and the versions stay.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConsentDocument {
    pub titles: Option<BTreeMap<String, String>>,
    pub must_agree: Option<bool>,
    pub show_on_registration: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionResponse {
    pub id: Uuid,
    #[schema(example = 1)]
    pub version: i64,
    pub url: Option<String>,
    pub text: Option<String>,
    /// SHA-256 (hex) of the text, or of the URL where there is no text.
    pub text_hash: String,
    pub effective_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl From<DocumentVersion> for VersionResponse {
    fn from(v: DocumentVersion) -> Self {
        Self {
            id: v.id,
            version: v.number,
            url: v.content.url,
            text: v.content.text,
            text_hash: v.text_hash,
            effective_at: v.effective_at,
            created_at: v.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentDocumentResponse {
    pub id: Uuid,
    pub provider_id: Uuid,
    #[schema(example = "privacy_policy")]
    pub kind: String,
    #[schema(example = json!({"en": "Privacy policy"}))]
    pub titles: BTreeMap<String, String>,
    pub must_agree: bool,
    pub show_on_registration: bool,
    /// The number of the version in force now (`null`: none yet in force).
    pub version_in_force: Option<i64>,
    /// Oldest first.
    pub versions: Vec<VersionResponse>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn document_response(
    document: ConsentDocument,
    versions: Vec<DocumentVersion>,
    now: DateTime<Utc>,
) -> ConsentDocumentResponse {
    ConsentDocumentResponse {
        version_in_force: version_in_force(&versions, now).map(|v| v.number),
        id: document.id,
        provider_id: document.provider_id,
        kind: document.kind.as_string(),
        titles: document.titles,
        must_agree: document.must_agree,
        show_on_registration: document.show_on_registration,
        versions: versions.into_iter().map(Into::into).collect(),
        created_at: document.created_at,
        updated_at: document.updated_at,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentDocumentList {
    /// By creation.
    pub items: Vec<ConsentDocumentResponse>,
}

/// One consent record: who decided what on which version, when, how and from where.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentRecordResponse {
    pub id: Uuid,
    pub user_id: Uuid,
    pub document_id: Uuid,
    pub document_version_id: Uuid,
    #[schema(example = 1)]
    pub version: i64,
    pub text_hash: String,
    #[schema(value_type = super::schemas::ConsentDecision)]
    pub decision: String,
    #[schema(value_type = super::schemas::ConsentMethod)]
    pub how: String,
    /// Removed when the client's data is cleared.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<ConsentRecord> for ConsentRecordResponse {
    fn from(r: ConsentRecord) -> Self {
        Self {
            id: r.id,
            user_id: r.user_id,
            document_id: r.document_id,
            document_version_id: r.document_version_id,
            version: r.version_number,
            text_hash: r.text_hash,
            decision: r.decision.as_str().to_owned(),
            how: r.method.as_str().to_owned(),
            ip: r.ip,
            user_agent: r.user_agent,
            created_at: r.created_at,
        }
    }
}

/// Where a user stands on one document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentState {
    /// The document and its version in force.
    pub document: DocumentToShow,
    /// The last decision, `null` if none.
    #[schema(value_type = Option<super::schemas::ConsentDecision>)]
    pub decision: Option<String>,
    /// The version the last decision was on.
    pub decided_version: Option<i64>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Agreed to the version in force (or a later one).
    pub agreed_to_version_in_force: bool,
}

/// A user's consents: the state per document of the provider, and the whole history.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserConsents {
    /// One per document that has a version in force.
    pub current: Vec<ConsentState>,
    /// Every decision, oldest first.
    pub history: Vec<ConsentRecordResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentRecordPage {
    /// Oldest first.
    pub items: Vec<ConsentRecordResponse>,
    #[schema(value_type = Option<super::schemas::CursorName>)]
    pub next_cursor: Option<String>,
}

/// A decision: on `document_version_id`, or on `document_id` with `version` (by default
/// the version in force).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GiveConsent {
    pub document_version_id: Option<Uuid>,
    pub document_id: Option<Uuid>,
    pub version: Option<i64>,
    /// `agree` or `withdraw`.
    #[schema(example = "agree")]
    pub decision: String,
}

/// The acceptance step of a sign-in answered `consent_required`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptConsents {
    /// The `consent_token` of the `consent_required` problem.
    pub consent_token: String,
    /// The `version_id`s accepted: every document of the problem.
    pub accept: Vec<Uuid>,
}

fn user_consents(
    documents: &[(ConsentDocument, Vec<DocumentVersion>)],
    history: Vec<ConsentRecord>,
    now: DateTime<Utc>,
) -> UserConsents {
    let current = documents
        .iter()
        .filter_map(|(document, versions)| {
            let in_force = version_in_force(versions, now)?;
            let last = last_decision(&history, document.id);
            Some(ConsentState {
                document: DocumentToShow::new(document, in_force),
                decision: last.map(|r| r.decision.as_str().to_owned()),
                decided_version: last.map(|r| r.version_number),
                decided_at: last.map(|r| r.created_at),
                agreed_to_version_in_force: last.is_some_and(|r| {
                    r.decision == Decision::Agree && r.version_number >= in_force.number
                }),
            })
        })
        .collect();
    UserConsents {
        current,
        history: history.into_iter().map(Into::into).collect(),
    }
}

async fn load_user_consents(
    state: &AppState,
    provider_id: Uuid,
    user_id: Uuid,
) -> ApiResult<UserConsents> {
    let now = state.now();
    state
        .db(move |store| {
            let documents = store.consent_documents(provider_id)?;
            let history = store.user_consent_records(user_id)?;
            Ok(user_consents(&documents, history, now))
        })
        .await
}

/// A document the employee may see, with its versions.
async fn visible_document<P>(
    state: &AppState,
    staff: &Staff<P>,
    id: &str,
) -> ApiResult<(ConsentDocument, Vec<DocumentVersion>)> {
    let id = parse_id(id, "consent document")?;
    let found = state
        .db(move |store| {
            let document = store
                .consent_document(id)
                .map_err(ApiError::from_store("consent document"))?;
            let versions = store.document_versions(id)?;
            Ok((document, versions))
        })
        .await?;
    staff.check_provider(found.0.provider_id, "consent document")?;
    Ok(found)
}

/// Checks a version to publish; `errors` collects its problems.
fn parse_version(
    errors: &mut ValidationErrors,
    form: &NewVersion,
    now: DateTime<Utc>,
) -> Option<(VersionContent, DateTime<Utc>)> {
    let content = match VersionContent::parse(form.url.as_deref(), form.text.as_deref()) {
        Ok(c) => Some(c),
        Err(e) => {
            let pointer = match e {
                domain::consent::ConsentError::Url => "/url",
                _ => "/text",
            };
            errors.add(pointer, e.to_string());
            None
        }
    };
    let effective_at = form.effective_at.unwrap_or(now);
    if effective_at < now - chrono::Duration::minutes(1) {
        errors.add(
            "/effective_at",
            "must not be in the past: a version cannot take effect retroactively",
        );
    }
    content.map(|c| (c, effective_at))
}

fn new_version(
    document_id: Uuid,
    content: VersionContent,
    effective_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DocumentVersion {
    DocumentVersion {
        id: Uuid::now_v7(),
        document_id,
        number: 1,
        text_hash: content.hash(),
        content,
        effective_at,
        created_at: now,
    }
}

/// Lists a provider's consent documents with their versions.
#[utoipa::path(get, path = "/api/v1/providers/{id}/consent-documents", tag = "consents", operation_id = "list_consent_documents",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses((status = 200, body = ConsentDocumentList), NeedsPermission, NotFound))]
pub async fn list_consent_documents(
    state: State,
    staff: Staff<need::ConsentsRead>,
    id: web::Path<String>,
) -> ApiResult<web::Json<ConsentDocumentList>> {
    let provider = super::providers::visible_provider(&state, &staff, &id).await?;
    let now = state.now();
    let documents = state
        .db(move |store| Ok(store.consent_documents(provider.id)?))
        .await?;
    Ok(web::Json(ConsentDocumentList {
        items: documents
            .into_iter()
            .map(|(d, v)| document_response(d, v, now))
            .collect(),
    }))
}

/// Creates a consent document with its first version (1).
#[utoipa::path(post, path = "/api/v1/providers/{id}/consent-documents", tag = "consents", operation_id = "create_consent_document",
    params(("id" = Uuid, Path)), request_body = NewConsentDocument, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The new document", body = ConsentDocumentResponse),
        NeedsPermission, NotFound, Invalid, NotJson,
    ))]
pub async fn create_consent_document(
    state: State,
    staff: Staff<need::ConsentsWrite>,
    id: web::Path<String>,
    body: Json<NewConsentDocument>,
) -> ApiResult<HttpResponse> {
    let provider = super::providers::visible_provider(&state, &staff, &id).await?;
    let form = body.into_inner();
    let now = state.now();
    let mut errors = ValidationErrors::new();
    let kind = errors.check("/kind", ConsentKind::parse(&form.kind));
    let titles = errors.check("/titles", parse_titles(&form.titles));
    let first_version = NewVersion {
        url: form.url,
        text: form.text,
        effective_at: form.effective_at,
    };
    let version = parse_version(&mut errors, &first_version, now);
    errors.into_result()?;
    let (Some(kind), Some(titles), Some((content, effective_at))) = (kind, titles, version) else {
        return Err(ApiError::internal("validated consent document incomplete"));
    };
    let document = ConsentDocument {
        id: Uuid::now_v7(),
        provider_id: provider.id,
        kind,
        titles,
        must_agree: form.must_agree,
        show_on_registration: form.show_on_registration,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let first = new_version(document.id, content, effective_at, now);
    let (d, v) = (document.clone(), first.clone());
    state
        .db(move |store| Ok(store.insert_consent_document(&d, &v)?))
        .await?;
    log::info!("consent document {} created", document.id);
    let (id, provider_id, version) = (document.id, document.provider_id, document.version);
    let created = document_response(document, vec![first], now);
    audit::record(
        &state,
        &staff,
        audit::created(
            "consent_document.create",
            "consent_document",
            id.to_string(),
            Some(provider_id),
            &created,
        ),
    )
    .await;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/consent-documents/{id}")))
        .insert_header(("ETag", super::precondition::etag(version)))
        .json(created))
}

/// Reads a consent document with its versions.
#[utoipa::path(get, path = "/api/v1/consent-documents/{id}", tag = "consents", operation_id = "get_consent_document",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, body = ConsentDocumentResponse, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        NeedsPermission, NotFound,
    ))]
pub async fn get_consent_document(
    state: State,
    staff: Staff<need::ConsentsRead>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (document, versions) = visible_document(&state, &staff, &id).await?;
    Ok(tagged(
        document.version,
        document_response(document, versions, state.now()),
    ))
}

/// Changes a document's titles or flags. The texts change only by a new version.
#[utoipa::path(patch, path = "/api/v1/consent-documents/{id}", tag = "consents", operation_id = "update_consent_document",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` of the read this change is based on; 412 if the object changed since")),
    request_body = UpdateConsentDocument, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, body = ConsentDocumentResponse, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        NeedsPermission, NotFound, Invalid, NotJson, Stale,
    ))]
pub async fn update_consent_document(
    state: State,
    staff: Staff<need::ConsentsWrite>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<UpdateConsentDocument>,
) -> ApiResult<HttpResponse> {
    let (current, current_versions) = visible_document(&state, &staff, &id).await?;
    let before = document_response(current.clone(), current_versions, state.now());
    let form = body.into_inner();
    let titles = match &form.titles {
        Some(t) => {
            Some(parse_titles(t).map_err(|e| ApiError::validation("/titles", e.to_string()))?)
        }
        None => None,
    };
    let now = state.now();
    let id = current.id;
    let document = edit(
        &state,
        if_match,
        move |store| {
            store
                .consent_document(id)
                .map_err(ApiError::from_store("consent document"))
        },
        move |d| {
            if let Some(t) = &titles {
                d.titles = t.clone();
            }
            d.must_agree = form.must_agree.unwrap_or(d.must_agree);
            d.show_on_registration = form.show_on_registration.unwrap_or(d.show_on_registration);
            d.updated_at = now;
            Ok(())
        },
        move |store, d| {
            store
                .update_consent_document(d)
                .map_err(ApiError::from_store("consent document"))
        },
    )
    .await?;
    let versions = state
        .db(move |store| Ok(store.document_versions(id)?))
        .await?;
    log::info!("consent document {id} updated");
    let (version, provider_id) = (document.version, document.provider_id);
    let after = document_response(document, versions, now);
    audit::record(
        &state,
        &staff,
        audit::updated(
            "consent_document.update",
            "consent_document",
            id.to_string(),
            Some(provider_id),
            &before,
            &after,
        ),
    )
    .await;
    Ok(tagged(version, after))
}

/// Publishes the next version of a document. Once it is in force, every user who has not
/// agreed to it gets `consent_required` at the next sign-in if the document is must-agree.
#[utoipa::path(post, path = "/api/v1/consent-documents/{id}/versions", tag = "consents", operation_id = "publish_consent_document_version",
    params(("id" = Uuid, Path)), request_body = NewVersion, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The published version", body = VersionResponse),
        NeedsPermission, NotFound, Invalid, NotJson,
        (status = 409, description = "Another version was published at the same moment", body = crate::problem::Problem, content_type = super::responses::PROBLEM_JSON),
    ))]
pub async fn publish_version(
    state: State,
    staff: Staff<need::ConsentsWrite>,
    id: web::Path<String>,
    body: Json<NewVersion>,
) -> ApiResult<HttpResponse> {
    let (document, _) = visible_document(&state, &staff, &id).await?;
    let now = state.now();
    let mut errors = ValidationErrors::new();
    let parsed = parse_version(&mut errors, &body, now);
    errors.into_result()?;
    let Some((content, effective_at)) = parsed else {
        return Err(ApiError::internal("validated version incomplete"));
    };
    let version = new_version(document.id, content, effective_at, now);
    let stored = state
        .db(move |store| {
            store
                .publish_document_version(&version)
                .map_err(ApiError::from_store("consent document"))
        })
        .await?;
    log::info!(
        "consent document {} version {} published",
        document.id,
        stored.number
    );
    let published = VersionResponse::from(stored);
    audit::record(
        &state,
        &staff,
        audit::created(
            "consent_document.publish",
            "consent_document",
            document.id.to_string(),
            Some(document.provider_id),
            &published,
        ),
    )
    .await;
    Ok(HttpResponse::Created().json(published))
}

/// The decisions on one document, oldest first (the data-protection officer's evidence).
#[utoipa::path(get, path = "/api/v1/consent-documents/{id}/records", tag = "consents", operation_id = "list_consent_document_records",
    params(("id" = Uuid, Path), PageQuery), security(("bearer" = []), ("api_token" = [])),
    responses((status = 200, body = ConsentRecordPage), NeedsPermission, NotFound, BadQuery))]
pub async fn list_document_records(
    state: State,
    staff: Staff<need::ConsentsRead>,
    id: web::Path<String>,
    query: crate::extract::Query<PageQuery>,
) -> ApiResult<web::Json<ConsentRecordPage>> {
    let page = query.to_request()?;
    let (document, _) = visible_document(&state, &staff, &id).await?;
    let page = state
        .db(move |store| Ok(store.document_consent_records(document.id, page)?))
        .await?;
    Ok(web::Json(ConsentRecordPage {
        next_cursor: page.next_cursor.map(|c| c.to_string()),
        items: page.items.into_iter().map(Into::into).collect(),
    }))
}

/// A user's consents: the state per document and the whole history.
#[utoipa::path(get, path = "/api/v1/users/{id}/consents", tag = "consents", operation_id = "get_user_consents",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses((status = 200, body = UserConsents), NeedsPermission, NotFound))]
pub async fn get_user_consents(
    state: State,
    staff: Staff<need::ConsentsRead>,
    id: web::Path<String>,
) -> ApiResult<web::Json<UserConsents>> {
    let id = parse_id(&id, "user")?;
    let user = state
        .db(move |store| store.user(id).map_err(ApiError::from_store("user")))
        .await?;
    staff.check_provider(user.provider_id, "user")?;
    Ok(web::Json(
        load_user_consents(&state, user.provider_id, user.id).await?,
    ))
}

fn signed_in_user(principal: &Principal) -> ApiResult<(Uuid, Uuid)> {
    match &principal.actor {
        Actor::User(u) => Ok((u.id, u.provider_id)),
        Actor::Employee(_) => Err(ApiError::Forbidden(
            "consents are given by users; employees have none".into(),
        )),
    }
}

/// My consents: the state per document of my provider, and my whole history.
#[utoipa::path(get, path = "/api/v1/me/consents", tag = "me", operation_id = "get_my_consents",
    security(("bearer" = []), ("api_token" = [])),
    responses((status = 200, body = UserConsents), NeedsCredentials,
        (status = 403, description = "An employee: consents are users'", body = crate::problem::Problem, content_type = super::responses::PROBLEM_JSON)))]
pub async fn get_my_consents(
    state: State,
    principal: Principal,
) -> ApiResult<web::Json<UserConsents>> {
    let (user_id, provider_id) = signed_in_user(&principal)?;
    Ok(web::Json(
        load_user_consents(&state, provider_id, user_id).await?,
    ))
}

/// Gives or withdraws consent to a version: one call either way (GDPR Art. 7(3)).
/// Withdrawing a must-agree document is allowed; the next sign-in then asks for it again.
#[utoipa::path(post, path = "/api/v1/me/consents", tag = "me", operation_id = "give_my_consent",
    request_body = GiveConsent, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 201, description = "The record written", body = ConsentRecordResponse),
        NeedsCredentials, Invalid, NotJson,
        (status = 403, description = "An employee: consents are users'", body = crate::problem::Problem, content_type = super::responses::PROBLEM_JSON),
    ))]
pub async fn give_my_consent(
    state: State,
    principal: Principal,
    client: ClientInfo,
    body: Json<GiveConsent>,
) -> ApiResult<HttpResponse> {
    let (user_id, provider_id) = signed_in_user(&principal)?;
    let form = body.into_inner();
    let decision = Decision::parse(&form.decision)
        .ok_or_else(|| ApiError::validation("/decision", "must be agree or withdraw"))?;
    let now = state.now();
    let found = state
        .db(move |store| {
            let documents = store.consent_documents(provider_id)?;
            let pick = match (form.document_version_id, form.document_id) {
                (Some(version_id), None) if form.version.is_none() => documents
                    .into_iter()
                    .find_map(|(d, versions)| {
                        let v = versions.into_iter().find(|v| v.id == version_id)?;
                        Some((d, v))
                    })
                    .ok_or_else(|| {
                        ApiError::validation(
                            "/document_version_id",
                            "no such version of a document of your provider",
                        )
                    }),
                (None, Some(document_id)) => {
                    let (d, versions) = documents
                        .into_iter()
                        .find(|(d, _)| d.id == document_id)
                        .ok_or_else(|| {
                            ApiError::validation(
                                "/document_id",
                                "no such document of your provider",
                            )
                        })?;
                    let v = match form.version {
                        Some(n) => versions.into_iter().find(|v| v.number == n),
                        None => version_in_force(&versions, now).cloned(),
                    };
                    let v = v.ok_or_else(|| {
                        ApiError::validation("/version", "no such version (or none in force)")
                    })?;
                    Ok((d, v))
                }
                _ => Err(ApiError::validation(
                    "",
                    "give document_version_id, or document_id (and optionally version)",
                )),
            }?;
            Ok(pick)
        })
        .await?;
    let (document, version) = found;
    let record = new_record(
        user_id,
        &document,
        &version,
        decision,
        ConsentMethod::Api,
        &client,
        now,
    );
    let saved = record.clone();
    state
        .db(move |store| Ok(store.insert_consent_records(std::slice::from_ref(&saved))?))
        .await?;
    Ok(HttpResponse::Created().json(ConsentRecordResponse::from(record)))
}

/// Finishes a sign-in answered 403 `consent_required`: records the accepted versions
/// (`after_login`) and goes on with the sign-in (tokens, as the sign-in would have answered).
#[utoipa::path(post, path = "/api/v1/auth/consent", tag = "auth", operation_id = "accept_consents",
    request_body = AcceptConsents,
    responses(
        (status = 200, description = "Tokens, or a challenge for a second factor", body = LoginResponse),
        Invalid, NotJson,
        (status = 401, description = "Unknown, used or expired `consent_token`", body = crate::problem::Problem, content_type = super::responses::PROBLEM_JSON),
    ))]
pub async fn accept_consents(
    state: State,
    client: ClientInfo,
    body: Json<AcceptConsents>,
) -> ApiResult<web::Json<LoginResponse>> {
    let body = body.into_inner();
    let outcome = accept_and_sign_in(&state, body.consent_token, body.accept, &client).await?;
    Ok(web::Json(outcome.into_response()))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/api/v1/providers/{id}/consent-documents")
            .get(list_consent_documents)
            .post(create_consent_document),
    )
    .service(
        resource("/api/v1/consent-documents/{id}")
            .get(get_consent_document)
            .patch(update_consent_document),
    )
    .service(resource("/api/v1/consent-documents/{id}/versions").post(publish_version))
    .service(resource("/api/v1/consent-documents/{id}/records").get(list_document_records))
    .service(resource("/api/v1/users/{id}/consents").get(get_user_consents))
    .service(
        resource("/api/v1/me/consents")
            .get(get_my_consents)
            .post(give_my_consent),
    )
    .service(resource("/api/v1/auth/consent").post(accept_consents));
}

#[derive(OpenApi)]
#[openapi(paths(
    list_consent_documents,
    create_consent_document,
    get_consent_document,
    update_consent_document,
    publish_version,
    list_document_records,
    get_user_consents,
    get_my_consents,
    give_my_consent,
    accept_consents
))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
