//! Pure rules of billing-identity. Nothing here does I/O or reads a clock: time and
//! randomness are arguments, so every rule can be tested with a table.

pub mod access;
pub mod api_token;
pub mod auth_method;
pub mod billing;
pub mod compliance;
pub mod consent;
pub mod country;
pub mod email;
pub mod error;
pub mod gdpr;
pub mod identifier;
pub mod mfa;
pub mod model;
pub mod oidc;
pub mod password;
pub mod permission;
pub mod phone;
pub mod phone_code;
pub mod policy;
pub mod provider;
pub mod refresh;
pub mod secret;
pub mod sign_in;
pub mod sms_gateway;
pub mod throttle;
pub mod transfer;

pub use error::{FieldError, ValidationErrors};
