use diesel::dsl::exists;
use diesel::prelude::*;
use domain::model::Provider;
use domain::permission::ProviderScope;
use uuid::Uuid;

use super::{Page, PageRequest, Store, missing_or_stale};
use crate::StoreError;
use crate::rows::ProviderRow;
use crate::schema::providers;

impl Store {
    pub fn insert_provider(&self, provider: &Provider) -> Result<(), StoreError> {
        diesel::insert_into(providers::table)
            .values(ProviderRow::from(provider))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    pub fn provider(&self, id: Uuid) -> Result<Provider, StoreError> {
        providers::table
            .find(id.to_string())
            .select(ProviderRow::as_select())
            .first(&mut *self.conn()?)?
            .try_into()
    }

    pub fn provider_by_slug(&self, slug: &str) -> Result<Provider, StoreError> {
        providers::table
            .filter(providers::slug.eq(slug))
            .select(ProviderRow::as_select())
            .first(&mut *self.conn()?)?
            .try_into()
    }

    /// Every provider, for the few service-wide decisions that need them all (which
    /// providers a staff realm serves).
    pub fn all_providers(&self) -> Result<Vec<Provider>, StoreError> {
        providers::table
            .select(ProviderRow::as_select())
            .order(providers::id.asc())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(Provider::try_from)
            .collect()
    }

    pub fn list_providers(
        &self,
        scope: &ProviderScope<Uuid>,
        page: PageRequest,
    ) -> Result<Page<Provider>, StoreError> {
        let mut query = providers::table
            .select(ProviderRow::as_select())
            .order(providers::id.asc())
            .limit(i64::from(page.limit) + 1)
            .into_boxed();
        if let Some(after) = page.after {
            query = query.filter(providers::id.gt(after.to_string()));
        }
        if let ProviderScope::Only(ids) = scope {
            query = query.filter(providers::id.eq_any(ids.iter().map(Uuid::to_string)));
        }
        let rows = query.load(&mut *self.conn()?)?;
        let items = rows
            .into_iter()
            .map(Provider::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page.limit, |p| p.id))
    }

    /// Writes every changeable field of `provider` (the caller read it and applied a change)
    /// if the stored row still has `provider.version`, and bumps the version; `Stale` if
    /// another update came first.
    pub fn update_provider(&self, provider: &Provider) -> Result<(), StoreError> {
        let row = ProviderRow::from(provider);
        let mut conn = self.conn()?;
        let changed = diesel::update(
            providers::table
                .find(&row.id)
                .filter(providers::version.eq(row.version)),
        )
        .set((
            providers::name.eq(&row.name),
            providers::jurisdiction.eq(&row.jurisdiction),
            providers::status.eq(&row.status),
            providers::auth_methods.eq(&row.auth_methods),
            providers::policies.eq(&row.policies),
            providers::updated_at.eq(row.updated_at),
            providers::version.eq(providers::version + 1),
        ))
        .execute(&mut *conn)?;
        if changed == 0 {
            let exists =
                diesel::select(exists(providers::table.find(&row.id))).get_result(&mut *conn)?;
            return Err(missing_or_stale(exists));
        }
        Ok(())
    }
}
