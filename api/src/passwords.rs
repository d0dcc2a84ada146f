//! argon2id hashing on a fixed set of `concurrency` OS threads, started once, each owning one
//! argon2 memory block that it reuses for every hash. Memory is so bounded by
//! `concurrency × m` whatever the load: allocating 19 MiB per hash on whichever blocking thread
//! ran it let every thread's malloc arena keep its own freed blocks (hundreds of MiB). A
//! burst of logins waits for a thread (async, counted in the metrics) and never starves the
//! async workers. A thread gives its block back after a while without work, so an idle
//! service returns to about its fresh size.
//!
//! The PHC string (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`) is built and read here around
//! argon2's raw-output API, in the format `argon2::PasswordHasher` writes, so every stored
//! hash still verifies.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{Semaphore, oneshot};

use crate::hash_memory::HashMemory;
use crate::problem::ApiError;
use crate::secrets::random_bytes;

/// A hashing thread without work this long frees its memory block (and allocates it again
/// at its next hash: a few milliseconds beside the hash's own ~15). Short, so that the
/// blocks are held while logins come in and not long after (README "Memory").
const IDLE_RELEASE: Duration = Duration::from_secs(2);

/// Jobs queued or running per hashing thread (`PasswordHasherPool::permits`).
const JOBS_PER_THREAD: usize = 2;

#[derive(Clone)]
pub struct PasswordHasherPool {
    params: Params,
    implementation: Argon2Implementation,
    /// Two permits per hashing thread: a hash is queued only with a permit, so the queue
    /// never holds more than `2 × concurrency` jobs and the waiting happens here,
    /// asynchronously. The second permit keeps a job ready behind each running one: a thread
    /// that finishes a hash takes the next at once instead of waiting for an async worker
    /// (busy on the same cores) to hand it one. A queued job holds no memory block.
    permits: Arc<Semaphore>,
    threads: Arc<Threads>,
    /// A hash of a random password, checked when the login is unknown so that unknown
    /// logins and wrong passwords take the same time.
    dummy_hash: Arc<String>,
}

/// What checking a password found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// Correct, and the stored hash used weaker parameters than today's: store this one.
    YesRehashed(String),
}

/// Which argon2 implementation computes the hashes (`ARGON2_IMPLEMENTATION`). Both give the
/// same output (tested), so the setting can change at any restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Argon2Implementation {
    /// argon2's C reference implementation where it is built for the CPU (AVX-512F,
    /// `argon2_native`), the `argon2` crate elsewhere.
    Auto,
    /// The `argon2` crate everywhere: for an operator who would rather not run the vendored
    /// C code, or AVX-512 code, on these machines.
    Crate,
}

impl Argon2Implementation {
    /// Whether hashes here are computed by the C reference implementation.
    pub fn uses_reference(self) -> bool {
        self == Self::Auto && crate::argon2_native::in_use()
    }
}

/// A hashing thread's memory: today's parameters' block, allocated at its first hash (on huge
/// pages where the system gives them: `hash_memory`).
type Memory = HashMemory;
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

#[derive(Default)]
struct QueueState {
    jobs: VecDeque<Job>,
    closed: bool,
}

enum Next {
    Job(Job),
    /// No job came within the idle time.
    Idle,
    Closed,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, job: Job) {
        self.lock().jobs.push_back(job);
        self.ready.notify_one();
    }

    /// Waits for the next job; with `idle`, at most that long.
    fn next(&self, idle: Option<Duration>) -> Next {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                return Next::Job(job);
            }
            if state.closed {
                return Next::Closed;
            }
            state = match idle {
                None => self
                    .ready
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(idle) => {
                    let (state, waited) = self
                        .ready
                        .wait_timeout(state, idle)
                        .unwrap_or_else(PoisonError::into_inner);
                    if waited.timed_out() && state.jobs.is_empty() && !state.closed {
                        return Next::Idle;
                    }
                    state
                }
            };
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

/// The hashing threads; they end when the last clone of the pool is dropped.
struct Threads {
    queue: Arc<Queue>,
}

impl Drop for Threads {
    fn drop(&mut self) {
        self.queue.close();
    }
}

impl Threads {
    fn start(count: usize) -> anyhow::Result<Self> {
        let queue = Arc::new(Queue::default());
        for n in 0..count {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || work(&queue, IDLE_RELEASE))?;
        }
        Ok(Self { queue })
    }
}

fn work(queue: &Queue, idle_release: Duration) {
    let mut memory = Memory::empty();
    loop {
        let idle = (!memory.is_empty()).then_some(idle_release);
        match queue.next(idle) {
            // A panicking job drops its answer channel (the caller gets an error) and its
            // permit; the thread goes on.
            Next::Job(job) => drop(catch_unwind(AssertUnwindSafe(|| job(&mut memory)))),
            Next::Idle => memory = Memory::empty(),
            Next::Closed => return,
        }
    }
}

/// Runs `f` with memory for `params`: the thread's own block when they fit in it (today's
/// parameters, or weaker ones of an old hash), a block for this call only otherwise.
fn with_memory<T>(
    memory: &mut Memory,
    own: &Params,
    params: &Params,
    f: impl FnOnce(&mut [Block]) -> T,
) -> T {
    let needed = params.block_count();
    if needed > own.block_count() {
        return f(&mut HashMemory::zeroed(needed));
    }
    if memory.len() < own.block_count() {
        *memory = HashMemory::zeroed(own.block_count());
    }
    f(&mut memory[..needed])
}

/// The raw argon2 output of `password` with `salt`, `output_len` bytes long: with `Auto`, by
/// the C reference implementation on CPUs with AVX-512F (`argon2_native`), by the `argon2`
/// crate otherwise and with `Crate`. Both give the same output.
pub fn raw_hash(
    implementation: Argon2Implementation,
    (algorithm, version): (Algorithm, Version),
    params: &Params,
    password: &[u8],
    salt: &[u8],
    output_len: usize,
    memory: &mut [Block],
) -> Result<Output, argon2::password_hash::Error> {
    Output::init_with(output_len, |out| {
        if implementation == Argon2Implementation::Auto
            && crate::argon2_native::hash_into(
                algorithm, version, params, password, salt, out, memory,
            )
            .is_some()
        {
            return Ok(());
        }
        Ok(
            Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
                password,
                salt,
                out,
                &mut *memory,
            )?,
        )
    })
}

/// A new PHC string for `password` with today's parameters and a random salt.
fn hash_with(
    implementation: Argon2Implementation,
    params: &Params,
    password: &str,
    memory: &mut [Block],
) -> Result<String, ApiError> {
    let salt_bytes = random_bytes::<16>();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(ApiError::internal)?;
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let output = raw_hash(
        implementation,
        (Algorithm::Argon2id, Version::V0x13),
        params,
        password.as_bytes(),
        &salt_bytes,
        output_len,
        memory,
    )
    .map_err(ApiError::internal)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(ApiError::internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// What a stored PHC string says: everything needed to hash a candidate the same way.
struct Stored<'a> {
    phc: PasswordHash<'a>,
    kind: (Algorithm, Version),
    params: Params,
}

fn parse_stored(hash: &str) -> Option<Stored<'_>> {
    let phc = PasswordHash::new(hash).ok()?;
    let algorithm = Algorithm::try_from(phc.algorithm).ok()?;
    let version = match phc.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    // The parameters come from the stored string, so old hashes still verify.
    let params = Params::try_from(&phc).ok()?;
    Some(Stored {
        phc,
        kind: (algorithm, version),
        params,
    })
}

/// Whether `password` hashes to `stored`'s output; the comparison is constant-time.
fn matches(
    implementation: Argon2Implementation,
    stored: &Stored<'_>,
    password: &str,
    memory: &mut [Block],
) -> bool {
    let (Some(salt), Some(expected)) = (&stored.phc.salt, &stored.phc.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    raw_hash(
        implementation,
        stored.kind,
        &stored.params,
        password.as_bytes(),
        salt,
        expected.len(),
        memory,
    )
    .is_ok_and(|computed| computed == *expected)
}

fn weaker(stored: &Stored<'_>, now: &Params) -> bool {
    let p = &stored.params;
    stored.phc.algorithm.as_str() != "argon2id"
        || p.m_cost() < now.m_cost()
        || p.t_cost() < now.t_cost()
        || p.p_cost() < now.p_cost()
}

impl PasswordHasherPool {
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        concurrency: usize,
        implementation: Argon2Implementation,
    ) -> anyhow::Result<Self> {
        let params =
            Params::new(memory_kib, iterations, 1, None).map_err(|e| anyhow::anyhow!("{e}"))?;
        let concurrency = concurrency.max(1);
        let threads = Threads::start(concurrency)?;
        // Hashed on a hashing thread, in the block that thread keeps for the requests: a
        // block of its own here would be a third 19 MiB the allocator may keep resident.
        let dummy_password = hex_string(&random_bytes::<16>());
        let (answer, answered) = std::sync::mpsc::channel();
        let hash_params = params.clone();
        threads.queue.push(Box::new(move |memory| {
            let hash = with_memory(memory, &hash_params, &hash_params, |memory| {
                hash_with(implementation, &hash_params, &dummy_password, memory)
            });
            let _ = answer.send(hash);
        }));
        let dummy_hash = answered
            .recv()
            .map_err(|e| anyhow::anyhow!("the hashing thread ended: {e}"))?
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self {
            params,
            implementation,
            permits: Arc::new(Semaphore::new(concurrency * JOBS_PER_THREAD)),
            threads: Arc::new(threads),
            dummy_hash: Arc::new(dummy_hash),
        })
    }

    /// Runs `job` on a hashing thread with its memory.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let waiting = crate::metrics::metrics().password_hash_waiting();
        let permit = self.permits.clone().acquire_owned().await;
        drop(waiting);
        let permit = permit.map_err(ApiError::internal)?;
        let (answer, answered) = oneshot::channel();
        self.threads.queue.push(Box::new(move |memory| {
            // Held until the hash is done, even when the caller has gone away meanwhile.
            let _permit = permit;
            let _ = answer.send(job(memory));
        }));
        answered.await.map_err(ApiError::internal)
    }

    /// Which implementation this pool hashes with.
    pub fn implementation(&self) -> Argon2Implementation {
        self.implementation
    }

    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let params = self.params.clone();
        let implementation = self.implementation;
        self.run(move |memory| {
            with_memory(memory, &params, &params, |m| {
                hash_with(implementation, &params, &password, m)
            })
        })
        .await?
    }

    /// Checks `password` against `stored`; with no stored hash (unknown login, or an account
    /// without a password) the dummy hash is checked instead and the answer is `No`.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<Verified, ApiError> {
        let params = self.params.clone();
        let implementation = self.implementation;
        let (hash, real) = match stored {
            Some(h) => (h, true),
            None => (self.dummy_hash.as_ref().clone(), false),
        };
        self.run(move |memory| {
            let Some(stored) = parse_stored(&hash) else {
                return Ok(Verified::No);
            };
            let ok = with_memory(memory, &params, &stored.params, |m| {
                matches(implementation, &stored, &password, m)
            });
            if !(ok && real) {
                return Ok(Verified::No);
            }
            if weaker(&stored, &params) {
                let rehashed = with_memory(memory, &params, &params, |m| {
                    hash_with(implementation, &params, &password, m)
                })?;
                Ok(Verified::YesRehashed(rehashed))
            } else {
                Ok(Verified::Yes)
            }
        })
        .await?
    }
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[actix_web::test]
    async fn hash_verify_and_rehash() {
        let pool = PasswordHasherPool::new(19 * 1024, 2, 2, Argon2Implementation::Auto).unwrap();
        let hash = pool
            .hash("correct horse battery staple".into())
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(
            pool.verify("correct horse battery staple".into(), Some(hash.clone()))
                .await
                .unwrap(),
            Verified::Yes
        );
        assert_eq!(
            pool.verify("wrong".into(), Some(hash.clone()))
                .await
                .unwrap(),
            Verified::No
        );
        assert_eq!(pool.verify("x".into(), None).await.unwrap(), Verified::No);

        // The policy is raised: a correct login upgrades the hash.
        let stronger =
            PasswordHasherPool::new(19 * 1024, 3, 2, Argon2Implementation::Auto).unwrap();
        match stronger
            .verify("correct horse battery staple".into(), Some(hash))
            .await
            .unwrap()
        {
            Verified::YesRehashed(new) => assert!(new.contains("m=19456,t=3,p=1"), "{new}"),
            other => panic!("expected a rehash, got {other:?}"),
        }
    }

    #[actix_web::test]
    async fn long_passwords_are_verified_whole() {
        let pool = PasswordHasherPool::new(19 * 1024, 2, 1, Argon2Implementation::Auto).unwrap();
        let long = "a".repeat(100);
        let hash = pool.hash(long.clone()).await.unwrap();
        assert_eq!(
            pool.verify(long[..72].to_owned(), Some(hash))
                .await
                .unwrap(),
            Verified::No
        );
    }

    /// The PHC strings are the ones `argon2::PasswordHasher` writes and reads: hashes stored
    /// before the hashing threads (and by other argon2 libraries) verify, ours verify there.
    #[actix_web::test]
    async fn the_stored_format_is_argon2s_own() {
        let pool = PasswordHasherPool::new(8 * 1024, 2, 1, Argon2Implementation::Auto).unwrap();
        let params = Params::new(8 * 1024, 2, 1, None).unwrap();
        let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"a password of some length", &salt)
            .unwrap()
            .to_string();
        let ours = with_memory(&mut Memory::empty(), &pool.params, &pool.params, |m| {
            matches(
                Argon2Implementation::Auto,
                &parse_stored(&theirs).unwrap(),
                "a password of some length",
                m,
            )
        });
        assert!(ours, "{theirs}");
        assert_eq!(
            pool.verify("a password of some length".into(), Some(theirs))
                .await
                .unwrap(),
            Verified::Yes
        );

        let ours = pool.hash("another password".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"another password", &parsed)
                .is_ok(),
            "{ours}"
        );
        assert_eq!(parsed.salt.unwrap().as_str().len(), 22, "16 bytes of salt");
        assert_eq!(parsed.hash.unwrap().len(), 32);
    }

    /// `ARGON2_IMPLEMENTATION=crate` keeps the C reference out, and the two pools' hashes
    /// verify in each other (the same output, whichever computed it).
    #[actix_web::test]
    async fn the_crate_can_be_chosen_and_the_implementations_agree() {
        assert!(!Argon2Implementation::Crate.uses_reference());
        assert_eq!(
            Argon2Implementation::Auto.uses_reference(),
            crate::argon2_native::in_use()
        );
        let auto = PasswordHasherPool::new(8 * 1024, 2, 1, Argon2Implementation::Auto).unwrap();
        let by_crate =
            PasswordHasherPool::new(8 * 1024, 2, 1, Argon2Implementation::Crate).unwrap();
        assert_eq!(by_crate.implementation(), Argon2Implementation::Crate);
        for (hasher, checker) in [(&auto, &by_crate), (&by_crate, &auto)] {
            let hash = hasher.hash("both ways".into()).await.unwrap();
            assert_eq!(
                checker
                    .verify("both ways".into(), Some(hash.clone()))
                    .await
                    .unwrap(),
                Verified::Yes
            );
            assert_eq!(
                checker
                    .verify("other way".into(), Some(hash))
                    .await
                    .unwrap(),
                Verified::No
            );
        }
    }

    /// Hashes with other parameters than the thread's block verify: smaller ones in part of
    /// the block, larger ones with memory of their own; argon2i/d ones still verify (and are
    /// rehashed as argon2id).
    #[actix_web::test]
    async fn other_parameters_verify() {
        let pool = PasswordHasherPool::new(8 * 1024, 2, 1, Argon2Implementation::Auto).unwrap();
        for (algorithm, m, t) in [
            (Algorithm::Argon2id, 4 * 1024, 1),
            (Algorithm::Argon2id, 16 * 1024, 3),
            (Algorithm::Argon2i, 8 * 1024, 2),
        ] {
            let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
            let stored = Argon2::new(
                algorithm,
                Version::V0x13,
                Params::new(m, t, 1, None).unwrap(),
            )
            .hash_password(b"the right one", &salt)
            .unwrap()
            .to_string();
            assert_eq!(
                pool.verify("the wrong one".into(), Some(stored.clone()))
                    .await
                    .unwrap(),
                Verified::No,
                "{stored}"
            );
            let verified = pool
                .verify("the right one".into(), Some(stored.clone()))
                .await
                .unwrap();
            let stronger = algorithm == Algorithm::Argon2id && m >= 8 * 1024 && t >= 2;
            match verified {
                Verified::Yes if stronger => {}
                Verified::YesRehashed(new) if !stronger => {
                    assert!(new.starts_with("$argon2id$v=19$m=8192,t=2,p=1$"), "{new}")
                }
                other => panic!("{stored}: {other:?}"),
            }
        }
        assert_eq!(
            pool.verify("x".into(), Some("not a PHC string".into()))
                .await
                .unwrap(),
            Verified::No
        );
    }

    /// A thread frees its block after a while without work, takes one again at its next
    /// hash, and ends when the pool is gone.
    #[test]
    fn a_thread_frees_its_block_when_idle() {
        let queue = Arc::new(Queue::default());
        let thread = {
            let queue = queue.clone();
            std::thread::spawn(move || work(&queue, Duration::from_millis(10)))
        };
        let probe = |f: fn(&mut Memory)| {
            let (tx, rx) = std::sync::mpsc::channel();
            queue.push(Box::new(move |m| {
                f(m);
                tx.send(m.len()).unwrap();
            }));
            rx.recv().unwrap()
        };
        assert_eq!(probe(|m| *m = HashMemory::zeroed(8)), 8);
        let freed = (0..500).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            probe(|_| {}) == 0
        });
        assert!(freed, "the block was never freed");
        queue.close();
        thread.join().unwrap();
    }
}
