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

use std::env;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=symbol-order.txt");
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    let target = |key: &str| env::var(key).unwrap_or_default();
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
