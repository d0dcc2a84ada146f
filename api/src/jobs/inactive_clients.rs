//! The scheduled cleaning of inactive clients (GDPR Art. 5(1)(e) storage limitation): where
//! a provider sets `inactive_client_retention_months`, clients with no activity for that
//! long are cleared through the same code path as an officer's clear-data, on one instance
//! at a time, each with its audit record (cleared by `schedule`). Like clear-data, it needs
//! the GDPR cleaning module installed.

use chrono::{DateTime, Utc};
use domain::gdpr::{ClearedBy, Module, inactivity_cutoff};
use persistence::{Store, StoreError};

use super::Job;

/// The name of the scheduled cleaning's lease.
pub const INACTIVE_CLIENT_CLEANING: &str = "inactive_client_cleaning";
/// Clients cleared per provider and run: each is its own transaction, and a run stays short
/// under its lease; the next run goes on.
pub const CLIENTS_PER_RUN: usize = 100;

pub struct InactiveClientCleaning {
    pub interval: std::time::Duration,
    pub per_run: usize,
}

impl Default for InactiveClientCleaning {
    fn default() -> Self {
        Self {
            interval: std::time::Duration::from_secs(6 * 3600),
            per_run: CLIENTS_PER_RUN,
        }
    }
}

impl Job for InactiveClientCleaning {
    fn name(&self) -> &'static str {
        INACTIVE_CLIENT_CLEANING
    }

    fn description(&self) -> &'static str {
        "clears clients inactive for longer than their provider's inactive_client_retention_months (needs the gdpr_cleanup module)"
    }

    fn interval(&self) -> std::time::Duration {
        self.interval
    }

    fn run(&self, store: &Store, now: DateTime<Utc>) -> Result<usize, StoreError> {
        if !store.module_installed(Module::GdprCleanup)? {
            return Ok(0);
        }
        let mut cleared = 0;
        for (provider, policies) in store.provider_policies()? {
            let Some(months) = policies.inactive_client_retention_months else {
                continue;
            };
            let cutoff = inactivity_cutoff(now, months);
            let reason = format!(
                "scheduled: no activity for {months} month(s) (provider policy inactive_client_retention_months)"
            );
            for client in store.inactive_clients(provider, cutoff, self.per_run)? {
                let report =
                    store.clear_client(client, ClearedBy::Schedule, &reason, false, now)?;
                log::info!(
                    "client {client} cleared by the schedule ({} users, inactive since before {cutoff})",
                    report.anonymized.users
                );
                cleared += 1;
            }
        }
        Ok(cleared)
    }
}
