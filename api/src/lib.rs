//! billing-identity: the HTTP API, the CLI and their wiring.

pub mod argon2_native;
pub mod auth;
pub mod cli;
pub mod extract;
pub mod hash_memory;
pub mod jobs;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod outside;
pub mod passwords;
pub mod problem;
pub mod routes;
pub mod secrets;
pub mod settings;
pub mod startup;
pub mod state;
pub mod temporary_keys;
pub mod tokens;
