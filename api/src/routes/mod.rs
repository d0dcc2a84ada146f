//! Routes are registered per resource, so a wrong HTTP method on a known path answers 405
//! (problem+json) instead of a 404. Each module registers its resources and describes them
//! in its own OpenAPI part.

use actix_web::web;
use utoipa::openapi::OpenApi as Document;

use crate::problem::ApiError;

pub mod auth;
pub mod auth_events;
pub mod clients;
pub mod employees;
pub mod me;
pub mod providers;
pub mod responses;
pub mod system;
pub mod users;

pub fn configure(cfg: &mut web::ServiceConfig) {
    system::configure(cfg);
    auth::configure(cfg);
    me::configure(cfg);
    providers::configure(cfg);
    clients::configure(cfg);
    users::configure(cfg);
    employees::configure(cfg);
    auth_events::configure(cfg);
}

/// The OpenAPI parts of every route module.
pub fn documents() -> Vec<Document> {
    vec![
        system::document(),
        auth::document(),
        me::document(),
        providers::document(),
        clients::document(),
        users::document(),
        employees::document(),
        auth_events::document(),
    ]
}

/// The handler of a known path with a method it does not have.
pub async fn method_not_allowed() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

/// A resource whose unknown methods answer 405.
pub fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}
