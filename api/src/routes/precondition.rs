//! Optimistic concurrency for editable objects: every read answers an `ETag` (the object's
//! version); a PUT or PATCH may send it back in `If-Match`, and the write happens only if
//! nobody changed the object in between (RFC 9110 13.1.1). Without `If-Match`, a concurrent
//! change makes the edit read again and reapply itself: a change is never lost, only
//! reordered.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use domain::consent::ConsentDocument;
use domain::model::{Client, Employee, Provider, User};
use domain::sms_gateway::SmsGateway;
use domain::transfer::Processor;
use persistence::Store;
use serde::Serialize;
use utoipa::IntoResponses;

use super::responses::PROBLEM_JSON;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// How often an edit without `If-Match` reads again after losing a race; between tries it
/// waits a little, longer each time and at random, so that racing writers spread out.
const RETRIES: u32 = 20;

/// An object with a version that every write increments.
pub trait Versioned {
    fn version(&self) -> i64;
}

macro_rules! versioned {
    ($($t:ty),+) => {$(
        impl Versioned for $t {
            fn version(&self) -> i64 {
                self.version
            }
        }
    )+};
}
versioned!(
    Provider,
    Client,
    User,
    Employee,
    SmsGateway,
    Processor,
    ConsentDocument
);

/// The strong entity tag of a version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// `If-Match` of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// No header, or `*` (the object exists, which the edit checks anyway).
    Any,
    /// The versions the client would accept; an unreadable tag matches nothing.
    Versions(Vec<i64>),
}

impl IfMatch {
    pub fn parse(value: Option<&str>) -> Self {
        let Some(value) = value.map(str::trim) else {
            return IfMatch::Any;
        };
        if value == "*" {
            return IfMatch::Any;
        }
        // A strong comparison: weak tags (W/"…") never match (RFC 9110 13.1.1).
        IfMatch::Versions(
            value
                .split(',')
                .map(str::trim)
                .filter_map(|tag| tag.strip_prefix('"')?.strip_suffix('"')?.parse().ok())
                .collect(),
        )
    }

    fn check(&self, version: i64) -> Result<(), ApiError> {
        match self {
            IfMatch::Any => Ok(()),
            IfMatch::Versions(versions) if versions.contains(&version) => Ok(()),
            IfMatch::Versions(_) => Err(ApiError::PreconditionFailed),
        }
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let value = req.headers().get(header::IF_MATCH);
        ready(match value.map(|v| v.to_str()) {
            None => Ok(IfMatch::parse(None)),
            Some(Ok(v)) => Ok(IfMatch::parse(Some(v))),
            Some(Err(_)) => Ok(IfMatch::Versions(Vec::new())),
        })
    }
}

/// Reads an object with `load`, changes it with `apply`, and writes it with `save`, which
/// must refuse with `StoreError::Stale` (as `ApiError::PreconditionFailed`, its mapping)
/// when the version is no longer the one read.
pub async fn edit<T, L, A, S>(
    state: &AppState,
    if_match: IfMatch,
    load: L,
    apply: A,
    save: S,
) -> Result<T, ApiError>
where
    T: Versioned + Send + 'static,
    L: Fn(&Store) -> Result<T, ApiError> + Send + 'static,
    A: Fn(&mut T) -> Result<(), ApiError> + Send + 'static,
    S: Fn(&Store, &T) -> Result<(), ApiError> + Send + 'static,
{
    state
        .db(move |store| {
            for attempt in 0..RETRIES {
                if attempt > 0 {
                    let jitter = u64::from(crate::secrets::random_bytes::<1>()[0] % 8);
                    std::thread::sleep(std::time::Duration::from_millis(
                        u64::from(attempt) + jitter,
                    ));
                }
                let mut object = load(store)?;
                if_match.check(object.version())?;
                apply(&mut object)?;
                match save(store, &object) {
                    Ok(()) => return Ok(load(store).unwrap_or(object)),
                    Err(ApiError::PreconditionFailed) if if_match == IfMatch::Any => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(ApiError::conflict(
                "the object is being changed by others; try again",
            ))
        })
        .await
}

/// A JSON answer with the object's `ETag`.
pub fn tagged<B: Serialize>(version: i64, body: B) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(version)))
        .json(body)
}

/// 412 of an edit with `If-Match`, for the OpenAPI document.
#[derive(IntoResponses)]
#[response(
    status = 412,
    description = "`If-Match` names a version that is no longer current (`precondition_failed`)",
    content_type = PROBLEM_JSON
)]
pub struct Stale(pub Problem);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_table() {
        let table: Vec<(Option<&str>, IfMatch)> = vec![
            (None, IfMatch::Any),
            (Some("*"), IfMatch::Any),
            (Some("\"3\""), IfMatch::Versions(vec![3])),
            (Some(" \"3\" , \"5\""), IfMatch::Versions(vec![3, 5])),
            (Some("W/\"3\""), IfMatch::Versions(vec![])),
            (Some("3"), IfMatch::Versions(vec![])),
            (Some("\"x\""), IfMatch::Versions(vec![])),
        ];
        for (value, expected) in table {
            assert_eq!(IfMatch::parse(value), expected, "{value:?}");
        }
        assert!(IfMatch::Versions(vec![3, 5]).check(5).is_ok());
        assert!(matches!(
            IfMatch::Versions(vec![3]).check(4),
            Err(ApiError::PreconditionFailed)
        ));
        assert!(IfMatch::Any.check(9).is_ok());
        assert_eq!(etag(7), "\"7\"");
    }
}
