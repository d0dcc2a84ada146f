//! A client's billing details and their legal hold (see `domain::billing`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::billing::BillingDetails;
use uuid::Uuid;

use super::Store;
use crate::rows::{naive, utc};
use crate::schema::{client_clearings, clients};
use crate::{DbConnection, StoreError};

type BillingRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<chrono::NaiveDateTime>,
);

/// The billing details of `client_id` (`Ok(None)`: none stored; `NotFound`: no client).
pub(crate) fn load_billing(
    conn: &mut DbConnection,
    client_id: Uuid,
) -> Result<Option<BillingDetails>, StoreError> {
    let row: BillingRow = clients::table
        .find(client_id.to_string())
        .select((
            clients::legal_name,
            clients::tax_id,
            clients::billing_address,
            clients::legal_hold_until,
        ))
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    Ok(match row {
        (Some(legal_name), tax_id, Some(billing_address), until) => Some(BillingDetails {
            legal_name,
            tax_id,
            billing_address,
            legal_hold_until: until.map(utc),
        }),
        _ => None,
    })
}

/// Removes the billing details of `client_id` (the hold date stays, as a record of why
/// they were kept); how many clients changed.
pub(crate) fn remove_billing(
    conn: &mut DbConnection,
    client_id: Uuid,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        clients::table
            .find(client_id.to_string())
            .filter(clients::legal_name.is_not_null()),
    )
    .set((
        clients::legal_name.eq(None::<String>),
        clients::tax_id.eq(None::<String>),
        clients::billing_address.eq(None::<String>),
    ))
    .execute(conn)?)
}

impl Store {
    pub fn billing_details(&self, client_id: Uuid) -> Result<Option<BillingDetails>, StoreError> {
        load_billing(&mut *self.conn()?, client_id)
    }

    /// Stores the billing details of `client_id`. `Ok(false)`: the client was cleared, and
    /// nothing changed (a cleared client's details are frozen under their hold).
    pub fn set_billing_details(
        &self,
        client_id: Uuid,
        details: &BillingDetails,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(|conn| {
            let id = client_id.to_string();
            let cleared: bool =
                diesel::select(diesel::dsl::exists(client_clearings::table.find(&id)))
                    .get_result(conn)?;
            if cleared {
                return Ok(false);
            }
            let changed = diesel::update(clients::table.find(&id))
                .set((
                    clients::legal_name.eq(&details.legal_name),
                    clients::tax_id.eq(&details.tax_id),
                    clients::billing_address.eq(&details.billing_address),
                    clients::legal_hold_until.eq(details.legal_hold_until.map(naive)),
                    clients::updated_at.eq(naive(now)),
                    clients::version.eq(clients::version + 1),
                ))
                .execute(conn)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(true)
        })
    }

    /// Anonymizes the billing details of cleared clients whose legal hold ended by `now`
    /// (at most `batch`); how many.
    pub fn release_legal_holds(&self, now: DateTime<Utc>, batch: i64) -> Result<usize, StoreError> {
        self.write(|conn| {
            let due: Vec<String> = clients::table
                .filter(
                    clients::id.eq_any(client_clearings::table.select(client_clearings::client_id)),
                )
                .filter(clients::legal_name.is_not_null())
                .filter(
                    clients::legal_hold_until
                        .is_null()
                        .or(clients::legal_hold_until.le(naive(now))),
                )
                .select(clients::id)
                .limit(batch)
                .load(conn)?;
            let mut released = 0;
            for id in due {
                released += remove_billing(conn, crate::rows::uuid(&id)?)?;
            }
            Ok(released)
        })
    }
}
