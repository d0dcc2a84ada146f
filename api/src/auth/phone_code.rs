//! One-time codes sent by SMS, for every purpose that needs one (`CodePurpose`): verifying
//! a number, phone sign-in, phone registration, and SMS as a second factor. Two calls:
//!
//! - `send_code` draws a 6-digit code from the OS CSPRNG, stores its salted hash (valid
//!   for the provider's first gateway's validity, at most 10 minutes) unless the resend
//!   cooldown or a cap of the hour refuses (429 `sms_rate_limited`), and sends it through
//!   `state.sms` in the gateway's template for the language. `pretend_send_code` does the
//!   same but sends nothing (a number nobody verified looks like a known one).
//! - `check_code` checks a code against the holder's latest one: it spends the failure
//!   budget first (the account's, or the unknown number's), then spends the code with a
//!   conditional update (of parallel uses exactly one wins); a wrong code counts against
//!   the code's 5 tries and stays spent in the budget.
//!
//! Every attempt goes into the auth log with its reason; never the code or the text.

use domain::auth_method::AuthMethod;
use domain::model::Subject;
use domain::phone::PhoneNumber;
use domain::phone_code::{
    CodeCheck, CodeHolder, CodePurpose, DEFAULT_RESEND_SECONDS, SendRefusal, SmsSendLimits,
    code_from_random, hash_code, judge, validity,
};
use domain::sms_gateway::MAX_RESEND_TIMEOUT_SECONDS;
use domain::throttle;
use persistence::NewPhoneCode;
use uuid::Uuid;

use super::client_info::ClientInfo;
use super::log::{Attempt, Reason, SMS, record};
use super::throttle::{reserve, reset};
use crate::outside::sms::SmsMessage;
use crate::problem::ApiError;
use crate::state::AppState;

/// A code to send: what for, to whom it belongs, and where it goes.
#[derive(Debug, Clone)]
pub struct CodeRequest {
    pub purpose: CodePurpose,
    /// An account (`verify_phone`, `second_factor`), or the number at a provider
    /// (`login`, `registration`).
    pub holder: CodeHolder,
    /// The account the code is for, when one is known (a known number's sign-in): its
    /// hourly cap counts, and a check spends its failure budget.
    pub account: Option<Subject>,
    /// The provider whose gateways, validity and caps apply (`None`: an employee's;
    /// gateways that serve every provider, the default caps).
    pub provider_id: Option<Uuid>,
    pub phone: PhoneNumber,
    /// The recipient's language (`de`, `pt-BR`) for the gateway's template.
    pub language: Option<String>,
}

/// What a person may be told after a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentCode {
    pub expires_in_seconds: i64,
    pub resend_after_seconds: i64,
}

/// A code that was right, and what it was sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCode {
    pub phone: PhoneNumber,
    /// The account it was sent for; `None` for a registration's code (and a pretended one).
    pub account: Option<Subject>,
    pub provider_id: Option<Uuid>,
}

/// An auth event of a code: method `sms` for a second factor's (a sign-in's second step),
/// `phone` for the others.
fn attempt(
    purpose: CodePurpose,
    provider_id: Option<Uuid>,
    account: Option<Subject>,
    reason: Reason,
) -> Attempt<'static> {
    let method = match purpose {
        CodePurpose::SecondFactor => SMS,
        _ => AuthMethod::Phone.as_str(),
    };
    Attempt::named(method, reason)
        .provider(provider_id)
        .subject(account)
}

fn refusal_reason(refusal: SendRefusal) -> Reason {
    match refusal {
        SendRefusal::Cooldown(_) => Reason::ResendCooldown,
        SendRefusal::NumberCap(_) => Reason::NumberCap,
        SendRefusal::AccountCap(_) => Reason::AccountCap,
        SendRefusal::IpCap(_) => Reason::IpCap,
    }
}

fn new_code() -> String {
    loop {
        let random = u32::from_le_bytes(crate::secrets::random_bytes::<4>());
        if let Some(code) = code_from_random(random) {
            return code;
        }
    }
}

/// Sends a code for `request`, or says why not (429 `sms_rate_limited` with
/// `Retry-After`; 502 when no gateway took it).
pub async fn send_code(
    state: &AppState,
    request: CodeRequest,
    client: &ClientInfo,
) -> Result<SentCode, ApiError> {
    issue(state, request, client, true).await
}

/// Stores a code like `send_code` and answers the same, but sends nothing: for a number
/// that must not be told apart from a known one, so that its cooldown and caps behave
/// alike.
pub async fn pretend_send_code(
    state: &AppState,
    request: CodeRequest,
    client: &ClientInfo,
) -> Result<SentCode, ApiError> {
    issue(state, request, client, false).await
}

async fn issue(
    state: &AppState,
    request: CodeRequest,
    client: &ClientInfo,
    deliver: bool,
) -> Result<SentCode, ApiError> {
    let provider_id = request.provider_id;
    let settings = code_settings(state, provider_id).await?;
    let now = state.now();
    let id = Uuid::now_v7();
    let code = new_code();
    let new = NewPhoneCode {
        id,
        purpose: request.purpose,
        binding: request.holder.binding(request.purpose),
        provider_id,
        subject: request.account,
        phone: request.phone.to_string(),
        ip: client.ip.clone(),
        code_hash: hash_code(id, &code),
        created_at: now,
        expires_at: now + settings.validity,
    };
    let stored = state
        .db(move |store| {
            Ok(store.send_phone_code(&new, settings.limits, settings.resend_seconds)?)
        })
        .await?;
    let logged = |reason| attempt(request.purpose, provider_id, request.account, reason);
    if let Err(refusal) = stored {
        record(state, logged(refusal_reason(refusal)), client).await;
        return Err(ApiError::SmsLimited(refusal.retry_after()));
    }
    if deliver {
        let message = SmsMessage {
            to: request.phone.clone(),
            // Each gateway writes the code into its own template for the language.
            text: String::new(),
            sender: None,
            provider_id,
            language: request.language.clone(),
            code: Some(code),
        };
        if let Err(e) = state.sms.send(message).await {
            record(state, logged(Reason::SmsFailed), client).await;
            return Err(ApiError::GatewayFailed(e.to_string()));
        }
    }
    let reason = if deliver {
        Reason::CodeSent
    } else {
        Reason::UnknownNumber
    };
    record(state, logged(reason), client).await;
    Ok(settings.answer())
}

/// What applies to a code sent for a provider now.
#[derive(Debug, Clone, Copy)]
pub struct CodeSettings {
    /// The caps of the provider's policies.
    pub limits: SmsSendLimits,
    /// The first gateway's validity, at most 10 minutes.
    pub validity: chrono::Duration,
    /// The first gateway's resend timeout, at most an hour.
    pub resend_seconds: u32,
}

impl CodeSettings {
    /// What a send answers.
    pub fn answer(&self) -> SentCode {
        SentCode {
            expires_in_seconds: self.validity.num_seconds(),
            resend_after_seconds: i64::from(self.resend_seconds),
        }
    }
}

/// The settings for a code sent for `provider_id` (`None`: an employee's): the first
/// gateway serving it decides (failover does not change a code already stored).
pub async fn code_settings(
    state: &AppState,
    provider_id: Option<Uuid>,
) -> Result<CodeSettings, ApiError> {
    let (limits, first) = state
        .db(move |store| {
            let limits = match provider_id {
                Some(id) => store.provider(id)?.policies.sms_send_limits,
                None => SmsSendLimits::default(),
            };
            Ok((
                limits,
                store.sms_gateways_for(provider_id)?.into_iter().next(),
            ))
        })
        .await?;
    let resend_seconds = first
        .as_ref()
        .map(|g| g.resend_timeout_seconds)
        .unwrap_or(DEFAULT_RESEND_SECONDS)
        .min(MAX_RESEND_TIMEOUT_SECONDS);
    Ok(CodeSettings {
        limits,
        validity: validity(first.map(|g| g.code_validity_seconds)),
        resend_seconds,
    })
}

/// Checks `code` against the latest code sent for `purpose` to `holder`: the code's
/// holder and what it was sent to when right; `None` when it is wrong, expired, used, dead
/// or was never sent (one answer for all, each caller words it; the auth log has the
/// reason). `Err` for a refused budget (429) or a store failure.
pub async fn check_code(
    state: &AppState,
    purpose: CodePurpose,
    holder: &CodeHolder,
    code: &str,
    client: &ClientInfo,
) -> Result<Option<CheckedCode>, ApiError> {
    let binding = holder.binding(purpose);
    let latest = state
        .db(move |store| Ok(store.latest_phone_code(&binding)?))
        .await?;
    let stored_provider = latest.as_ref().and_then(|l| l.provider_id);
    let (account, provider_id, key) = match holder {
        CodeHolder::Account(subject) => (
            Some(*subject),
            stored_provider,
            throttle::subject_key(*subject),
        ),
        CodeHolder::Number { provider_id, phone } => {
            // A known number's code names its account: that account's budget is spent.
            let account = latest.as_ref().and_then(|l| l.subject);
            let key = match account {
                Some(subject) => throttle::subject_key(subject),
                None => throttle::unknown_key(&format!("phone:{provider_id}"), phone.as_str()),
            };
            (account, Some(*provider_id), key)
        }
    };
    let logged = |reason| attempt(purpose, provider_id, account, reason);
    reserve(state, key.clone(), logged(Reason::Ok), client).await?;
    let now = state.now();
    let reason = match judge(latest.as_ref().map(|l| &l.code), code, now) {
        CodeCheck::Right => None,
        CodeCheck::Wrong => Some(Reason::WrongCode),
        CodeCheck::Expired => Some(Reason::CodeExpired),
        CodeCheck::Used => Some(Reason::CodeUsed),
        CodeCheck::TooManyTries => Some(Reason::CodeTooManyTries),
        CodeCheck::NoCode => Some(Reason::NoCode),
    };
    let latest_id = latest.as_ref().map(|l| l.code.id);
    let (Some(latest), None) = (latest, reason) else {
        if let (Some(Reason::WrongCode), Some(id)) = (reason, latest_id) {
            state
                .db(move |store| Ok(store.wrong_phone_code(id)?))
                .await?;
        }
        record(state, logged(reason.unwrap_or(Reason::NoCode)), client).await;
        return Ok(None);
    };
    let (id, hash) = (latest.code.id, latest.code.code_hash.clone());
    let won = state
        .db(move |store| Ok(store.use_phone_code(id, &hash, now)?))
        .await?;
    if !won {
        // A parallel use of the same code came first.
        record(state, logged(Reason::CodeUsed), client).await;
        return Ok(None);
    }
    let phone = PhoneNumber::parse(&latest.phone)
        .map_err(|_| ApiError::internal("a stored phone code has a bad number"))?;
    reset(state, key).await?;
    record(state, logged(Reason::Ok), client).await;
    Ok(Some(CheckedCode {
        phone,
        account: latest.subject,
        provider_id: latest.provider_id,
    }))
}
