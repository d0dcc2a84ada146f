//! Live sessions, kept until the database says something they depend on changed.
//!
//! Authenticating a request with an access token reads its session, person and factors
//! (`principals`). That read was most of the cost of such a request: the store call, the hop
//! to a blocking thread, the pooled connection and, on PostgreSQL, a round trip. This cache
//! answers the same read without any of them, and drops everything as soon as the database
//! tells it that something changed:
//!
//! - **SQLite:** every store call of this process empties the cache once its work is
//!   committed (as on PostgreSQL, below), so a revocation through this instance is seen by
//!   its very next request. For commits by other processes (another instance, the command
//!   line, `sqlite3` by hand) a dedicated connection asks `PRAGMA data_version`, which
//!   changes when any other connection commits; it asks at most once per
//!   `SQLITE_RECHECK` (1 ms), so such a revocation is seen within a millisecond. Asked at
//!   every request, that question (a read transaction: file locks, a statement) was a third
//!   of the CPU of an SQLite `/me` (README "Load").
//! - **PostgreSQL:** triggers on every table the read depends on (migration 000019) send a
//!   notification on channel `live_sessions` with each commit that changes one of them; a
//!   dedicated connection listens, and each question drains what has arrived (no round trip:
//!   it reads what is already in the socket). Every store call of this process empties the
//!   cache as well, once its work is committed, so a revocation made through this instance
//!   is seen by its very next request. One made through another instance (or by hand) is
//!   seen once PostgreSQL has delivered the notification: it sends it as the transaction
//!   commits, before the revoking call gets its answer, so in practice before any request
//!   that follows it, but a loaded machine can delay it by a few milliseconds. A listener
//!   that is lost turns the cache off until a new one listens (checked every second); TCP
//!   keepalives find a silently dead one within about 10 s.
//!
//! The price is that every change empties the cache; reads between changes are what it
//! speeds up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::BigInt;
use diesel::sqlite::{Sqlite, SqliteConnection};
use domain::model::Subject;
use uuid::Uuid;

use super::principals::LiveSession;
use crate::connection::with_parameter;

/// Most sessions kept: about 1 KiB each (the provider and its policies come along).
pub const LIVE_CACHE_CAPACITY: usize = 4096;

/// The channel the triggers of migration 000019 notify.
pub const LIVE_SESSIONS_CHANNEL: &str = "live_sessions";

/// Tables whose changes do not notify (PostgreSQL): written by requests or jobs at a high
/// rate, and never read to authenticate an access token (`principals`). Every other table
/// notifies; a test fails when a table is in neither group. `sessions` notifies through a
/// trigger of its own that ignores `last_seen_at` (each refresh writes it).
pub const NOT_WATCHED: &[&str] = &[
    "api_tokens",
    "audit_events",
    "auth_events",
    "auth_throttle",
    "consent_tickets",
    "job_leases",
    "job_runs",
    "mfa_challenges",
    "oidc_transactions",
    "phone_codes",
    "refresh_tokens",
];

/// SQLite: how long a `data_version` answer stands for commits by other processes.
pub const SQLITE_RECHECK: Duration = Duration::from_millis(1);

/// How often a lost PostgreSQL listener is replaced, and its notifications read when no
/// request reads them.
const RELISTEN_EVERY: Duration = Duration::from_secs(1);

pub(crate) struct LiveCache {
    capacity: usize,
    /// SQLite: how long a `data_version` answer is trusted (`SQLITE_RECHECK`).
    recheck: Duration,
    watcher: Mutex<Watcher>,
    entries: Mutex<Entries>,
}

/// Where changes are learnt from.
enum Source {
    /// The SQLite file, as the pool's connections open it.
    Sqlite(String),
    /// The PostgreSQL URL of the listener (with keepalives).
    Postgres(String),
}

/// The connection that only ever asks whether the database changed.
struct Watcher {
    source: Source,
    conn: Option<WatchConn>,
    /// SQLite: `data_version` at the last question.
    version: Option<i64>,
    /// SQLite: when it was last asked.
    asked_at: Option<Instant>,
    /// A new listener: what happened before it listened is unknown.
    fresh: bool,
}

enum WatchConn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

struct Entries {
    /// Counts the changes seen; an entry is good only in the generation it was read in.
    generation: u64,
    sessions: HashMap<Uuid, LiveSession>,
}

/// `PRAGMA data_version` as a query of its own type, which diesel keeps prepared (it parses
/// `sql_query` text again at every call: a third of the question's cost).
#[derive(QueryId)]
struct DataVersion;

impl Query for DataVersion {
    type SqlType = BigInt;
}

impl QueryFragment<Sqlite> for DataVersion {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("PRAGMA data_version");
        Ok(())
    }
}

impl RunQueryDsl<SqliteConnection> for DataVersion {}

type WatchError = Box<dyn std::error::Error + Send + Sync>;

impl LiveCache {
    /// A cache that learns of other processes' commits from SQLite file `file`, asking
    /// at most once per `recheck` (this process's own commits empty it at once:
    /// `forget_all`).
    pub(crate) fn sqlite(file: String, capacity: usize, recheck: Duration) -> Self {
        Self {
            recheck,
            ..Self::new(Source::Sqlite(file), capacity)
        }
    }

    /// A cache that listens on PostgreSQL at `url`; a thread replaces a lost listener for as
    /// long as the cache lives.
    pub(crate) fn postgres(url: &str, capacity: usize) -> Arc<Self> {
        let cache = Arc::new(Self::new(Source::Postgres(listener_url(url)), capacity));
        cache.relisten();
        let weak = Arc::downgrade(&cache);
        let keeper = std::thread::Builder::new()
            .name("live-listener".into())
            .spawn(move || keep_listening(weak));
        if let Err(e) = keeper {
            log::warn!("live-session cache: no thread to replace a lost listener: {e}");
        }
        cache
    }

    fn new(source: Source, capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            recheck: Duration::ZERO,
            watcher: Mutex::new(Watcher {
                source,
                conn: None,
                version: None,
                asked_at: None,
                fresh: true,
            }),
            entries: Mutex::new(Entries {
                generation: 0,
                sessions: HashMap::new(),
            }),
        }
    }

    /// The current generation, after learning whether anything changed since the last
    /// question (and dropping every entry if so). `None` when that cannot be learnt: then
    /// nothing is cached or answered from the cache.
    pub(crate) fn generation(&self) -> Option<u64> {
        let mut watcher = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
        let changed = match watcher.changed(self.recheck) {
            Ok(changed) => Some(changed),
            Err(e) => {
                log::debug!("live-session cache off for now: {e}");
                watcher.conn = None;
                None
            }
        };
        // Under the watcher's lock, so that generations follow the changes in order.
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if changed != Some(false) {
            entries.generation += 1;
            entries.sessions.clear();
        }
        changed.map(|_| entries.generation)
    }

    /// Empties the cache: this process may have changed the database.
    pub(crate) fn forget_all(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.generation += 1;
        entries.sessions.clear();
    }

    /// PostgreSQL: opens a listener if there is none. The connection is made outside the
    /// lock, so questions are not held up by it.
    fn relisten(&self) {
        let url = {
            let watcher = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
            match (&watcher.source, &watcher.conn) {
                (Source::Postgres(url), None) => url.clone(),
                _ => return,
            }
        };
        let listening = PgConnection::establish(&url)
            .map_err(WatchError::from)
            .and_then(|mut conn| {
                conn.batch_execute(&format!("LISTEN {LIVE_SESSIONS_CHANNEL}"))?;
                Ok(conn)
            });
        match listening {
            Ok(conn) => {
                let mut watcher = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
                watcher.conn = Some(WatchConn::Postgres(conn));
                watcher.fresh = true;
            }
            Err(e) => log::warn!("live-session cache off: cannot listen on PostgreSQL: {e}"),
        }
    }

    /// Session `id` of `subject` as read in the current generation, if it has not expired
    /// at `now` (the read checked expiry at its own `now`).
    pub(crate) fn get(
        &self,
        id: Uuid,
        subject: Subject,
        now: DateTime<Utc>,
    ) -> Option<LiveSession> {
        self.generation()?;
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let live = entries.sessions.get(&id)?;
        (live.session.subject == subject && live.session.expires_at > now).then(|| live.clone())
    }

    /// Keeps `live`, read after `generation` was current, unless the database changed since.
    pub(crate) fn insert(&self, generation: u64, live: &LiveSession) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.generation != generation {
            return;
        }
        if entries.sessions.len() >= self.capacity
            && !entries.sessions.contains_key(&live.session.id)
        {
            // Evicting a batch keeps this rare when the cache is full.
            let keep = self.capacity - self.capacity / 8 - 1;
            let drop: Vec<Uuid> = entries.sessions.keys().skip(keep).copied().collect();
            for id in drop {
                entries.sessions.remove(&id);
            }
        }
        entries.sessions.insert(live.session.id, live.clone());
    }
}

impl Watcher {
    /// Whether anything changed since the last question. SQLite: another process's commit
    /// less than `recheck` ago may not be seen yet.
    fn changed(&mut self, recheck: Duration) -> Result<bool, WatchError> {
        if let (Source::Sqlite(_), Some(_), Some(asked_at)) =
            (&self.source, &self.conn, self.asked_at)
            && asked_at.elapsed() < recheck
        {
            return Ok(false);
        }
        if let (Source::Sqlite(file), None) = (&self.source, &self.conn) {
            let mut conn = SqliteConnection::establish(file)?;
            // It never writes; a short busy timeout, because it runs on an async worker
            // (a read in WAL mode waits only in rare recovery cases; then: no cache).
            conn.batch_execute("PRAGMA busy_timeout = 20; PRAGMA query_only = ON;")?;
            self.conn = Some(WatchConn::Sqlite(conn));
            self.version = None;
        }
        let fresh = std::mem::replace(&mut self.fresh, false);
        match self.conn.as_mut() {
            None => Err("no PostgreSQL listener".into()),
            Some(WatchConn::Sqlite(conn)) => {
                let version = DataVersion.get_result::<i64>(conn)?;
                let changed = self.version != Some(version);
                self.version = Some(version);
                self.asked_at = Some(Instant::now());
                Ok(changed || fresh)
            }
            Some(WatchConn::Postgres(conn)) => {
                // Reads what already arrived; never waits.
                let mut changed = fresh;
                for notification in conn.notifications_iter() {
                    notification?;
                    changed = true;
                }
                Ok(changed)
            }
        }
    }
}

/// Every `RELISTEN_EVERY`, until the cache is dropped: replaces a lost listener, and reads
/// what arrived. Without requests nothing else would read it, and a listener that does not
/// read its socket stops PostgreSQL's notification queue from moving on: it would grow for
/// everyone until notifying transactions fail.
fn keep_listening(cache: Weak<LiveCache>) {
    loop {
        std::thread::sleep(RELISTEN_EVERY);
        let Some(cache) = cache.upgrade() else {
            return;
        };
        cache.relisten();
        cache.generation();
    }
}

/// The listener's URL: `url` with TCP keepalives (unless it sets them), so that a listener
/// whose server vanished without closing the connection is found out (idle 5 s, then 2
/// probes 2 s apart), and a name that tells it apart in `pg_stat_activity`.
fn listener_url(url: &str) -> String {
    [
        ("keepalives", "1"),
        ("keepalives_idle", "5"),
        ("keepalives_interval", "2"),
        ("keepalives_count", "2"),
        ("application_name", "billing-identity-live-sessions"),
    ]
    .into_iter()
    .fold(url.to_owned(), |url, (key, value)| {
        with_parameter(&url, key, value)
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use domain::model::Employee;
    use domain::permission::ProviderScope;
    use domain::provider::AccountStatus;

    use super::*;
    use crate::records::SessionRecord;
    use crate::store::principals::{FactorFacts, Person};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
    }

    /// Session `id` of the employee with the same id.
    fn live(id: Uuid) -> LiveSession {
        let employee = id;
        LiveSession {
            session: SessionRecord {
                id,
                subject: Subject::employee(employee),
                provider_id: None,
                method: "password".into(),
                ip: None,
                user_agent: None,
                created_at: now(),
                last_seen_at: now(),
                expires_at: now() + chrono::Duration::hours(1),
                amr: vec!["pwd".into()],
            },
            person: Person::Employee(Employee {
                id: employee,
                login: "ops".into(),
                name: "Ops".into(),
                email: None,
                status: AccountStatus::Active,
                roles: Vec::new(),
                providers: ProviderScope::All,
                has_password: true,
                created_at: now(),
                updated_at: now(),
                version: 1,
            }),
            factors: FactorFacts {
                totp: false,
                sms: false,
                recovery_codes_left: 0,
                admin_mfa_policies: Vec::new(),
            },
        }
    }

    /// A cache on a fresh SQLite file, and a connection of its own that commits to it.
    fn cache(
        capacity: usize,
        recheck: Duration,
    ) -> (LiveCache, SqliteConnection, std::path::PathBuf) {
        let file = std::env::temp_dir().join(format!("bi-live-cache-{}.db", Uuid::new_v4()));
        let path = file.to_string_lossy().into_owned();
        let mut writer = SqliteConnection::establish(&path).unwrap();
        writer.batch_execute("CREATE TABLE t (x INTEGER)").unwrap();
        (LiveCache::sqlite(path, capacity, recheck), writer, file)
    }

    #[test]
    fn a_read_from_before_a_commit_is_not_kept() {
        let (cache, mut writer, file) = cache(8, Duration::ZERO);
        let id = Uuid::now_v7();
        let subject = live(id).session.subject;
        let before = cache.generation().unwrap();
        cache.insert(before, &live(id));
        assert!(
            cache.get(id, subject, now()).is_some(),
            "nothing committed since"
        );

        let read_at = cache.generation().unwrap();
        writer.batch_execute("INSERT INTO t VALUES (1)").unwrap();
        assert!(
            cache.get(id, subject, now()).is_none(),
            "the commit emptied it"
        );
        // A read that began before the commit comes back late: it is dropped.
        cache.insert(read_at, &live(id));
        assert!(cache.get(id, subject, now()).is_none());
        // One read after the commit is kept.
        let after = cache.generation().unwrap();
        assert_ne!(after, read_at);
        cache.insert(after, &live(id));
        assert!(cache.get(id, subject, now()).is_some());
        std::fs::remove_file(file).ok();
    }

    #[test]
    fn it_holds_at_most_its_capacity() {
        let (cache, _writer, file) = cache(8, Duration::ZERO);
        let generation = cache.generation().unwrap();
        let ids: Vec<Uuid> = (0..50).map(|_| Uuid::now_v7()).collect();
        for id in &ids {
            cache.insert(generation, &live(*id));
        }
        let entries = cache.entries.lock().unwrap();
        assert!(entries.sessions.len() <= 8, "{}", entries.sessions.len());
        // The newest is always kept.
        assert!(entries.sessions.contains_key(ids.last().unwrap()));
        drop(entries);
        std::fs::remove_file(file).ok();
    }

    #[test]
    fn the_listener_url_keeps_what_the_operator_set() {
        let tail = "keepalives=1&keepalives_idle=5&keepalives_interval=2&keepalives_count=2\
                    &application_name=billing-identity-live-sessions";
        for (url, listener) in [
            ("postgres://u@db/x", format!("postgres://u@db/x?{tail}")),
            (
                "postgres://u@db/x?sslmode=disable",
                format!("postgres://u@db/x?sslmode=disable&{tail}"),
            ),
            (
                "postgres://u@db/x?keepalives_idle=30",
                format!(
                    "postgres://u@db/x?keepalives_idle=30&{}",
                    tail.replace("keepalives_idle=5&", "")
                ),
            ),
        ] {
            assert_eq!(listener_url(url), listener, "{url}");
        }
    }

    /// Another process's commit is learnt at the first question after the recheck time, not
    /// before: `data_version` is asked at most once per `recheck`.
    #[test]
    fn another_process_commit_is_learnt_after_the_recheck_time() {
        let cases = [
            (Duration::from_secs(60), None, false),
            (Duration::ZERO, None, true),
            (
                Duration::from_millis(20),
                Some(Duration::from_millis(30)),
                true,
            ),
        ];
        for (recheck, wait, learnt) in cases {
            let (cache, mut writer, file) = cache(8, recheck);
            let id = Uuid::now_v7();
            let subject = live(id).session.subject;
            cache.insert(cache.generation().unwrap(), &live(id));
            writer.batch_execute("INSERT INTO t VALUES (1)").unwrap();
            if let Some(wait) = wait {
                std::thread::sleep(wait);
            }
            assert_eq!(
                cache.get(id, subject, now()).is_none(),
                learnt,
                "recheck {recheck:?}, waited {wait:?}"
            );
            std::fs::remove_file(file).ok();
        }
    }

    #[test]
    fn without_a_watcher_nothing_is_cached() {
        let cache = LiveCache::sqlite("/nonexistent-directory/x.db".into(), 8, Duration::ZERO);
        assert_eq!(cache.generation(), None);
        let id = Uuid::now_v7();
        let subject = live(id).session.subject;
        cache.insert(0, &live(id));
        cache.insert(1, &live(id));
        assert!(cache.get(id, subject, now()).is_none());
    }
}
