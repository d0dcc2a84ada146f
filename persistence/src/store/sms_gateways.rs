use diesel::dsl::exists;
use diesel::prelude::*;
use domain::sms_gateway::SmsGateway;
use uuid::Uuid;

use super::{Store, missing_or_stale};
use crate::StoreError;
use crate::error::corrupt;
use crate::rows::SmsGatewayRow;
use crate::schema::{processors, sms_gateways};

impl Store {
    pub fn insert_sms_gateway(&self, gateway: &SmsGateway) -> Result<(), StoreError> {
        diesel::insert_into(sms_gateways::table)
            .values(SmsGatewayRow::from(gateway))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    pub fn sms_gateway(&self, id: Uuid) -> Result<SmsGateway, StoreError> {
        sms_gateways::table
            .find(id.to_string())
            .select(SmsGatewayRow::as_select())
            .first(&mut *self.conn()?)?
            .try_into()
    }

    /// Every gateway, by priority (lowest first), then by id. There are few: no paging.
    pub fn list_sms_gateways(&self) -> Result<Vec<SmsGateway>, StoreError> {
        sms_gateways::table
            .select(SmsGatewayRow::as_select())
            .order((sms_gateways::priority.asc(), sms_gateways::id.asc()))
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(SmsGateway::try_from)
            .collect()
    }

    /// The gateways that carry messages of `provider` (`None`: those serving every
    /// provider), in failover order.
    pub fn sms_gateways_for(&self, provider: Option<Uuid>) -> Result<Vec<SmsGateway>, StoreError> {
        Ok(self
            .list_sms_gateways()?
            .into_iter()
            .filter(|g| g.serves(provider))
            .collect())
    }

    /// Writes every changeable field if the stored row still has `gateway.version`.
    pub fn update_sms_gateway(&self, gateway: &SmsGateway) -> Result<(), StoreError> {
        let row = SmsGatewayRow::from(gateway);
        let mut conn = self.conn()?;
        let changed = diesel::update(
            sms_gateways::table
                .find(&row.id)
                .filter(sms_gateways::version.eq(row.version)),
        )
        .set((
            sms_gateways::name.eq(&row.name),
            sms_gateways::kind.eq(&row.kind),
            sms_gateways::all_providers.eq(row.all_providers),
            sms_gateways::provider_ids.eq(&row.provider_ids),
            sms_gateways::priority.eq(row.priority),
            sms_gateways::resend_timeout_seconds.eq(row.resend_timeout_seconds),
            sms_gateways::code_validity_seconds.eq(row.code_validity_seconds),
            sms_gateways::sender.eq(&row.sender),
            sms_gateways::templates.eq(&row.templates),
            sms_gateways::settings.eq(&row.settings),
            sms_gateways::credentials.eq(&row.credentials),
            sms_gateways::updated_at.eq(row.updated_at),
            sms_gateways::version.eq(sms_gateways::version + 1),
        ))
        .execute(&mut *conn)?;
        if changed == 0 {
            let exists =
                diesel::select(exists(sms_gateways::table.find(&row.id))).get_result(&mut *conn)?;
            return Err(missing_or_stale(exists));
        }
        Ok(())
    }

    /// Removes a gateway and, in the same transaction, its id from the processors that
    /// listed it (their version moves).
    pub fn delete_sms_gateway(&self, id: Uuid) -> Result<(), StoreError> {
        let id = id.to_string();
        self.write(|conn| {
            let deleted = diesel::delete(sms_gateways::table.find(&id)).execute(conn)?;
            if deleted == 0 {
                return Err(StoreError::NotFound);
            }
            let linked: Vec<(String, String)> = processors::table
                .filter(processors::sms_gateway_ids.like(format!("%{id}%")))
                .select((processors::id, processors::sms_gateway_ids))
                .load(conn)?;
            for (processor, ids) in linked {
                let mut ids: Vec<String> =
                    serde_json::from_str(&ids).map_err(|_| corrupt("sms_gateway_ids"))?;
                ids.retain(|g| *g != id);
                diesel::update(processors::table.find(&processor))
                    .set((
                        processors::sms_gateway_ids
                            .eq(serde_json::to_string(&ids).unwrap_or_default()),
                        processors::version.eq(processors::version + 1),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
    }
}
