//! One failure budget per account, shared by every path that checks a secret (NIST SP
//! 800-63B 3.2.2, ASVS 6.3). A few free attempts, then a growing delay, and a hard stop at
//! 100 consecutive failures that only a recovery (a key issued by staff or the operator, or
//! an employee re-enabling the account) lifts: the owner is never locked out for good, and an
//! attacker never gets a 101st guess.
//!
//! Other budgets share the rules with other parameters (`Budget`): unknown logins (like an
//! account's, but forgotten a day after the delay ran out), an address's budget for secrets
//! that match nothing (a decaying delay, never a stop), and the rate limits of unauthenticated
//! endpoints per address and per provider.
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
    format!("{UNKNOWN_PREFIX}{scope}:{}", hash_secret(&normalize(login)))
}

/// Does a change of an account's status empty its budget? Re-enabling a disabled account
/// is a recovery: it lifts the hard stop (and any delay), as a redeemed key does.
pub fn status_change_resets(previous: AccountStatus, next: AccountStatus) -> bool {
    previous == AccountStatus::Disabled && next == AccountStatus::Active
}

/// The kinds of budget, told apart by the key's prefix (`budget_of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Attempts that cost no delay.
    pub free: u32,
    /// Whether `MAX_CONSECUTIVE_FAILURES` stops the attempts until a recovery.
    pub hard_stop: bool,
    /// One counted attempt is forgiven per this much quiet time: the delay decays.
    pub forgive_every: Option<Duration>,
    /// A budget below the hard stop starts afresh after its delay and this much quiet time.
    pub forget_after: Option<Duration>,
}

impl Budget {
    /// An account's: never forgotten, so 100 consecutive failures stop, whatever the pace.
    pub const ACCOUNT: Budget = Budget {
        free: FREE_ATTEMPTS,
        hard_stop: true,
        forgive_every: None,
        forget_after: None,
    };
    /// A login that matches no account: behaves like an account's, but is forgotten a day
    /// after its delay has run out (rows for every mistyped login would pile up forever).
    pub const UNKNOWN_LOGIN: Budget = Budget {
        forget_after: Some(Duration::hours(24)),
        ..Budget::ACCOUNT
    };
    /// An address's budget for secrets that match nothing (unknown one-time keys): a delay
    /// that decays by one attempt a minute, never a stop.
    pub const ADDRESS: Budget = Budget {
        free: FREE_ATTEMPTS,
        hard_stop: false,
        forgive_every: Some(Duration::seconds(60)),
        forget_after: None,
    };
    /// The rate limit of unauthenticated requests that touch an identifier, per address.
    pub const RATE_PER_ADDRESS: Budget = Budget {
        free: 10,
        hard_stop: false,
        forgive_every: Some(Duration::seconds(30)),
        forget_after: None,
    };
    /// The same, per provider, from every address together.
    pub const RATE_PER_PROVIDER: Budget = Budget {
        free: 100,
        hard_stop: false,
        forgive_every: Some(Duration::seconds(1)),
        forget_after: None,
    };
}

/// Key prefix of an address's budget for unknown secrets.
pub const ADDRESS_PREFIX: &str = "ip:";
/// Key prefix of a rate limit per address.
pub const RATE_ADDRESS_PREFIX: &str = "rate:ip:";
/// Key prefix of a rate limit per provider.
pub const RATE_PROVIDER_PREFIX: &str = "rate:provider:";
/// Key prefix of an unknown login's budget.
pub const UNKNOWN_PREFIX: &str = "unknown:";

/// Which budget a stored key has.
pub fn budget_of(key: &str) -> Budget {
    if key.starts_with(RATE_ADDRESS_PREFIX) {
        Budget::RATE_PER_ADDRESS
    } else if key.starts_with(RATE_PROVIDER_PREFIX) {
        Budget::RATE_PER_PROVIDER
    } else if key.starts_with(ADDRESS_PREFIX) {
        Budget::ADDRESS
    } else if key.starts_with(UNKNOWN_PREFIX) {
        Budget::UNKNOWN_LOGIN
    } else {
        Budget::ACCOUNT
    }
}

/// How long to wait after `failures` counted attempts before the next one.
pub fn delay_after(failures: u32) -> Duration {
    delay_in(Budget::ACCOUNT, failures)
}

/// How long to wait after `failures` counted attempts of `budget` before the next one.
pub fn delay_in(budget: Budget, failures: u32) -> Duration {
    if failures < budget.free {
        return Duration::zero();
    }
    let exponent = (failures - budget.free).min(20);
    Duration::seconds((1_i64 << exponent).min(MAX_DELAY_SECONDS))
}

/// The attempts that still count at `now`: fewer after quiet time where the budget
/// forgives or forgets; all of them at the hard stop.
pub fn still_counted(
    budget: Budget,
    failures: u32,
    last_attempt: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> u32 {
    let Some(last) = last_attempt else {
        return failures;
    };
    if budget.hard_stop && failures >= MAX_CONSECUTIVE_FAILURES {
        return failures;
    }
    if let Some(after) = budget.forget_after
        && now >= last + delay_in(budget, failures) + after
    {
        return 0;
    }
    if let Some(step) = budget.forgive_every {
        let quiet = (now - last).num_milliseconds().max(0);
        let forgiven = quiet / step.num_milliseconds().max(1);
        return failures.saturating_sub(u32::try_from(forgiven).unwrap_or(u32::MAX));
    }
    failures
}

/// Whether a stored budget counts nothing any more, so its row can go.
pub fn expired(
    budget: Budget,
    failures: u32,
    last_attempt: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    still_counted(budget, failures, Some(last_attempt), now) == 0
}

/// May another attempt be made now, given the attempts already counted (an account's
/// budget)?
pub fn decide(failures: u32, last_attempt: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Decision {
    decide_in(Budget::ACCOUNT, failures, last_attempt, now)
}

/// May another attempt of `budget` be made now? `failures` is what `still_counted` says.
pub fn decide_in(
    budget: Budget,
    failures: u32,
    last_attempt: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Decision {
    if budget.hard_stop && failures >= MAX_CONSECUTIVE_FAILURES {
        return Decision::Locked;
    }
    // Free attempts need no clock: a parallel request may have stamped `last` a moment
    // after this request read `now`.
    if failures < budget.free {
        return Decision::Allow;
    }
    let Some(last) = last_attempt else {
        return Decision::Allow;
    };
    let next = last + delay_in(budget, failures);
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
    fn budgets_by_key() {
        let cases = [
            ("user:1", Budget::ACCOUNT),
            ("employee:1", Budget::ACCOUNT),
            ("unknown:employees:ab", Budget::UNKNOWN_LOGIN),
            ("ip:10.0.0.1:temporary_key", Budget::ADDRESS),
            ("rate:ip:10.0.0.1:registration", Budget::RATE_PER_ADDRESS),
            ("rate:provider:p:registration", Budget::RATE_PER_PROVIDER),
        ];
        for (key, budget) in cases {
            assert_eq!(budget_of(key), budget, "{key}");
        }
    }

    /// (budget, failures, last, now, still counted)
    #[test]
    fn decay() {
        let day = 24 * 3600;
        let cases: &[(Budget, u32, i64, i64, u32)] = &[
            // Accounts never forget, not even after a year.
            (Budget::ACCOUNT, 99, 0, 365 * day, 99),
            (Budget::ACCOUNT, 3, 0, 365 * day, 3),
            // Unknown logins: a day after the delay has run out.
            (Budget::UNKNOWN_LOGIN, 3, 0, day - 1, 3),
            (Budget::UNKNOWN_LOGIN, 3, 0, day, 0),
            (Budget::UNKNOWN_LOGIN, 20, 0, day + 899, 20),
            (Budget::UNKNOWN_LOGIN, 20, 0, day + 900, 0),
            // At the hard stop only a recovery helps.
            (Budget::UNKNOWN_LOGIN, 100, 0, 365 * day, 100),
            // Addresses: one attempt forgiven a minute, at the hundredth too.
            (Budget::ADDRESS, 10, 0, 59, 10),
            (Budget::ADDRESS, 10, 0, 60, 9),
            (Budget::ADDRESS, 10, 0, 600, 0),
            (Budget::ADDRESS, 150, 0, 3600, 90),
            (Budget::ADDRESS, 150, 0, day, 0),
        ];
        for (budget, failures, last, now, expected) in cases {
            assert_eq!(
                still_counted(*budget, *failures, Some(at(*last)), at(*now)),
                *expected,
                "{budget:?} {failures} {last} {now}"
            );
        }
    }

    /// An address is delayed, never stopped: a valid key does not depend on it anyway.
    #[test]
    fn addresses_have_no_hard_stop() {
        assert_eq!(
            decide_in(Budget::ADDRESS, 1_000, Some(at(0)), at(900)),
            Decision::Allow
        );
        assert_eq!(
            decide_in(Budget::ADDRESS, 1_000, Some(at(0)), at(0)),
            Decision::RetryAfter(900)
        );
        assert_eq!(
            decide_in(Budget::RATE_PER_ADDRESS, 9, Some(at(0)), at(0)),
            Decision::Allow
        );
        assert_eq!(
            decide_in(Budget::RATE_PER_ADDRESS, 10, Some(at(0)), at(0)),
            Decision::RetryAfter(1)
        );
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
