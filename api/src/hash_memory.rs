//! The memory block a hashing thread reuses for every argon2 hash (`passwords`). On Linux it
//! is a mapping of its own, aligned to 2 MiB, for which the kernel is asked for transparent
//! huge pages (`madvise(MADV_HUGEPAGE)`: a hint, so it also works where THP is off). argon2
//! reads its 19 MiB at places it cannot predict, and with 4 KiB pages that is ~4,900 pages,
//! more than the CPU's TLB holds; with 2 MiB pages it is ten. A hash took ~11 % less time
//! on an AMD EPYC with `transparent_hugepage=madvise`, Debian's default (README "Load").
//! Dropping the block unmaps it, so an idle thread's memory goes back to the system at once.
//! Elsewhere, and if the mapping fails, the block is an ordinary `Vec`.

use std::ops::{Deref, DerefMut};

use argon2::Block;

/// A zeroed block of `len` argon2 blocks.
pub struct HashMemory(Backing);

enum Backing {
    Vec(Vec<Block>),
    #[cfg(target_os = "linux")]
    Mapped(mapped::Mapped),
}

impl HashMemory {
    /// No memory yet (a hashing thread before its first hash, or after it went idle).
    pub const fn empty() -> Self {
        Self(Backing::Vec(Vec::new()))
    }

    /// `len` zeroed blocks.
    pub fn zeroed(len: usize) -> Self {
        #[cfg(target_os = "linux")]
        if let Some(mapped) = mapped::Mapped::new(len) {
            return Self(Backing::Mapped(mapped));
        }
        Self(Backing::Vec(vec![Block::default(); len]))
    }
}

impl Deref for HashMemory {
    type Target = [Block];

    fn deref(&self) -> &[Block] {
        match &self.0 {
            Backing::Vec(v) => v,
            #[cfg(target_os = "linux")]
            Backing::Mapped(m) => m.blocks(),
        }
    }
}

impl DerefMut for HashMemory {
    fn deref_mut(&mut self) -> &mut [Block] {
        match &mut self.0 {
            Backing::Vec(v) => v,
            #[cfg(target_os = "linux")]
            Backing::Mapped(m) => m.blocks_mut(),
        }
    }
}

/// The mapping: this crate's other unsafe code beside `argon2_native`'s call into C.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod mapped {
    use std::ptr::NonNull;

    use argon2::Block;

    /// Transparent huge pages are 2 MiB on x86_64 and on aarch64 with 4 KiB pages.
    const HUGE_PAGE: usize = 2 << 20;

    /// An anonymous private mapping of `bytes` at `start`, whose 2 MiB-aligned part at
    /// `blocks` holds `len` blocks. Owned by one thread: neither `Send` nor `Sync`.
    pub(super) struct Mapped {
        start: NonNull<libc::c_void>,
        bytes: usize,
        blocks: NonNull<Block>,
        len: usize,
    }

    impl Mapped {
        pub(super) fn new(len: usize) -> Option<Self> {
            let needed = len.checked_mul(size_of::<Block>())?;
            if needed == 0 {
                return None;
            }
            // Room to start the blocks on a 2 MiB boundary; the unused head and tail are
            // never touched, so they take no memory.
            let bytes = needed.checked_add(HUGE_PAGE)?;
            // SAFETY: a new anonymous mapping; no existing memory is affected.
            let start = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    bytes,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if start == libc::MAP_FAILED {
                return None;
            }
            let start = NonNull::new(start)?;
            let offset =
                (start.as_ptr() as usize).next_multiple_of(HUGE_PAGE) - start.as_ptr() as usize;
            // SAFETY: `offset < HUGE_PAGE`, so the blocks lie inside the mapping.
            let blocks = unsafe { start.byte_add(offset) }.cast::<Block>();
            // A hint only: where the kernel refuses (THP "never", old kernels) the blocks
            // are ordinary pages and the hash merely slower.
            // SAFETY: the range lies inside the mapping made above.
            unsafe { libc::madvise(blocks.as_ptr().cast(), needed, libc::MADV_HUGEPAGE) };
            Some(Self {
                start,
                bytes,
                blocks,
                len,
            })
        }

        pub(super) fn blocks(&self) -> &[Block] {
            // SAFETY: the mapping is readable and writable, 2 MiB-aligned (more than
            // `Block`'s 64), zero-filled by the kernel (and a zeroed `Block` is valid), and
            // lives as long as `self`; `&self` lends it shared.
            unsafe { std::slice::from_raw_parts(self.blocks.as_ptr(), self.len) }
        }

        pub(super) fn blocks_mut(&mut self) -> &mut [Block] {
            // SAFETY: as in `blocks`; `&mut self` lends it exclusively.
            unsafe { std::slice::from_raw_parts_mut(self.blocks.as_ptr(), self.len) }
        }
    }

    impl Drop for Mapped {
        fn drop(&mut self) {
            // SAFETY: the whole mapping made in `new`, no longer borrowed.
            unsafe { libc::munmap(self.start.as_ptr(), self.bytes) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Backing, HashMemory};

    #[test]
    fn blocks_are_zeroed_writable_and_sized() {
        for len in [1, 8, 2048, 19456] {
            let mut memory = HashMemory::zeroed(len);
            assert_eq!(memory.len(), len);
            assert!(memory.iter().all(|b| b.as_ref().iter().all(|&w| w == 0)));
            memory[len - 1].as_mut()[127] = 7;
            assert_eq!(memory[len - 1].as_ref()[127], 7);
        }
        assert!(HashMemory::empty().is_empty());
    }

    /// On Linux the block is a mapping of its own, on a 2 MiB boundary, so that huge pages
    /// can back it whole.
    #[cfg(target_os = "linux")]
    #[test]
    fn on_linux_the_block_is_mapped_on_a_huge_page_boundary() {
        let memory = HashMemory::zeroed(19456);
        assert!(matches!(memory.0, Backing::Mapped(_)));
        assert_eq!(memory.as_ptr() as usize % (2 << 20), 0);
    }
}
