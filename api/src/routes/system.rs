use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use utoipa::OpenApi;
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::resource;
use crate::problem::{ApiError, ApiResult};
use crate::state::State;

/// The OpenAPI document as YAML: the committed `openapi.yaml`, compiled in. The contract
/// test `committed_openapi_yaml_matches_the_code` keeps it equal to what the code generates
/// (`billing-identity openapi`), so the service need not build the document: building it
/// at start cost about 1 MiB of kept strings and several MiB of resident code (README
/// "Memory").
static OPENAPI_YAML: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"));

/// The document as JSON, generated from the code at its first request (Swagger UI's) by the
/// function `startup` hands over: this module cannot name `openapi`, which names the routes.
pub struct ApiDocument {
    json: OnceLock<web::Bytes>,
    generate: fn() -> String,
}

impl ApiDocument {
    pub fn new(generate: fn() -> String) -> Self {
        Self {
            json: OnceLock::new(),
            generate,
        }
    }
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "system", operation_id = "get_healthz",
    responses((status = 200, description = "Alive", content_type = "text/plain", body = String)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// The database answers.
#[utoipa::path(get, path = "/readyz", tag = "system", operation_id = "get_readyz",
    responses(
        (status = 200, description = "Ready", content_type = "text/plain", body = String),
        (status = 503, description = "The database does not answer", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(state: State) -> ApiResult<HttpResponse> {
    state
        .db(|store| store.ping().map_err(|_| ApiError::Unavailable))
        .await?;
    Ok(HttpResponse::Ok().content_type("text/plain").body("ready"))
}

/// The public keys that verify our access tokens (JWK Set).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "system", operation_id = "get_jwks",
    responses((status = 200, description = "JWK Set", body = crate::tokens::JwkSet)))]
pub async fn jwks(state: State) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(state.tokens.jwks())
}

/// This document, as JSON.
#[utoipa::path(get, path = "/openapi.json", tag = "system", operation_id = "get_openapi_json",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
pub async fn openapi_json(document: web::Data<ApiDocument>) -> HttpResponse {
    let json = document
        .json
        .get_or_init(|| web::Bytes::from((document.generate)()));
    HttpResponse::Ok()
        .content_type("application/json")
        .body(json.clone())
}

/// This document, as YAML (the same as `openapi.yaml` in the repository).
#[utoipa::path(get, path = "/openapi.yaml", tag = "system", operation_id = "get_openapi_yaml",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/yaml", body = String)))]
pub async fn openapi_yaml() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI_YAML)
}

/// Prometheus metrics: served only when `METRICS_TOKEN` is set, and only to a request that
/// sends it as a bearer token (404 without the setting, 401 without the token). Not part of
/// the public contract, so not in the OpenAPI document.
pub async fn metrics(state: State, req: actix_web::HttpRequest) -> ApiResult<HttpResponse> {
    use sha2::{Digest, Sha256};
    let Some(expected) = &state.settings.metrics_token else {
        return Err(ApiError::NoRoute);
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Digests compared, so the time taken tells nothing about the token.
    if Sha256::digest(given.as_bytes()) != Sha256::digest(expected.0.as_bytes()) {
        return Err(ApiError::Unauthenticated);
    }
    let (in_use, idle) = state.store.pool_usage();
    Ok(HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(crate::metrics::metrics().render(in_use, idle)))
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").get(healthz))
        .service(resource("/readyz").get(readyz))
        .service(resource("/.well-known/jwks.json").get(jwks))
        .service(resource("/openapi.json").get(openapi_json))
        .service(resource("/openapi.yaml").get(openapi_yaml))
        .service(resource("/metrics").get(metrics))
        .service(resource("/docs").get(docs_redirect));
}

/// Swagger UI, after every other route: its pattern has a `{segment}` (`routes::configure`).
pub fn configure_docs(cfg: &mut web::ServiceConfig) {
    // Its files are compiled into the binary (the `vendored` feature).
    cfg.service(SwaggerUi::new("/docs/{_:.*}").config(Config::new(["/openapi.json"])));
}

#[derive(OpenApi)]
#[openapi(paths(healthz, readyz, jwks, openapi_json, openapi_yaml))]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
