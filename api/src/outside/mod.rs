//! The outside world the service depends on, each behind a small trait with a test double:
//! the time, SMS gateways and OpenID Connect identity providers. The database is not here:
//! tests use real ones.

pub mod clock;
pub mod oidc;
pub mod oidc_http;
pub mod sms;
pub mod sms_gateways;

use std::future::Future;
use std::pin::Pin;

/// A future that can cross threads, for trait methods that are called through `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
