use chrono::{DateTime, Utc};
use diesel::dsl::exists;
use diesel::prelude::*;
use domain::model::Client;
use domain::provider::{AccountStatus, SubjectKind};
use uuid::Uuid;

use super::revocation::revoke_everything_of;
use super::{Page, PageRequest, Store, missing_or_stale};
use crate::StoreError;
use crate::rows::{ClientRow, naive};
use crate::schema::{clients, users};

impl Store {
    pub fn insert_client(&self, client: &Client) -> Result<(), StoreError> {
        diesel::insert_into(clients::table)
            .values(ClientRow::from(client))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    pub fn client(&self, id: Uuid) -> Result<Client, StoreError> {
        clients::table
            .find(id.to_string())
            .select(ClientRow::as_select())
            .first(&mut *self.conn()?)?
            .try_into()
    }

    pub fn list_clients(
        &self,
        provider_id: Uuid,
        page: PageRequest,
    ) -> Result<Page<Client>, StoreError> {
        let mut query = clients::table
            .filter(clients::provider_id.eq(provider_id.to_string()))
            .select(ClientRow::as_select())
            .order(clients::id.asc())
            .limit(i64::from(page.limit) + 1)
            .into_boxed();
        if let Some(after) = page.after {
            query = query.filter(clients::id.gt(after.to_string()));
        }
        let items = query
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(Client::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page.limit, |c| c.id))
    }

    /// Writes the name and status if the stored row still has `client.version` (`Stale` if
    /// not), and bumps the version. Disabling a client disables nothing else by itself, but
    /// everything its users hold (sessions, tokens, keys) dies in the same transaction.
    pub fn update_client(&self, client: &Client, now: DateTime<Utc>) -> Result<(), StoreError> {
        let row = ClientRow::from(client);
        self.write(|conn| {
            let changed = diesel::update(
                clients::table
                    .find(&row.id)
                    .filter(clients::version.eq(row.version)),
            )
            .set((
                clients::name.eq(&row.name),
                clients::status.eq(&row.status),
                clients::updated_at.eq(row.updated_at),
                clients::version.eq(clients::version + 1),
            ))
            .execute(conn)?;
            if changed == 0 {
                let exists =
                    diesel::select(exists(clients::table.find(&row.id))).get_result(conn)?;
                return Err(missing_or_stale(exists));
            }
            if client.status == AccountStatus::Disabled {
                let user_ids: Vec<String> = users::table
                    .filter(users::client_id.eq(&row.id))
                    .select(users::id)
                    .load(conn)?;
                // Set-based, as clearing does: a few statements, not three per user.
                revoke_everything_of(conn, SubjectKind::User.as_str(), &user_ids, naive(now))?;
            }
            Ok(())
        })
    }
}
