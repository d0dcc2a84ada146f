//! Routes are registered per resource, so a wrong HTTP method on a known path answers 405
//! (problem+json) instead of a 404. Each module registers its resources and describes them
//! in its own OpenAPI part.

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, Handler, Responder, ResponseError, web};
use utoipa::openapi::OpenApi as Document;

use crate::problem::ApiError;

pub mod audit_events;
pub mod auth;
pub mod auth_events;
pub mod billing;
pub mod clients;
pub mod compliance;
pub mod consents;
pub mod data_export;
pub mod employees;
pub mod gdpr;
pub mod jobs;
pub mod me;
pub mod mfa;
pub mod oidc;
pub mod params;
pub mod phone;
pub mod precondition;
pub mod processors;
pub mod providers;
pub mod responses;
pub mod schemas;
pub mod sms_gateways;
pub mod system;
pub mod users;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Routes are tried in this order, and a pattern with a `{segment}` costs a regular
    // expression per request that reaches it: the busiest static routes come first.
    system::configure(cfg);
    me::configure(cfg);
    auth::configure(cfg);
    phone::configure(cfg);
    mfa::configure(cfg);
    providers::configure(cfg);
    compliance::configure(cfg);
    clients::configure(cfg);
    billing::configure(cfg);
    users::configure(cfg);
    employees::configure(cfg);
    auth_events::configure(cfg);
    audit_events::configure(cfg);
    sms_gateways::configure(cfg);
    gdpr::configure(cfg);
    jobs::configure(cfg);
    data_export::configure(cfg);
    processors::configure(cfg);
    oidc::configure(cfg);
    consents::configure(cfg);
    system::configure_docs(cfg);
}

/// The OpenAPI parts of every route module.
pub fn documents() -> Vec<Document> {
    vec![
        system::document(),
        auth::document(),
        me::document(),
        phone::document(),
        mfa::document(),
        providers::document(),
        compliance::document(),
        clients::document(),
        billing::document(),
        users::document(),
        employees::document(),
        auth_events::document(),
        audit_events::document(),
        sms_gateways::document(),
        gdpr::document(),
        jobs::document(),
        data_export::document(),
        processors::document(),
        oidc::document(),
        consents::document(),
    ]
}

/// A resource that answers 405 with an `Allow` header (RFC 9110) for the methods it lacks.
pub struct Resource {
    inner: actix_web::Resource,
    allow: Vec<&'static str>,
}

pub fn resource(path: &str) -> Resource {
    Resource {
        inner: web::resource(path),
        allow: Vec::new(),
    }
}

macro_rules! methods {
    ($($name:ident => $route:ident, $verb:literal;)+) => {
        impl Resource {
            $(
                pub fn $name<F, Args>(mut self, handler: F) -> Self
                where
                    F: Handler<Args>,
                    Args: FromRequest + 'static,
                    F::Output: Responder + 'static,
                {
                    self.inner = self.inner.route(web::$route().to(handler));
                    self.allow.push($verb);
                    self
                }
            )+
        }
    };
}

impl Resource {
    /// GET, and HEAD answered by the same handler (actix sends the head without the body).
    pub fn get<F, Args>(mut self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.inner = self
            .inner
            .route(web::get().to(handler.clone()))
            .route(web::head().to(handler));
        self.allow.extend(["GET", "HEAD"]);
        self
    }
}

methods! {
    post => post, "POST";
    put => put, "PUT";
    patch => patch, "PATCH";
    delete => delete, "DELETE";
}

impl HttpServiceFactory for Resource {
    fn register(self, config: &mut AppService) {
        let allow = self.allow.join(", ");
        self.inner
            .default_service(web::to(move || {
                let allow = allow.clone();
                async move {
                    let mut response = ApiError::MethodNotAllowed.error_response();
                    if let Ok(value) = HeaderValue::from_str(&allow) {
                        response.headers_mut().insert(header::ALLOW, value);
                    }
                    response
                }
            }))
            .register(config);
    }
}
