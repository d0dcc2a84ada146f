//! Error responses that many operations share, described once for the OpenAPI document.
//!
//! An operation lists the sets that apply in its `responses(...)`, and after them any status
//! it describes more precisely: a later entry for the same status replaces an earlier one.
//! Every one is `application/problem+json` with a [`Problem`] body.

use utoipa::IntoResponses;

use crate::problem::Problem;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// 401: a call that needs credentials.
#[derive(IntoResponses)]
#[response(status = 401, description = "No valid credentials", content_type = PROBLEM_JSON)]
pub struct NeedsCredentials(pub Problem);

/// 401 and 403: a call that needs credentials and a permission.
#[derive(IntoResponses)]
pub enum NeedsPermission {
    #[response(status = 401, description = "No valid credentials", content_type = PROBLEM_JSON)]
    Unauthenticated(Problem),
    #[response(
        status = 403,
        description = "The caller lacks the permission, or this kind of credential may not do this; `mfa_enrollment_required` or `mfa_required` when a required second factor is not enrolled or not proven by this session",
        content_type = PROBLEM_JSON
    )]
    Forbidden(Problem),
}

/// 429: a call that checks a secret and spends the failure budget.
#[derive(IntoResponses)]
#[response(
    status = 429,
    description = "`too_many_attempts`: too many failures, wait `Retry-After` seconds; `account_locked`: the budget is spent, a one-time key from staff or the operator lifts it",
    content_type = PROBLEM_JSON
)]
pub struct Throttled(pub Problem);

/// 401 and 403 of a call that needs a session of its own (logout): a read-only API token is
/// refused as any change is.
#[derive(IntoResponses)]
pub enum NeedsSession {
    #[response(status = 401, description = "No valid credentials", content_type = PROBLEM_JSON)]
    Unauthenticated(Problem),
    #[response(
        status = 403,
        description = "A `read` API token: it may only read",
        content_type = PROBLEM_JSON
    )]
    Forbidden(Problem),
}

/// 404: a call on an object named in the path.
#[derive(IntoResponses)]
#[response(
    status = 404,
    description = "No such object, or one the caller may not see",
    content_type = PROBLEM_JSON
)]
pub struct NotFound(pub Problem);

/// 400 and 422: a request body or query string that cannot be used.
#[derive(IntoResponses)]
pub enum Invalid {
    #[response(
        status = 400,
        description = "Malformed JSON or a bad query string",
        content_type = PROBLEM_JSON
    )]
    Malformed(Problem),
    #[response(
        status = 422,
        description = "A field is not valid; see `errors`",
        content_type = PROBLEM_JSON
    )]
    Validation(Problem),
}

/// 422: a list call's query string (a value that does not parse is refused like one out
/// of range, with a `/query/<name>` pointer).
#[derive(IntoResponses)]
#[response(
    status = 422,
    description = "A query parameter is not valid (such as `limit`, `from` or `cursor`); see `errors`",
    content_type = PROBLEM_JSON
)]
pub struct BadQuery(pub Problem);

/// 415: a call with a JSON body.
#[derive(IntoResponses)]
#[response(
    status = 415,
    description = "The body is not application/json",
    content_type = PROBLEM_JSON
)]
pub struct NotJson(pub Problem);
