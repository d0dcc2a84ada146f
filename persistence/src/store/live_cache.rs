//! Live sessions read on SQLite, kept until anything at all is committed to the database.
//!
//! Authenticating a request with an access token reads its session, person and factors
//! (`principals`). On SQLite that read was most of the cost of such a request: the store call,
//! the hop to a blocking thread and the pooled connection. This cache answers the same read
//! without any of them, and stays exact by dropping everything as soon as the database
//! changed: a dedicated connection asks SQLite's `PRAGMA data_version`, which changes when
//! any other connection commits, in this process or in another one (another instance, the
//! command line, `sqlite3` by hand). A revocation is therefore seen by the very next
//! request, as without the cache. The price is that every write, however unrelated (an
//! auth-log row), empties the cache; reads between writes are what it speeds up.
//!
//! PostgreSQL has no such cheap "did anything change" question, and several instances share
//! it: there every request reads the database (one round trip).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel::sqlite::SqliteConnection;
use domain::model::Subject;
use uuid::Uuid;

use super::principals::LiveSession;

/// Most sessions kept: about 1 KiB each (the provider and its policies come along).
pub const LIVE_CACHE_CAPACITY: usize = 4096;

pub(crate) struct LiveCache {
    /// The SQLite file, as the pool's connections open it.
    file: String,
    capacity: usize,
    watcher: Mutex<Watcher>,
    entries: Mutex<Entries>,
}

/// The connection that only ever asks whether the database changed.
struct Watcher {
    conn: Option<SqliteConnection>,
    /// `data_version` at the last question.
    version: Option<i64>,
}

struct Entries {
    /// Counts the changes seen; an entry is good only in the generation it was read in.
    generation: u64,
    sessions: HashMap<Uuid, LiveSession>,
}

#[derive(QueryableByName)]
struct DataVersion {
    #[diesel(sql_type = BigInt)]
    data_version: i64,
}

impl LiveCache {
    pub(crate) fn new(file: String, capacity: usize) -> Self {
        Self {
            file,
            capacity: capacity.max(1),
            watcher: Mutex::new(Watcher {
                conn: None,
                version: None,
            }),
            entries: Mutex::new(Entries {
                generation: 0,
                sessions: HashMap::new(),
            }),
        }
    }

    /// The current generation, after asking SQLite whether anything was committed since the
    /// last question (and dropping every entry if so). `None` when the question could not be
    /// asked: then nothing is cached or answered from the cache.
    pub(crate) fn generation(&self) -> Option<u64> {
        let mut watcher = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
        let version = match self.data_version(&mut watcher) {
            Ok(version) => Some(version),
            Err(e) => {
                log::debug!("live-session cache off for now: {e}");
                watcher.conn = None;
                None
            }
        };
        let changed = version.is_none() || version != watcher.version;
        watcher.version = version;
        // Under the watcher's lock, so that generations follow the versions in order.
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if changed {
            entries.generation += 1;
            entries.sessions.clear();
        }
        version.map(|_| entries.generation)
    }

    fn data_version(&self, watcher: &mut Watcher) -> Result<i64, diesel::result::Error> {
        if watcher.conn.is_none() {
            let mut conn = SqliteConnection::establish(&self.file)
                .map_err(|e| diesel::result::Error::QueryBuilderError(Box::new(e)))?;
            // It never writes; a short busy timeout, because it runs on an async worker
            // (a read in WAL mode waits only in rare recovery cases; then: no cache).
            conn.batch_execute("PRAGMA busy_timeout = 20; PRAGMA query_only = ON;")?;
            watcher.conn = Some(conn);
            watcher.version = None;
        }
        let conn = watcher.conn.as_mut().expect("opened above");
        Ok(diesel::sql_query("PRAGMA data_version")
            .get_result::<DataVersion>(conn)?
            .data_version)
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
    fn cache(capacity: usize) -> (LiveCache, SqliteConnection, std::path::PathBuf) {
        let file = std::env::temp_dir().join(format!("bi-live-cache-{}.db", Uuid::new_v4()));
        let path = file.to_string_lossy().into_owned();
        let mut writer = SqliteConnection::establish(&path).unwrap();
        writer.batch_execute("CREATE TABLE t (x INTEGER)").unwrap();
        (LiveCache::new(path, capacity), writer, file)
    }

    #[test]
    fn a_read_from_before_a_commit_is_not_kept() {
        let (cache, mut writer, file) = cache(8);
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
        let (cache, _writer, file) = cache(8);
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
    fn without_a_watcher_nothing_is_cached() {
        let cache = LiveCache::new("/nonexistent-directory/x.db".into(), 8);
        assert_eq!(cache.generation(), None);
        let id = Uuid::now_v7();
        let subject = live(id).session.subject;
        cache.insert(0, &live(id));
        cache.insert(1, &live(id));
        assert!(cache.get(id, subject, now()).is_none());
    }
}
