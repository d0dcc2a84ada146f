//! The OpenAPI document: each route module describes its own operations; this merges them
//! and adds what is common (security schemes, the problem schema, tags).

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{InfoBuilder, LicenseBuilder, OpenApi as Document};
use utoipa::{Modify, OpenApi};

use actix_web::ResponseError;

use crate::problem::{ApiError, ConsentRequiredProblem, FieldProblem, Problem};
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
    require_response_fields(&mut doc);
    add_unavailable(&mut doc);
    add_server_error(&mut doc);
    add_headers(&mut doc);
    add_problem_examples(&mut doc);
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

/// Fields of answers that serde leaves out when empty (`skip_serializing_if`): the only ones
/// an answer may lack.
const SOMETIMES_LEFT_OUT: [(&str, &str); 1] = [("Problem", "errors")];

/// utoipa takes an `Option` field for one that may be missing; in an answer serde sends it
/// as `null`. So in every schema only answers use, each property is required (nullable
/// where it is an `Option`), and generated clients do not type every field `| undefined`.
/// A schema a request also uses keeps its optional fields: there, leaving one out is
/// allowed.
fn require_response_fields(doc: &mut Document) {
    use utoipa::openapi::schema::Schema;
    let json = serde_json::to_value(&*doc).unwrap_or_default();
    let schemas = &json["components"]["schemas"];
    // Roots: the request bodies' and the parameters' schemas.
    let mut requested: Vec<String> = Vec::new();
    for item in json["paths"].as_object().into_iter().flatten().map(|p| p.1) {
        for operation in item.as_object().into_iter().flatten().map(|o| o.1) {
            refs_in(&operation["requestBody"], &mut requested);
            refs_in(&operation["parameters"], &mut requested);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = requested.pop() {
        if seen.insert(name.clone()) {
            refs_in(&schemas[&name], &mut requested);
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, schema) in components.schemas.iter_mut() {
        if seen.contains(name) {
            continue;
        }
        let objects: Vec<&mut utoipa::openapi::schema::Object> = match schema {
            utoipa::openapi::RefOr::T(Schema::Object(object)) => vec![object],
            utoipa::openapi::RefOr::T(Schema::AllOf(all)) => all
                .items
                .iter_mut()
                .filter_map(|item| match item {
                    utoipa::openapi::RefOr::T(Schema::Object(object)) => Some(object),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for object in objects {
            for property in object.properties.keys() {
                if !object.required.contains(property)
                    && !SOMETIMES_LEFT_OUT.contains(&(name.as_str(), property.as_str()))
                {
                    object.required.push(property.clone());
                }
            }
        }
    }
}

/// The component names a part of the document refers to (`#/components/schemas/…`).
fn refs_in(value: &serde_json::Value, found: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value.as_str()) {
                    ("$ref", Some(reference)) => {
                        if let Some(name) = reference.strip_prefix("#/components/schemas/") {
                            found.push(name.to_owned());
                        }
                    }
                    _ => refs_in(value, found),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| refs_in(v, found)),
        _ => {}
    }
}

/// Every operation under `/api/` reads the database, so each may answer 503 (with
/// `Retry-After`) while it is unavailable.
fn add_unavailable(doc: &mut Document) {
    use utoipa::openapi::Ref;
    let response =
        problem_response("The database is unavailable; retry after `Retry-After` seconds");
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

/// Calls `f` with every answer of every operation, and every shared answer with the status
/// it stands for.
fn each_response(doc: &mut Document, mut f: impl FnMut(&str, &mut utoipa::openapi::Response)) {
    use utoipa::openapi::RefOr;
    for item in doc.paths.paths.values_mut() {
        for operation in operations(item) {
            for (status, response) in operation.responses.responses.iter_mut() {
                if let RefOr::T(response) = response {
                    f(status, response);
                }
            }
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, response) in components.responses.iter_mut() {
        let status = match name.as_str() {
            "Unavailable" => "503",
            "ServerError" => "5XX",
            _ => "",
        };
        if let RefOr::T(response) = response {
            f(status, response);
        }
    }
}

/// A shared answer with a Problem body.
fn problem_response(description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            crate::routes::responses::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// Any operation may fail unexpectedly (500 `internal`, with a body that says nothing more):
/// a `5XX` Problem on each, so that clients type that answer too.
fn add_server_error(doc: &mut Document) {
    use utoipa::openapi::Ref;
    let response =
        problem_response("An unexpected error (`internal`; the cause is in the server's log)");
    doc.components
        .get_or_insert_with(Default::default)
        .responses
        .insert("ServerError".to_owned(), response.into());
    let reference = Ref::new("#/components/responses/ServerError");
    for item in doc.paths.paths.values_mut() {
        for operation in operations(item) {
            operation
                .responses
                .responses
                .entry("5XX".to_owned())
                .or_insert_with(|| reference.clone().into());
        }
    }
}

/// Headers every answer carries (`X-Request-Id`), and `Retry-After` on every 429 and 503.
fn add_headers(doc: &mut Document) {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::{ObjectBuilder, Ref, RefOr, Response, Type};
    let request_id = HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(
            "The request's id: the caller's `X-Request-Id` when it is sane, else a new one; \
             it is in the server's log lines of the request",
        ))
        .build();
    let retry_after = HeaderBuilder::new()
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        ))
        .description(Some("Seconds to wait before retrying"))
        .build();
    let headers = &mut doc.components.get_or_insert_with(Default::default).headers;
    headers.insert("RequestId".to_owned(), request_id.into());
    headers.insert("RetryAfter".to_owned(), retry_after.into());
    let add = |status: &str, response: &mut Response| {
        let reference = |name: &str| RefOr::Ref(Ref::new(format!("#/components/headers/{name}")));
        let headers = &mut response.headers;
        headers
            .entry("X-Request-Id".to_owned())
            .or_insert_with(|| reference("RequestId"));
        if status == "429" || status == "503" {
            headers
                .entry("Retry-After".to_owned())
                .or_insert_with(|| reference("RetryAfter"));
        }
    };
    each_response(doc, add);
}

/// Every Problem answer shows real bodies of its own codes: those its description names in
/// backticks (`provider_suspended`), else the usual code of its status. They come from
/// `ApiError::samples`, so they are what the server sends.
fn add_problem_examples(doc: &mut Document) {
    use utoipa::openapi::example::ExampleBuilder;
    use utoipa::openapi::{Ref, RefOr, Response};
    let samples = ApiError::samples();
    let mut used = std::collections::BTreeSet::new();
    let usual = |status: &str| match status {
        "400" => Some("malformed_json"),
        "401" => Some("unauthenticated"),
        "403" => Some("forbidden"),
        "404" => Some("not_found"),
        "409" => Some("conflict"),
        "412" => Some("precondition_failed"),
        "415" => Some("unsupported_media_type"),
        "422" => Some("validation_failed"),
        "429" => Some("too_many_attempts"),
        "503" => Some("unavailable"),
        "5XX" => Some("internal"),
        _ => None,
    };
    let fits = |status: &str, error: &ApiError| {
        let answered = error.status_code().as_u16().to_string();
        answered == status || (status == "5XX" && answered.starts_with('5'))
    };
    let add = |status: &str, response: &mut Response| {
        let Some(RefOr::T(content)) = response
            .content
            .get_mut(crate::routes::responses::PROBLEM_JSON)
        else {
            return;
        };
        let is_problem = matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location == "#/components/schemas/Problem");
        if !is_problem || content.example.is_some() || !content.examples.is_empty() {
            return;
        }
        let named: Vec<&ApiError> = response
            .description
            .split('`')
            .skip(1)
            .step_by(2)
            .filter_map(|word| samples.iter().find(|e| e.code() == word))
            .filter(|e| fits(status, e))
            .collect();
        let chosen: Vec<&ApiError> = if named.is_empty() {
            usual(status)
                .and_then(|code| samples.iter().find(|e| e.code() == code))
                .filter(|e| fits(status, e))
                .into_iter()
                .collect()
        } else {
            named
        };
        for error in chosen {
            let code = error.code();
            used.insert(code);
            content
                .examples
                .entry(code.to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/examples/{code}"))));
        }
    };
    each_response(doc, add);
    let components = doc.components.get_or_insert_with(Default::default);
    // Only the examples referred to, so that none is an unused component.
    for error in samples.iter().filter(|e| used.contains(e.code())) {
        let body = serde_json::to_value(error.problem()).unwrap_or_default();
        components.examples.insert(
            error.code().to_owned(),
            ExampleBuilder::new()
                .summary(error.code())
                .value(Some(body))
                .build()
                .into(),
        );
    }
}

pub fn yaml() -> String {
    document().to_yaml().unwrap_or_default()
}
