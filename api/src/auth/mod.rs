//! Signing in and proving who is calling. The files depend on each other in one direction
//! only, in this order:
//!
//! - `client_info`: where a request came from;
//! - `log`: the auth log (one auth event per attempt);
//! - `principal`: who is acting, and whether they still may;
//! - `throttle`: the failure budget every secret-checking path spends;
//! - `second_factor`: TOTP and recovery codes, and the enforcement of required factors;
//! - `session`: sessions and their tokens, refresh;
//! - `consent`: the re-consent gate of a sign-in;
//! - `outcome`: how a first factor ends (a session, or a second factor due);
//! - `consent_step`: the acceptance of a `consent_required`, back into `outcome`;
//! - `password`, `temporary_key`: the first factors;
//! - `phone_code`: one-time SMS codes, for every purpose (a number's verification, phone
//!   sign-in and registration, SMS as a second factor);
//! - `password`, `temporary_key`, `oidc`: the first factors (phone sign-in lives in
//!   `routes::phone`, on `phone_code`);
//! - `credentials`: the `Authorization` header of a request, turned into a principal.
//!
//! `crate::extract` wraps `credentials` and `client_info` as extractors.

pub mod client_info;
pub mod consent;
pub mod consent_step;
pub mod credentials;
pub mod log;
pub mod oidc;
pub mod outcome;
pub mod password;
pub mod phone_code;
pub mod principal;
pub mod second_factor;
pub mod session;
pub mod temporary_key;
pub mod throttle;
