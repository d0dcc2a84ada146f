//! The scheduled cleaning of inactive clients: which clients of a provider showed no
//! activity since a cutoff. Activity is anything that leaves a time behind: the client or a
//! user created or changed, a session used, an API token used, a successful sign-in.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::policy::ProviderPolicies;
use domain::provider::SubjectKind;
use uuid::Uuid;

use super::Store;
use crate::error::corrupt;
use crate::rows::{naive, uuid};
use crate::schema::{
    api_tokens, auth_events, client_clearings, clients, providers, sessions, users,
};
use crate::{DbConnection, StoreError};

/// Clients looked at per query, and user ids per `IN (…)` list (SQLite caps bound values).
const PAGE: i64 = 200;
const IDS_PER_QUERY: usize = 500;
const USER: &str = SubjectKind::User.as_str();

impl Store {
    /// Each provider's id and policies.
    pub fn provider_policies(&self) -> Result<Vec<(Uuid, ProviderPolicies)>, StoreError> {
        let rows: Vec<(String, String)> = providers::table
            .select((providers::id, providers::policies))
            .load(&mut *self.conn()?)?;
        rows.into_iter()
            .map(|(id, policies)| {
                let policies: ProviderPolicies =
                    serde_json::from_str(&policies).map_err(|_| corrupt("policies"))?;
                Ok((uuid(&id)?, policies))
            })
            .collect()
    }

    /// At most `limit` clients of `provider_id`, not cleared yet, with no activity at or
    /// after `cutoff`, oldest id first.
    pub fn inactive_clients(
        &self,
        provider_id: Uuid,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Uuid>, StoreError> {
        let conn = &mut *self.conn()?;
        let cleared = client_clearings::table.select(client_clearings::client_id);
        let mut found = Vec::new();
        let mut after = String::new();
        while found.len() < limit {
            let page: Vec<String> = clients::table
                .filter(clients::provider_id.eq(provider_id.to_string()))
                .filter(clients::id.gt(&after))
                .filter(clients::created_at.lt(naive(cutoff)))
                .filter(clients::updated_at.lt(naive(cutoff)))
                .filter(clients::id.ne_all(cleared))
                .order(clients::id)
                .limit(PAGE)
                .select(clients::id)
                .load(conn)?;
            let Some(last) = page.last() else { break };
            after = last.clone();
            let active = active_among(conn, &page, cutoff)?;
            for id in page.iter().filter(|id| !active.contains(*id)) {
                if found.len() < limit {
                    found.push(uuid(id)?);
                }
            }
        }
        Ok(found)
    }
}

/// Which of `client_ids` had a user or a user's activity at or after `cutoff`.
fn active_among(
    conn: &mut DbConnection,
    client_ids: &[String],
    cutoff: DateTime<Utc>,
) -> Result<BTreeSet<String>, StoreError> {
    let since = naive(cutoff);
    let people: Vec<(String, String, bool)> = users::table
        .filter(users::client_id.eq_any(client_ids))
        .select((
            users::id,
            users::client_id,
            users::created_at.ge(since).or(users::updated_at.ge(since)),
        ))
        .load(conn)?;
    let mut active: BTreeSet<String> = people
        .iter()
        .filter(|(_, _, changed)| *changed)
        .map(|(_, client, _)| client.clone())
        .collect();
    let client_of: BTreeMap<&str, &str> = people
        .iter()
        .filter(|(_, client, _)| !active.contains(client))
        .map(|(user, client, _)| (user.as_str(), client.as_str()))
        .collect();
    let user_ids: Vec<&str> = client_of.keys().copied().collect();
    for ids in user_ids.chunks(IDS_PER_QUERY) {
        let mut busy: Vec<String> = sessions::table
            .filter(sessions::subject_kind.eq(USER))
            .filter(sessions::subject_id.eq_any(ids))
            .filter(sessions::last_seen_at.ge(since))
            .select(sessions::subject_id)
            .load(conn)?;
        busy.extend(
            api_tokens::table
                .filter(api_tokens::subject_kind.eq(USER))
                .filter(api_tokens::subject_id.eq_any(ids))
                .filter(api_tokens::last_used_at.ge(since))
                .select(api_tokens::subject_id)
                .load::<String>(conn)?,
        );
        busy.extend(
            auth_events::table
                .filter(auth_events::subject_kind.eq(USER))
                .filter(auth_events::subject_id.eq_any(ids))
                .filter(auth_events::outcome.eq("success"))
                .filter(auth_events::created_at.ge(since))
                .select(auth_events::subject_id.assume_not_null())
                .load::<String>(conn)?,
        );
        active.extend(
            busy.iter()
                .filter_map(|user| client_of.get(user.as_str()))
                .map(|client| (*client).to_owned()),
        );
    }
    Ok(active)
}
