//! Second factors: TOTP secrets, recovery codes, and the sign-in challenges that wait for
//! one. Every use of a code is a conditional UPDATE, so that of parallel uses exactly one
//! wins.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::model::Subject;
use domain::policy::ProviderPolicies;
use domain::provider::ProviderStatus;
use uuid::Uuid;

use super::Store;
use crate::error::corrupt;
use crate::rows::{naive, utc, uuid};
use crate::schema::{mfa_challenges, providers, recovery_codes, totp_factors};
use crate::{DbConnection, StoreError};

/// A person's TOTP factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactor {
    /// Base32; only the API's TOTP check reads it.
    pub secret: String,
    pub confirmed: bool,
    pub last_used_step: Option<u64>,
}

/// A sign-in waiting for its second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRecord {
    pub id: Uuid,
    pub subject: Subject,
    pub provider_id: Option<Uuid>,
    /// The first factor's method (`AuthMethod` text).
    pub method: String,
    /// The second factors offered (`SecondFactor` texts).
    pub methods: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// The proof a verify brings, already checked against what it must match.
#[derive(Debug, Clone)]
pub enum VerifyChallenge {
    /// A TOTP code that matched this time step.
    TotpStep(u64),
    /// The SHA-256 of a recovery code.
    RecoveryCode(String),
    /// An SMS code, already spent by its own conditional update (`use_phone_code`).
    SmsCode,
}

type ChallengeRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    chrono::NaiveDateTime,
    chrono::NaiveDateTime,
    Option<chrono::NaiveDateTime>,
);

fn subject_of(kind: &str, id: &str) -> Result<Subject, StoreError> {
    Ok(Subject {
        kind: domain::provider::SubjectKind::parse(kind).ok_or_else(|| corrupt("subject_kind"))?,
        id: uuid(id)?,
    })
}

fn challenge_from(row: ChallengeRow) -> Result<ChallengeRecord, StoreError> {
    let (id, kind, subject_id, provider_id, method, methods, created, expires, used) = row;
    Ok(ChallengeRecord {
        id: uuid(&id)?,
        subject: subject_of(&kind, &subject_id)?,
        provider_id: provider_id.as_deref().map(uuid).transpose()?,
        method,
        methods: methods.split_whitespace().map(str::to_owned).collect(),
        created_at: utc(created),
        expires_at: utc(expires),
        used_at: used.map(utc),
    })
}

fn step_to_db(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

/// The `admin_mfa_required` policy of each active provider in `only` (`None`: every
/// provider), on the caller's connection.
pub(super) fn admin_mfa_policies(
    conn: &mut DbConnection,
    only: Option<&[Uuid]>,
) -> Result<Vec<bool>, StoreError> {
    let mut query = providers::table
        .filter(providers::status.eq(ProviderStatus::Active.as_str()))
        .select(providers::policies)
        .into_boxed();
    if let Some(ids) = only {
        query = query.filter(providers::id.eq_any(ids.iter().map(Uuid::to_string)));
    }
    query
        .load::<String>(conn)?
        .into_iter()
        .map(|text| {
            serde_json::from_str::<ProviderPolicies>(&text)
                .map(|p| p.admin_mfa_required)
                .map_err(|_| corrupt("policies"))
        })
        .collect()
}

impl Store {
    pub fn totp_factor(&self, subject: Subject) -> Result<Option<TotpFactor>, StoreError> {
        let row: Option<(String, Option<chrono::NaiveDateTime>, Option<i64>)> = totp_factors::table
            .find((subject.kind.as_str(), subject.id.to_string()))
            .select((
                totp_factors::secret,
                totp_factors::confirmed_at,
                totp_factors::last_used_step,
            ))
            .first(&mut *self.conn()?)
            .optional()?;
        Ok(row.map(|(secret, confirmed, step)| TotpFactor {
            secret,
            confirmed: confirmed.is_some(),
            last_used_step: step.and_then(|s| u64::try_from(s).ok()),
        }))
    }

    /// Stores a new, unconfirmed TOTP secret in place of an unconfirmed one; false (and
    /// nothing changes) when a confirmed factor exists.
    pub fn enroll_totp(
        &self,
        subject: Subject,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (kind, id) = (subject.kind.as_str(), subject.id.to_string());
        self.write(|conn| {
            diesel::delete(
                totp_factors::table
                    .find((kind, &id))
                    .filter(totp_factors::confirmed_at.is_null()),
            )
            .execute(conn)?;
            let active: i64 = totp_factors::table
                .find((kind, &id))
                .count()
                .get_result(conn)?;
            if active > 0 {
                return Ok(false);
            }
            diesel::insert_into(totp_factors::table)
                .values((
                    totp_factors::subject_kind.eq(kind),
                    totp_factors::subject_id.eq(&id),
                    totp_factors::secret.eq(secret),
                    totp_factors::created_at.eq(naive(now)),
                ))
                .execute(conn)?;
            Ok(true)
        })
    }

    /// Activates the enrolled factor with a code of `step`; false when there is no
    /// unconfirmed factor or the step was used already.
    pub fn confirm_totp(
        &self,
        subject: Subject,
        step: u64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let step = step_to_db(step);
        let changed = diesel::update(
            totp_factors::table
                .find((subject.kind.as_str(), subject.id.to_string()))
                .filter(totp_factors::confirmed_at.is_null())
                .filter(
                    totp_factors::last_used_step
                        .is_null()
                        .or(totp_factors::last_used_step.lt(step)),
                ),
        )
        .set((
            totp_factors::confirmed_at.eq(naive(now)),
            totp_factors::last_used_step.eq(step),
        ))
        .execute(&mut *self.conn()?)?;
        Ok(changed == 1)
    }

    /// Removes the TOTP factor; false when there was none.
    pub fn delete_totp(&self, subject: Subject) -> Result<bool, StoreError> {
        let changed = diesel::delete(
            totp_factors::table.find((subject.kind.as_str(), subject.id.to_string())),
        )
        .execute(&mut *self.conn()?)?;
        Ok(changed == 1)
    }

    /// Replaces every recovery code of `subject` with `hashes`.
    pub fn replace_recovery_codes(
        &self,
        subject: Subject,
        hashes: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (kind, id) = (subject.kind.as_str(), subject.id.to_string());
        self.write(|conn| {
            diesel::delete(
                recovery_codes::table
                    .filter(recovery_codes::subject_kind.eq(kind))
                    .filter(recovery_codes::subject_id.eq(&id)),
            )
            .execute(conn)?;
            for hash in hashes {
                diesel::insert_into(recovery_codes::table)
                    .values((
                        recovery_codes::code_hash.eq(hash),
                        recovery_codes::subject_kind.eq(kind),
                        recovery_codes::subject_id.eq(&id),
                        recovery_codes::created_at.eq(naive(now)),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    /// Unused recovery codes of `subject`.
    pub fn recovery_codes_left(&self, subject: Subject) -> Result<i64, StoreError> {
        Ok(recovery_codes::table
            .filter(recovery_codes::subject_kind.eq(subject.kind.as_str()))
            .filter(recovery_codes::subject_id.eq(subject.id.to_string()))
            .filter(recovery_codes::used_at.is_null())
            .count()
            .get_result(&mut *self.conn()?)?)
    }

    /// Whether `subject` has a second factor that signs in: confirmed TOTP, or (users only)
    /// a verified number, which is SMS as a second factor. Recovery codes stand in for
    /// one, they are not one.
    pub fn has_second_factor(&self, subject: Subject) -> Result<bool, StoreError> {
        let enrolled = self.enrolled_factors(subject)?;
        Ok(enrolled.totp || enrolled.sms)
    }

    pub fn create_challenge(&self, challenge: &ChallengeRecord) -> Result<(), StoreError> {
        diesel::insert_into(mfa_challenges::table)
            .values((
                mfa_challenges::id.eq(challenge.id.to_string()),
                mfa_challenges::subject_kind.eq(challenge.subject.kind.as_str()),
                mfa_challenges::subject_id.eq(challenge.subject.id.to_string()),
                mfa_challenges::provider_id.eq(challenge.provider_id.map(|p| p.to_string())),
                mfa_challenges::method.eq(&challenge.method),
                mfa_challenges::methods.eq(challenge.methods.join(" ")),
                mfa_challenges::created_at.eq(naive(challenge.created_at)),
                mfa_challenges::expires_at.eq(naive(challenge.expires_at)),
            ))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    pub fn challenge(&self, id: Uuid) -> Result<Option<ChallengeRecord>, StoreError> {
        mfa_challenges::table
            .find(id.to_string())
            .select((
                mfa_challenges::id,
                mfa_challenges::subject_kind,
                mfa_challenges::subject_id,
                mfa_challenges::provider_id,
                mfa_challenges::method,
                mfa_challenges::methods,
                mfa_challenges::created_at,
                mfa_challenges::expires_at,
                mfa_challenges::used_at,
            ))
            .first::<ChallengeRow>(&mut *self.conn()?)
            .optional()?
            .map(challenge_from)
            .transpose()
    }

    /// Spends the challenge `id` of `subject` and the code `proof` together, in one
    /// transaction: `Ok(true)` when both were unused (and the challenge unexpired),
    /// `Ok(false)` when the challenge is spent or expired, `Err(Stale)` when the code
    /// was used already (nothing changes then).
    pub fn finish_challenge(
        &self,
        id: Uuid,
        subject: Subject,
        proof: &VerifyChallenge,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (kind, subject_id) = (subject.kind.as_str(), subject.id.to_string());
        self.write(|conn| {
            let spent = diesel::update(
                mfa_challenges::table
                    .find(id.to_string())
                    .filter(mfa_challenges::used_at.is_null())
                    .filter(mfa_challenges::expires_at.gt(naive(now))),
            )
            .set(mfa_challenges::used_at.eq(naive(now)))
            .execute(conn)?;
            if spent != 1 {
                return Ok(false);
            }
            let used = match proof {
                VerifyChallenge::TotpStep(step) => {
                    let step = step_to_db(*step);
                    diesel::update(
                        totp_factors::table
                            .find((kind, &subject_id))
                            .filter(totp_factors::confirmed_at.is_not_null())
                            .filter(
                                totp_factors::last_used_step
                                    .is_null()
                                    .or(totp_factors::last_used_step.lt(step)),
                            ),
                    )
                    .set(totp_factors::last_used_step.eq(step))
                    .execute(conn)?
                }
                VerifyChallenge::RecoveryCode(hash) => diesel::update(
                    recovery_codes::table
                        .find(hash)
                        .filter(recovery_codes::subject_kind.eq(kind))
                        .filter(recovery_codes::subject_id.eq(&subject_id))
                        .filter(recovery_codes::used_at.is_null()),
                )
                .set(recovery_codes::used_at.eq(naive(now)))
                .execute(conn)?,
                VerifyChallenge::SmsCode => 1,
            };
            if used != 1 {
                // Rolls the challenge back: a replayed code does not spend it.
                return Err(StoreError::Stale);
            }
            Ok(true)
        })
    }
}
