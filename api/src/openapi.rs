//! The OpenAPI document: each route module describes its own operations; this merges them
//! and adds what is common (security schemes, the problem schema, tags).

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{InfoBuilder, LicenseBuilder, OpenApi as Document};
use utoipa::{Modify, OpenApi};

use crate::problem::{ConsentRequiredProblem, FieldProblem, Problem};
use crate::routes;

/// What an API token can do, for the security scheme's description.
const API_TOKEN_SCHEME: &str = "API token (`biat_…`) from POST /api/v1/me/api-tokens, sent as \
     `Authorization: Bearer`. A `read` token may call GET and HEAD operations; a `full` token \
     every operation whose security lists `api_token`, within its owner's roles and providers. \
     No API token creates credentials, employees or roles: issuing one-time keys \
     (POST …/temporary-keys), creating or changing employees and their roles \
     (POST /api/v1/employees, PATCH /api/v1/employees/{id}, PUT /api/v1/employees/{id}/roles), \
     new API tokens and passwords (POST /api/v1/me/api-tokens, POST /api/v1/me/password) all \
     need a signed-in session (403 otherwise).";

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Access token (EdDSA JWT) from a login, a one-time key or a refresh.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(API_TOKEN_SCHEME))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "authinfo",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("Legacy authinfo: HTTP Basic with `provider-slug/e-mail` and the password; only where the provider turned it on."))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    modifiers(&Security),
    components(schemas(Problem, FieldProblem, ConsentRequiredProblem)),
    tags(
        (name = "system", description = "Health, readiness, the contract, signing keys"),
        (name = "auth", description = "Public sign-in and registration"),
        (name = "me", description = "The signed-in user or employee"),
        (name = "providers", description = "Providers, their methods and policies"),
        (name = "clients", description = "Clients of a provider"),
        (name = "users", description = "Users of a client"),
        (name = "employees", description = "Staff and their roles"),
        (name = "auth-events", description = "The authentication log"),
        (name = "sms-gateways", description = "SMS gateways, their failover order and health"),
        (name = "modules", description = "Optional modules, installed by an administrator"),
        (name = "audit-events", description = "The audit trail of settings changes: who, what, before and after, when"),
        (name = "jobs", description = "Background jobs (retention, scheduled cleaning) and their last runs"),
        (name = "processors", description = "The register of processors and the transfer rule"),
        (name = "staff-identity-providers", description = "Keycloak realms (OpenID Connect) that sign employees in, and their role mapping"),
        (name = "consents", description = "Consent documents, their versions, and the consent records"),
    )
)]
struct Base;

/// The whole document, as the server serves it.
pub fn document() -> Document {
    let mut doc = Base::openapi();
    for part in routes::documents() {
        doc.merge(part);
    }
    describe_responses(&mut doc);
    add_unavailable(&mut doc);
    mark_public(&mut doc);
    // Relative to where the document is served from: the same origin serves the API.
    doc.servers = Some(vec![utoipa::openapi::server::Server::new("/")]);
    doc.info = InfoBuilder::new()
        .title("billing-identity")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Identity and legal-compliance service for hosting billing platforms. Every error is \
             application/problem+json (RFC 9457) with a stable `code`.",
        ))
        .license(Some(
            LicenseBuilder::new()
                .name("AGPL-3.0-only")
                .identifier(Some("AGPL-3.0-only"))
                .build(),
        ))
        .build();
    doc
}

/// An operation that names no security scheme is public: say so (`security: []`), so that
/// generators and linters do not take it for an oversight.
fn mark_public(doc: &mut Document) {
    for item in doc.paths.paths.values_mut() {
        for operation in operations(item) {
            if operation.security.is_none() {
                operation.security = Some(Vec::new());
            }
        }
    }
}

/// Every operation of a path.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
        item.head.as_mut(),
        item.options.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// OpenAPI requires a description on every response; where a handler gave none, the HTTP
/// reason phrase stands in.
fn describe_responses(doc: &mut Document) {
    for item in doc.paths.paths.values_mut() {
        for operation in operations(item) {
            for (status, response) in operation.responses.responses.iter_mut() {
                if let utoipa::openapi::RefOr::T(response) = response
                    && response.description.is_empty()
                {
                    response.description = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|code| actix_web::http::StatusCode::from_u16(code).ok())
                        .and_then(|code| code.canonical_reason())
                        .unwrap_or("Response")
                        .to_owned();
                }
            }
        }
    }
}

/// Every operation under `/api/` reads the database, so each may answer 503 (with
/// `Retry-After`) while it is unavailable.
fn add_unavailable(doc: &mut Document) {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, Type};
    let response = ResponseBuilder::new()
        .description("The database is unavailable; retry after `Retry-After` seconds")
        .content(
            crate::routes::responses::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(
                    utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer),
                ))
                .description(Some("Seconds to wait before retrying"))
                .build(),
        )
        .build();
    doc.components
        .get_or_insert_with(Default::default)
        .responses
        .insert("Unavailable".to_owned(), response.into());
    let reference = Ref::new("#/components/responses/Unavailable");
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with("/api/") {
            continue;
        }
        for operation in operations(item) {
            operation
                .responses
                .responses
                .entry("503".to_owned())
                .or_insert_with(|| reference.clone().into());
        }
    }
}

pub fn yaml() -> String {
    document().to_yaml().unwrap_or_default()
}
