//! Consent documents, their versions, the append-only consent records, and the re-consent
//! tickets of sign-ins.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::exists;
use diesel::prelude::*;
use domain::consent::{
    ConsentDocument, ConsentKind, ConsentMethod, ConsentRecord, Decision, DocumentVersion,
    VersionContent,
};
use uuid::Uuid;

use super::{Page, PageRequest, Store, missing_or_stale};
use crate::error::corrupt;
use crate::rows::{naive, utc, uuid};
use crate::schema::{
    consent_document_versions, consent_documents, consent_records, consent_tickets,
};
use crate::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consent_documents)]
struct DocumentRow {
    id: String,
    provider_id: String,
    kind: String,
    titles: String,
    must_agree: bool,
    show_on_registration: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i64,
}

impl From<&ConsentDocument> for DocumentRow {
    fn from(d: &ConsentDocument) -> Self {
        Self {
            id: d.id.to_string(),
            provider_id: d.provider_id.to_string(),
            kind: d.kind.as_string(),
            titles: serde_json::to_string(&d.titles).unwrap_or_default(),
            must_agree: d.must_agree,
            show_on_registration: d.show_on_registration,
            created_at: naive(d.created_at),
            updated_at: naive(d.updated_at),
            version: d.version,
        }
    }
}

impl TryFrom<DocumentRow> for ConsentDocument {
    type Error = StoreError;

    fn try_from(row: DocumentRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: uuid(&row.id)?,
            provider_id: uuid(&row.provider_id)?,
            kind: ConsentKind::parse(&row.kind).map_err(|_| corrupt("kind"))?,
            titles: serde_json::from_str(&row.titles).map_err(|_| corrupt("titles"))?,
            must_agree: row.must_agree,
            show_on_registration: row.show_on_registration,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            version: row.version,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consent_document_versions)]
struct VersionRow {
    id: String,
    document_id: String,
    number: i64,
    content_url: Option<String>,
    content_text: Option<String>,
    text_hash: String,
    effective_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

impl From<&DocumentVersion> for VersionRow {
    fn from(v: &DocumentVersion) -> Self {
        Self {
            id: v.id.to_string(),
            document_id: v.document_id.to_string(),
            number: v.number,
            content_url: v.content.url.clone(),
            content_text: v.content.text.clone(),
            text_hash: v.text_hash.clone(),
            effective_at: naive(v.effective_at),
            created_at: naive(v.created_at),
        }
    }
}

impl TryFrom<VersionRow> for DocumentVersion {
    type Error = StoreError;

    fn try_from(row: VersionRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: uuid(&row.id)?,
            document_id: uuid(&row.document_id)?,
            number: row.number,
            content: VersionContent {
                url: row.content_url,
                text: row.content_text,
            },
            text_hash: row.text_hash,
            effective_at: utc(row.effective_at),
            created_at: utc(row.created_at),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consent_records)]
struct RecordRow {
    id: String,
    user_id: String,
    provider_id: String,
    document_id: String,
    document_version_id: String,
    version_number: i64,
    text_hash: String,
    decision: String,
    method: String,
    ip: Option<String>,
    user_agent: Option<String>,
    created_at: NaiveDateTime,
}

impl From<&ConsentRecord> for RecordRow {
    fn from(r: &ConsentRecord) -> Self {
        Self {
            id: r.id.to_string(),
            user_id: r.user_id.to_string(),
            provider_id: r.provider_id.to_string(),
            document_id: r.document_id.to_string(),
            document_version_id: r.document_version_id.to_string(),
            version_number: r.version_number,
            text_hash: r.text_hash.clone(),
            decision: r.decision.as_str().to_owned(),
            method: r.method.as_str().to_owned(),
            ip: r.ip.clone(),
            user_agent: r.user_agent.clone(),
            created_at: naive(r.created_at),
        }
    }
}

impl TryFrom<RecordRow> for ConsentRecord {
    type Error = StoreError;

    fn try_from(row: RecordRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: uuid(&row.id)?,
            user_id: uuid(&row.user_id)?,
            provider_id: uuid(&row.provider_id)?,
            document_id: uuid(&row.document_id)?,
            document_version_id: uuid(&row.document_version_id)?,
            version_number: row.version_number,
            text_hash: row.text_hash,
            decision: Decision::parse(&row.decision).ok_or_else(|| corrupt("decision"))?,
            method: ConsentMethod::parse(&row.method).ok_or_else(|| corrupt("method"))?,
            ip: row.ip,
            user_agent: row.user_agent,
            created_at: utc(row.created_at),
        })
    }
}

/// A pending re-consent step: whose sign-in it is, at which provider, by which method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentTicket {
    pub id: Uuid,
    pub user_id: Uuid,
    pub provider_id: Uuid,
    pub method: String,
}

/// Appends consent records inside a caller's transaction (a registration's).
pub(crate) fn insert_records(
    conn: &mut DbConnection,
    records: &[ConsentRecord],
) -> Result<(), StoreError> {
    for record in records {
        diesel::insert_into(consent_records::table)
            .values(RecordRow::from(record))
            .execute(conn)?;
    }
    Ok(())
}

pub(crate) fn load_records(
    conn: &mut DbConnection,
    user_id: Uuid,
) -> Result<Vec<ConsentRecord>, StoreError> {
    consent_records::table
        .filter(consent_records::user_id.eq(user_id.to_string()))
        .select(RecordRow::as_select())
        .order((consent_records::created_at.asc(), consent_records::id.asc()))
        .load(conn)?
        .into_iter()
        .map(ConsentRecord::try_from)
        .collect()
}

impl Store {
    /// A new document with its first version, together or not at all.
    pub fn insert_consent_document(
        &self,
        document: &ConsentDocument,
        first: &DocumentVersion,
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            diesel::insert_into(consent_documents::table)
                .values(DocumentRow::from(document))
                .execute(conn)?;
            diesel::insert_into(consent_document_versions::table)
                .values(VersionRow::from(first))
                .execute(conn)?;
            Ok(())
        })
    }

    pub fn consent_document(&self, id: Uuid) -> Result<ConsentDocument, StoreError> {
        consent_documents::table
            .find(id.to_string())
            .select(DocumentRow::as_select())
            .first(&mut *self.conn()?)?
            .try_into()
    }

    /// The provider's documents with their versions (oldest first), by creation.
    pub fn consent_documents(
        &self,
        provider_id: Uuid,
    ) -> Result<Vec<(ConsentDocument, Vec<DocumentVersion>)>, StoreError> {
        let mut conn = self.conn()?;
        // On the backend's own connection, as `enrolled_factors`: a sign-in's reading.
        let documents: Vec<DocumentRow> = natively!(&mut *conn, |c| consent_documents::table
            .filter(consent_documents::provider_id.eq(provider_id.to_string()))
            .select(DocumentRow::as_select())
            .order(consent_documents::id.asc())
            .load(c)?);
        if documents.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = documents.iter().map(|d| d.id.clone()).collect();
        let versions: Vec<DocumentVersion> = consent_document_versions::table
            .filter(consent_document_versions::document_id.eq_any(&ids))
            .select(VersionRow::as_select())
            .order(consent_document_versions::number.asc())
            .load(&mut *conn)?
            .into_iter()
            .map(DocumentVersion::try_from)
            .collect::<Result<_, _>>()?;
        documents
            .into_iter()
            .map(|row| {
                let document = ConsentDocument::try_from(row)?;
                let mine = versions
                    .iter()
                    .filter(|v| v.document_id == document.id)
                    .cloned()
                    .collect();
                Ok((document, mine))
            })
            .collect()
    }

    /// A document's versions, oldest first.
    pub fn document_versions(&self, document_id: Uuid) -> Result<Vec<DocumentVersion>, StoreError> {
        consent_document_versions::table
            .filter(consent_document_versions::document_id.eq(document_id.to_string()))
            .select(VersionRow::as_select())
            .order(consent_document_versions::number.asc())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(DocumentVersion::try_from)
            .collect()
    }

    pub fn document_version(&self, id: Uuid) -> Result<DocumentVersion, StoreError> {
        consent_document_versions::table
            .find(id.to_string())
            .select(VersionRow::as_select())
            .first(&mut *self.conn()?)?
            .try_into()
    }

    /// Writes titles and flags if the stored row still has `document.version`.
    pub fn update_consent_document(&self, document: &ConsentDocument) -> Result<(), StoreError> {
        let row = DocumentRow::from(document);
        let mut conn = self.conn()?;
        let changed = diesel::update(
            consent_documents::table
                .find(&row.id)
                .filter(consent_documents::version.eq(row.version)),
        )
        .set((
            consent_documents::titles.eq(&row.titles),
            consent_documents::must_agree.eq(row.must_agree),
            consent_documents::show_on_registration.eq(row.show_on_registration),
            consent_documents::updated_at.eq(row.updated_at),
            consent_documents::version.eq(consent_documents::version + 1),
        ))
        .execute(&mut *conn)?;
        if changed == 0 {
            let exists = diesel::select(exists(consent_documents::table.find(&row.id)))
                .get_result(&mut *conn)?;
            return Err(missing_or_stale(exists));
        }
        Ok(())
    }

    /// Publishes `version` as the document's next number (its `number` is ignored); answers
    /// the stored version. Two publications at once: one gets a `Conflict` at `/version`.
    pub fn publish_document_version(
        &self,
        version: &DocumentVersion,
    ) -> Result<DocumentVersion, StoreError> {
        self.write(|conn| {
            let document_id = version.document_id.to_string();
            let found: bool = diesel::select(exists(consent_documents::table.find(&document_id)))
                .get_result(conn)?;
            if !found {
                return Err(StoreError::NotFound);
            }
            let last: Option<i64> = consent_document_versions::table
                .filter(consent_document_versions::document_id.eq(&document_id))
                .select(diesel::dsl::max(consent_document_versions::number))
                .first(conn)?;
            let mut stored = version.clone();
            stored.number = last.unwrap_or(0) + 1;
            diesel::insert_into(consent_document_versions::table)
                .values(VersionRow::from(&stored))
                .execute(conn)?;
            Ok(stored)
        })
    }

    /// Appends consent records, all or none.
    pub fn insert_consent_records(&self, records: &[ConsentRecord]) -> Result<(), StoreError> {
        self.write(|conn| insert_records(conn, records))
    }

    /// A user's consent history, oldest first.
    pub fn user_consent_records(&self, user_id: Uuid) -> Result<Vec<ConsentRecord>, StoreError> {
        let mut pooled = self.conn()?;
        load_records(&mut pooled, user_id)
    }

    /// A page of the records on one document, oldest first.
    pub fn document_consent_records(
        &self,
        document_id: Uuid,
        page: PageRequest,
    ) -> Result<Page<ConsentRecord>, StoreError> {
        let mut query = consent_records::table
            .filter(consent_records::document_id.eq(document_id.to_string()))
            .select(RecordRow::as_select())
            .order(consent_records::id.asc())
            .limit(i64::from(page.limit) + 1)
            .into_boxed();
        if let Some(after) = page.after {
            query = query.filter(consent_records::id.gt(after.to_string()));
        }
        let items = query
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(ConsentRecord::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page.limit, |r| r.id))
    }

    /// Stores a re-consent ticket (its hash) valid until `expires_at`.
    pub fn create_consent_ticket(
        &self,
        ticket: &ConsentTicket,
        ticket_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        diesel::insert_into(consent_tickets::table)
            .values((
                consent_tickets::id.eq(ticket.id.to_string()),
                consent_tickets::ticket_hash.eq(ticket_hash),
                consent_tickets::user_id.eq(ticket.user_id.to_string()),
                consent_tickets::provider_id.eq(ticket.provider_id.to_string()),
                consent_tickets::method.eq(&ticket.method),
                consent_tickets::created_at.eq(naive(now)),
                consent_tickets::expires_at.eq(naive(expires_at)),
            ))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    /// The unused, unexpired ticket with this hash, if any.
    pub fn consent_ticket(
        &self,
        ticket_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsentTicket>, StoreError> {
        let row: Option<(String, String, String, String)> = consent_tickets::table
            .filter(consent_tickets::ticket_hash.eq(ticket_hash))
            .filter(consent_tickets::used_at.is_null())
            .filter(consent_tickets::expires_at.gt(naive(now)))
            .select((
                consent_tickets::id,
                consent_tickets::user_id,
                consent_tickets::provider_id,
                consent_tickets::method,
            ))
            .first(&mut *self.conn()?)
            .optional()?;
        row.map(|(id, user_id, provider_id, method)| {
            Ok(ConsentTicket {
                id: uuid(&id)?,
                user_id: uuid(&user_id)?,
                provider_id: uuid(&provider_id)?,
                method,
            })
        })
        .transpose()
    }

    /// Uses the ticket and appends the records in one transaction; `false` (and nothing
    /// written) when the ticket was used or expired meanwhile.
    pub fn redeem_consent_ticket(
        &self,
        ticket_id: Uuid,
        records: &[ConsentRecord],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(|conn| {
            let used = diesel::update(
                consent_tickets::table
                    .find(ticket_id.to_string())
                    .filter(consent_tickets::used_at.is_null())
                    .filter(consent_tickets::expires_at.gt(naive(now))),
            )
            .set(consent_tickets::used_at.eq(naive(now)))
            .execute(conn)?;
            if used == 0 {
                return Ok(false);
            }
            insert_records(conn, records)?;
            Ok(true)
        })
    }

    /// Deletes up to `batch` consent tickets that expired more than an hour ago (used ones
    /// included); returns how many went.
    pub fn purge_consent_tickets(
        &self,
        batch: i64,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let before = naive(now - chrono::Duration::hours(1));
        let mut conn = self.conn()?;
        let ids: Vec<String> = consent_tickets::table
            .filter(consent_tickets::expires_at.lt(before))
            .select(consent_tickets::id)
            .limit(batch)
            .load(&mut *conn)?;
        Ok(
            diesel::delete(consent_tickets::table.filter(consent_tickets::id.eq_any(&ids)))
                .execute(&mut *conn)?,
        )
    }
}
