//! argon2id hashing on a bounded pool: at most `concurrency` hashes run at once, each on a
//! blocking thread, so a burst of logins can neither starve the async workers nor use more
//! than `concurrency × m` of memory.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::problem::ApiError;
use crate::secrets::random_bytes;

#[derive(Clone)]
pub struct PasswordHasherPool {
    params: Params,
    permits: Arc<Semaphore>,
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

fn argon2(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_with(params: &Params, password: &str) -> Result<String, ApiError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(ApiError::internal)?;
    argon2(params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

fn weaker(stored: &PasswordHash<'_>, now: &Params) -> bool {
    if stored.algorithm.as_str() != "argon2id" {
        return true;
    }
    match Params::try_from(stored) {
        Ok(p) => {
            p.m_cost() < now.m_cost() || p.t_cost() < now.t_cost() || p.p_cost() < now.p_cost()
        }
        Err(_) => true,
    }
}

impl PasswordHasherPool {
    pub fn new(memory_kib: u32, iterations: u32, concurrency: usize) -> anyhow::Result<Self> {
        let params =
            Params::new(memory_kib, iterations, 1, None).map_err(|e| anyhow::anyhow!("{e}"))?;
        let dummy_password = hex_string(&random_bytes::<16>());
        let dummy_hash = hash_with(&params, &dummy_password).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: Arc::new(dummy_hash),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let waiting = crate::metrics::metrics().password_hash_waiting();
        let permit = self.permits.acquire().await;
        drop(waiting);
        let _permit = permit.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(ApiError::internal)
    }

    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let params = self.params.clone();
        self.run(move || hash_with(&params, &password)).await?
    }

    /// Checks `password` against `stored`; with no stored hash (unknown login, or an account
    /// without a password) the dummy hash is checked instead and the answer is `No`.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<Verified, ApiError> {
        let params = self.params.clone();
        let (hash, real) = match stored {
            Some(h) => (h, true),
            None => (self.dummy_hash.as_ref().clone(), false),
        };
        self.run(move || {
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return Ok(Verified::No);
            };
            // The parameters come from the stored PHC string, so old hashes still verify.
            let ok = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            if !(ok && real) {
                return Ok(Verified::No);
            }
            if weaker(&parsed, &params) {
                Ok(Verified::YesRehashed(hash_with(&params, &password)?))
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

    #[actix_web::test]
    async fn hash_verify_and_rehash() {
        let pool = PasswordHasherPool::new(19 * 1024, 2, 2).unwrap();
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
        let stronger = PasswordHasherPool::new(19 * 1024, 3, 2).unwrap();
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
        let pool = PasswordHasherPool::new(19 * 1024, 2, 1).unwrap();
        let long = "a".repeat(100);
        let hash = pool.hash(long.clone()).await.unwrap();
        assert_eq!(
            pool.verify(long[..72].to_owned(), Some(hash))
                .await
                .unwrap(),
            Verified::No
        );
    }
}
