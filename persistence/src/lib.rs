//! The store of billing-identity: diesel on SQLite or PostgreSQL, one codebase.
//!
//! `Store` methods are synchronous (callers run them off the async workers) and keep each
//! transaction inside one method. Rows are converted to domain types here; bad stored data
//! is an error (`StoreError::Corrupt`), never a panic.

pub mod busy;
pub mod connection;
mod error;
pub mod origin;
pub mod personal_data;
mod records;
mod rows;
pub mod schema;
mod store;
#[cfg(test)]
mod test_support;

pub use connection::{Backend, DatabaseUrl, DbConnection, Pool};
pub use error::{Conflict, StoreError};
pub use store::*;
