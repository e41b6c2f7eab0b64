//! The queue of bytes to send, and the two ways to hand it out: chunk by
//! chunk ([`Connection::poll_transmit`]) or lent as slices for one vectored
//! write ([`Connection::transmit_slices`]).

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

use super::send::encode_frame;
use super::Connection;
use crate::frame::OpCode;

/// Bytes waiting to be written: small frames are packed into one buffer,
/// large shared payloads follow as their own chunks, in order.
#[derive(Debug)]
pub(super) struct SendQueue {
    /// Packed frames not yet handed out; they follow every chunk in `chunks`.
    pub(super) tail: BytesMut,
    /// Chunks ready to hand out, in order, before `tail`, each with whether
    /// a frame ends with it.
    chunks: VecDeque<(Bytes, bool)>,
    /// Bytes in `chunks`.
    chunked: usize,
    /// The last chunk handed out ended a frame: a control frame may go next.
    at_boundary: bool,
    /// Bytes handed out since the connection began (for the send timer).
    pub(super) sent: u64,
}

impl Default for SendQueue {
    fn default() -> Self {
        Self {
            tail: BytesMut::new(),
            chunks: VecDeque::new(),
            chunked: 0,
            at_boundary: true,
            sent: 0,
        }
    }
}

/// A send buffer emptied with more capacity than this is released; below
/// it the buffer is kept, so that a connection sending messages of up to
/// this size back to back frames each one without allocating. (Small
/// messages leave it small: the idle figures do not change.)
const RETAIN_SEND_BUFFER: usize = 64 * 1024;

impl SendQueue {
    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn len(&self) -> usize {
        self.chunked + self.tail.len()
    }

    /// Drops everything queued: the peer will never take it.
    pub(super) fn discard(&mut self) {
        *self = Self {
            sent: self.sent,
            ..Self::default()
        };
    }

    pub(super) fn capacity(&self) -> usize {
        self.chunked
            + self.tail.capacity()
            + self.chunks.capacity() * std::mem::size_of::<(Bytes, bool)>()
    }

    /// Queues `chunk` after everything queued so far; `starts_frame` and
    /// `ends_frame` say whether a frame starts and ends with it.
    pub(super) fn push_chunk(&mut self, chunk: Bytes, starts_frame: bool, ends_frame: bool) {
        if !self.tail.is_empty() {
            let packed = self.tail.split().freeze();
            self.chunked += packed.len();
            // The tail ends with a header when the chunk is that header's payload.
            self.chunks.push_back((packed, starts_frame));
        }
        if !chunk.is_empty() {
            self.chunked += chunk.len();
            self.chunks.push_back((chunk, ends_frame));
        }
    }

    /// Fills `out` with the queued bytes, in order; returns how many slices.
    fn slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        // Small frames only (the common case): one slice.
        if self.chunks.is_empty() {
            return match out.first_mut() {
                Some(slot) if !self.tail.is_empty() => {
                    *slot = IoSlice::new(&self.tail);
                    1
                }
                _ => 0,
            };
        }
        let tail = (!self.tail.is_empty()).then_some(&self.tail[..]);
        let all = self.chunks.iter().map(|(c, _)| &c[..]).chain(tail);
        let mut n = 0;
        for (slot, bytes) in out.iter_mut().zip(all) {
            *slot = IoSlice::new(bytes);
            n += 1;
        }
        n
    }

    /// Drops the first `n` queued bytes (all of them, if fewer are queued).
    fn advance(&mut self, n: usize) {
        if self.chunks.is_empty() && n >= self.tail.len() {
            // The commonest case: the packed frames all written at once.
            self.sent += self.tail.len() as u64;
            self.tail.clear();
            self.at_boundary = true;
            if self.tail.capacity() > RETAIN_SEND_BUFFER {
                self.tail = BytesMut::new();
            }
            return;
        }
        let n = n.min(self.len());
        self.sent += n as u64;
        let mut n = n;
        while n > 0 {
            if let Some((front, ends_frame)) = self.chunks.front_mut() {
                let k = n.min(front.len());
                front.advance(k);
                self.chunked -= k;
                n -= k;
                self.at_boundary = front.is_empty() && *ends_frame;
                if front.is_empty() {
                    self.chunks.pop_front();
                }
            } else {
                let k = n.min(self.tail.len());
                if k == self.tail.len() {
                    // All written: the buffer starts again from its front,
                    // keeping its capacity (no reallocation next time).
                    self.tail.clear();
                } else {
                    self.tail.advance(k);
                }
                // Packed frames end where the tail does; inside it, a
                // boundary is not tracked, so a pong waits for the end.
                self.at_boundary = self.tail.is_empty();
                if self.tail.is_empty() && self.tail.capacity() > RETAIN_SEND_BUFFER {
                    self.tail = BytesMut::new();
                }
                break;
            }
        }
    }

    fn pop(&mut self) -> Option<Bytes> {
        if let Some((chunk, ends_frame)) = self.chunks.pop_front() {
            self.chunked -= chunk.len();
            self.sent += chunk.len() as u64;
            self.at_boundary = ends_frame;
            return Some(chunk);
        }
        if self.tail.is_empty() {
            if self.tail.capacity() > RETAIN_SEND_BUFFER {
                self.tail = BytesMut::new();
            }
            None
        } else {
            self.at_boundary = true;
            self.sent += self.tail.len() as u64;
            Some(self.tail.split().freeze())
        }
    }
}

impl Connection {
    /// Hands out the next chunk of bytes to write to the transport, in order.
    ///
    /// Write every chunk; a caller that can write vectored may take several
    /// before writing.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.queue_pongs();
        self.send.pop()
    }

    /// Output, lent rather than handed out: fills `slices` with the bytes
    /// queued to send, in order, and returns how many slices it filled
    /// (0 when nothing is queued). Write them (vectored), then call
    /// [`advance_transmit`](Self::advance_transmit) with the number of bytes
    /// written. Nothing is allocated or reference-counted on this path.
    ///
    /// ```
    /// # use std::io::IoSlice;
    /// # use wsproto::{Config, Connection, Role};
    /// let mut conn = Connection::new(Role::Server, Config::default());
    /// conn.send_text("hi").unwrap();
    /// let mut slices = [IoSlice::new(&[]); 8];
    /// let n = conn.transmit_slices(&mut slices);
    /// assert_eq!(&*slices[0], b"\x81\x02hi");
    /// let written = slices[..n].iter().map(|s| s.len()).sum();
    /// conn.advance_transmit(written);
    /// assert_eq!(conn.buffered_amount(), 0);
    /// ```
    #[must_use = "the count says how many slices hold bytes to write"]
    pub fn transmit_slices<'a>(&'a mut self, slices: &mut [IoSlice<'a>]) -> usize {
        self.queue_pongs();
        self.send.slices(slices)
    }

    /// Input: `n` bytes of what [`transmit_slices`](Self::transmit_slices)
    /// lent were written to the transport.
    pub fn advance_transmit(&mut self, n: usize) {
        self.send.advance(n);
        if self.send.is_empty() {
            self.trim_pool();
        }
    }

    /// Puts the pending automatic pongs at the front of the queue, if no
    /// frame there is partly written: they go out ahead of queued data.
    #[inline]
    fn queue_pongs(&mut self) {
        if !self.pending_pongs.is_empty() && self.send.at_boundary {
            self.queue_pending_pongs();
        }
    }

    /// The work of [`queue_pongs`](Self::queue_pongs), out of the hot path.
    #[cold]
    fn queue_pending_pongs(&mut self) {
        let mut out = BytesMut::new();
        while let Some(payload) = self.pending_pongs.pop_front() {
            let mask = self.next_mask();
            encode_frame(
                &mut out,
                true,
                false,
                OpCode::Pong,
                payload.as_slice(),
                mask,
            );
        }
        let pongs = out.freeze();
        self.send.chunked += pongs.len();
        self.send.chunks.push_front((pongs, true));
    }
}
