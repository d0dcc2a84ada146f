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
