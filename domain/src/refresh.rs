//! Refresh-token rotation: each token works once, and a used one presented again is a
//! replay that revokes its whole family (RFC 9700 4.14.2), except within a short grace
//! after its rotation, when it is most likely a second tab or a retried request racing the
//! first one: that repeat is refused without revoking, and the client retries with the new
//! token it already got (or will get) from the winning request.

use chrono::{DateTime, Duration, Utc};

/// The default grace, in seconds.
pub const DEFAULT_REUSE_GRACE_SECONDS: u64 = 5;

/// What presenting an already used refresh token means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// A repeat within the grace: refused (409), the family lives.
    WithinGrace,
    /// A replay: the family is revoked.
    Replay,
}

/// Judges a used token presented again at `now`; `used_at` is when it was rotated (`None`
/// when a concurrent request spent it a moment ago, inside the same instant).
pub fn judge_reuse(used_at: Option<DateTime<Utc>>, now: DateTime<Utc>, grace: Duration) -> Reuse {
    match used_at {
        None => Reuse::WithinGrace,
        Some(used) if now < used + grace => Reuse::WithinGrace,
        Some(_) => Reuse::Replay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuse_table() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let grace = Duration::seconds(5);
        let cases: &[(Option<i64>, i64, Reuse)] = &[
            (None, 0, Reuse::WithinGrace),
            (Some(0), 0, Reuse::WithinGrace),
            (Some(0), 4, Reuse::WithinGrace),
            (Some(0), 5, Reuse::Replay),
            (Some(0), 3600, Reuse::Replay),
            // A clock a little behind the stamp of a parallel request.
            (Some(1), 0, Reuse::WithinGrace),
        ];
        for (used, now, expected) in cases {
            let used_at = used.map(|s| t0 + Duration::seconds(s));
            assert_eq!(
                judge_reuse(used_at, t0 + Duration::seconds(*now), grace),
                *expected,
                "{used:?} {now}"
            );
        }
        // No grace: every repeat is a replay (but one spent in the same instant).
        assert_eq!(judge_reuse(Some(t0), t0, Duration::zero()), Reuse::Replay);
    }
}
