//! Black-box tests: each one starts the real app on port 0 with a fresh database (SQLite
//! always; PostgreSQL when TEST_DATABASE_URL is set) and talks to it over HTTP.

mod helpers;

mod admin;
mod attack;
mod audit_events;
mod auth;
mod browsers;
mod compliance;
mod concurrency;
mod consents;
mod contract;
mod data_export;
mod gdpr;
mod inactive_clients;
mod jobs;
mod legal_hold;
mod mfa;
mod oidc;
mod operators;
mod outage;
mod phone;
mod processors;
mod retention;
mod sms_factor;
mod sms_gateways;
mod system;
mod token_cache;
