//! The OpenID Connect first factor: Google for a provider's users, staff identity providers
//! (Keycloak) for employees, and linking a Google account to a signed-in user.
//!
//! A flow starts with a transaction kept server side (state as its hash, nonce, PKCE
//! verifier, the issuer and redirect URI), single use and short-lived; the callback takes it
//! out, checks `iss` (RFC 9207), redeems the code and has the ID token fully validated by
//! `state.oidc`. A person is (issuer, subject), never an e-mail.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::auth_method::AuthMethod;
use domain::email::Email;
use domain::model::{Client, Employee, Subject, User, parse_login};
use domain::oidc::{
    GoogleSettings, StaffIdentityProvider, restrict_to_allowing_providers, usable_email,
};
use domain::provider::{AccountStatus, ProviderStatus};
use persistence::{EmployeeLink, OidcTransactionRecord, StoreError, UserLink};
use uuid::Uuid;

use super::client_info::ClientInfo;
use super::log::{Attempt, Reason, record};
use super::outcome::{FirstFactor, LoginOutcome, finish_federated_sign_in};
use super::principal::{Actor, load_actor};
use super::throttle::rate_limit;
use crate::outside::oidc::{
    AuthorizationRequest, CodeExchange, OidcClientConfig, OidcError, VerifiedIdentity,
};
use crate::problem::ApiError;
use crate::secrets::random_bytes;
use crate::state::AppState;
use domain::mfa::idp_proves_second_factor;

/// How long a started flow may take to come back.
pub const TRANSACTION_TTL: chrono::Duration = chrono::Duration::minutes(10);

const KIND_GOOGLE: &str = "google";
const KIND_KEYCLOAK: &str = "keycloak";
const KIND_LINK_GOOGLE: &str = "link_google";

/// Scopes asked of Google and of a staff identity provider (`roles`: Keycloak's role
/// claims; an unknown scope is ignored by an OpenID Provider).
const GOOGLE_SCOPES: [&str; 3] = ["openid", "email", "profile"];
const STAFF_SCOPES: [&str; 4] = ["openid", "email", "profile", "roles"];

/// Where a flow signs in: a provider's Google, or a staff identity provider.
pub enum Target {
    Google {
        provider_slug: String,
    },
    Staff {
        idp_id: Option<Uuid>,
    },
    /// A signed-in user links their Google account.
    LinkGoogle {
        user: User,
    },
}

/// The callback's answer from the identity provider.
pub struct Callback {
    pub state: String,
    pub code: String,
    pub iss: Option<String>,
}

fn hash_state(state: &str) -> String {
    domain::secret::hash_secret(state)
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn google_config(settings: &GoogleSettings) -> Option<OidcClientConfig> {
    Some(OidcClientConfig {
        issuer: settings.issuer.clone(),
        client_id: settings.client_id.clone()?,
        client_secret: settings.client_secret.clone()?,
        scopes: scopes(&GOOGLE_SCOPES),
    })
}

fn staff_config(idp: &StaffIdentityProvider) -> OidcClientConfig {
    OidcClientConfig {
        issuer: idp.issuer.clone(),
        client_id: idp.client_id.clone(),
        client_secret: idp.client_secret.clone(),
        scopes: scopes(&STAFF_SCOPES),
    }
}

/// The reason the auth log gets and the answer the caller gets for a provider's failure.
fn idp_failure(error: &OidcError) -> (Reason, ApiError) {
    match error {
        OidcError::NotConfigured => (
            Reason::MethodDisabled,
            ApiError::Forbidden("this identity provider is not configured".into()),
        ),
        OidcError::Unavailable => (
            Reason::IdpUnavailable,
            ApiError::IdentityProviderFailed("it could not be reached or answered an error"),
        ),
        OidcError::TimedOut => (Reason::IdpTimeout, ApiError::IdentityProviderTimeout),
        OidcError::IssuerMismatch => (
            Reason::IssuerMismatch,
            ApiError::IdentityProviderFailed(
                "its discovery document names another issuer than the configured one",
            ),
        ),
        OidcError::MissingIssuer => (
            Reason::IssuerMismatch,
            ApiError::BadRequest(
                "the response lacks `iss`, which this identity provider sends: pass it on".into(),
            ),
        ),
        OidcError::CodeRefused => (Reason::CodeRefused, ApiError::InvalidCredentials),
        OidcError::InvalidIdToken(_) => (Reason::InvalidIdToken, ApiError::InvalidCredentials),
    }
}

/// A flow ready to start: which method it is logged under and what it asks.
struct Prepared {
    method: AuthMethod,
    kind: &'static str,
    provider_id: Option<Uuid>,
    staff_idp_id: Option<Uuid>,
    user_id: Option<Uuid>,
    config: OidcClientConfig,
    redirect_uris: Vec<String>,
}

async fn provider_by_slug(
    state: &AppState,
    slug: String,
) -> Result<domain::model::Provider, ApiError> {
    state
        .db(move |store| {
            store
                .provider_by_slug(&slug)
                .map_err(ApiError::from_store("provider"))
        })
        .await
}

/// The enabled staff identity provider `id`, or the only enabled one.
async fn staff_idp(
    state: &AppState,
    id: Option<Uuid>,
) -> Result<Option<StaffIdentityProvider>, ApiError> {
    let all = state.db(|store| Ok(store.list_staff_idps()?)).await?;
    let mut enabled = all
        .into_iter()
        .filter(|p| p.enabled && id.is_none_or(|id| p.id == id));
    let first = enabled.next();
    if id.is_none() && enabled.next().is_some() {
        return Err(ApiError::validation(
            "/provider",
            "several staff identity providers are on: name one by its id",
        ));
    }
    Ok(first)
}

async fn prepare(
    state: &AppState,
    target: Target,
    client: &ClientInfo,
) -> Result<Prepared, ApiError> {
    match target {
        Target::Google { provider_slug } => {
            let method = AuthMethod::Google;
            let provider = provider_by_slug(state, provider_slug).await?;
            let methods = &provider.auth_methods;
            let on = methods.login_enabled(method) || methods.registration_enabled(method);
            let config = google_config(&methods.google.settings);
            match config {
                Some(config) if on && provider.status == ProviderStatus::Active => Ok(Prepared {
                    method,
                    kind: KIND_GOOGLE,
                    provider_id: Some(provider.id),
                    staff_idp_id: None,
                    user_id: None,
                    config,
                    redirect_uris: methods.google.settings.redirect_uris.clone(),
                }),
                _ => {
                    let attempt = Attempt::new(method, Reason::MethodDisabled);
                    record(state, attempt.provider(Some(provider.id)), client).await;
                    Err(ApiError::MethodDisabled(method.as_str()))
                }
            }
        }
        Target::LinkGoogle { user } => {
            let method = AuthMethod::Google;
            let provider_id = user.provider_id;
            let provider = state
                .db(move |store| Ok(store.provider(provider_id)?))
                .await?;
            let settings = &provider.auth_methods.google.settings;
            match google_config(settings) {
                Some(config) if provider.auth_methods.login_enabled(method) => Ok(Prepared {
                    method,
                    kind: KIND_LINK_GOOGLE,
                    provider_id: Some(provider.id),
                    staff_idp_id: None,
                    user_id: Some(user.id),
                    config,
                    redirect_uris: settings.redirect_uris.clone(),
                }),
                _ => {
                    let attempt = Attempt::new(method, Reason::MethodDisabled)
                        .provider(Some(provider.id))
                        .subject(Some(Subject::user(user.id)));
                    record(state, attempt, client).await;
                    Err(ApiError::MethodDisabled(method.as_str()))
                }
            }
        }
        Target::Staff { idp_id } => {
            let method = AuthMethod::Keycloak;
            let Some(idp) = staff_idp(state, idp_id).await? else {
                record(state, Attempt::new(method, Reason::MethodDisabled), client).await;
                return Err(ApiError::MethodDisabled(method.as_str()));
            };
            Ok(Prepared {
                method,
                kind: KIND_KEYCLOAK,
                provider_id: None,
                staff_idp_id: Some(idp.id),
                user_id: None,
                config: staff_config(&idp),
                redirect_uris: idp.redirect_uris.clone(),
            })
        }
    }
}

/// Starts a flow: keeps its transaction and answers the URL to send the browser to.
pub async fn start(
    state: &AppState,
    target: Target,
    redirect_uri: String,
    client: &ClientInfo,
) -> Result<String, ApiError> {
    // Every start keeps a transaction row: the address's rate limit (the one registrations
    // use) comes before anything is looked up or written.
    let method = match &target {
        Target::Staff { .. } => AuthMethod::Keycloak,
        Target::Google { .. } | Target::LinkGoogle { .. } => AuthMethod::Google,
    };
    rate_limit(
        state,
        "oidc_start",
        || Attempt::new(method, Reason::Ok),
        None,
        client,
    )
    .await?;
    let prepared = prepare(state, target, client).await?;
    let attempt = || {
        Attempt::new(prepared.method, Reason::Ok)
            .provider(prepared.provider_id)
            .subject(prepared.user_id.map(Subject::user))
    };
    // Exactly one of the allowed URIs: no prefix, no normalization (open redirects).
    if !prepared.redirect_uris.contains(&redirect_uri) {
        record(
            state,
            attempt().because(Reason::RedirectUriNotAllowed),
            client,
        )
        .await;
        return Err(ApiError::validation(
            "/redirect_uri",
            "is not one of the redirect URIs allowed for this method",
        ));
    }
    let (state_token, nonce, verifier) = (random_token(), random_token(), random_token());
    let url = state
        .oidc
        .authorization_url(AuthorizationRequest {
            client: prepared.config.clone(),
            redirect_uri: redirect_uri.clone(),
            state: state_token.clone(),
            nonce: nonce.clone(),
            pkce_verifier: verifier.clone(),
        })
        .await;
    let url = match url {
        Ok(url) => url,
        Err(e) => {
            let (reason, error) = idp_failure(&e);
            record(state, attempt().because(reason), client).await;
            return Err(error);
        }
    };
    let now = state.now();
    let transaction = OidcTransactionRecord {
        id: Uuid::now_v7().to_string(),
        state_hash: hash_state(&state_token),
        kind: prepared.kind.to_owned(),
        provider_id: prepared.provider_id.map(|id| id.to_string()),
        staff_idp_id: prepared.staff_idp_id.map(|id| id.to_string()),
        user_id: prepared.user_id.map(|id| id.to_string()),
        issuer: prepared.config.issuer.clone(),
        redirect_uri,
        nonce,
        pkce_verifier: verifier,
        created_at: now.naive_utc(),
        expires_at: (now + TRANSACTION_TTL).naive_utc(),
    };
    state
        .db(move |store| Ok(store.insert_oidc_transaction(&transaction, now)?))
        .await?;
    Ok(url)
}

/// The person's name as the identity provider gives it, when it is a valid name.
fn display_name(identity: &VerifiedIdentity, fallback: &str) -> String {
    identity
        .name
        .as_deref()
        .and_then(|n| domain::error::parse_name(n, 200).ok())
        .unwrap_or_else(|| fallback.to_owned())
}

fn parse_uuid(value: Option<&str>) -> Option<Uuid> {
    value.and_then(|v| Uuid::parse_str(v).ok())
}

/// What a callback proved: the verified identity, and the transaction it belongs to.
struct Redeemed {
    transaction: OidcTransactionRecord,
    identity: VerifiedIdentity,
}

/// Takes the transaction of `callback.state` (it is gone whatever happens next), checks
/// that it is of `kind` and that `iss` names its issuer, and redeems the code.
async fn redeem(
    state: &AppState,
    kind: &'static str,
    method: AuthMethod,
    callback: Callback,
    client: &ClientInfo,
) -> Result<Redeemed, ApiError> {
    let state_hash = hash_state(&callback.state);
    let now = state.now();
    let transaction = state
        .db(move |store| Ok(store.take_oidc_transaction(&state_hash, now)?))
        .await?;
    let Some(transaction) = transaction.filter(|t| t.kind == kind) else {
        record(state, Attempt::new(method, Reason::InvalidState), client).await;
        return Err(ApiError::BadRequest(
            "the state is unknown, used or expired: start the sign-in again".into(),
        ));
    };
    let provider_id = parse_uuid(transaction.provider_id.as_deref());
    let attempt = || {
        Attempt::new(method, Reason::Ok)
            .provider(provider_id)
            .subject(parse_uuid(transaction.user_id.as_deref()).map(Subject::user))
    };
    // RFC 9207: an answer from another issuer than the flow's is a mix-up. (A missing `iss`
    // is refused by the client when the provider announces that it sends one.)
    if callback
        .iss
        .as_ref()
        .is_some_and(|iss| *iss != transaction.issuer)
    {
        record(state, attempt().because(Reason::IssuerMismatch), client).await;
        return Err(ApiError::BadRequest(
            "the response comes from another issuer than the sign-in was started with".into(),
        ));
    }
    let config = match config_of(state, &transaction).await? {
        Some(config) => config,
        None => {
            record(state, attempt().because(Reason::MethodDisabled), client).await;
            return Err(ApiError::MethodDisabled(method.as_str()));
        }
    };
    let exchanged = state
        .oidc
        .exchange_code(CodeExchange {
            client: config,
            redirect_uri: transaction.redirect_uri.clone(),
            code: callback.code,
            response_iss: callback.iss,
            nonce: transaction.nonce.clone(),
            pkce_verifier: transaction.pkce_verifier.clone(),
        })
        .await;
    match exchanged {
        Ok(identity) if identity.issuer == transaction.issuer => Ok(Redeemed {
            transaction,
            identity,
        }),
        Ok(_) => {
            record(state, attempt().because(Reason::IssuerMismatch), client).await;
            Err(ApiError::InvalidCredentials)
        }
        Err(e) => {
            let (reason, error) = idp_failure(&e);
            record(state, attempt().because(reason), client).await;
            Err(error)
        }
    }
}

/// The relying-party registration a transaction was started with, as configured now: a
/// method switched off or a secret changed in between applies at once.
async fn config_of(
    state: &AppState,
    transaction: &OidcTransactionRecord,
) -> Result<Option<OidcClientConfig>, ApiError> {
    if let Some(idp_id) = parse_uuid(transaction.staff_idp_id.as_deref()) {
        return Ok(staff_idp(state, Some(idp_id))
            .await?
            .filter(|idp| idp.issuer == transaction.issuer)
            .map(|idp| staff_config(&idp)));
    }
    let Some(provider_id) = parse_uuid(transaction.provider_id.as_deref()) else {
        return Ok(None);
    };
    let provider = state
        .db(move |store| Ok(store.provider(provider_id)?))
        .await?;
    Ok(google_config(&provider.auth_methods.google.settings)
        .filter(|c| c.issuer == transaction.issuer))
}

/// The callback of a Google sign-in: the linked user, or a registration where allowed.
pub async fn google_callback(
    state: &AppState,
    callback: Callback,
    client: &ClientInfo,
) -> Result<LoginOutcome, ApiError> {
    let method = AuthMethod::Google;
    let Redeemed {
        transaction,
        identity,
    } = redeem(state, KIND_GOOGLE, method, callback, client).await?;
    let provider_id = parse_uuid(transaction.provider_id.as_deref())
        .ok_or_else(|| ApiError::internal("a Google flow without a provider"))?;
    let provider = state
        .db(move |store| Ok(store.provider(provider_id)?))
        .await?;
    let attempt = Attempt::new(method, Reason::Ok).provider(Some(provider_id));
    let settings = &provider.auth_methods.google.settings;
    if !settings.allows_hosted_domain(identity.hosted_domain.as_deref()) {
        record(
            state,
            attempt.because(Reason::HostedDomainNotAllowed),
            client,
        )
        .await;
        return Err(ApiError::Forbidden(
            "this Google account's domain is not allowed here".into(),
        ));
    }
    let (issuer, subject) = (identity.issuer.clone(), identity.subject.clone());
    let link = state
        .db(move |store| Ok(store.user_by_link(provider_id, &issuer, &subject)?))
        .await?;
    if let Some(link) = link {
        let subject = Subject::user(link.user_id);
        match load_actor(state, subject, Some(method)).await? {
            Ok(_) => {}
            Err(refused) => {
                let attempt = attempt.subject(Some(subject));
                record(state, attempt.because(refused.reason()), client).await;
                return Err(refused.into_error());
            }
        }
        let now = state.now();
        state
            .db(move |store| Ok(store.touch_user_link(link.id, now)?))
            .await?;
        record(state, attempt.subject(Some(subject)), client).await;
        let first = FirstFactor {
            subject,
            provider_id: Some(provider_id),
            method,
        };
        let proven = google_second_factor(&provider, &identity);
        return finish_federated_sign_in(state, first, proven, client).await;
    }
    if provider.status != ProviderStatus::Active {
        record(state, attempt.because(Reason::ProviderSuspended), client).await;
        return Err(ApiError::MethodDisabled(method.as_str()));
    }
    if !provider.auth_methods.registration_enabled(method) {
        record(state, attempt.because(Reason::NotRegistered), client).await;
        return Err(ApiError::Forbidden(
            "no account here is linked to this Google account, and registration through Google \
             is off: sign in another way and link it from your account"
                .into(),
        ));
    }
    register_with_google(state, &provider, identity, client).await
}

/// Whether the provider's policy accepts this Google sign-in as a second factor too.
fn google_second_factor(provider: &domain::model::Provider, identity: &VerifiedIdentity) -> bool {
    let policies = &provider.policies;
    idp_proves_second_factor(
        policies.accept_idp_mfa,
        &policies.idp_mfa_acr_values,
        &identity.amr,
        identity.acr.as_deref(),
    )
}

async fn register_with_google(
    state: &AppState,
    provider: &domain::model::Provider,
    identity: VerifiedIdentity,
    client: &ClientInfo,
) -> Result<LoginOutcome, ApiError> {
    let method = AuthMethod::Google;
    let attempt = Attempt::new(method, Reason::Ok).provider(Some(provider.id));
    let proven = google_second_factor(provider, &identity);
    // Only a verified e-mail is used at all; a user needs one.
    let email = usable_email(identity.email.as_deref(), identity.email_verified)
        .and_then(|e| Email::parse(e).ok());
    let Some(email) = email else {
        record(state, attempt.because(Reason::EmailNotVerified), client).await;
        return Err(ApiError::Forbidden(
            "registration needs a verified e-mail from Google".into(),
        ));
    };
    let now = state.now();
    let name = display_name(&identity, email.as_str());
    let new_client = Client {
        id: Uuid::now_v7(),
        provider_id: provider.id,
        name: name.clone(),
        status: AccountStatus::Active,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let user = User {
        id: Uuid::now_v7(),
        provider_id: provider.id,
        client_id: new_client.id,
        email: email.clone(),
        name,
        phone: None,
        status: AccountStatus::Active,
        has_password: false,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let link = UserLink {
        id: Uuid::now_v7(),
        provider_id: provider.id,
        user_id: user.id,
        issuer: identity.issuer,
        subject: identity.subject,
        email: Some(email.to_string()),
        created_at: now,
        last_used_at: Some(now),
    };
    let (c, u) = (new_client.clone(), user.clone());
    let registered = state
        .db(move |store| match store.register_linked(&c, &u, &link) {
            Err(StoreError::Conflict(c)) if c.field == Some("/email") => Ok(false),
            other => other.map(|()| true).map_err(Into::into),
        })
        .await?;
    if !registered {
        // An e-mail match never links an existing account by itself (account takeover).
        record(state, attempt.because(Reason::EmailTaken), client).await;
        return Err(ApiError::conflict_on(
            "/email",
            "an account with this e-mail exists: sign in to it and link Google from there",
        ));
    }
    // Google's page offers none of the provider's documents: the consent gate of
    // `finish_sign_in` below asks for the must-agree ones at once (recorded `after_login`).
    let subject = Subject::user(user.id);
    record(
        state,
        attempt.subject(Some(subject)).because(Reason::Registered),
        client,
    )
    .await;
    let first = FirstFactor {
        subject,
        provider_id: Some(provider.id),
        method,
    };
    finish_federated_sign_in(state, first, proven, client).await
}

/// The callback of linking: the signed-in user who started it gets the Google account.
pub async fn link_callback(
    state: &AppState,
    user: &User,
    callback: Callback,
    client: &ClientInfo,
) -> Result<UserLink, ApiError> {
    let method = AuthMethod::Google;
    let Redeemed {
        transaction,
        identity,
    } = redeem(state, KIND_LINK_GOOGLE, method, callback, client).await?;
    let subject = Subject::user(user.id);
    let attempt = Attempt::new(method, Reason::Ok)
        .provider(Some(user.provider_id))
        .subject(Some(subject));
    // Finished by the same user who started it: a link cannot be planted in another's
    // account (login CSRF).
    if parse_uuid(transaction.user_id.as_deref()) != Some(user.id) {
        record(state, attempt.because(Reason::InvalidState), client).await;
        return Err(ApiError::BadRequest(
            "the state is unknown, used or expired: start the sign-in again".into(),
        ));
    }
    let now = state.now();
    let link = UserLink {
        id: Uuid::now_v7(),
        provider_id: user.provider_id,
        user_id: user.id,
        issuer: identity.issuer,
        subject: identity.subject,
        email: usable_email(identity.email.as_deref(), identity.email_verified).map(str::to_owned),
        created_at: now,
        last_used_at: None,
    };
    let stored = link.clone();
    state
        .db(move |store| {
            store.link_user(&stored).map_err(|e| match e {
                StoreError::Conflict(_) => ApiError::conflict(
                    "this Google account is already linked to an account of this provider",
                ),
                other => other.into(),
            })
        })
        .await?;
    record(state, attempt.because(Reason::Linked), client).await;
    Ok(link)
}

/// The callback of a staff sign-in: the linked employee with the roles mapped now, or a new
/// employee when a role maps.
pub async fn staff_callback(
    state: &AppState,
    callback: Callback,
    client: &ClientInfo,
) -> Result<LoginOutcome, ApiError> {
    let method = AuthMethod::Keycloak;
    let Redeemed {
        transaction,
        identity,
    } = redeem(state, KIND_KEYCLOAK, method, callback, client).await?;
    let idp_id = parse_uuid(transaction.staff_idp_id.as_deref());
    let idp = staff_idp(state, idp_id)
        .await?
        .ok_or(ApiError::MethodDisabled(method.as_str()))?;
    // Providers whose `keycloak` settings leave this realm out get no role from it.
    let providers = state
        .db(|store| {
            let all = store.all_providers()?;
            Ok(all
                .into_iter()
                .map(|p| (p.id, p.auth_methods.keycloak.settings))
                .collect::<Vec<_>>())
        })
        .await?;
    let grants = idp
        .map_roles(&identity.roles)
        .and_then(|grants| restrict_to_allowing_providers(grants, idp.id, &providers));
    let proven = idp_proves_second_factor(
        idp.accept_idp_mfa,
        &idp.idp_mfa_acr_values,
        &identity.amr,
        identity.acr.as_deref(),
    );
    let (issuer, subject) = (identity.issuer.clone(), identity.subject.clone());
    let linked = state
        .db(move |store| Ok(store.employee_by_link(&issuer, &subject)?))
        .await?;
    let attempt = Attempt::new(method, Reason::Ok);
    let employee_id = match linked {
        Some(id) => {
            let now = state.now();
            let no_role = grants.is_none();
            // Replaced at every login: a role removed at the provider is gone here too;
            // with none left, everything the employee holds is revoked.
            state
                .db(move |store| Ok(store.replace_mapped_grants(id, grants, now)?))
                .await?;
            if no_role {
                let attempt = attempt.subject(Some(Subject::employee(id)));
                record(state, attempt.because(Reason::NoMappedRole), client).await;
                return Err(no_mapped_role());
            }
            id
        }
        None => {
            let Some((roles, providers)) = grants else {
                record(state, attempt.because(Reason::NoMappedRole), client).await;
                return Err(no_mapped_role());
            };
            provision(state, &idp, identity, roles, providers).await?
        }
    };
    let subject = Subject::employee(employee_id);
    match load_actor(state, subject, Some(method)).await? {
        Ok(Actor::Employee(_)) => {}
        Ok(Actor::User(_)) => return Err(ApiError::internal("an employee link names a user")),
        Err(refused) => {
            let attempt = attempt.subject(Some(subject));
            record(state, attempt.because(refused.reason()), client).await;
            return Err(refused.into_error());
        }
    }
    record(state, attempt.subject(Some(subject)), client).await;
    let first = FirstFactor {
        subject,
        provider_id: None,
        method,
    };
    finish_federated_sign_in(state, first, proven, client).await
}

fn no_mapped_role() -> ApiError {
    ApiError::Forbidden("no role of yours at the identity provider gives access here".into())
}

/// A first staff login: a new employee (never an existing one found by e-mail or login).
async fn provision(
    state: &AppState,
    idp: &StaffIdentityProvider,
    identity: VerifiedIdentity,
    roles: Vec<domain::permission::Role>,
    providers: domain::permission::ProviderScope<Uuid>,
) -> Result<Uuid, ApiError> {
    let now = state.now();
    let id = Uuid::now_v7();
    let email = usable_email(identity.email.as_deref(), identity.email_verified)
        .and_then(|e| Email::parse(e).ok());
    // A readable login when the verified e-mail makes a free one; else one of our own.
    let wanted = email
        .as_ref()
        .and_then(|e| parse_login(e.as_str()).ok())
        .unwrap_or_default();
    let login = state
        .db(move |store| {
            let free = !wanted.is_empty() && store.employee_credentials(&wanted)?.is_none();
            Ok(if free {
                wanted
            } else {
                format!("sso-{}", &id.simple().to_string()[..12])
            })
        })
        .await?;
    let name = display_name(&identity, &login);
    let employee = Employee {
        id,
        login,
        name,
        email,
        status: AccountStatus::Active,
        roles,
        providers,
        has_password: false,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let link = EmployeeLink {
        id: Uuid::now_v7(),
        employee_id: id,
        staff_idp_id: idp.id,
        issuer: identity.issuer,
        subject: identity.subject,
        created_at: now,
    };
    state
        .db(move |store| Ok(store.provision_employee(&employee, &link)?))
        .await?;
    Ok(id)
}
