//! argon2's C reference implementation (phc-winner-argon2, vendored in `api/argon2-c`), built
//! for AVX-512F by `build.rs` and used only on CPUs that have it. There its compression runs
//! on 512-bit vectors; the `argon2` crate's fastest is AVX2, and a hash of it took 1.85 times
//! the CPU on an AVX-512 Xeon (README "Load"). Everywhere else, and for any input that is
//! not the ordinary case, `passwords` hashes with the crate, which gives the same output
//! (tested). The reference hashes in the caller's block, handed over through its allocator
//! callback, so the hashing threads still reuse one block each (README "Memory").

use argon2::{Algorithm, Block, Params, Version};

/// Hashes `password` with `salt` into `out` in `memory` with the reference implementation;
/// `None` when it is not used here (no AVX-512F, not built, or an input outside what both
/// implementations take alike), and the caller hashes with the crate.
pub fn hash_into(
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut [Block],
) -> Option<()> {
    // The ordinary case only; the crate judges (and refuses) the rest its own way.
    let ordinary = in_use()
        && params.output_len().is_none_or(|n| n == out.len())
        && (Params::MIN_OUTPUT_LEN..=Params::MAX_OUTPUT_LEN).contains(&out.len())
        && (8..=64).contains(&salt.len())
        && memory.len() >= params.block_count();
    if !ordinary {
        return None;
    }
    #[cfg(argon2_avx512)]
    return reference::hash_into(algorithm, version, params, password, salt, out, memory);
    #[cfg(not(argon2_avx512))]
    {
        let _ = (algorithm, version, password);
        None
    }
}

/// Whether this process hashes with the reference implementation (AVX-512F).
pub fn in_use() -> bool {
    #[cfg(argon2_avx512)]
    return std::arch::is_x86_feature_detected!("avx512f");
    #[cfg(not(argon2_avx512))]
    false
}

/// Unsafe code (the crate's only, with `hash_memory`'s mapping): the call into the C
/// library, and its allocator callback handing back the caller's block.
#[cfg(argon2_avx512)]
#[allow(unsafe_code)]
mod reference {
    use std::cell::Cell;
    use std::ffi::c_int;

    use argon2::{Algorithm, Block, Params, Version};

    /// `argon2_context` of `argon2.h`.
    #[repr(C)]
    struct Context {
        out: *mut u8,
        outlen: u32,
        pwd: *mut u8,
        pwdlen: u32,
        salt: *mut u8,
        saltlen: u32,
        secret: *mut u8,
        secretlen: u32,
        ad: *mut u8,
        adlen: u32,
        t_cost: u32,
        m_cost: u32,
        lanes: u32,
        threads: u32,
        version: u32,
        allocate_cbk: Option<extern "C" fn(*mut *mut u8, usize) -> c_int>,
        free_cbk: Option<extern "C" fn(*mut u8, usize)>,
        flags: u32,
    }

    unsafe extern "C" {
        fn argon2_ctx(context: *mut Context, kind: c_int) -> c_int;
    }

    const ARGON2_OK: c_int = 0;
    const ARGON2_MEMORY_ALLOCATION_ERROR: c_int = -22;

    thread_local! {
        /// The caller's block while its hash runs on this thread: (start, bytes).
        static BLOCK: Cell<(*mut u8, usize)> = const { Cell::new((std::ptr::null_mut(), 0)) };
    }

    /// The reference's allocator callback: the caller's block, if it is large enough.
    extern "C" fn lend_block(memory: *mut *mut u8, bytes: usize) -> c_int {
        let (start, len) = BLOCK.get();
        if start.is_null() || bytes > len || memory.is_null() {
            return ARGON2_MEMORY_ALLOCATION_ERROR;
        }
        // SAFETY: `memory` is the reference's out-parameter, checked non-null above.
        unsafe { *memory = start };
        0
    }

    /// The block stays the caller's (the reference has wiped it before this call).
    extern "C" fn keep_block(_: *mut u8, _: usize) {}

    pub(super) fn hash_into(
        algorithm: Algorithm,
        version: Version,
        params: &Params,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
        memory: &mut [Block],
    ) -> Option<()> {
        let kind = match algorithm {
            Algorithm::Argon2d => 0,
            Algorithm::Argon2i => 1,
            Algorithm::Argon2id => 2,
        };
        let data = params.data();
        let mut context = Context {
            out: out.as_mut_ptr(),
            outlen: u32::try_from(out.len()).ok()?,
            // Not written: flags 0 asks the reference not to clear the password.
            pwd: password.as_ptr().cast_mut(),
            pwdlen: u32::try_from(password.len()).ok()?,
            salt: salt.as_ptr().cast_mut(),
            saltlen: u32::try_from(salt.len()).ok()?,
            secret: std::ptr::null_mut(),
            secretlen: 0,
            ad: if data.is_empty() {
                std::ptr::null_mut()
            } else {
                data.as_ptr().cast_mut()
            },
            adlen: u32::try_from(data.len()).ok()?,
            t_cost: params.t_cost(),
            m_cost: params.m_cost(),
            lanes: params.p_cost(),
            // The reference is built without threads; lanes are filled one after another.
            threads: 1,
            version: version as u32,
            allocate_cbk: Some(lend_block),
            free_cbk: Some(keep_block),
            flags: 0,
        };
        let bytes = std::mem::size_of_val(memory);
        BLOCK.set((memory.as_mut_ptr().cast::<u8>(), bytes));
        // SAFETY: every pointer in `context` is valid for its length for the whole call
        // (`out`, `password`, `salt`, `data` borrowed here; the block through BLOCK, set
        // for this thread and this call only); the reference writes only `out` and the block.
        let code = unsafe { argon2_ctx(&mut context, kind) };
        BLOCK.set((std::ptr::null_mut(), 0));
        (code == ARGON2_OK).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use argon2::{Algorithm, Argon2, Block, Params, Version};

    /// Kind, version, m, t, p, output length, password, salt.
    type Case = (
        Algorithm,
        Version,
        u32,
        u32,
        u32,
        usize,
        &'static [u8],
        &'static [u8],
    );

    /// The reference and the crate give the same output wherever the reference is used; on
    /// a CPU without AVX-512F (or a build without it) the reference must not be used at all.
    #[test]
    fn the_reference_hashes_as_the_crate_does() {
        let cases: &[Case] = &[
            // The service's parameters and a 32-byte output.
            (
                Algorithm::Argon2id,
                Version::V0x13,
                19456,
                2,
                1,
                32,
                b"correct horse",
                b"a fixed salt 16B",
            ),
            // Smallest memory, one pass, the shortest salt, a long output.
            (
                Algorithm::Argon2id,
                Version::V0x13,
                8,
                1,
                1,
                64,
                b"",
                b"saltsalt",
            ),
            // Several lanes (filled one after another), an old version, other kinds.
            (
                Algorithm::Argon2id,
                Version::V0x13,
                4096,
                3,
                4,
                32,
                b"p\xc3\xa4ss",
                b"0123456789abcdef",
            ),
            (
                Algorithm::Argon2i,
                Version::V0x10,
                1024,
                2,
                1,
                16,
                b"password",
                b"somesaltsomesalt",
            ),
            (
                Algorithm::Argon2d,
                Version::V0x13,
                2048,
                1,
                2,
                32,
                b"password",
                b"somesaltsomesalt",
            ),
            // Memory that is not a multiple of four lanes' segments.
            (
                Algorithm::Argon2id,
                Version::V0x13,
                1001,
                2,
                1,
                32,
                b"x",
                b"saltsaltsalt",
            ),
        ];
        for &(algorithm, version, m, t, p, len, password, salt) in cases {
            let params = Params::new(m, t, p, Some(len)).unwrap();
            let mut memory = vec![Block::default(); params.block_count()];
            let mut expected = vec![0u8; len];
            Argon2::new(algorithm, version, params.clone())
                .hash_password_into_with_memory(password, salt, &mut expected, &mut memory)
                .unwrap();
            let mut out = vec![0u8; len];
            let used = super::hash_into(
                algorithm,
                version,
                &params,
                password,
                salt,
                &mut out,
                &mut memory,
            );
            if super::in_use() {
                assert_eq!(
                    used,
                    Some(()),
                    "{algorithm:?} {version:?} m={m} t={t} p={p}"
                );
                assert_eq!(out, expected, "{algorithm:?} {version:?} m={m} t={t} p={p}");
            } else {
                assert_eq!(used, None);
            }
        }
    }

    #[test]
    fn inputs_outside_the_ordinary_are_left_to_the_crate() {
        let params = Params::new(64, 1, 1, Some(32)).unwrap();
        let mut memory = vec![Block::default(); params.block_count()];
        let mut out = [0u8; 32];
        // Salt, output length, blocks: a salt under 8 bytes, an output of another length than
        // the parameters say, and a block smaller than the parameters need.
        let cases: &[(&[u8], usize, usize)] = &[
            (b"short", 32, memory.len()),
            (b"saltsalt", 16, memory.len()),
            (b"saltsalt", 32, 8),
        ];
        for &(salt, out_len, blocks) in cases {
            let used = super::hash_into(
                Algorithm::Argon2id,
                Version::V0x13,
                &params,
                b"pw",
                salt,
                &mut out[..out_len],
                &mut memory[..blocks],
            );
            assert_eq!(used, None, "{salt:?}, {out_len}, {blocks}");
        }
    }

    /// The CPU decides, not the build: on a CPU with AVX-512F the reference must have been
    /// built and be in use, and nowhere else.
    #[test]
    fn the_reference_is_in_use_exactly_where_the_cpu_has_avx512f() {
        #[cfg(target_arch = "x86_64")]
        let has = std::arch::is_x86_feature_detected!("avx512f");
        #[cfg(not(target_arch = "x86_64"))]
        let has = false;
        let built = cfg!(argon2_avx512);
        assert_eq!(super::in_use(), has && built);
        if has {
            assert!(
                built,
                "a CPU with AVX-512F but the reference was not built (build.rs)"
            );
        }
    }
}
