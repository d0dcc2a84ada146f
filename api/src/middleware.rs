//! Middleware around every route: CORS, security headers, request metrics.

use std::time::Instant;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;

use crate::metrics::{method_label, metrics};

/// How long a browser may reuse a preflight answer.
pub const PREFLIGHT_MAX_AGE_SECONDS: usize = 3600;

/// Swagger UI under `/docs/` (vendored, every file from this origin): its scripts and styles,
/// the document fetched from here, its inline SVG icons. No other origin, no framing.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Everything else is data, never a page.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// CORS for the origins given: the methods and headers the API uses, the response headers a
/// client reads exposed, no credentials (the API takes bearer tokens, not cookies). An origin
/// not listed gets no CORS headers (so its browser refuses to read the answer), and its
/// preflight a 400.
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_MATCH,
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::ETAG,
            header::RETRY_AFTER,
            header::LOCATION,
            HeaderName::from_static("x-request-id"),
        ])
        .max_age(PREFLIGHT_MAX_AGE_SECONDS);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// `nosniff` on every response; `no-store` on the API's (tokens, personal data); a strict
/// Content-Security-Policy, Swagger UI's own under `/docs`.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path();
    let api = path.starts_with("/api/");
    let docs = path == "/docs" || path.starts_with("/docs/");
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let policy = if docs { DOCS_CSP } else { API_CSP };
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(policy),
        );
    }
    Ok(response)
}

/// Counts every request and its latency by route template and status.
pub async fn request_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method().as_str());
    let response = next.call(req).await;
    // The template, not the path: ids in paths would make a series per object. Asked of
    // the answered request, which knows the resource the router chose; asked before the
    // call it would match the path against the patterns again (a regular expression for
    // each pattern with a `{segment}` on the way). An error that is not a response (none
    // of our handlers returns one) has no request left to ask.
    let (route, status) = match &response {
        Ok(r) => (r.request().match_pattern(), r.status().as_u16()),
        Err(e) => (None, e.as_response_error().status_code().as_u16()),
    };
    let route = route.unwrap_or_else(|| "unmatched".into());
    metrics().request(method, &route, status, started.elapsed());
    response
}
