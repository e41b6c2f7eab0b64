//! The read buffer: received bytes not yet handed out, and the writable
//! space lent to the caller to read into without a copy.
//!
//! The buffer's initialised length may run past the received bytes: space
//! lent once stays initialised, so lending it again writes no zeros (each
//! byte of an allocation is zeroed at most once). Only `filled` bytes are
//! data. Bytes taken from the front are only counted off (`start`) and cut
//! from the `BytesMut` at the next input or split, so handing out a frame
//! costs its header no buffer operation of its own.

use bytes::{Buf, Bytes, BytesMut};

/// A buffer emptied with more capacity than this is released once the
/// connection has no message in progress and has gone quiet, so an idle
/// connection holds no read buffer (it starts small and grows on demand).
const RETAIN: usize = 1024;

#[derive(Debug, Default)]
pub(super) struct ReadBuf {
    /// `buf[start..start + filled]` is received data; `buf[..start]` was
    /// taken already; what follows the data is initialised space, lent or
    /// free to lend.
    buf: BytesMut,
    start: usize,
    filled: usize,
    /// Bytes lent by [`lend`](Self::lend) and not yet committed.
    lent: usize,
    /// A large message was handed out of this allocation: once the buffer
    /// is empty, start again from the allocation's front if the message
    /// has been dropped (see [`compact`](Self::compact)).
    reclaim: bool,
}

/// A split of at least this many bytes sets [`ReadBuf::reclaim`].
const RECLAIM_AFTER: usize = 64 * 1024;

impl ReadBuf {
    /// The received bytes.
    #[inline]
    pub(super) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.start + self.filled]
    }

    /// The received bytes, to unmask in place.
    #[inline]
    pub(super) fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.start + self.filled]
    }

    /// Cuts the taken bytes off the front of the `BytesMut`; with no data
    /// left, starts again from the front of it instead, where the space is
    /// initialised already and costs the buffer no capacity.
    ///
    /// After a large message was handed out, what is left is the tail of
    /// its allocation, too short for the next large message: filling it
    /// and then growing would move a partial message to the front. So once
    /// the buffer is empty, the whole allocation is taken back instead, if
    /// the caller has dropped the message (else the tail is used, as
    /// before); no byte is copied either way. Not under a `limit`, which
    /// the whole allocation might pass.
    fn compact(&mut self, limit: Option<usize>) {
        if self.filled == 0 {
            self.start = 0;
            if self.reclaim && limit.is_none() {
                self.reclaim = false;
                self.buf.clear();
                let _ = self.buf.try_reclaim(self.buf.capacity() + 1);
            }
        } else if self.start > 0 {
            self.buf.advance(self.start);
            self.start = 0;
        }
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        self.filled
    }

    pub(super) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Appends received bytes; the buffer grows to at most `limit` bytes of
    /// capacity where it can (see [`reserve_within`]).
    pub(super) fn extend(&mut self, data: &[u8], limit: Option<usize>) {
        self.compact(limit);
        self.buf.truncate(self.filled);
        reserve_within(&mut self.buf, data.len(), limit);
        self.buf.extend_from_slice(data);
        self.filled = self.buf.len();
        self.lent = 0;
    }

    /// `len` writable bytes after the received ones.
    pub(super) fn lend(&mut self, len: usize, limit: Option<usize>) -> &mut [u8] {
        self.compact(limit);
        let end = self.filled + len;
        if self.buf.len() < end {
            let initialised = self.buf.len();
            reserve_within(&mut self.buf, end - initialised, limit);
            // Zero only what was never initialised.
            self.buf.resize(end, 0);
        }
        self.lent = len;
        &mut self.buf[self.filled..end]
    }

    /// `n` of the lent bytes now hold received data; returns how many were
    /// taken (never more than were lent). The lent space follows the data,
    /// wherever `start` moved since.
    pub(super) fn commit(&mut self, n: usize) -> usize {
        let n = n.min(self.lent);
        self.filled += n;
        self.lent = 0;
        n
    }

    /// Hands out the first `n` received bytes, without copying.
    #[inline]
    pub(super) fn split_to(&mut self, n: usize) -> Bytes {
        debug_assert!(n <= self.filled);
        self.filled -= n;
        self.reclaim |= n >= RECLAIM_AFTER;
        let mut bytes = self.buf.split_to(self.start + n).freeze();
        bytes.advance(self.start);
        self.start = 0;
        bytes
    }

    /// Drops the first `n` received bytes.
    #[inline]
    pub(super) fn advance(&mut self, n: usize) {
        debug_assert!(n <= self.filled);
        self.filled -= n;
        self.start += n;
    }

    /// Holds no data, none is lent, and more capacity than an idle
    /// connection keeps: what [`release`](Self::release) would give back.
    pub(super) fn is_large_and_empty(&self) -> bool {
        self.filled == 0 && self.lent == 0 && self.buf.capacity() > RETAIN
    }

    /// Drops everything: input ends here.
    pub(super) fn release(&mut self) {
        *self = Self::default();
    }
}

/// Makes room for `additional` more bytes after `buf.len()`. Without a
/// limit the buffer grows as `BytesMut` grows it (doubling, for linear
/// time); with one, the new capacity doubles as well but stops at `limit`
/// (never below what is needed), so that a memory budget that counts
/// capacity is not overrun by the growth policy.
#[inline]
pub(super) fn reserve_within(buf: &mut BytesMut, additional: usize, limit: Option<usize>) {
    if buf.capacity() - buf.len() >= additional {
        return;
    }
    grow_within(buf, additional, limit);
}

/// [`reserve_within`] when the spare capacity is short.
#[cold]
fn grow_within(buf: &mut BytesMut, additional: usize, limit: Option<usize>) {
    let Some(limit) = limit else {
        // Room for [`RETAIN`] bytes at least: small reads then fill an
        // allocation many times over before it is reclaimed or regrown,
        // and an idle connection keeps no more than that.
        buf.reserve(additional.max(RETAIN.saturating_sub(buf.len())));
        return;
    };
    let needed = buf.len() + additional;
    let target = (buf.capacity() * 2).min(limit).max(needed);
    let mut grown = BytesMut::with_capacity(target);
    grown.extend_from_slice(buf);
    *buf = grown;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lent_space_is_initialised_once_and_only_committed_bytes_are_data() {
        let mut b = ReadBuf::default();
        b.lend(8, None)[..3].copy_from_slice(b"abc");
        assert_eq!(b.commit(3), 3);
        assert_eq!(b.data(), b"abc");
        // The unused lent tail stays initialised, and is not data.
        b.lend(2, None).copy_from_slice(b"de");
        assert_eq!(b.data(), b"abc", "lent bytes are not data until committed");
        assert_eq!(b.commit(9), 2, "never more than was lent");
        assert_eq!(b.data(), b"abcde");
        assert_eq!(&b.split_to(2)[..], b"ab");
        b.advance(1);
        assert_eq!(b.data(), b"de");
        b.extend(b"f", None);
        assert_eq!(b.data(), b"def");
    }

    #[test]
    fn a_large_message_once_dropped_gives_the_next_its_allocation_from_the_front() {
        let mut b = ReadBuf::default();
        b.lend(300_000, None)[..100_000].fill(7);
        b.commit(100_000);
        let front = b.data().as_ptr();
        drop(b.split_to(100_000));
        // Not the tail left after the message: the whole allocation again.
        let next = b.lend(50_000, None);
        assert_eq!(next.as_ptr(), front);
        assert!(b.capacity() >= 300_000);
    }

    #[test]
    fn a_large_message_still_held_is_never_written_over() {
        let mut b = ReadBuf::default();
        b.lend(300_000, None)[..100_000].fill(7);
        b.commit(100_000);
        let held = b.split_to(100_000);
        b.lend(50_000, None).fill(9);
        b.commit(50_000);
        assert!(held.iter().all(|&x| x == 7));
        assert!(b.data().iter().all(|&x| x == 9));
        // Under a limit, the tail is used as it is.
        let mut c = ReadBuf::default();
        c.lend(300_000, None)[..100_000].fill(7);
        c.commit(100_000);
        let front = c.data().as_ptr();
        drop(c.split_to(100_000));
        assert_ne!(c.lend(50_000, Some(1 << 20)).as_ptr(), front);
    }

    #[test]
    fn bytes_taken_from_the_front_between_a_lend_and_its_commit_leave_the_data_whole() {
        let mut b = ReadBuf::default();
        b.extend(b"0123456789", None);
        b.advance(2);
        // The lend follows the data; taking more from the front in between
        // (as `poll_event` may) moves nothing the commit relies on.
        b.lend(4, None).copy_from_slice(b"abcd");
        b.advance(3);
        assert_eq!(&b.split_to(2)[..], b"56");
        b.advance(1);
        assert_eq!(b.commit(4), 4);
        assert_eq!(b.data(), b"89abcd");
        assert_eq!(&b.split_to(6)[..], b"89abcd");
        assert_eq!(b.len(), 0);
        b.extend(b"z", None);
        assert_eq!(b.data(), b"z");
    }

    #[test]
    fn a_buffer_emptied_by_advances_starts_again_from_its_front() {
        // Data taken off by `advance` (lent events, headers, control
        // frames) leaves the allocation's front free: the next read lands
        // there, in the same allocation, with nothing zeroed again.
        let mut b = ReadBuf::default();
        b.lend(4096, None);
        b.commit(0);
        let front = b.buf.as_ptr();
        let capacity = b.capacity();
        for round in 0..1000u32 {
            let read = b.lend(100, None);
            read.fill(round as u8);
            assert_eq!(b.commit(100), 100);
            assert!(b.data().iter().all(|&x| x == round as u8));
            b.advance(100);
            assert_eq!(b.buf.as_ptr(), front, "round {round}");
            assert_eq!(b.capacity(), capacity, "round {round}");
        }
        for round in 0..1000u32 {
            b.extend(&[round as u8; 30], None);
            b.advance(30);
            assert_eq!(b.buf.as_ptr(), front, "round {round}");
        }
    }

    #[test]
    fn a_commit_without_a_lend_takes_nothing() {
        let mut b = ReadBuf::default();
        assert_eq!(b.commit(10), 0);
        assert_eq!(b.len(), 0);
    }
}
