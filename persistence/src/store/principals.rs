//! What authenticating a request with an access token reads, in one call on one connection:
//! the live session, the person behind it (a user with their provider, or an employee with
//! roles and providers) and the facts the second-factor rules and `/me` need. A user's
//! session is one query (joins and subselects); an employee's adds their grants and the
//! providers' policies. The rules themselves stay in `domain` (`may_act`, `session_access`).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::exists;
use diesel::prelude::*;
use domain::model::{Employee, Provider, Subject, User};
use domain::permission::ProviderScope;
use domain::provider::SubjectKind;
use uuid::Uuid;

use super::Store;
use super::auth_events::KnownOriginKey;
use super::employees::complete;
use super::second_factors::admin_mfa_policies;
use crate::records::SessionRecord;
use crate::rows::{EmployeeRow, ProviderRow, SessionRow, UserRow, naive};
use crate::schema::{employees, providers, recovery_codes, sessions, totp_factors, users};
use crate::{DbConnection, StoreError};

/// The person a session, key or token names, as the access rules need them.
#[derive(Debug, Clone)]
pub enum Person {
    /// The provider boxed: it is most of the size.
    User {
        user: User,
        provider: Box<Provider>,
    },
    Employee(Employee),
}

/// The second factors a person has, and the policies that may require one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorFacts {
    /// A confirmed TOTP factor.
    pub totp: bool,
    /// A user's verified number (SMS as a second factor); always false for employees.
    pub sms: bool,
    pub recovery_codes_left: i64,
    /// Employees: `admin_mfa_required` of each active provider they may act on (empty for
    /// users, whose own provider's policies come with `Person::User`).
    pub admin_mfa_policies: Vec<bool>,
}

/// The second factors a person enrolled (`Store::enrolled_factors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EnrolledFactors {
    /// A confirmed TOTP factor.
    pub totp: bool,
    /// A user's verified number; always false for employees.
    pub sms: bool,
    pub recovery_codes_left: i64,
}

/// A session that is neither revoked nor expired, with its person and their factors.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub session: SessionRecord,
    pub person: Person,
    pub factors: FactorFacts,
}

type UserSessionRow = (
    SessionRow,
    UserRow,
    Option<NaiveDateTime>,
    ProviderRow,
    (bool, Option<i64>),
);

type EmployeeSessionRow = (SessionRow, EmployeeRow, (bool, Option<i64>));

fn user_session(
    conn: &mut DbConnection,
    session: &str,
    user: &str,
    now: NaiveDateTime,
) -> Result<Option<LiveSession>, StoreError> {
    let kind = SubjectKind::User.as_str();
    let row: Option<UserSessionRow> = sessions::table
        .inner_join(users::table.on(users::id.eq(sessions::subject_id)))
        .inner_join(providers::table.on(providers::id.eq(users::provider_id)))
        .filter(sessions::id.eq(session))
        .filter(sessions::subject_kind.eq(kind))
        .filter(sessions::subject_id.eq(user))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select((
            SessionRow::as_select(),
            UserRow::as_select(),
            users::phone_verified_at,
            ProviderRow::as_select(),
            factor_columns!(kind, user),
        ))
        .first(conn)
        .optional()?;
    let Some((session, user, phone_verified_at, provider, (totp, codes))) = row else {
        return Ok(None);
    };
    let sms = user.phone.is_some() && phone_verified_at.is_some();
    Ok(Some(LiveSession {
        session: SessionRecord::try_from(session)?,
        person: Person::User {
            user: User::try_from(user)?,
            provider: Box::new(Provider::try_from(provider)?),
        },
        factors: FactorFacts {
            totp,
            sms,
            recovery_codes_left: codes.unwrap_or(0),
            admin_mfa_policies: Vec::new(),
        },
    }))
}

fn employee_session(
    conn: &mut DbConnection,
    session: &str,
    employee: &str,
    now: NaiveDateTime,
) -> Result<Option<LiveSession>, StoreError> {
    let kind = SubjectKind::Employee.as_str();
    let row: Option<EmployeeSessionRow> = sessions::table
        .inner_join(employees::table.on(employees::id.eq(sessions::subject_id)))
        .filter(sessions::id.eq(session))
        .filter(sessions::subject_kind.eq(kind))
        .filter(sessions::subject_id.eq(employee))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select((
            SessionRow::as_select(),
            EmployeeRow::as_select(),
            factor_columns!(kind, employee),
        ))
        .first(conn)
        .optional()?;
    let Some((session, employee, (totp, codes))) = row else {
        return Ok(None);
    };
    let employee = complete(conn, employee)?.employee;
    let only = match &employee.providers {
        ProviderScope::All => None,
        ProviderScope::Only(ids) => Some(ids.as_slice()),
    };
    let admin_mfa_policies = admin_mfa_policies(conn, only)?;
    Ok(Some(LiveSession {
        session: SessionRecord::try_from(session)?,
        person: Person::Employee(employee),
        factors: FactorFacts {
            totp,
            sms: false,
            recovery_codes_left: codes.unwrap_or(0),
            admin_mfa_policies,
        },
    }))
}

/// The person `subject` names, whatever their status; `None` when they are gone. A user
/// comes with their provider in one query.
pub(super) fn person(
    conn: &mut DbConnection,
    subject: Subject,
) -> Result<Option<Person>, StoreError> {
    Ok(person_and_origin_key(conn, subject)?.0)
}

/// `person`, and for a user the origin key their auth events are sealed with, read in the
/// same statement (`KnownOriginKey`): a refresh writes its event without reading it again.
pub(super) fn person_and_origin_key(
    conn: &mut DbConnection,
    subject: Subject,
) -> Result<(Option<Person>, Option<KnownOriginKey>), StoreError> {
    let id = subject.id.to_string();
    match subject.kind {
        SubjectKind::User => {
            let row: Option<(UserRow, ProviderRow, Option<String>)> = natively!(conn, |conn| {
                users::table
                    .inner_join(providers::table.on(providers::id.eq(users::provider_id)))
                    .filter(users::id.eq(&id))
                    .select((
                        UserRow::as_select(),
                        ProviderRow::as_select(),
                        users::origin_key,
                    ))
                    .first(conn)
                    .optional()?
            });
            let Some((user, provider, origin_key)) = row else {
                return Ok((None, None));
            };
            let user = User::try_from(user)?;
            let known = KnownOriginKey::new(user.id, origin_key);
            let person = Person::User {
                user,
                provider: Box::new(Provider::try_from(provider)?),
            };
            Ok((Some(person), Some(known)))
        }
        SubjectKind::Employee => {
            let row = employees::table
                .find(&id)
                .select(EmployeeRow::as_select())
                .first(conn)
                .optional()?;
            let person = row
                .map(|row| Ok::<_, StoreError>(Person::Employee(complete(conn, row)?.employee)))
                .transpose()?;
            Ok((person, None))
        }
    }
}

impl Store {
    /// The second factors `subject` enrolled, in one query (the person's row with the
    /// factors as subselects); none when the person is gone. Run on the backend's own
    /// connection: through the multi-backend connection, deciding whether the statement may
    /// be cached walked its whole tree again at each call (perf of a login flood: more than
    /// the statement's own work).
    pub fn enrolled_factors(&self, subject: Subject) -> Result<EnrolledFactors, StoreError> {
        let id = subject.id.to_string();
        let kind = subject.kind.as_str();
        let mut conn = self.conn()?;
        let facts = match subject.kind {
            SubjectKind::User => {
                type Row = (Option<String>, Option<NaiveDateTime>, (bool, Option<i64>));
                let row: Option<Row> = natively!(&mut *conn, |c| users::table
                    .find(&id)
                    .select((
                        users::phone,
                        users::phone_verified_at,
                        factor_columns!(kind, &id),
                    ))
                    .first(c)
                    .optional()?);
                row.map(|(phone, verified_at, (totp, codes))| EnrolledFactors {
                    totp,
                    sms: phone.is_some() && verified_at.is_some(),
                    recovery_codes_left: codes.unwrap_or(0),
                })
            }
            SubjectKind::Employee => {
                let row: Option<(bool, Option<i64>)> = natively!(&mut *conn, |c| employees::table
                    .find(&id)
                    .select(factor_columns!(kind, &id))
                    .first(c)
                    .optional()?);
                row.map(|(totp, codes)| EnrolledFactors {
                    totp,
                    sms: false,
                    recovery_codes_left: codes.unwrap_or(0),
                })
            }
        };
        Ok(facts.unwrap_or_default())
    }

    /// The person `subject` names, whatever their status; `None` when they are gone.
    pub fn person(&self, subject: Subject) -> Result<Option<Person>, StoreError> {
        person(&mut *self.conn()?, subject)
    }

    /// Session `id` of `subject` if it is neither revoked nor expired at `now`, with the
    /// person (whatever their status: the caller judges) and their second-factor facts.
    /// `None` as well when the person is gone.
    pub fn live_session(
        &self,
        id: Uuid,
        subject: Subject,
        now: DateTime<Utc>,
    ) -> Result<Option<LiveSession>, StoreError> {
        // Asked before the read: a commit after this question is seen by the next one.
        let generation = self.live.as_ref().and_then(|cache| cache.generation());
        let mut conn = self.read_conn()?;
        let (id, subject_id, now) = (id.to_string(), subject.id.to_string(), naive(now));
        let live = match subject.kind {
            SubjectKind::User => user_session(&mut conn, &id, &subject_id, now),
            SubjectKind::Employee => employee_session(&mut conn, &id, &subject_id, now),
        }?;
        if let (Some(cache), Some(generation), Some(live)) = (&self.live, generation, &live) {
            cache.insert(generation, live);
        }
        Ok(live)
    }

    /// What `live_session` would answer, if the cache can tell without the database (nothing
    /// changed since it was read: `live_cache`). Quick enough for an async worker: no pooled
    /// connection, only the "did anything change" question (SQLite's `data_version`, or the
    /// notifications already in the PostgreSQL listener's socket).
    pub fn cached_live_session(
        &self,
        id: Uuid,
        subject: Subject,
        now: DateTime<Utc>,
    ) -> Option<LiveSession> {
        self.live.as_ref()?.get(id, subject, now)
    }
}
