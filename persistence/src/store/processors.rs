use diesel::dsl::exists;
use diesel::prelude::*;
use domain::transfer::Processor;
use uuid::Uuid;

use super::{Store, missing_or_stale};
use crate::StoreError;
use crate::rows::ProcessorRow;
use crate::schema::processors;

impl Store {
    pub fn insert_processor(&self, processor: &Processor) -> Result<(), StoreError> {
        diesel::insert_into(processors::table)
            .values(ProcessorRow::from(processor))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    pub fn processor(&self, id: Uuid) -> Result<Processor, StoreError> {
        processors::table
            .find(id.to_string())
            .select(ProcessorRow::as_select())
            .first(&mut *self.conn()?)?
            .try_into()
    }

    /// The whole register, by name, then by id. It is short: no paging.
    pub fn list_processors(&self) -> Result<Vec<Processor>, StoreError> {
        processors::table
            .select(ProcessorRow::as_select())
            .order((processors::name.asc(), processors::id.asc()))
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(Processor::try_from)
            .collect()
    }

    /// Writes every changeable field if the stored row still has `processor.version`.
    pub fn update_processor(&self, processor: &Processor) -> Result<(), StoreError> {
        let row = ProcessorRow::from(processor);
        let mut conn = self.conn()?;
        let changed = diesel::update(
            processors::table
                .find(&row.id)
                .filter(processors::version.eq(row.version)),
        )
        .set((
            processors::name.eq(&row.name),
            processors::purpose.eq(&row.purpose),
            processors::country.eq(&row.country),
            processors::mechanism.eq(&row.mechanism),
            processors::dpa_signed_on.eq(&row.dpa_signed_on),
            processors::auth_methods.eq(&row.auth_methods),
            processors::sms_gateway_ids.eq(&row.sms_gateway_ids),
            processors::updated_at.eq(row.updated_at),
            processors::version.eq(processors::version + 1),
        ))
        .execute(&mut *conn)?;
        if changed == 0 {
            let exists =
                diesel::select(exists(processors::table.find(&row.id))).get_result(&mut *conn)?;
            return Err(missing_or_stale(exists));
        }
        Ok(())
    }

    pub fn delete_processor(&self, id: Uuid) -> Result<(), StoreError> {
        let deleted =
            diesel::delete(processors::table.find(id.to_string())).execute(&mut *self.conn()?)?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
