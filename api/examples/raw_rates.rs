//! The machine's raw ceilings that `scripts/load.sh` compares the service with, on all cores:
//! argon2id hashes per second with the service's parameters (`ARGON2_MEMORY_KIB`,
//! `ARGON2_ITERATIONS`, `ARGON2_IMPLEMENTATION`) and the service's own hashing
//! (`passwords::raw_hash`: the C reference implementation on CPUs with AVX-512F, the `argon2`
//! crate elsewhere; each thread reuses one `hash_memory::HashMemory` block, as the service's
//! hashing threads do), and Ed25519 verifications per second of a real access token through
//! the service's own `TokenService::verify_signature` (keys read from `DATABASE_URL`, as the
//! server reads them).
//!
//! ```sh
//! cargo run --release --example raw_rates -- [--seconds 5] [--token ACCESS_TOKEN]
//! ```
//!
//! Prints `argon2id_hashes_per_second N`, `argon2id_implementation reference_avx512|crate`
//! and, with a token, `jwt_verifications_per_second N`, one per line.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use api::hash_memory::HashMemory;
use api::passwords::raw_hash;
use api::settings::Settings;
use api::tokens::TokenService;
use argon2::{Algorithm, Params, Version};
use persistence::Store;

/// Runs `work` on every core for `seconds`; answers how many times per second it ran.
fn on_all_cores(seconds: f64, work: impl Fn() + Sync) -> f64 {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut mine = 0;
                while !stop.load(Ordering::Relaxed) {
                    work();
                    mine += 1;
                }
                done.fetch_add(mine, Ordering::Relaxed);
            });
        }
        std::thread::sleep(Duration::from_secs_f64(seconds));
        stop.store(true, Ordering::Relaxed);
    });
    // The last round of each thread ran past the stop: count the time it took too.
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn main() -> anyhow::Result<()> {
    let mut seconds = 5.0;
    let mut token = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => seconds = args.next().context("--seconds N")?.parse()?,
            "--token" => token = Some(args.next().context("--token TOKEN")?),
            other => bail!("unknown argument {other:?} (--seconds N, --token TOKEN)"),
        }
    }
    let settings = Settings::from_env()?;

    let params = Params::new(
        settings.argon2_memory_kib,
        settings.argon2_iterations,
        1,
        None,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    thread_local! {
        static MEMORY: std::cell::RefCell<HashMemory> = const { std::cell::RefCell::new(HashMemory::empty()) };
    }
    let hashes = on_all_cores(seconds, || {
        MEMORY.with_borrow_mut(|memory| {
            if memory.len() < params.block_count() {
                *memory = HashMemory::zeroed(params.block_count());
            }
            let out = raw_hash(
                settings.argon2_implementation,
                (Algorithm::Argon2id, Version::V0x13),
                &params,
                black_box(b"correct horse battery staple, twice"),
                b"a fixed salt 16B",
                32,
                &mut memory[..],
            )
            .expect("argon2id with valid parameters");
            black_box(out);
        })
    });
    println!("argon2id_hashes_per_second {hashes:.1}");
    let implementation = if settings.argon2_implementation.uses_reference() {
        "reference_avx512"
    } else {
        "crate"
    };
    println!("argon2id_implementation {implementation}");

    if let Some(token) = token {
        let store = Store::open(&settings.database_url, 1)?;
        let now = chrono::Utc::now();
        let tokens = TokenService::load(store, settings.issuer.clone(), now)?;
        tokens
            .verify(&token, now)
            .context("the access token does not verify with the database's keys")?;
        let verifications = on_all_cores(seconds, || {
            black_box(tokens.verify_signature(black_box(&token), now).is_ok());
        });
        println!("jwt_verifications_per_second {verifications:.1}");
    }
    Ok(())
}
