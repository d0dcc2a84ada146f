//! Link arguments for the service's executable (not its tests or examples), on Linux with
//! Rust's default linker there (lld):
//! - `-z pack-relative-relocs`: the executable's relative relocations as DT_RELR (glibc ≥
//!   2.36: Debian 12 and the image). 1.7 MB of `.rela.dyn`, read whole at every start and
//!   so resident for the life of the process, become a few KB.
//! - `--symbol-ordering-file symbol-order.txt`: the functions a running service executes,
//!   placed together at the start of `.text`. The kernel maps code in 64 KiB runs around
//!   each page touched, so hot code spread over 13 MB of `.text` kept nearly all of it
//!   resident (README "Memory"). `scripts/symbol-order.sh` remakes the list; a function
//!   missing from it only lands among the cold code.
//!
//! With another linker configured (`RUSTC_LINKER`), nothing is added: GNU ld has no
//! symbol ordering file.
//!
//! And, on x86_64, argon2's C reference implementation (`argon2-c/`, phc-winner-argon2)
//! compiled for AVX-512F, which `src/argon2_native.rs` calls only on CPUs that have it (the
//! cfg `argon2_avx512`). Without a C compiler that takes `-mavx512f` the service hashes
//! with the `argon2` crate everywhere, as before.

use std::env;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=symbol-order.txt");
    println!("cargo::rerun-if-changed=argon2-c");
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    println!("cargo::rustc-check-cfg=cfg(argon2_avx512)");
    let target = |key: &str| env::var(key).unwrap_or_default();
    if target("CARGO_CFG_TARGET_ARCH") == "x86_64" {
        reference_argon2();
    }
    let lld = target("CARGO_CFG_TARGET_OS") == "linux"
        && target("CARGO_CFG_TARGET_ARCH") == "x86_64"
        && target("CARGO_CFG_TARGET_ENV") == "gnu"
        && env::var_os("RUSTC_LINKER").is_none();
    if !lld {
        return;
    }
    let order = format!("{}/symbol-order.txt", target("CARGO_MANIFEST_DIR"));
    println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    println!("cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={order}");
    println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

/// Compiles the reference implementation for AVX-512F, single-threaded (lanes are filled
/// one after another, on the hashing thread that called it).
fn reference_argon2() {
    let dir = format!(
        "{}/argon2-c",
        env::var("CARGO_MANIFEST_DIR").unwrap_or_default()
    );
    let mut build = cc::Build::new();
    build
        .include(format!("{dir}/include"))
        .include(format!("{dir}/src"))
        .files(
            [
                "argon2.c",
                "core.c",
                "encoding.c",
                "opt.c",
                "blake2/blake2b.c",
            ]
            .map(|file| format!("{dir}/src/{file}")),
        )
        .define("ARGON2_NO_THREADS", None)
        .flag("-mavx512f")
        .opt_level(3)
        .warnings(false);
    match build.try_compile("argon2_reference_avx512") {
        Ok(()) => println!("cargo::rustc-cfg=argon2_avx512"),
        Err(error) => println!(
            "cargo::warning=argon2's reference implementation not built ({error}); \
             the argon2 crate hashes on every CPU"
        ),
    }
}
