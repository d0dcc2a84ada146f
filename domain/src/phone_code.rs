//! One-time codes sent by SMS: what they are for, what they are bound to, how long they
//! live, and when sending one more is refused (resend cooldown, caps against SMS pumping).
//! Drawing the random number, storing and sending are the callers' (api, persistence).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::Subject;
use crate::phone::PhoneNumber;
pub use crate::policy::SmsSendLimits;
use crate::provider::text_enum;
use crate::secret::hash_secret;
use crate::sms_gateway::MAX_CODE_VALIDITY_SECONDS;

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;
/// Wrong tries one code takes before it dies (a resend inherits the count).
pub const MAX_WRONG_TRIES: u32 = 5;
/// Validity when no gateway says otherwise: the longest allowed, 10 minutes.
pub const DEFAULT_VALIDITY_SECONDS: u32 = MAX_CODE_VALIDITY_SECONDS;
/// Cooldown between two sends when no gateway says otherwise.
pub const DEFAULT_RESEND_SECONDS: u32 = 60;
/// The window of the send caps.
pub const CAP_WINDOW_SECONDS: i64 = 3600;

text_enum!(
    /// What a code was sent for: a code is only accepted for the purpose it was sent for.
    CodePurpose {
        VerifyPhone = "verify_phone",
        Login = "login",
        Registration = "registration",
        SecondFactor = "second_factor",
    }
);

impl CodePurpose {
    /// Purposes whose code belongs to a signed-in (or half signed-in) account; the others
    /// belong to a number at a provider, before anyone is known.
    pub fn is_for_account(self) -> bool {
        matches!(self, CodePurpose::VerifyPhone | CodePurpose::SecondFactor)
    }
}

/// Who a code is for: an account, or a number at a provider (nobody known yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeHolder {
    Account(Subject),
    Number {
        provider_id: Uuid,
        phone: PhoneNumber,
    },
}

impl CodeHolder {
    /// The key a code is stored and looked up under, with its purpose: a code for one
    /// purpose or holder never answers for another. It holds the number in clear (it is
    /// personal data and cleared with it).
    pub fn binding(&self, purpose: CodePurpose) -> String {
        match self {
            CodeHolder::Account(s) => format!("{}:{}:{}", purpose.as_str(), s.kind.as_str(), s.id),
            CodeHolder::Number { provider_id, phone } => {
                format!("{}:{provider_id}:{phone}", purpose.as_str())
            }
        }
    }
}

/// The code from a 32-bit random number (from a CSPRNG), or `None` when the number falls
/// in the uneven tail and the caller must draw again: every code is equally likely.
pub fn code_from_random(random: u32) -> Option<String> {
    const RANGE: u32 = 1_000_000;
    // The largest multiple of RANGE that fits: values at or above it would favour low codes.
    const LIMIT: u32 = u32::MAX / RANGE * RANGE;
    (random < LIMIT).then(|| format!("{:06}", random % RANGE))
}

/// Whether `value` has the shape of a code (so nothing else is hashed or compared).
pub fn looks_like_code(value: &str) -> bool {
    value.len() == CODE_DIGITS && value.bytes().all(|b| b.is_ascii_digit())
}

/// The stored form of a code: salted with the code's own id, so equal codes differ.
pub fn hash_code(id: Uuid, code: &str) -> String {
    hash_secret(&format!("{id}:{code}"))
}

/// How long a code lives: the gateway's validity, at most 10 minutes.
pub fn validity(gateway_seconds: Option<u32>) -> Duration {
    let seconds = gateway_seconds
        .unwrap_or(DEFAULT_VALIDITY_SECONDS)
        .min(MAX_CODE_VALIDITY_SECONDS);
    Duration::seconds(i64::from(seconds))
}

/// The codes already sent in the last hour, and when the holder's last one went out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendHistory {
    pub to_number: u32,
    pub for_account: u32,
    pub from_ip: u32,
    pub last_for_binding: Option<DateTime<Utc>>,
}

/// Why no code is sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendRefusal {
    /// The last code went out too recently: retry after this many seconds.
    Cooldown(i64),
    /// A cap of the hour is reached: retry after this many seconds (at most the window).
    NumberCap(i64),
    AccountCap(i64),
    IpCap(i64),
}

impl SendRefusal {
    pub fn retry_after(self) -> i64 {
        match self {
            SendRefusal::Cooldown(s)
            | SendRefusal::NumberCap(s)
            | SendRefusal::AccountCap(s)
            | SendRefusal::IpCap(s) => s,
        }
    }

    /// For the auth log.
    pub fn as_str(self) -> &'static str {
        match self {
            SendRefusal::Cooldown(_) => "resend_cooldown",
            SendRefusal::NumberCap(_) => "number_cap",
            SendRefusal::AccountCap(_) => "account_cap",
            SendRefusal::IpCap(_) => "ip_cap",
        }
    }
}

/// May another code go out now? The cooldown first (the usual case of an impatient user),
/// then the caps. Retry-after for a cap is a safe upper bound: the window.
pub fn may_send(
    history: SendHistory,
    limits: SmsSendLimits,
    resend_seconds: u32,
    now: DateTime<Utc>,
) -> Result<(), SendRefusal> {
    if let Some(last) = history.last_for_binding {
        let ready = last + Duration::seconds(i64::from(resend_seconds));
        if ready > now {
            let wait = (ready - now).num_milliseconds();
            return Err(SendRefusal::Cooldown((wait + 999) / 1000));
        }
    }
    let window = CAP_WINDOW_SECONDS;
    if history.to_number >= limits.per_number_per_hour {
        return Err(SendRefusal::NumberCap(window));
    }
    if history.for_account >= limits.per_account_per_hour {
        return Err(SendRefusal::AccountCap(window));
    }
    if history.from_ip >= limits.per_ip_per_hour {
        return Err(SendRefusal::IpCap(window));
    }
    Ok(())
}

/// One stored code, as the check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    pub id: Uuid,
    pub code_hash: String,
    pub wrong_tries: u32,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

/// What checking a code against the holder's latest code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right: the caller consumes it (conditionally: a parallel use may win first).
    Right,
    Wrong,
    Expired,
    /// Already used.
    Used,
    /// Dead after `MAX_WRONG_TRIES` wrong tries.
    TooManyTries,
    /// No code was sent to this holder for this purpose.
    NoCode,
}

impl CodeCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeCheck::Right => "ok",
            CodeCheck::Wrong => "wrong_code",
            CodeCheck::Expired => "code_expired",
            CodeCheck::Used => "code_used",
            CodeCheck::TooManyTries => "code_too_many_tries",
            CodeCheck::NoCode => "no_code",
        }
    }
}

/// Judges `code` against the holder's latest code. A used or dead code stays so, whatever
/// is typed; a wrong code is only `Wrong` while it could still be right.
pub fn judge(stored: Option<&StoredCode>, code: &str, now: DateTime<Utc>) -> CodeCheck {
    let Some(stored) = stored else {
        return CodeCheck::NoCode;
    };
    if stored.used {
        CodeCheck::Used
    } else if stored.expires_at <= now {
        CodeCheck::Expired
    } else if stored.wrong_tries >= MAX_WRONG_TRIES {
        CodeCheck::TooManyTries
    } else if looks_like_code(code) && hash_code(stored.id, code) == stored.code_hash {
        CodeCheck::Right
    } else {
        CodeCheck::Wrong
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn codes_are_six_digits_and_uniform() {
        assert_eq!(code_from_random(0).as_deref(), Some("000000"));
        assert_eq!(code_from_random(1_234_567).as_deref(), Some("234567"));
        assert_eq!(code_from_random(u32::MAX), None);
        assert_eq!(code_from_random(4_294_000_000), None);
        assert_eq!(code_from_random(4_293_999_999).as_deref(), Some("999999"));
    }

    #[test]
    fn validity_is_capped_at_ten_minutes() {
        assert_eq!(validity(None), Duration::minutes(10));
        assert_eq!(validity(Some(120)), Duration::minutes(2));
        assert_eq!(validity(Some(3600)), Duration::minutes(10));
    }

    #[test]
    fn bindings_keep_purposes_and_holders_apart() {
        let subject = Subject::user(Uuid::nil());
        let phone = PhoneNumber::parse("+4915112345678").unwrap();
        let number = CodeHolder::Number {
            provider_id: Uuid::nil(),
            phone,
        };
        let all = [
            CodeHolder::Account(subject).binding(CodePurpose::VerifyPhone),
            CodeHolder::Account(subject).binding(CodePurpose::SecondFactor),
            number.binding(CodePurpose::Login),
            number.binding(CodePurpose::Registration),
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn send_table() {
        let limits = SmsSendLimits::default();
        let h = |n, a, i, last: Option<i64>| SendHistory {
            to_number: n,
            for_account: a,
            from_ip: i,
            last_for_binding: last.map(at),
        };
        let cases = [
            (h(0, 0, 0, None), Ok(())),
            (h(1, 1, 1, Some(-61)), Ok(())),
            (h(1, 1, 1, Some(-60)), Ok(())),
            (h(1, 1, 1, Some(-59)), Err(SendRefusal::Cooldown(1))),
            (h(1, 1, 1, Some(0)), Err(SendRefusal::Cooldown(60))),
            (h(5, 0, 0, None), Err(SendRefusal::NumberCap(3600))),
            (h(4, 10, 0, None), Err(SendRefusal::AccountCap(3600))),
            (h(4, 9, 20, None), Err(SendRefusal::IpCap(3600))),
            (h(4, 9, 19, None), Ok(())),
        ];
        for (history, expected) in cases {
            assert_eq!(
                may_send(history, limits, 60, at(0)),
                expected,
                "{history:?}"
            );
        }
    }

    #[test]
    fn judge_table() {
        let id = Uuid::nil();
        let stored = |tries, expires, used| StoredCode {
            id,
            code_hash: hash_code(id, "123456"),
            wrong_tries: tries,
            expires_at: at(expires),
            used,
        };
        let cases = [
            (Some(stored(0, 10, false)), "123456", CodeCheck::Right),
            (Some(stored(4, 10, false)), "123456", CodeCheck::Right),
            (Some(stored(0, 10, false)), "123457", CodeCheck::Wrong),
            (Some(stored(0, 10, false)), "12345", CodeCheck::Wrong),
            (Some(stored(0, 10, false)), "abcdef", CodeCheck::Wrong),
            (
                Some(stored(5, 10, false)),
                "123456",
                CodeCheck::TooManyTries,
            ),
            (Some(stored(0, 0, false)), "123456", CodeCheck::Expired),
            (Some(stored(0, 10, true)), "123456", CodeCheck::Used),
            (None, "123456", CodeCheck::NoCode),
        ];
        for (stored, code, expected) in cases {
            assert_eq!(
                judge(stored.as_ref(), code, at(0)),
                expected,
                "{stored:?} {code}"
            );
        }
    }

    #[test]
    fn stored_limits_of_other_versions_read() {
        let limits: SmsSendLimits = serde_json::from_str(r#"{"per_ip_per_hour": 3}"#).unwrap();
        assert_eq!(
            limits,
            SmsSendLimits {
                per_ip_per_hour: 3,
                ..SmsSendLimits::default()
            }
        );
    }
}
