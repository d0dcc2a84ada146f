use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use domain::ValidationErrors;
use domain::auth_method::{AuthMethod, AuthMethods, MethodConfig, NoSettings};
use domain::country::CountryCode;
use domain::error::parse_name;
use domain::model::Provider;
use domain::oidc::{GOOGLE_ISSUER, GoogleSettings, KeycloakSettings};
use domain::policy::ProviderPolicies;
use domain::policy::SmsSendLimits;
use domain::provider::{ProviderSlug, ProviderStatus};
use domain::sign_in::SecondFactor;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use super::audit_events as audit;
use super::params::{PageQuery, parse_id};
use super::precondition::{IfMatch, Stale, edit, tagged};
use super::resource;
use super::responses::{BadQuery, Invalid, NeedsPermission, NotFound, NotJson, PROBLEM_JSON};
use super::schemas::{
    self, AuthMethodName, EmptySettings, LoginOnlySwitches, ProviderStatusName, jurisdiction,
    jurisdiction_or_null,
};
use crate::extract::{Json, Staff, need};
use crate::problem::{ApiError, ApiResult, Problem};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProvider {
    /// Lower-case name in public URLs: 2 to 63 of `a-z`, `0-9` and `-`, starting with a
    /// letter and not ending with `-`; unique.
    #[schema(
        example = "acme",
        min_length = 2,
        max_length = 63,
        pattern = "^[a-z][a-z0-9-]{0,61}[a-z0-9]$"
    )]
    pub slug: String,
    #[schema(schema_with = schemas::name)]
    pub name: String,
    /// An officially assigned ISO 3166-1 alpha-2 country code whose law applies, in either
    /// case (stored upper-case).
    #[schema(schema_with = jurisdiction)]
    pub jurisdiction: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProvider {
    #[schema(schema_with = schemas::name_or_null)]
    pub name: Option<String>,
    /// An officially assigned ISO 3166-1 alpha-2 country code, in either case. Left out or
    /// `null` keeps it.
    #[schema(schema_with = jurisdiction_or_null)]
    pub jurisdiction: Option<String>,
    /// `suspended` stops every sign-in of the provider's people; `active` allows them again.
    /// Left out or `null` keeps it.
    #[schema(value_type = Option<ProviderStatusName>, example = "suspended")]
    pub status: Option<ProviderStatus>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderResponse {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// ISO 3166-1 alpha-2, upper-case.
    #[schema(example = "DE")]
    pub jurisdiction: String,
    #[schema(value_type = ProviderStatusName)]
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Provider> for ProviderResponse {
    fn from(p: Provider) -> Self {
        Self {
            id: p.id,
            slug: p.slug.to_string(),
            name: p.name,
            jurisdiction: p.jurisdiction.to_string(),
            status: p.status.as_str().into(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderPage {
    pub items: Vec<ProviderResponse>,
    #[schema(value_type = Option<super::schemas::CursorName>)]
    pub next_cursor: Option<String>,
}

/// Switches of one method; `settings` depends on the method (none of them has any yet).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodSwitches {
    /// May new clients register with this method?
    pub registration: bool,
    /// May people sign in with it?
    pub login: bool,
    #[serde(default)]
    pub settings: EmptySettings,
}

/// Google's switches and its settings (an OpenID Connect client of the provider's own).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoogleSwitches {
    pub registration: bool,
    pub login: bool,
    #[serde(default)]
    pub settings: GoogleSettingsBody,
}

fn google_issuer() -> String {
    GOOGLE_ISSUER.into()
}

/// Google's settings. Switching `google` on needs `client_id`, `client_secret` and a
/// redirect URI (422 naming the missing one).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoogleSettingsBody {
    /// Google's issuer unless a test or a private deployment points elsewhere; discovery
    /// must name exactly this issuer.
    #[serde(default = "google_issuer")]
    #[schema(example = "https://accounts.google.com")]
    pub issuer: String,
    /// The OAuth client id from Google's console.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Write-only: never answered. Left out or `null` keeps the stored secret.
    #[serde(default, skip_serializing)]
    #[schema(write_only)]
    pub client_secret: Option<String>,
    /// Whether a secret is stored (read-only; ignored in a request).
    #[serde(default)]
    #[schema(read_only)]
    pub client_secret_set: bool,
    /// Google Workspace domains (`hd`) allowed to sign in; empty: any Google account.
    #[serde(default)]
    pub hosted_domains: Vec<String>,
    /// The frontend's callback pages, compared exactly.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

impl Default for GoogleSettingsBody {
    fn default() -> Self {
        Self {
            issuer: google_issuer(),
            client_id: None,
            client_secret: None,
            client_secret_set: false,
            hosted_domains: Vec::new(),
            redirect_uris: Vec::new(),
        }
    }
}

fn to_google(m: GoogleSwitches) -> MethodConfig<GoogleSettings> {
    let s = m.settings;
    MethodConfig {
        registration: m.registration,
        login: m.login,
        settings: GoogleSettings {
            issuer: s.issuer,
            client_id: s.client_id,
            client_secret: s.client_secret,
            hosted_domains: s.hosted_domains,
            redirect_uris: s.redirect_uris,
        },
    }
}

fn from_google(m: MethodConfig<GoogleSettings>) -> GoogleSwitches {
    let s = m.settings;
    GoogleSwitches {
        registration: m.registration,
        login: m.login,
        settings: GoogleSettingsBody {
            issuer: s.issuer,
            client_id: s.client_id,
            client_secret: None,
            client_secret_set: s.client_secret.is_some(),
            hosted_domains: s.hosted_domains,
            redirect_uris: s.redirect_uris,
        },
    }
}

/// Keycloak's switches and settings. Turning it on needs no settings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeycloakSwitches {
    /// Always `false`: Keycloak signs employees in, it registers nobody.
    pub registration: bool,
    pub login: bool,
    #[serde(default)]
    pub settings: KeycloakSettingsBody,
}

/// Which staff identity providers (`/api/v1/staff-identity-providers`) give employees roles
/// for this provider.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeycloakSettingsBody {
    /// Empty (the default): every staff identity provider. Otherwise an employee signed in
    /// through another one gets no role for this provider from that login (a role mapped
    /// for every provider then covers only the providers that allow the realm, as they are
    /// at the login); with no provider left, the login is refused like one without a mapped
    /// role. At most 50.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub staff_identity_provider_ids: Vec<Uuid>,
}

fn to_keycloak(m: KeycloakSwitches) -> MethodConfig<KeycloakSettings> {
    MethodConfig {
        registration: m.registration,
        login: m.login,
        settings: KeycloakSettings {
            staff_identity_provider_ids: m.settings.staff_identity_provider_ids,
        },
    }
}

fn from_keycloak(m: MethodConfig<KeycloakSettings>) -> KeycloakSwitches {
    KeycloakSwitches {
        registration: m.registration,
        login: m.login,
        settings: KeycloakSettingsBody {
            staff_identity_provider_ids: m.settings.staff_identity_provider_ids,
        },
    }
}

/// The "methods of registration and authorization" form of a provider.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthMethodsBody {
    pub password: MethodSwitches,
    #[schema(value_type = LoginOnlySwitches)]
    pub temporary_key: MethodSwitches,
    pub phone: MethodSwitches,
    pub google: GoogleSwitches,
    pub keycloak: KeycloakSwitches,
    #[schema(value_type = LoginOnlySwitches)]
    pub api_token: MethodSwitches,
    #[schema(value_type = LoginOnlySwitches)]
    pub authinfo: MethodSwitches,
}

fn to_config(m: MethodSwitches) -> MethodConfig<NoSettings> {
    MethodConfig {
        registration: m.registration,
        login: m.login,
        settings: NoSettings {},
    }
}

fn from_config(m: MethodConfig<NoSettings>) -> MethodSwitches {
    MethodSwitches {
        registration: m.registration,
        login: m.login,
        settings: EmptySettings {},
    }
}

impl From<AuthMethodsBody> for AuthMethods {
    fn from(b: AuthMethodsBody) -> Self {
        AuthMethods {
            password: to_config(b.password),
            temporary_key: to_config(b.temporary_key),
            phone: to_config(b.phone),
            google: to_google(b.google),
            keycloak: to_keycloak(b.keycloak),
            api_token: to_config(b.api_token),
            authinfo: to_config(b.authinfo),
        }
    }
}

impl From<AuthMethods> for AuthMethodsBody {
    fn from(m: AuthMethods) -> Self {
        AuthMethodsBody {
            password: from_config(m.password),
            temporary_key: from_config(m.temporary_key),
            phone: from_config(m.phone),
            google: from_google(m.google),
            keycloak: from_keycloak(m.keycloak),
            api_token: from_config(m.api_token),
            authinfo: from_config(m.authinfo),
        }
    }
}

/// A provider's policies.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoliciesBody {
    /// Employees must use a second factor.
    pub admin_mfa_required: bool,
    /// Every user must use a second factor; passwords may then be 8 characters long
    /// instead of 15.
    pub mfa_required_for_everyone: bool,
    /// Days an auth event is kept (1 to 3650).
    #[schema(example = 180, minimum = 1, maximum = 3650)]
    pub auth_log_retention_days: u32,
    /// At most 100 IP addresses or CIDR networks (IPv4 or IPv6) allowed to use `authinfo`;
    /// empty allows any.
    #[schema(example = json!(["203.0.113.0/24"]), max_items = 100)]
    pub authinfo_ip_allowlist: Vec<String>,
    /// Months (1 to 120) without any activity after which a client is cleared by the
    /// schedule (needs the `gdpr_cleanup` module); `null` or left out: never.
    #[serde(default)]
    #[schema(example = 36, minimum = 1, maximum = 120)]
    pub inactive_client_retention_months: Option<u32>,
    /// Caps on the SMS codes sent per hour, against SMS pumping; left out: the defaults.
    #[serde(default)]
    pub sms_send_limits: SmsSendLimitsBody,
    /// A Google sign-in whose ID token shows a second factor counts as one: `amr` with
    /// `mfa` or factors of two kinds (such as `pwd` and `otp`), or `acr` in
    /// `idp_mfa_acr_values`. No challenge follows and admin enforcement accepts the session.
    /// Off (the default): Google is a first factor like a password.
    #[serde(default)]
    pub accept_idp_mfa: bool,
    /// At most 20 `acr` values that count as a second factor when `accept_idp_mfa` is on.
    #[serde(default)]
    #[schema(example = json!([]), max_items = 20)]
    pub idp_mfa_acr_values: Vec<String>,
}

/// Most SMS codes sent in any hour (each 1 to 10000). A code asked for beyond a cap is
/// refused with 429 `sms_rate_limited`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SmsSendLimitsBody {
    /// To one number (default 5).
    #[schema(example = 5, minimum = 1, maximum = 10000)]
    pub per_number_per_hour: u32,
    /// For one account, whatever the number (default 10).
    #[schema(example = 10, minimum = 1, maximum = 10000)]
    pub per_account_per_hour: u32,
    /// Asked for from one IP address (default 20).
    #[schema(example = 20, minimum = 1, maximum = 10000)]
    pub per_ip_per_hour: u32,
}

impl Default for SmsSendLimitsBody {
    fn default() -> Self {
        SmsSendLimits::default().into()
    }
}

impl From<SmsSendLimits> for SmsSendLimitsBody {
    fn from(l: SmsSendLimits) -> Self {
        Self {
            per_number_per_hour: l.per_number_per_hour,
            per_account_per_hour: l.per_account_per_hour,
            per_ip_per_hour: l.per_ip_per_hour,
        }
    }
}

impl From<SmsSendLimitsBody> for SmsSendLimits {
    fn from(b: SmsSendLimitsBody) -> Self {
        Self {
            per_number_per_hour: b.per_number_per_hour,
            per_account_per_hour: b.per_account_per_hour,
            per_ip_per_hour: b.per_ip_per_hour,
        }
    }
}

impl From<PoliciesBody> for ProviderPolicies {
    fn from(b: PoliciesBody) -> Self {
        ProviderPolicies {
            admin_mfa_required: b.admin_mfa_required,
            mfa_required_for_everyone: b.mfa_required_for_everyone,
            auth_log_retention_days: b.auth_log_retention_days,
            authinfo_ip_allowlist: b.authinfo_ip_allowlist,
            inactive_client_retention_months: b.inactive_client_retention_months,
            sms_send_limits: b.sms_send_limits.into(),
            accept_idp_mfa: b.accept_idp_mfa,
            idp_mfa_acr_values: b.idp_mfa_acr_values,
        }
    }
}

impl From<ProviderPolicies> for PoliciesBody {
    fn from(p: ProviderPolicies) -> Self {
        PoliciesBody {
            admin_mfa_required: p.admin_mfa_required,
            mfa_required_for_everyone: p.mfa_required_for_everyone,
            auth_log_retention_days: p.auth_log_retention_days,
            authinfo_ip_allowlist: p.authinfo_ip_allowlist,
            inactive_client_retention_months: p.inactive_client_retention_months,
            sms_send_limits: p.sms_send_limits.into(),
            accept_idp_mfa: p.accept_idp_mfa,
            idp_mfa_acr_values: p.idp_mfa_acr_values,
        }
    }
}

/// What a login or registration form of a provider should offer. No secrets in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginOptions {
    pub provider: LoginOptionsProvider,
    /// Methods a login form offers (API tokens and authinfo are sent with each request, not
    /// entered in a form, so they are never listed).
    #[schema(value_type = Vec<AuthMethodName>, example = json!(["password", "temporary_key"]))]
    pub login: Vec<String>,
    /// Methods new clients can register with.
    #[schema(value_type = Vec<AuthMethodName>, example = json!(["password"]))]
    pub registration: Vec<String>,
    /// Shortest password a registration accepts, in characters.
    #[schema(example = 15)]
    pub password_min_length: usize,
    /// Every user must set up a second factor (the policy `mfa_required_for_everyone`):
    /// after signing in without one, a user may only enroll one.
    pub mfa_required: bool,
    /// Second factors people can enroll and be asked for after the first factor: render
    /// an enrollment page for these, and a code field when a sign-in answers
    /// `mfa_required: true` (see `POST /api/v1/auth/mfa/verify`).
    #[schema(value_type = Vec<super::schemas::SecondFactorName>, example = json!(["totp", "sms", "recovery_code"]))]
    pub second_factors: Vec<String>,
    /// The consent documents to show on the registration form (version in force);
    /// registration requires those with `must_agree`.
    pub consent_documents: Vec<crate::problem::DocumentToShow>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginOptionsProvider {
    pub slug: String,
    pub name: String,
}

/// Loads a provider the employee may see; others are "not found".
pub(crate) async fn visible_provider<P>(
    state: &crate::state::AppState,
    staff: &Staff<P>,
    id: &str,
) -> ApiResult<Provider> {
    let id = parse_id(id, "provider")?;
    staff.check_provider(id, "provider")?;
    state
        .db(move |store| store.provider(id).map_err(ApiError::from_store("provider")))
        .await
}

/// Lists providers the caller may see.
#[utoipa::path(get, path = "/api/v1/providers", tag = "providers", operation_id = "list_providers",
    params(PageQuery), security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, body = ProviderPage),
        NeedsPermission, BadQuery,
    ))]
pub async fn list_providers(
    state: crate::state::State,
    staff: Staff<need::ProvidersRead>,
    query: crate::extract::Query<PageQuery>,
) -> ApiResult<web::Json<ProviderPage>> {
    let page = query.to_request()?;
    let scope = staff.scope().clone();
    let page = state
        .db(move |store| Ok(store.list_providers(&scope, page)?))
        .await?;
    Ok(web::Json(ProviderPage {
        next_cursor: page.next_cursor.map(|c| c.to_string()),
        items: page.items.into_iter().map(Into::into).collect(),
    }))
}

/// Creates a provider with the default methods (password, one-time keys, API tokens) and
/// policies.
#[utoipa::path(post, path = "/api/v1/providers", tag = "providers", operation_id = "create_provider",
    request_body = CreateProvider, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 201, body = ProviderResponse, links(
            ("LoginOptions" = (operation_id = "get_login_options",
                parameters(("provider" = "$response.body#/slug")),
                description = "The new provider's login options, by its slug")),
            ("Register" = (operation_id = "register",
                parameters(("provider" = "$response.body#/slug")),
                description = "Registration at the new provider, by its slug")),
        )),
        NeedsPermission, Invalid, NotJson,
        (status = 409, description = "The slug is taken", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn create_provider(
    state: crate::state::State,
    staff: Staff<need::ProvidersWrite>,
    body: Json<CreateProvider>,
) -> ApiResult<HttpResponse> {
    if !matches!(staff.scope(), domain::permission::ProviderScope::All) {
        return Err(ApiError::Forbidden(
            "an employee limited to some providers cannot create providers".into(),
        ));
    }
    let body = body.into_inner();
    let mut errors = ValidationErrors::new();
    let slug = errors.check("/slug", ProviderSlug::parse(&body.slug));
    let name = errors.check("/name", parse_name(&body.name, 200));
    let jurisdiction = errors.check("/jurisdiction", CountryCode::parse(&body.jurisdiction));
    let (Some(slug), Some(name), Some(jurisdiction)) = (slug, name, jurisdiction) else {
        return Err(errors.into());
    };
    let now = state.now();
    let provider = Provider {
        id: Uuid::now_v7(),
        slug,
        name,
        jurisdiction,
        status: ProviderStatus::Active,
        auth_methods: AuthMethods::default(),
        policies: ProviderPolicies::default(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let saved = provider.clone();
    state
        .db(move |store| {
            store.insert_provider(&saved).map_err(|e| match e {
                persistence::StoreError::Conflict(c) if c.field == Some("/slug") => {
                    ApiError::conflict_on("/slug", "a provider with this slug exists")
                }
                other => other.into(),
            })
        })
        .await?;
    let created = ProviderResponse::from(provider);
    audit::record(
        &state,
        &staff,
        audit::created(
            "provider.create",
            "provider",
            created.id.to_string(),
            Some(created.id),
            &created,
        ),
    )
    .await;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/providers/{}", created.id)))
        .json(created))
}

/// Reads one provider.
#[utoipa::path(get, path = "/api/v1/providers/{id}", tag = "providers", operation_id = "get_provider",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, body = ProviderResponse, headers(("ETag" = String, description = "The provider's version, for `If-Match`"))),
        NeedsPermission, NotFound,
    ))]
pub async fn get_provider(
    state: crate::state::State,
    staff: Staff<need::ProvidersRead>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let provider = visible_provider(&state, &staff, &id).await?;
    Ok(tagged(provider.version, ProviderResponse::from(provider)))
}

/// Changes a provider read with `visible_provider` (see `precondition::edit`).
async fn edit_provider(
    state: &crate::state::AppState,
    provider: &Provider,
    if_match: IfMatch,
    apply: impl Fn(&mut Provider) + Send + 'static,
) -> ApiResult<Provider> {
    let id = provider.id;
    let now = state.now();
    edit(
        state,
        if_match,
        move |store| store.provider(id).map_err(ApiError::from_store("provider")),
        move |provider| {
            apply(provider);
            provider.updated_at = now;
            Ok(())
        },
        |store, provider| Ok(store.update_provider(provider)?),
    )
    .await
}

/// Changes a provider's name, jurisdiction or status.
#[utoipa::path(patch, path = "/api/v1/providers/{id}", tag = "providers", operation_id = "update_provider",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` of the read this change is based on; 412 if the provider changed since")), request_body = UpdateProvider, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, body = ProviderResponse, headers(("ETag" = String, description = "The provider's new version"))),
        NeedsPermission, NotFound, Invalid, NotJson, Stale,
    ))]
pub async fn update_provider(
    state: crate::state::State,
    staff: Staff<need::ProvidersWrite>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<UpdateProvider>,
) -> ApiResult<HttpResponse> {
    let provider = visible_provider(&state, &staff, &id).await?;
    let body = body.into_inner();
    let mut errors = ValidationErrors::new();
    let name = body
        .name
        .as_deref()
        .and_then(|name| errors.check("/name", parse_name(name, 200)));
    let jurisdiction = body
        .jurisdiction
        .as_deref()
        .and_then(|j| errors.check("/jurisdiction", CountryCode::parse(j)));
    errors.into_result()?;
    let status = body.status;
    let before = ProviderResponse::from(provider.clone());
    let provider = edit_provider(&state, &provider, if_match, move |provider| {
        if let Some(name) = &name {
            provider.name = name.clone();
        }
        if let Some(jurisdiction) = jurisdiction {
            provider.jurisdiction = jurisdiction;
        }
        if let Some(status) = status {
            provider.status = status;
        }
    })
    .await?;
    let version = provider.version;
    let after = ProviderResponse::from(provider);
    audit::record(
        &state,
        &staff,
        audit::updated(
            "provider.update",
            "provider",
            after.id.to_string(),
            Some(after.id),
            &before,
            &after,
        ),
    )
    .await;
    Ok(tagged(version, after))
}

/// The methods of registration and authorization of a provider.
#[utoipa::path(get, path = "/api/v1/providers/{id}/auth-methods", tag = "providers", operation_id = "get_auth_methods",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, body = AuthMethodsBody, headers(("ETag" = String, description = "The provider's version, for `If-Match`"))),
        NeedsPermission, NotFound,
    ))]
pub async fn get_auth_methods(
    state: crate::state::State,
    staff: Staff<need::ProvidersRead>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let provider = visible_provider(&state, &staff, &id).await?;
    Ok(tagged(
        provider.version,
        AuthMethodsBody::from(provider.auth_methods),
    ))
}

/// Replaces the whole form: every method, both switches. Registration can be on only for
/// `password`, `phone` and `google`. Turning a switch on is refused (422 at
/// `/<method>/login` or `/<method>/registration`, naming the processor and the reason) when
/// a processor behind the method (or, for `phone`, behind a gateway serving the provider)
/// fails the transfer rule for the provider's jurisdiction.
#[utoipa::path(put, path = "/api/v1/providers/{id}/auth-methods", tag = "providers", operation_id = "put_auth_methods",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` of the read this change is based on; 412 if the provider changed since")), request_body = AuthMethodsBody, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, body = AuthMethodsBody, headers(("ETag" = String, description = "The provider's new version"))),
        NeedsPermission, NotFound, Invalid, NotJson, Stale,
    ))]
pub async fn put_auth_methods(
    state: crate::state::State,
    staff: Staff<need::ProvidersWrite>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<AuthMethodsBody>,
) -> ApiResult<HttpResponse> {
    let provider = visible_provider(&state, &staff, &id).await?;
    let mut methods = AuthMethods::from(body.into_inner());
    // The secret is write-only: a form read and sent back has none, and keeps the stored one.
    if methods.google.settings.client_secret.is_none() {
        methods.google.settings.client_secret =
            provider.auth_methods.google.settings.client_secret.clone();
    }
    methods.validate()?;
    let provider_id = provider.id;
    let realms = methods
        .keycloak
        .settings
        .staff_identity_provider_ids
        .clone();
    let (processors, gateways) = state
        .db(move |store| {
            // A realm named must exist (a typo would shut every realm out).
            let mut errors = domain::ValidationErrors::new();
            for (i, id) in realms.iter().enumerate() {
                match store.staff_idp(*id) {
                    Ok(_) => {}
                    Err(persistence::StoreError::NotFound) => errors.add(
                        &format!("/keycloak/settings/staff_identity_provider_ids/{i}"),
                        "no such staff identity provider",
                    ),
                    Err(other) => return Err(other.into()),
                }
            }
            errors.into_result()?;
            let gateways: Vec<Uuid> = store
                .sms_gateways_for(Some(provider_id))?
                .into_iter()
                .map(|g| g.id)
                .collect();
            Ok((store.list_processors()?, gateways))
        })
        .await?;
    domain::transfer::refusals(
        provider.jurisdiction,
        &provider.auth_methods,
        &methods,
        &processors,
        &gateways,
    )
    .into_result()?;
    // Google sign-in sends data to Google: without a processor for it in the register, it
    // gets the default entry (issue 9), which the transfer rule allows.
    let google_on = methods.login_enabled(AuthMethod::Google)
        || methods.registration_enabled(AuthMethod::Google);
    let google_unregistered = google_on
        && !processors
            .iter()
            .any(|p| p.auth_methods.contains(&AuthMethod::Google));
    let before = AuthMethodsBody::from(provider.auth_methods.clone());
    let provider = edit_provider(&state, &provider, if_match, move |provider| {
        provider.auth_methods = methods.clone();
    })
    .await?;
    if google_unregistered {
        let google = domain::transfer::default_google_processor(Uuid::now_v7(), state.now());
        let stored = google.clone();
        state
            .db(move |store| Ok(store.insert_processor(&stored)?))
            .await?;
        let created = super::processors::ProcessorResponse::from(google);
        audit::record(
            &state,
            &staff,
            audit::created(
                "processor.create",
                "processor",
                created.id.to_string(),
                None,
                &created,
            ),
        )
        .await;
    }
    let after = AuthMethodsBody::from(provider.auth_methods.clone());
    audit::record(
        &state,
        &staff,
        audit::updated(
            "provider.auth_methods.update",
            "provider",
            provider.id.to_string(),
            Some(provider.id),
            &before,
            &after,
        ),
    )
    .await;
    Ok(tagged(
        provider.version,
        AuthMethodsBody::from(provider.auth_methods),
    ))
}

/// A provider's policies.
#[utoipa::path(get, path = "/api/v1/providers/{id}/policies", tag = "providers", operation_id = "get_policies",
    params(("id" = Uuid, Path)), security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, body = PoliciesBody, headers(("ETag" = String, description = "The provider's version, for `If-Match`"))),
        NeedsPermission, NotFound,
    ))]
pub async fn get_policies(
    state: crate::state::State,
    staff: Staff<need::ProvidersRead>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let provider = visible_provider(&state, &staff, &id).await?;
    Ok(tagged(
        provider.version,
        PoliciesBody::from(provider.policies),
    ))
}

/// Replaces a provider's policies.
#[utoipa::path(put, path = "/api/v1/providers/{id}/policies", tag = "providers", operation_id = "put_policies",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "The `ETag` of the read this change is based on; 412 if the provider changed since")), request_body = PoliciesBody, security(("bearer" = []), ("api_token" = [])),
    responses(
        (status = 200, body = PoliciesBody, headers(("ETag" = String, description = "The provider's new version"))),
        NeedsPermission, NotFound, Invalid, NotJson, Stale,
    ))]
pub async fn put_policies(
    state: crate::state::State,
    staff: Staff<need::ProvidersWrite>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Json<PoliciesBody>,
) -> ApiResult<HttpResponse> {
    let provider = visible_provider(&state, &staff, &id).await?;
    let policies = ProviderPolicies::from(body.into_inner());
    policies.validate()?;
    let before = PoliciesBody::from(provider.policies.clone());
    let provider = edit_provider(&state, &provider, if_match, move |provider| {
        provider.policies = policies.clone();
    })
    .await?;
    let after = PoliciesBody::from(provider.policies.clone());
    audit::record(
        &state,
        &staff,
        audit::updated(
            "provider.policies.update",
            "provider",
            provider.id.to_string(),
            Some(provider.id),
            &before,
            &after,
        ),
    )
    .await;
    Ok(tagged(
        provider.version,
        PoliciesBody::from(provider.policies),
    ))
}

/// What to render on a provider's login and registration pages. Public; no secrets.
#[utoipa::path(get, path = "/api/v1/providers/{provider}/login-options", tag = "auth", operation_id = "get_login_options",
    params(("provider" = String, Path, description = "The provider's slug")),
    responses(
        (status = 200, body = LoginOptions),
        (status = 403, description = "`provider_suspended`: the provider is suspended; nobody of it can sign in or register now", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No such provider", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn get_login_options(
    state: crate::state::State,
    slug: web::Path<String>,
) -> ApiResult<web::Json<LoginOptions>> {
    let slug = slug.into_inner();
    let provider = state
        .db(move |store| {
            store
                .provider_by_slug(&slug)
                .map_err(ApiError::from_store("provider"))
        })
        .await?;
    if provider.status != ProviderStatus::Active {
        return Err(ApiError::ProviderSuspended);
    }
    let provider_id = provider.id;
    let now = state.now();
    let documents = state
        .db(move |store| Ok(store.consent_documents(provider_id)?))
        .await?;
    let consent_documents = documents
        .iter()
        .filter(|(d, _)| d.show_on_registration)
        .filter_map(|(d, versions)| {
            domain::consent::version_in_force(versions, now)
                .map(|v| crate::problem::DocumentToShow::new(d, v))
        })
        .collect();
    let methods = &provider.auth_methods;
    // Google shows only with the settings it needs.
    let configured =
        |m: AuthMethod| m != AuthMethod::Google || methods.google.settings.is_complete();
    let names = |on: &dyn Fn(AuthMethod) -> bool| {
        AuthMethod::ALL
            .iter()
            .filter(|m| on(**m) && !m.is_header_credential())
            .map(|m| m.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    Ok(web::Json(LoginOptions {
        login: names(&|m| methods.login_enabled(m) && configured(m)),
        registration: names(&|m| methods.registration_enabled(m) && configured(m)),
        password_min_length: domain::password::min_chars(
            provider.policies.mfa_required_for_everyone,
        ),
        mfa_required: provider.policies.mfa_required_for_everyone,
        // SMS is enrolled by verifying a number (`/api/v1/me/phone`).
        second_factors: [
            SecondFactor::Totp,
            SecondFactor::Sms,
            SecondFactor::RecoveryCode,
        ]
        .iter()
        .map(|f| f.as_str().to_owned())
        .collect(),
        consent_documents,
        provider: LoginOptionsProvider {
            slug: provider.slug.to_string(),
            name: provider.name,
        },
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/api/v1/providers")
            .get(list_providers)
            .post(create_provider),
    )
    .service(
        resource("/api/v1/providers/{id}")
            .get(get_provider)
            .patch(update_provider),
    )
    .service(
        resource("/api/v1/providers/{id}/auth-methods")
            .get(get_auth_methods)
            .put(put_auth_methods),
    )
    .service(
        resource("/api/v1/providers/{id}/policies")
            .get(get_policies)
            .put(put_policies),
    )
    .service(resource("/api/v1/providers/{provider}/login-options").get(get_login_options));
}

#[derive(OpenApi)]
#[openapi(paths(
    list_providers,
    create_provider,
    get_provider,
    update_provider,
    get_auth_methods,
    put_auth_methods,
    get_policies,
    put_policies,
    get_login_options,
))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
