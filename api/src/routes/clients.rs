use actix_web::web;
use utoipa::OpenApi;

pub fn configure(_cfg: &mut web::ServiceConfig) {}

#[derive(OpenApi)]
#[openapi()]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
