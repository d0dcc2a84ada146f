//! One failure budget per account, shared by every path that checks a secret (NIST SP
//! 800-63B 3.2.2, ASVS 6.3). A few free attempts, then a growing delay, and a hard stop at
//! 100 consecutive failures that only a recovery (a key issued by staff or the operator, or
//! an employee re-enabling the account) lifts: the owner is never locked out for good, and an
//! attacker never gets a 101st guess.
//!
//! Attempts are counted *before* the secret is checked (the store reserves one atomically),
//! so parallel requests cannot slip past the budget.

use chrono::{DateTime, Duration, Utc};

use crate::identifier::normalize;
use crate::model::Subject;
use crate::provider::AccountStatus;
use crate::secret::hash_secret;

/// Consecutive failures that cost nothing.
pub const FREE_ATTEMPTS: u32 = 5;
/// The longest wait between two attempts once the delay has grown.
pub const MAX_DELAY_SECONDS: i64 = 15 * 60;
/// Consecutive failures after which no more guesses are taken.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Check the secret (and count the attempt).
    Allow,
    /// Too soon: try again after this many seconds.
    RetryAfter(i64),
    /// The budget is spent until a recovery resets it.
    Locked,
}

/// The budget of an account.
pub fn subject_key(subject: Subject) -> String {
    format!("{}:{}", subject.kind.as_str(), subject.id)
}

/// The budget of a login that matches no account in `scope`, so that unknown logins look
/// like known ones from outside. The login is normalised as the account lookup normalises
/// it (`identifier::normalize`), and hashed: it may hold a mistyped password.
pub fn unknown_key(scope: &str, login: &str) -> String {
    format!("unknown:{scope}:{}", hash_secret(&normalize(login)))
}

/// Does a change of an account's status empty its budget? Re-enabling a disabled account
/// is a recovery: it lifts the hard stop (and any delay), as a redeemed key does.
pub fn status_change_resets(previous: AccountStatus, next: AccountStatus) -> bool {
    previous == AccountStatus::Disabled && next == AccountStatus::Active
}

/// How long to wait after `failures` counted attempts before the next one.
pub fn delay_after(failures: u32) -> Duration {
    if failures < FREE_ATTEMPTS {
        return Duration::zero();
    }
    let exponent = (failures - FREE_ATTEMPTS).min(20);
    Duration::seconds((1_i64 << exponent).min(MAX_DELAY_SECONDS))
}

/// May another attempt be made now, given the attempts already counted?
pub fn decide(failures: u32, last_attempt: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Decision {
    if failures >= MAX_CONSECUTIVE_FAILURES {
        return Decision::Locked;
    }
    // Free attempts need no clock: a parallel request may have stamped `last` a moment
    // after this request read `now`.
    if failures < FREE_ATTEMPTS {
        return Decision::Allow;
    }
    let Some(last) = last_attempt else {
        return Decision::Allow;
    };
    let next = last + delay_after(failures);
    if now >= next {
        Decision::Allow
    } else {
        // Round up so that a client that waits exactly this long is let in.
        let millis = (next - now).num_milliseconds();
        Decision::RetryAfter((millis + 999) / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn delays() {
        let cases: &[(u32, i64)] = &[
            (0, 0),
            (4, 0),
            (5, 1),
            (6, 2),
            (10, 32),
            (14, 512),
            (15, 900),
            (99, 900),
        ];
        for (failures, seconds) in cases {
            assert_eq!(delay_after(*failures).num_seconds(), *seconds, "{failures}");
        }
    }

    #[test]
    fn decisions() {
        let cases: &[(u32, Option<i64>, i64, Decision)] = &[
            (0, None, 0, Decision::Allow),
            (4, Some(0), 0, Decision::Allow),
            // `last` a little after `now` (another request's stamp): still free.
            (4, Some(1), 0, Decision::Allow),
            (5, Some(0), 0, Decision::RetryAfter(1)),
            (5, Some(0), 1, Decision::Allow),
            (10, Some(0), 31, Decision::RetryAfter(1)),
            (10, Some(0), 32, Decision::Allow),
            (99, Some(0), 899, Decision::RetryAfter(1)),
            (99, Some(0), 900, Decision::Allow),
            (100, Some(0), 1_000_000, Decision::Locked),
            (100, None, 0, Decision::Locked),
        ];
        for (failures, last, now, expected) in cases {
            assert_eq!(
                decide(*failures, last.map(at), at(*now)),
                *expected,
                "{failures} {last:?} {now}"
            );
        }
    }

    #[test]
    fn only_re_enabling_resets() {
        use AccountStatus::{Active, Disabled};
        let cases = [
            (Disabled, Active, true),
            (Active, Active, false),
            (Active, Disabled, false),
            (Disabled, Disabled, false),
        ];
        for (previous, next, expected) in cases {
            assert_eq!(
                status_change_resets(previous, next),
                expected,
                "{previous:?} -> {next:?}"
            );
        }
    }

    #[test]
    fn unknown_keys_share_the_lookup_normalisation() {
        assert_eq!(unknown_key("e", " Kim "), unknown_key("e", "kim"));
        // The Kelvin sign matches no ASCII login, so it has a budget of its own.
        assert_ne!(unknown_key("e", "\u{212A}im"), unknown_key("e", "kim"));
        assert_ne!(unknown_key("a", "kim"), unknown_key("b", "kim"));
    }

    /// Whatever the attacker's timing, the 101st guess is never allowed.
    #[test]
    fn never_more_than_the_budget() {
        let mut failures = 0;
        let mut last = None;
        let mut now = at(0);
        let mut allowed = 0;
        for _ in 0..100_000 {
            if decide(failures, last, now) == Decision::Allow {
                allowed += 1;
                failures += 1;
                last = Some(now);
            }
            now += Duration::seconds(60);
        }
        assert_eq!(allowed, MAX_CONSECUTIVE_FAILURES);
    }
}
