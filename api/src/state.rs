use std::sync::Arc;

use actix_web::web;
use chrono::{DateTime, Utc};
use persistence::Store;

use crate::passwords::PasswordHasherPool;
use crate::problem::ApiError;
use crate::settings::Settings;
use crate::tokens::TokenService;

/// Everything a handler needs, built once at start.
pub struct AppState {
    pub store: Store,
    pub settings: Settings,
    pub tokens: Arc<TokenService>,
    pub passwords: PasswordHasherPool,
}

pub type State = web::Data<AppState>;

impl AppState {
    /// The time, in whole microseconds: what PostgreSQL keeps, so that an object read back
    /// equals the one a create answered.
    pub fn now(&self) -> DateTime<Utc> {
        use chrono::SubsecRound;
        Utc::now().trunc_subsecs(6)
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
