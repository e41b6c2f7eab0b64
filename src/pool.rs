//! A memory pool shared by many connections: one bound on what all of
//! them together may hold in buffers, whatever their peers send.
//!
//! A per-connection [`memory_budget`](crate::Config::memory_budget) bounds
//! each connection; it does not bound a crowd of them. A [`MemoryPool`] is a
//! cheap `Clone` handle (an `Arc`) set on the `Config` of every connection
//! that should draw from it. A connection draws what its buffers need (read
//! buffer, reassembled message, inflated output, send queue, pending pongs)
//! from the pool in chunks of [`MemoryPool::CHUNK`] bytes, so small
//! messages never touch the pool's atomic counter, and gives back what it no
//! longer needs, and everything when it is dropped. A connection whose next
//! buffer would pass the pool fails with close code 1009
//! ([`ProtocolError::MemoryPoolExhausted`](crate::ProtocolError::MemoryPoolExhausted))
//! on receive, or returns [`Error::SendQueueFull`](crate::Error::SendQueueFull)
//! on send, instead of taking memory from everyone else.
//!
//! The pool does not count the connection structure itself (about 1 KiB)
//! nor permessage-deflate's codec state (fixed per connection once made; see
//! the README's table), only the buffers a peer can make grow.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A bound on the buffers of many connections together; clone it into the
/// [`Config`](crate::Config) of each ([`Config::memory_pool`](crate::Config::memory_pool)).
///
/// ```
/// use wsproto::{Config, MemoryPool};
///
/// let pool = MemoryPool::new(256 << 20); // 256 MiB for every connection together
/// let config = Config::default().memory_pool(Some(pool.clone()));
/// # let _ = config;
/// assert_eq!(pool.used(), 0);
/// ```
#[derive(Clone, Debug)]
pub struct MemoryPool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    limit: usize,
    used: AtomicUsize,
}

impl MemoryPool {
    /// Connections draw from the pool in chunks of this many bytes.
    pub const CHUNK: usize = 64 * 1024;

    /// A pool of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                limit,
                used: AtomicUsize::new(0),
            }),
        }
    }

    /// The pool's size.
    pub fn limit(&self) -> usize {
        self.inner.limit
    }

    /// Bytes the connections hold from the pool now (in whole chunks).
    pub fn used(&self) -> usize {
        self.inner.used.load(Ordering::Relaxed)
    }

    /// Takes `bytes` from the pool if they fit.
    fn take(&self, bytes: usize) -> bool {
        let limit = self.inner.limit;
        self.inner
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= limit)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        self.inner.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// What one connection holds from a pool; given back when dropped.
#[derive(Debug)]
pub(crate) struct Grant {
    pool: MemoryPool,
    held: usize,
}

impl Grant {
    pub(crate) fn new(pool: MemoryPool) -> Self {
        Self { pool, held: 0 }
    }

    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    pub(crate) fn limit(&self) -> usize {
        self.pool.limit()
    }

    /// Makes the grant cover `bytes`, taking whole chunks from the pool as
    /// needed; `false` if the pool cannot give them.
    pub(crate) fn cover(&mut self, bytes: usize) -> bool {
        if bytes <= self.held {
            return true;
        }
        let want = bytes.div_ceil(MemoryPool::CHUNK) * MemoryPool::CHUNK;
        let more = want - self.held;
        if self.pool.take(more) {
            self.held = want;
            true
        } else {
            false
        }
    }

    /// How many bytes the grant could cover at most now: what it holds and
    /// what the pool has left.
    pub(crate) fn room(&self) -> usize {
        self.held + self.pool.limit().saturating_sub(self.pool.used())
    }

    /// Gives back what `in_use` bytes of buffers do not need, keeping one
    /// chunk of headroom so that a connection near a chunk boundary does not
    /// take and give back on every message.
    pub(crate) fn trim(&mut self, in_use: usize) {
        let keep = (in_use.div_ceil(MemoryPool::CHUNK) + 1) * MemoryPool::CHUNK;
        if self.held > keep + MemoryPool::CHUNK {
            self.pool.give_back(self.held - keep);
            self.held = keep;
        }
    }
}

impl Drop for Grant {
    fn drop(&mut self) {
        if self.held > 0 {
            self.pool.give_back(self.held);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_take_whole_chunks_and_give_everything_back_when_dropped() {
        let pool = MemoryPool::new(4 * MemoryPool::CHUNK);
        let mut a = Grant::new(pool.clone());
        let mut b = Grant::new(pool.clone());
        assert!(a.cover(1));
        assert_eq!(pool.used(), MemoryPool::CHUNK);
        assert!(a.cover(MemoryPool::CHUNK), "within what it holds");
        assert!(b.cover(3 * MemoryPool::CHUNK));
        assert!(!a.cover(2 * MemoryPool::CHUNK), "the pool is full");
        assert_eq!(a.held(), MemoryPool::CHUNK, "a refusal takes nothing");
        drop(b);
        assert_eq!(pool.used(), MemoryPool::CHUNK);
        assert!(a.cover(4 * MemoryPool::CHUNK));
        a.trim(10);
        assert_eq!(
            a.held(),
            2 * MemoryPool::CHUNK,
            "one chunk of headroom kept"
        );
        drop(a);
        assert_eq!(pool.used(), 0);
    }
}
