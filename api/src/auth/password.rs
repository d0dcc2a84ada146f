//! The password first factor, on the `password` path and on `authinfo` (HTTP Basic).

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use domain::access::{ProviderGate, may_act};
use domain::auth_method::AuthMethod;
use domain::email::Email;
use domain::model::{Subject, parse_login};
use domain::provider::AccountStatus;
use domain::throttle::Decision;
use persistence::{KnownOriginKey, SignInWrites, Store};
use uuid::Uuid;

use super::client_info::ClientInfo;
use super::log::{Attempt, Reason, event, record};
use super::outcome::{FirstFactor, ReadBefore};
use super::principal::{Credential, Principal, Refused, load_actor};
use super::throttle::{judge_reservation, throttle_key};
use crate::passwords::Verified;
use crate::problem::ApiError;
use crate::state::AppState;

/// Who a password is being checked for.
pub enum PasswordTarget {
    /// A user of a provider, by e-mail.
    User {
        provider_slug: String,
        email: String,
    },
    Employee {
        login: String,
    },
}

/// A password that was right, and what its success leaves to write (its budget emptied, a
/// renewed hash, its auth event): `outcome::finish_sign_in_with` writes them in the
/// transaction that starts the session.
pub struct PasswordChecked {
    pub first: FirstFactor,
    pub writes: SignInWrites,
    /// What was read with a user's account before the hash (`None` for employees).
    pub read_before: Option<ReadBefore>,
}

/// An account a login names: who, the stored password hash, the account's status, and, for
/// a user, the origin key for sealing the sign-in's event and what the sign-in's next step
/// needs.
type Found = (
    Subject,
    Option<String>,
    AccountStatus,
    Option<(KnownOriginKey, ReadBefore)>,
);

/// Checks a password on the `password` or `authinfo` path: the method must be on, the
/// budget must allow it, and unknown logins cost the same time as wrong passwords.
pub async fn check_password(
    state: &AppState,
    target: PasswordTarget,
    password: String,
    method: AuthMethod,
    client: &ClientInfo,
) -> Result<PasswordChecked, ApiError> {
    // Over-long passwords are refused before hashing (CPU exhaustion), with the same
    // answer as a wrong one.
    let too_long = password.len() > domain::password::MAX_BYTES;
    if let PasswordTarget::Employee { .. } = target
        && method == AuthMethod::Authinfo
    {
        // Scripts of employees use API tokens; authinfo is a per-provider legacy.
        record(state, Attempt::new(method, Reason::MethodDisabled), client).await;
        return Err(ApiError::MethodDisabled(method.as_str()));
    }
    // The provider, the account and the budget's reservation in one trip to the store.
    let now = state.now();
    let ip = client.ip_addr();
    let before = state
        .db(move |store| before_the_hash(store, target, method, ip, now))
        .await?;
    let (provider_id, found, key, decision) = match before {
        BeforeTheHash::Reserved {
            provider_id,
            found,
            key,
            decision,
        } => (provider_id, found, key, decision),
        BeforeTheHash::Refused {
            provider_id,
            reason,
            answer,
        } => {
            let attempt = Attempt::new(method, reason).provider(Some(provider_id));
            record(state, attempt, client).await;
            return Err(answer);
        }
    };
    let subject = found.as_ref().map(|f| f.0);
    let attempt = || {
        Attempt::new(method, Reason::Ok)
            .provider(provider_id)
            .subject(subject)
    };
    judge_reservation(state, decision, attempt(), client).await?;

    let (stored, status, origin_key, read_before) = match found {
        Some((_, hash, status, known)) if !too_long => {
            let (origin_key, read_before) = known.unzip();
            (hash, Some(status), origin_key, read_before)
        }
        _ => (None, None, None, None),
    };
    let password = if too_long { String::new() } else { password };
    let verified = state.passwords.verify(password, stored).await?;
    let Some(subject) = subject.filter(|_| verified != Verified::No) else {
        record(
            state,
            Attempt {
                reason: Reason::UnknownOrWrongPassword,
                ..attempt()
            },
            client,
        )
        .await;
        return Err(ApiError::InvalidCredentials);
    };
    if status != Some(AccountStatus::Active) {
        // Same answer as a wrong password: a disabled account is not confirmed to exist.
        record(
            state,
            Attempt {
                reason: Reason::AccountDisabled,
                ..attempt()
            },
            client,
        )
        .await;
        return Err(ApiError::InvalidCredentials);
    }
    let password_hash = match verified {
        Verified::YesRehashed(hash) => Some((subject, hash)),
        _ => None,
    };
    Ok(PasswordChecked {
        first: FirstFactor {
            subject,
            provider_id,
            method,
        },
        writes: SignInWrites {
            reset_budget: Some(key),
            password_hash,
            events: vec![event(attempt(), client, state.now())],
            session: None,
            origin_key,
        },
        read_before,
    })
}

/// What the store trip before a password's hash found.
enum BeforeTheHash {
    /// The provider does not take this method (or, for authinfo, this address): nothing
    /// was looked up or counted.
    Refused {
        provider_id: Uuid,
        reason: Reason,
        answer: ApiError,
    },
    /// The account (if any) and the decision on its failure budget, with this attempt
    /// counted when it is allowed.
    Reserved {
        provider_id: Option<Uuid>,
        found: Option<Found>,
        key: String,
        decision: Decision,
    },
}

/// The provider's gate, the account and the failure budget's reservation for a password
/// attempt, on one store connection.
fn before_the_hash(
    store: &Store,
    target: PasswordTarget,
    method: AuthMethod,
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<BeforeTheHash, ApiError> {
    let (provider_id, scope, login, found) = match target {
        PasswordTarget::User {
            provider_slug,
            email,
        } => {
            // The account is read with the provider (one statement), and judged only after
            // the password, so it is not revealed here.
            let parsed = Email::parse(&email).ok();
            let (provider, user) = store
                .provider_and_user(&provider_slug, parsed.as_ref().map(Email::as_str))
                .map_err(ApiError::from_store("provider"))?;
            let gate = ProviderGate {
                status: provider.status,
                auth_methods: &provider.auth_methods,
            };
            if let Err(denied) = may_act(AccountStatus::Active, Some(gate), Some(method)) {
                return Ok(BeforeTheHash::Refused {
                    provider_id: provider.id,
                    reason: Refused::Denied(denied).reason(),
                    answer: ApiError::MethodDisabled(method.as_str()),
                });
            }
            if method == AuthMethod::Authinfo
                && !ip.is_some_and(|ip| provider.policies.authinfo_allows(ip))
            {
                return Ok(BeforeTheHash::Refused {
                    provider_id: provider.id,
                    reason: Reason::IpNotAllowed,
                    answer: ApiError::Forbidden("authinfo is not allowed from this address".into()),
                });
            }
            let found = user.map(|c| {
                let read_before = ReadBefore {
                    factors: c.factors,
                    consent_documents: c.provider_has_consent_documents,
                };
                (
                    Subject::user(c.user.id),
                    c.password_hash,
                    c.user.status,
                    Some((c.origin_key, read_before)),
                )
            });
            (Some(provider.id), provider.id.to_string(), email, found)
        }
        PasswordTarget::Employee { login } => {
            let found = match parse_login(&login) {
                Ok(parsed) => store.employee_credentials(&parsed)?.map(|c| {
                    (
                        Subject::employee(c.employee.id),
                        c.password_hash,
                        c.employee.status,
                        None,
                    )
                }),
                Err(_) => None,
            };
            (None, "employees".to_owned(), login, found)
        }
    };
    let key = throttle_key(found.as_ref().map(|f| f.0), &scope, &login);
    let decision = store.reserve_attempt(&key, now)?;
    Ok(BeforeTheHash::Reserved {
        provider_id,
        found,
        key,
        decision,
    })
}

/// `Authorization: Basic` with `provider-slug/e-mail:password` (BILLmanager's authinfo).
pub async fn authinfo(
    state: &AppState,
    encoded: &str,
    client: &ClientInfo,
) -> Result<Principal, ApiError> {
    let decoded = STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(ApiError::Unauthenticated)?;
    let (login, password) = decoded.split_once(':').ok_or(ApiError::Unauthenticated)?;
    let target = match login.split_once('/') {
        Some((slug, email)) => PasswordTarget::User {
            provider_slug: slug.to_owned(),
            email: email.to_owned(),
        },
        None => PasswordTarget::Employee {
            login: login.to_owned(),
        },
    };
    let PasswordChecked {
        first: ok, writes, ..
    } = check_password(
        state,
        target,
        password.to_owned(),
        AuthMethod::Authinfo,
        client,
    )
    .await?;
    state
        .db(move |store| Ok(store.write_sign_in(&writes)?))
        .await?;
    let actor = load_actor(state, ok.subject, Some(AuthMethod::Authinfo))
        .await?
        .map_err(|refused| refused.into_error())?;
    // A password alone cannot stand in for an enrolled second factor: such a person's
    // scripts use API tokens.
    let subject = ok.subject;
    if state
        .db(move |store| Ok(store.has_second_factor(subject)?))
        .await?
    {
        let attempt = Attempt::new(AuthMethod::Authinfo, Reason::SecondFactorMissing)
            .provider(ok.provider_id)
            .subject(Some(subject));
        record(state, attempt, client).await;
        return Err(ApiError::MfaRequired);
    }
    Ok(Principal {
        actor,
        credential: Credential::Authinfo,
    })
}
