//! Who is acting, how they proved it, and whether they still may act.

use domain::access::{Denied, ProviderGate, may_act};
use domain::api_token::ApiTokenScope;
use domain::auth_method::AuthMethod;
use domain::model::{Employee, Subject, User};
use domain::provider::{AccountStatus, SubjectKind};
use persistence::Person;
use uuid::Uuid;

use super::log::Reason;
use crate::problem::ApiError;
use crate::state::AppState;

/// The person behind a request.
#[derive(Debug, Clone)]
pub enum Actor {
    User(User),
    Employee(Employee),
}

impl Actor {
    pub fn status(&self) -> AccountStatus {
        match self {
            Actor::User(u) => u.status,
            Actor::Employee(e) => e.status,
        }
    }
}

/// How they proved it.
#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    /// A session's access token; `amr` and `started_at` are the session's, `factors` read
    /// with it in the same round trip.
    AccessToken {
        session: Uuid,
        amr: Vec<String>,
        started_at: chrono::DateTime<chrono::Utc>,
        factors: Factors,
    },
    ApiToken {
        id: Uuid,
        scope: ApiTokenScope,
    },
    Authinfo,
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub actor: Actor,
    pub credential: Credential,
}

/// The second factors a person has and whether policy requires one of them
/// (`second_factor::mfa_required`): what the enforcement and `/me` need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factors {
    pub totp: bool,
    /// A user's verified number.
    pub sms: bool,
    pub recovery_codes_left: i64,
    pub required: bool,
}

impl Principal {
    pub fn subject(&self) -> Subject {
        match &self.actor {
            Actor::User(u) => Subject::user(u.id),
            Actor::Employee(e) => Subject::employee(e.id),
        }
    }

    pub fn provider_id(&self) -> Option<Uuid> {
        match &self.actor {
            Actor::User(u) => Some(u.provider_id),
            Actor::Employee(_) => None,
        }
    }

    pub fn session(&self) -> Option<Uuid> {
        match self.credential {
            Credential::AccessToken { session, .. } => Some(session),
            _ => None,
        }
    }
}

/// The `sub` claim of our access tokens.
pub fn subject_claim(subject: Subject) -> String {
    format!("{}:{}", subject.kind.as_str(), subject.id)
}

pub fn parse_subject_claim(value: &str) -> Option<Subject> {
    let (kind, id) = value.split_once(':')?;
    Some(Subject {
        kind: SubjectKind::parse(kind)?,
        id: Uuid::parse_str(id).ok()?,
    })
}

/// Why a subject that a key, token or session names may not act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The account is gone.
    Unknown,
    Denied(Denied),
}

impl Refused {
    /// What the auth log says: only what is true.
    pub fn reason(self) -> Reason {
        match self {
            Refused::Unknown => Reason::UnknownAccount,
            Refused::Denied(Denied::AccountDisabled) => Reason::AccountDisabled,
            Refused::Denied(Denied::ProviderSuspended) => Reason::ProviderSuspended,
            Refused::Denied(Denied::MethodDisabled(_)) => Reason::MethodDisabled,
        }
    }

    /// What the caller hears: a method that is off is said; the rest is "not signed in".
    pub fn into_error(self) -> ApiError {
        match self {
            Refused::Denied(Denied::MethodDisabled(method)) => {
                ApiError::MethodDisabled(method.as_str())
            }
            _ => ApiError::Unauthenticated,
        }
    }
}

/// Loads the person behind `subject` if they may still act (`domain::access::may_act`).
/// A store that fails is an error of its own (503 when unavailable), never a refusal.
pub async fn load_actor(
    state: &AppState,
    subject: Subject,
    method: Option<AuthMethod>,
) -> Result<Result<Actor, Refused>, ApiError> {
    state
        .db(move |store| Ok(judge_found(store.person(subject)?, method)))
        .await
}

/// `judge` of a person looked up by id: `None` (gone) is `Refused::Unknown`.
pub fn judge_found(person: Option<Person>, method: Option<AuthMethod>) -> Result<Actor, Refused> {
    person.map_or(Err(Refused::Unknown), |p| judge(p, method))
}

/// The actor behind `person` if they may act by `method` (`domain::access::may_act`).
pub fn judge(person: Person, method: Option<AuthMethod>) -> Result<Actor, Refused> {
    let (actor, verdict) = match person {
        Person::User { user, provider } => {
            let gate = ProviderGate {
                status: provider.status,
                auth_methods: &provider.auth_methods,
            };
            let verdict = may_act(user.status, Some(gate), method);
            (Actor::User(user), verdict)
        }
        Person::Employee(employee) => {
            let verdict = may_act(employee.status, None, method);
            (Actor::Employee(employee), verdict)
        }
    };
    verdict.map(|()| actor).map_err(Refused::Denied)
}
