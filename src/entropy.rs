//! Where randomness comes from: mask keys (RFC 6455 §5.3) and the client's
//! `Sec-WebSocket-Key` (§4.1). The core never reaches for a global source;
//! it asks an [`Entropy`] the caller chose, so tests can seed one and get
//! byte-exact output.

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
/// connection on that thread, so masking a small frame costs a copy, not a
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

/// Random bytes not yet handed out, per thread.
struct Pool {
    bytes: [u8; 4096],
    used: usize,
}

thread_local! {
    static POOL: std::cell::RefCell<Pool> = const {
        std::cell::RefCell::new(Pool { bytes: [0; 4096], used: 4096 })
    };
}

impl Pool {
    /// Draws a fresh pool from the OS once this one is used up.
    fn refill_if_empty(&mut self) {
        if self.used == self.bytes.len() {
            // The OS generator does not fail on supported platforms; if it
            // ever does, no safe mask key can be made.
            getrandom::fill(&mut self.bytes).expect("the operating system's random source failed");
            self.used = 0;
        }
    }
}

impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            let mut buf = &mut buf[..];
            while !buf.is_empty() {
                pool.refill_if_empty();
                let n = buf.len().min(pool.bytes.len() - pool.used);
                buf[..n].copy_from_slice(&pool.bytes[pool.used..pool.used + n]);
                pool.used += n;
                buf = &mut buf[n..];
            }
        });
    }

    /// One key per frame: the pool's next four bytes. Fewer than four left
    /// (after a `fill` of another length) are skipped, so a key never
    /// straddles two draws and no byte is handed out twice.
    fn mask_key(&mut self) -> [u8; 4] {
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            if pool.bytes.len() - pool.used < 4 {
                pool.used = pool.bytes.len();
            }
            pool.refill_if_empty();
            let at = pool.used;
            pool.used += 4;
            [
                pool.bytes[at],
                pool.bytes[at + 1],
                pool.bytes[at + 2],
                pool.bytes[at + 3],
            ]
        })
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
