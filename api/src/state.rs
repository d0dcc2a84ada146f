use std::sync::Arc;

use actix_web::web;
use chrono::{DateTime, Utc};
use persistence::Store;

use crate::jobs::JobRunner;
use crate::outside::clock::{Clock, SystemClock};
use crate::outside::oidc::IdentityProviderClient;
use crate::outside::sms::SmsGateway;
use crate::outside::sms_gateways::GatewaySms;
use crate::passwords::PasswordHasherPool;
use crate::problem::ApiError;
use crate::settings::Settings;
use crate::tokens::TokenService;

/// The outside world, each part replaceable by a test double.
#[derive(Clone)]
pub struct Outside {
    pub clock: Arc<dyn Clock>,
    /// `None`: the configured gateways (`GatewaySms`); tests may pass a double.
    pub sms: Option<Arc<dyn SmsGateway>>,
    /// `None`: the real OpenID Connect client (`HttpIdentityProvider`).
    pub oidc: Option<Arc<dyn IdentityProviderClient>>,
}

impl Default for Outside {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            sms: None,
            oidc: None,
        }
    }
}

/// Everything a handler needs, built once at start.
pub struct AppState {
    pub store: Store,
    pub settings: Settings,
    pub tokens: Arc<TokenService>,
    pub passwords: PasswordHasherPool,
    pub clock: Arc<dyn Clock>,
    pub sms: Arc<dyn SmsGateway>,
    /// The configured gateways themselves: their test sends and their health.
    pub sms_gateways: Arc<GatewaySms>,
    pub oidc: Arc<dyn IdentityProviderClient>,
    pub jobs: Arc<JobRunner>,
}

pub type State = web::Data<AppState>;

impl AppState {
    /// The service's time (whole microseconds): every expiry, delay and retention decision
    /// reads it.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Runs synchronous store work on the blocking pool, off the async workers.
    pub async fn db<T, F>(&self, job: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.store.clone();
        web::block(move || job(&store)).await?
    }
}
