//! Where randomness comes from: mask keys (RFC 6455 §5.3) and the client's
//! `Sec-WebSocket-Key` (§4.1). The core never reaches for a global source;
//! it asks an [`Entropy`] the caller chose, so tests can seed one and get
//! byte-exact output.

use std::cell::Cell;
use std::fmt;

/// A source of random bytes.
///
/// RFC 6455 §5.3: "The masking key MUST be derived from a strong source of
/// entropy". [`OsEntropy`] is the default; [`SeededEntropy`] is for tests and
/// fuzzing only.
pub trait Entropy: Send + fmt::Debug {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);

    /// Bytes this source holds, for [`Connection::memory_usage`](crate::Connection::memory_usage).
    fn memory_usage(&self) -> usize {
        std::mem::size_of_val(self)
    }

    /// A fresh 4-byte masking key.
    fn mask_key(&mut self) -> [u8; 4] {
        let mut key = [0; 4];
        self.fill(&mut key);
        key
    }
}

/// The operating system's CSPRNG (`getrandom`).
///
/// Bytes are drawn 4 KiB at a time into a pool per thread, shared by every
/// connection on that thread, so masking a small frame costs a load, not a
/// system call, and a connection holds no pool of its own. Each byte is
/// handed out once.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

impl OsEntropy {
    /// The operating system's generator.
    pub fn new() -> Self {
        Self
    }
}

/// Random words drawn from the OS and not yet handed out, per thread.
const POOL_WORDS: usize = 1024;

/// Each word is a `Cell`, so that taking one is a load and an index
/// update: no `RefCell` borrow flag to set and clear, no bounds check.
struct Pool {
    words: [Cell<u32>; POOL_WORDS],
    /// Words handed out; `POOL_WORDS` when the pool needs drawing.
    used: Cell<usize>,
}

thread_local! {
    static POOL: Pool = const {
        Pool {
            words: [const { Cell::new(0) }; POOL_WORDS],
            used: Cell::new(POOL_WORDS),
        }
    };
}

impl Pool {
    /// The next word not handed out, drawing a fresh pool from the OS once
    /// this one is used up.
    #[inline]
    fn next(&self) -> u32 {
        let mut at = self.used.get();
        if at >= POOL_WORDS {
            self.refill();
            at = 0;
        }
        self.used.set(at + 1);
        self.words[at].get()
    }

    #[cold]
    #[inline(never)]
    fn refill(&self) {
        let mut bytes = [0u8; 4 * POOL_WORDS];
        // The OS generator does not fail on supported platforms; if it
        // ever does, no safe mask key can be made.
        getrandom::fill(&mut bytes).expect("the operating system's random source failed");
        for (word, drawn) in self.words.iter().zip(bytes.as_chunks::<4>().0) {
            word.set(u32::from_ne_bytes(*drawn));
        }
        self.used.set(0);
    }
}

impl Entropy for OsEntropy {
    /// Whole words of the pool, in order; the unused bytes of the last one
    /// are dropped, so that no byte is handed out twice.
    fn fill(&mut self, buf: &mut [u8]) {
        POOL.with(|pool| {
            for chunk in buf.chunks_mut(4) {
                chunk.copy_from_slice(&pool.next().to_ne_bytes()[..chunk.len()]);
            }
        });
    }

    /// One key per frame: the pool's next word.
    #[inline]
    fn mask_key(&mut self) -> [u8; 4] {
        POOL.with(Pool::next).to_ne_bytes()
    }

    fn memory_usage(&self) -> usize {
        0
    }
}

/// A deterministic generator (SplitMix64) for tests, fuzzing and benchmarks.
/// Predictable: never use it on a real network.
#[derive(Debug, Clone)]
pub struct SeededEntropy {
    state: u64,
}

impl SeededEntropy {
    /// A generator whose output depends only on `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Entropy for SeededEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_entropy_is_repeatable() {
        let (mut a, mut b) = (SeededEntropy::new(7), SeededEntropy::new(7));
        let (mut x, mut y) = ([0u8; 20], [0u8; 20]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        assert_ne!(x, [0u8; 20]);
    }

    #[test]
    fn os_entropy_refills_across_the_pool_boundary() {
        let mut e = OsEntropy::new();
        let mut big = [0u8; 5000];
        e.fill(&mut big);
        // 150 zero bytes from a CSPRNG would be a broken generator.
        assert!(big.iter().any(|&b| b != 0));
        assert_ne!(e.mask_key(), e.mask_key());
    }

    #[test]
    fn os_mask_keys_cross_refills_whatever_was_drawn_before() {
        let mut e = OsEntropy::new();
        for odd in [1usize, 2, 3, 4093] {
            let mut skew = vec![0u8; odd];
            e.fill(&mut skew);
            // Over two pools' worth of keys: none repeats in practice.
            let keys: std::collections::HashSet<[u8; 4]> =
                (0..2100).map(|_| e.mask_key()).collect();
            assert!(keys.len() > 2090, "{} distinct keys of 2100", keys.len());
        }
    }
}
