//! How an SQLite connection waits for the write lock. SQLite's own wait (`PRAGMA
//! busy_timeout`) sleeps 1, 2, 5, 10, 15, 20, 25 … ms between tries, so a writer that
//! found the lock taken for 30 ms got in after 53: a sign-in waited nearly twice as long
//! as a clearing held the lock. This wait tries again every 0.2 ms for the first 4 ms, then
//! every millisecond up to 100 ms, then every 5 ms, and gives up after 10 s, as the pragma
//! did. SQLite offers no other way to set it than its C function, called for each
//! connection as SQLite opens it (an automatic extension): the only unsafe code here.
#![allow(unsafe_code)]

use std::os::raw::{c_char, c_int, c_void};
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use libsqlite3_sys as ffi;

/// How long a connection waits for the lock in all before SQLite answers "database is
/// locked".
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SHORT: Duration = Duration::from_micros(200);
const SHORT_TRIES: u32 = 20;
const MEDIUM: Duration = Duration::from_millis(1);
const MEDIUM_TRIES: u32 = 96;
const LONG: Duration = Duration::from_millis(5);

/// How long to sleep before try `tries + 1`, or `None` to give up: the pauses before it
/// add up to at least `BUSY_TIMEOUT`.
pub fn pause(tries: u32) -> Option<Duration> {
    let short_total = SHORT * SHORT_TRIES;
    let medium_total = MEDIUM * MEDIUM_TRIES;
    let (slept, next) = if tries < SHORT_TRIES {
        (SHORT * tries, SHORT)
    } else if tries < SHORT_TRIES + MEDIUM_TRIES {
        (short_total + MEDIUM * (tries - SHORT_TRIES), MEDIUM)
    } else {
        let long_tries = tries - SHORT_TRIES - MEDIUM_TRIES;
        (short_total + medium_total + LONG * long_tries, LONG)
    };
    (slept < BUSY_TIMEOUT).then_some(next)
}

/// How many times a connection of this process found the lock taken (for tests).
static WAITS: AtomicU64 = AtomicU64::new(0);

pub fn waits() -> u64 {
    WAITS.load(Ordering::Relaxed)
}

/// SQLite's busy handler: nonzero to try again. It must not unwind into C: nothing here
/// panics.
extern "C" fn busy(_: *mut c_void, tries: c_int) -> c_int {
    WAITS.fetch_add(1, Ordering::Relaxed);
    match pause(u32::try_from(tries).unwrap_or(u32::MAX)) {
        Some(pause) => {
            std::thread::sleep(pause);
            1
        }
        None => 0,
    }
}

/// Called by SQLite with each connection it opens in this process.
unsafe extern "C" fn on_open(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: `db` is the connection SQLite is opening, valid for this call; `busy` takes
    // no argument, so the null pointer is never read.
    unsafe { ffi::sqlite3_busy_handler(db, Some(busy), std::ptr::null_mut()) }
}

/// Makes every SQLite connection this process opens from now on wait with `busy`. A
/// `PRAGMA busy_timeout` on a connection replaces it with SQLite's own wait.
pub fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // SAFETY: `on_open` has the signature SQLite requires of an automatic extension,
        // and stays valid for the life of the process.
        let code = unsafe { ffi::sqlite3_auto_extension(Some(on_open)) };
        if code != ffi::SQLITE_OK {
            log::warn!("SQLite busy handler not installed (code {code})");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_and_end_after_the_timeout() {
        let table = [
            (0, Some(SHORT)),
            (19, Some(SHORT)),
            (20, Some(MEDIUM)),
            (115, Some(MEDIUM)),
            (116, Some(LONG)),
        ];
        for (tries, expected) in table {
            assert_eq!(pause(tries), expected, "try {tries}");
        }
        let total: Duration = (0..).map_while(pause).sum();
        assert!(total >= BUSY_TIMEOUT, "{total:?}");
        assert!(total < BUSY_TIMEOUT + LONG, "{total:?}");
        assert_eq!(pause(u32::MAX), None);
    }
}
