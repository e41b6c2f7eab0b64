//! The receiving half of permessage-deflate (RFC 7692 §7.2.2): inflating
//! a message piece by piece under a size limit, and the LZ77 window carried
//! across DEFLATE blocks with BFINAL set.
//!
//! The copy of the window (see [`Decompressor`]) is updated once per
//! [`Decompressor::decompress`] call, whatever the caller does with its
//! vector afterwards, and is read only after a BFINAL block.

use std::collections::VecDeque;

use flate2::{Decompress, FlushDecompress, Status};

use super::{check_window_bits, DECOMPRESSOR_STATE, MAX_WINDOW_BITS, MIN_WINDOW_BITS, TAIL};
use crate::extensions::NegotiatedDeflate;

/// The most output the decompressor writes in one step into spare room it
/// did not allocate itself.
const STEP: usize = 32 * 1024;

/// A compressed message that cannot be inflated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InflateError {
    /// The message inflates to more than the limit (close code 1009).
    #[error("decompressed message of at least {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// The bytes of the message inflated when inflation stopped: past
        /// the limit, and at most one byte past it.
        size: usize,
        /// The limit given to [`Decompressor::decompress`].
        limit: usize,
    },
    /// The payload is not valid DEFLATE data (RFC 1951), or refers back
    /// further than the window holds (close code 1007).
    #[error("invalid compressed data")]
    Corrupt,
}

/// Inflates the messages we receive (RFC 7692 §7.2.2), frame by frame or
/// in any smaller pieces, with a size limit per message.
///
/// A message, or part of one, may end with a DEFLATE block whose BFINAL bit
/// is set (RFC 7692 §7.2.1, §7.2.3.4). What follows is a new DEFLATE stream
/// that still shares the LZ77 window: within the message, and with context
/// takeover across messages (§7.2.2: "MUST decompress each new message
/// using the LZ77 sliding window used to process the last compressed
/// message"). zlib cannot carry its window over an ended stream, so the
/// decompressor keeps its own copy of the last `2^w` bytes it inflated and
/// restarts zlib with it as the dictionary. Keeping it costs one copy of at
/// most `2^w` bytes of each call's output, and none for a message inflated
/// in one call without context takeover.
pub struct Decompressor {
    inflate: Decompress,
    window_bits: u8,
    no_context_takeover: bool,
    /// Output of the message in progress so far.
    message_len: usize,
    /// Output of the last whole message: a new message's output buffer
    /// starts that large (within its limit), so that messages of a steady
    /// size are inflated into one allocation, not grown and copied.
    last_len: usize,
    /// Payload bytes went into the stream since it was last at a block
    /// boundary, so the message end needs the `00 00 ff ff` tail.
    pending: bool,
    /// The last `2^window_bits` bytes inflated before the current call: the
    /// dictionary for a stream that follows a BFINAL block. Without context
    /// takeover, only the message in progress.
    window: VecDeque<u8>,
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decompressor")
            .field("window_bits", &self.window_bits)
            .field("no_context_takeover", &self.no_context_takeover)
            .field("message_len", &self.message_len)
            .field("window_len", &self.window.len())
            .finish_non_exhaustive()
    }
}

impl Decompressor {
    /// A decompressor with the peer's side of the agreed parameters
    /// ([`decompress_window_bits`](NegotiatedDeflate::decompress_window_bits),
    /// [`decompress_no_context_takeover`](NegotiatedDeflate::decompress_no_context_takeover)).
    ///
    /// The window is the agreed one, but at least 9 bits: a 9-bit window
    /// inflates every 8-bit stream, and also copes with zlib-based peers
    /// that were told 8 and silently used 9. It bounds the copy kept across
    /// BFINAL blocks. zlib itself always inflates with 15 bits, which
    /// decodes every smaller window's stream and costs no more memory
    /// (zlib-rs allocates the full 32 KiB window whatever it is told), while
    /// flate2 resets a zlib-rs inflater with any other window by allocating
    /// a new one, which would cost an allocation per message without
    /// context takeover. RFC 7692 §7.2.2 lets the receiver reduce its
    /// window to the agreed size; it need not.
    ///
    /// # Panics
    ///
    /// If `decompress_window_bits` is not in 8..=15 (RFC 7692 §7.1.2), which
    /// no negotiation agrees to.
    pub fn new(negotiated: &NegotiatedDeflate) -> Self {
        check_window_bits(
            "decompress_window_bits",
            negotiated.decompress_window_bits,
            8,
        );
        let window_bits = negotiated.decompress_window_bits.max(MIN_WINDOW_BITS);
        Self {
            inflate: Decompress::new_with_window_bits(false, MAX_WINDOW_BITS),
            window_bits,
            no_context_takeover: negotiated.decompress_no_context_takeover,
            message_len: 0,
            last_len: 0,
            pending: false,
            window: VecDeque::new(),
        }
    }

    /// The peer's window, at least 9 bits: how much of the output is kept
    /// for the stream that follows a BFINAL block.
    pub fn window_bits(&self) -> u8 {
        self.window_bits
    }

    /// Bytes of the message in progress inflated so far.
    pub fn message_len(&self) -> usize {
        self.message_len
    }

    /// Heap bytes held: zlib's inflate state, as measured (see the
    /// [module doc](crate::deflate#memory)), and the copy of the window
    /// kept for streams that follow a BFINAL block, which grows to at most
    /// `2^window_bits` bytes and only as the messages need it.
    pub fn memory_usage(&self) -> usize {
        DECOMPRESSOR_STATE + self.window.capacity()
    }

    /// Inflates the next piece of a compressed message's payload (a frame,
    /// or any part of one) and appends the output to `out`; `is_last` on
    /// the last piece of the message (it may be empty), which appends the
    /// `00 00 ff ff` tail (RFC 7692 §7.2.2) and readies the decompressor for
    /// the next message. Returns the number of bytes appended.
    ///
    /// `limit` bounds the whole message's output: once it would be
    /// exceeded, inflation stops with [`InflateError::TooLarge`], having
    /// written at most `limit + 1` bytes of the message. A message with an
    /// empty payload inflates to nothing (RFC 7692 §7.2.3.6 sends `0x00`,
    /// which works too).
    ///
    /// Only the bytes appended by this call are read back from `out`; the
    /// caller may keep, move or drop what earlier calls appended.
    ///
    /// On an error the message is dropped and the stream reset; with context
    /// takeover the connection cannot go on (it is failed anyway: 1009 or
    /// 1007).
    pub fn decompress(
        &mut self,
        compressed: &[u8],
        is_last: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<usize, InflateError> {
        let start = out.len();
        // `out[..recorded]` is already in the window copy (or not needed).
        let mut recorded = start;
        let result = self
            .inflate_all(compressed, out, &mut recorded, limit)
            .and_then(|()| {
                // An empty payload, or a stream that just ended on a BFINAL
                // block, is already at a block boundary: the tail would only
                // start a stored block header that nothing completes.
                if is_last && self.pending {
                    self.inflate_all(&TAIL, out, &mut recorded, limit)?;
                }
                Ok(())
            });
        if let Err(e) = result {
            self.reset();
            return Err(e);
        }
        if is_last {
            self.last_len = self.message_len;
            self.message_len = 0;
            self.pending = false;
        }
        if is_last && self.no_context_takeover {
            // RFC 7692 §7.2.2: the receiver "MAY decompress each new
            // message with an empty LZ77 sliding window".
            self.inflate.reset(false);
            self.window.clear();
        } else {
            // The window goes on: into the next call of this message, or
            // with context takeover into the next message.
            self.remember(&out[recorded..]);
        }
        Ok(out.len() - start)
    }

    /// Drops the message in progress and empties the window.
    pub fn reset(&mut self) {
        self.inflate.reset(false);
        self.message_len = 0;
        self.pending = false;
        self.window.clear();
    }

    /// Appends inflated bytes to the window copy, keeping its last
    /// `2^window_bits` bytes. Copies at most that many bytes; grows the
    /// copy's allocation geometrically, never past the window.
    fn remember(&mut self, bytes: &[u8]) {
        let size = 1usize << self.window_bits;
        let bytes = &bytes[bytes.len().saturating_sub(size)..];
        let excess = (self.window.len() + bytes.len()).saturating_sub(size);
        self.window.drain(..excess);
        let needed = self.window.len() + bytes.len();
        if needed > self.window.capacity() {
            let target = needed.max(2 * self.window.capacity()).clamp(256, size);
            self.window.reserve_exact(target - self.window.len());
        }
        self.window.extend(bytes);
    }

    /// Feeds all of `input`, growing `out` within the limit. After a BFINAL
    /// block, restarts zlib with the window so far as its dictionary.
    fn inflate_all(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        recorded: &mut usize,
        limit: usize,
    ) -> Result<(), InflateError> {
        loop {
            // Room for the rest of the message, plus one byte to see an excess.
            let room = limit.saturating_sub(self.message_len).saturating_add(1);
            let spare = out.capacity() - out.len();
            let len = out.len();
            let before_in = self.inflate.total_in();
            let before_out = self.inflate.total_out();
            let (status, space) = if spare > room {
                // The vector has more room than the message may use: write
                // into an initialized window of it, STEP bytes at a time.
                let space = room.min(STEP);
                out.resize(len + space, 0);
                let status = self
                    .inflate
                    .decompress(input, &mut out[len..], FlushDecompress::None);
                let written = (self.inflate.total_out() - before_out) as usize;
                out.truncate(len + written);
                (status, space)
            } else {
                if spare == 0 {
                    // Grow geometrically (amortized linear), never past the
                    // limit; a new message starts at the last one's size.
                    let hint = if self.message_len == 0 {
                        self.last_len + 1
                    } else {
                        0
                    };
                    let grow = len
                        .max(input.len().saturating_mul(4))
                        .clamp(256, STEP.max(len))
                        .max(hint)
                        .min(room);
                    out.reserve_exact(grow);
                }
                let space = out.capacity() - out.len();
                let status = self
                    .inflate
                    .decompress_vec(input, out, FlushDecompress::None);
                (status, space)
            };
            // zlib's message names its internals; the caller gets 1007.
            let status = status.map_err(|_| InflateError::Corrupt)?;
            let consumed = (self.inflate.total_in() - before_in) as usize;
            let produced = (self.inflate.total_out() - before_out) as usize;
            if consumed > 0 {
                self.pending = true;
            }
            input = &input[consumed..];
            self.message_len += produced;
            if self.message_len > limit {
                return Err(InflateError::TooLarge {
                    size: self.message_len,
                    limit,
                });
            }
            if status == Status::StreamEnd {
                self.restart(out, recorded)?;
                continue;
            }
            // Done when the input is used up and inflate stopped short of
            // the room it had (so it holds no more output).
            if input.is_empty() && produced < space {
                return Ok(());
            }
            if consumed == 0 && produced == 0 {
                // zlib always progresses with input and room, short of the
                // stream's end (handled above).
                return Err(InflateError::Corrupt);
            }
        }
    }

    /// After a block with BFINAL set (RFC 7692 §7.2.1 allows it, §7.2.3.4):
    /// whatever follows is a new DEFLATE stream that may refer back into
    /// the window (§7.2.2), so zlib restarts with the last `2^w` bytes
    /// inflated, earlier calls and messages included, as its dictionary.
    fn restart(&mut self, out: &[u8], recorded: &mut usize) -> Result<(), InflateError> {
        self.remember(&out[*recorded..]);
        *recorded = out.len();
        self.inflate.reset(false);
        self.pending = false;
        let dictionary = self.window.make_contiguous();
        if !dictionary.is_empty() {
            self.inflate
                .set_dictionary(dictionary)
                .map_err(|_| InflateError::Corrupt)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::tests::{compress, inflate, params, HELLO};
    use crate::deflate::Compressor;
    use flate2::{Compress, Compression, FlushCompress};
    use proptest::prelude::*;

    fn takeover_15() -> NegotiatedDeflate {
        params(15, false)
    }

    /// How a [`BfinalPeer`] ends a compressed message.
    #[derive(Clone, Copy, Debug)]
    enum End {
        /// A block with BFINAL set (zlib's `Z_FINISH`), as RFC 7692 §7.2.3.4.
        Final,
        /// The same, then the `0x00` §7.2.3.4 appends (an empty stored
        /// block without its length, which the receiver's tail completes).
        FinalAndZero,
        /// A sync flush without its tail, as usual (§7.2.1).
        Sync,
    }

    /// A peer that may end messages with BFINAL and still keeps its LZ77
    /// window (context takeover): after `Z_FINISH` it resets zlib and hands
    /// it the last `2^w` bytes with `deflateSetDictionary`, so the next
    /// stream refers back across the ended one.
    struct BfinalPeer {
        deflate: Compress,
        bits: u8,
        history: Vec<u8>,
    }

    impl BfinalPeer {
        fn new(bits: u8) -> Self {
            Self {
                deflate: Compress::new_with_window_bits(Compression::new(6), false, bits),
                bits,
                history: Vec::new(),
            }
        }

        /// The payload of one message (or, for `Final` followed by more,
        /// of one part of a message).
        fn message(&mut self, message: &[u8], end: End) -> Vec<u8> {
            let flush = match end {
                End::Sync => FlushCompress::Sync,
                End::Final | End::FinalAndZero => FlushCompress::Finish,
            };
            let mut out = Vec::new();
            let mut input = message;
            loop {
                out.reserve(input.len() + 64);
                let before = self.deflate.total_in();
                let status = self.deflate.compress_vec(input, &mut out, flush).unwrap();
                input = &input[(self.deflate.total_in() - before) as usize..];
                let done = match end {
                    End::Sync => input.is_empty() && out.len() < out.capacity(),
                    End::Final | End::FinalAndZero => status == flate2::Status::StreamEnd,
                };
                if done {
                    break;
                }
            }
            self.history.extend_from_slice(message);
            let keep = self.history.len().saturating_sub(1 << self.bits);
            self.history.drain(..keep);
            match end {
                End::Sync => {
                    assert!(out.ends_with(&TAIL));
                    out.truncate(out.len() - TAIL.len());
                }
                End::Final | End::FinalAndZero => {
                    self.deflate.reset();
                    if !self.history.is_empty() {
                        self.deflate.set_dictionary(&self.history).unwrap();
                    }
                    if matches!(end, End::FinalAndZero) {
                        out.push(0x00);
                    }
                }
            }
            out
        }
    }

    /// Bytes that do not compress: only a back-reference shortens them.
    fn noise(len: usize, seed: u32) -> Vec<u8> {
        let mut state = seed | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 24) as u8
            })
            .collect()
    }

    /// Inflates `payload` in two calls split at `at`, each into a fresh
    /// vector, as a streaming receiver does: only the decompressor can
    /// remember the first piece.
    fn inflate_split_fresh(d: &mut Decompressor, payload: &[u8], at: usize) -> Vec<u8> {
        let mut first = Vec::new();
        d.decompress(&payload[..at], false, &mut first, 1 << 20)
            .unwrap();
        let mut second = Vec::new();
        d.decompress(&payload[at..], true, &mut second, 1 << 20)
            .unwrap();
        [first, second].concat()
    }

    // -- The LZ77 window across BFINAL blocks (RFC 7692 §7.2.2, §7.2.3.4) --

    #[test]
    fn bfinal_message_keeps_window_for_the_next_message() {
        // A, a short B, then C referring back into A, every message ended
        // with BFINAL: after B, the window still holds A.
        let a = b"The quick brown fox jumps over the lazy dog, again and again.";
        for bits in 9..=15 {
            for end in [End::Final, End::FinalAndZero] {
                let mut peer = BfinalPeer::new(bits);
                let payloads = [
                    peer.message(a, end),
                    peer.message(b"X", end),
                    peer.message(a, end),
                ];
                assert!(payloads[2].len() < a.len() / 2, "C refers back into A");
                let mut d = Decompressor::new(&params(bits, false));
                for (payload, want) in payloads.iter().zip([&a[..], b"X", a]) {
                    let got = inflate(&mut d, &[payload]);
                    assert_eq!(got.as_deref(), Ok(want), "{bits} bits, {end:?}");
                }
            }
        }
    }

    #[test]
    fn bfinal_messages_refer_back_across_the_whole_window() {
        // C refers back 2^w - 299 bytes, across A and B, for every window
        // size: as far as zlib's compressor reaches (2^w - 262).
        for bits in 9..=15 {
            let size = 1usize << bits;
            let a = noise(size - 300, u32::from(bits));
            let c = a[..100].to_vec();
            let mut peer = BfinalPeer::new(bits);
            let pa = peer.message(&a, End::Final);
            let pb = peer.message(b"X", End::Final);
            let pc = peer.message(&c, End::Final);
            assert!(pc.len() < 20, "C is one back-reference: {} bytes", pc.len());
            let mut d = Decompressor::new(&params(bits, false));
            assert_eq!(inflate(&mut d, &[&pa]).unwrap(), a, "{bits} bits");
            assert_eq!(inflate(&mut d, &[&pb]).unwrap(), b"X", "{bits} bits");
            assert_eq!(inflate(&mut d, &[&pc]).unwrap(), c, "{bits} bits");
        }
    }

    #[test]
    fn bfinal_stream_split_across_calls_keeps_the_earlier_pieces() {
        // A ends with BFINAL; C (a sync-flushed message) refers back into
        // the start of A. A is inflated in two calls into separate vectors.
        // 200 bytes: within the reach of a 9-bit window (250 bytes).
        let a = noise(200, 7);
        let c = a[..100].to_vec();
        for bits in [9, 15] {
            let mut peer = BfinalPeer::new(bits);
            let pa = peer.message(&a, End::FinalAndZero);
            let pc = peer.message(&c, End::Sync);
            assert!(pc.len() < 20, "C refers back into A");
            for at in 0..=pa.len() {
                let mut d = Decompressor::new(&params(bits, false));
                assert_eq!(inflate_split_fresh(&mut d, &pa, at), a, "split at {at}");
                let got = inflate(&mut d, &[&pc]);
                assert_eq!(got.as_deref(), Ok(&c[..]), "{bits} bits, split at {at}");
            }
        }
    }

    #[test]
    fn bfinal_inside_a_message_keeps_the_message_window_without_context_takeover() {
        // One message: A in a stream ended with BFINAL, then a new stream
        // that refers back into A. Without context takeover the window
        // still spans the message.
        let a = noise(200, 11);
        for bits in [9, 15] {
            let mut peer = BfinalPeer::new(bits);
            let mut payload = peer.message(&a, End::Final);
            let second = peer.message(&a, End::Sync);
            assert!(second.len() < 20, "the second stream refers back");
            payload.extend(second);
            let whole = [&a[..], &a[..]].concat();
            for at in 0..=payload.len() {
                let mut d = Decompressor::new(&params(bits, true));
                assert_eq!(
                    inflate_split_fresh(&mut d, &payload, at),
                    whole,
                    "{bits} bits, split at {at}"
                );
                // The next message starts from an empty window.
                assert_eq!(inflate(&mut d, &[&HELLO]).unwrap(), b"Hello");
            }
        }
    }

    #[test]
    fn window_copy_is_bounded_by_the_window_and_counted() {
        for bits in [9, 12, 15] {
            let size = 1usize << bits;
            let mut c = Compressor::new(&params(bits, false), 6);
            let mut d = Decompressor::new(&params(bits, false));
            let base = d.memory_usage();
            let mut last = 0;
            for len in [10, 100, size / 2, 3 * size, 10, 5 * size] {
                let message = noise(len, len as u32);
                let payload = compress(&mut c, &message);
                let frames: Vec<&[u8]> = payload.chunks(1000).collect();
                assert_eq!(inflate(&mut d, &frames).unwrap(), message);
                let held = d.memory_usage() - base;
                assert!(held <= size, "{bits} bits: {held} bytes held");
                assert!(held >= last, "the copy's allocation is reused");
                last = held;
            }
            assert_eq!(last, size, "{bits} bits: the whole window is kept");
        }
    }

    #[test]
    fn no_window_copy_for_whole_messages_without_context_takeover() {
        let mut c = Compressor::new(&params(15, true), 6);
        let mut d = Decompressor::new(&params(15, true));
        let base = d.memory_usage();
        for len in [10, 1000, 100_000] {
            let message = noise(len, 3);
            let payload = compress(&mut c, &message);
            assert_eq!(inflate(&mut d, &[&payload]).unwrap(), message);
            assert_eq!(d.memory_usage(), base);
        }
    }

    #[test]
    fn error_empties_the_window() {
        let a = noise(300, 5);
        let mut peer = BfinalPeer::new(15);
        let pa = peer.message(&a, End::Final);
        let pb = peer.message(&a, End::Final);
        let mut d = Decompressor::new(&takeover_15());
        assert_eq!(inflate(&mut d, &[&pa]).unwrap(), a);
        assert_eq!(
            inflate(&mut d, &[&[0xff, 0xff, 0xff, 0xff]]),
            Err(InflateError::Corrupt)
        );
        // B refers to A, which is gone with the failed stream.
        assert_eq!(inflate(&mut d, &[&pb]), Err(InflateError::Corrupt));
    }

    // Found by fuzzing (fuzz/README.md, bug 1): after a BFINAL block, a
    // message fed in pieces lost the history of the earlier pieces.
    #[test]
    fn bfinal_block_split_across_calls_keeps_the_message_history() {
        for split in 1..7 {
            let payload = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
            let mut d = Decompressor::new(&takeover_15());
            let mut message = Vec::new();
            d.decompress(&payload[..split], false, &mut message, 100)
                .unwrap();
            d.decompress(&payload[split..], true, &mut message, 100)
                .unwrap();
            assert_eq!(message, b"Hello", "split at {split}");
            let mut next = Vec::new();
            d.decompress(&[0xf2, 0x00, 0x11, 0x00, 0x00], true, &mut next, 100)
                .unwrap();
            assert_eq!(
                next, b"Hello",
                "split at {split}: the next message refers back"
            );
        }
    }

    // -- RFC 7692 §7.2.3 examples, the receiving half --

    #[test]
    fn rfc7692_7_2_3_1_fragmented_3_and_4_octets() {
        let mut d = Decompressor::new(&params(15, false));
        assert_eq!(
            inflate(&mut d, &[&HELLO[..3], &HELLO[3..]]).unwrap(),
            b"Hello"
        );
    }

    #[test]
    fn rfc7692_7_2_3_1_byte_by_byte_then_empty_last_piece() {
        let mut d = Decompressor::new(&params(15, false));
        let mut pieces: Vec<&[u8]> = HELLO.chunks(1).collect();
        pieces.push(&[]);
        assert_eq!(inflate(&mut d, &pieces).unwrap(), b"Hello");
    }

    #[test]
    fn rfc7692_7_2_3_3_stored_block() {
        let payload = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        let mut d = Decompressor::new(&params(15, false));
        assert_eq!(inflate(&mut d, &[&payload]).unwrap(), b"Hello");
        // The stream continues at a block boundary.
        assert_eq!(inflate(&mut d, &[&HELLO]).unwrap(), b"Hello");
    }

    #[test]
    fn rfc7692_7_2_3_4_bfinal_block_then_context_takeover_continues() {
        let payload = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        let mut d = Decompressor::new(&params(15, false));
        assert_eq!(inflate(&mut d, &[&payload]).unwrap(), b"Hello");
        // The next message refers back to "Hello" across the ended stream.
        assert_eq!(
            inflate(&mut d, &[&[0xf2, 0x00, 0x11, 0x00, 0x00]]).unwrap(),
            b"Hello"
        );
        // Without the trailing 0x00 the RFC asks for, too.
        let mut d = Decompressor::new(&params(15, false));
        assert_eq!(inflate(&mut d, &[&payload[..7]]).unwrap(), b"Hello");
        assert_eq!(inflate(&mut d, &[&HELLO]).unwrap(), b"Hello");
    }

    #[test]
    fn rfc7692_7_2_1_bfinal_block_followed_by_another_block_in_one_message() {
        // "He" with BFINAL set, padded, then "llo" as a new stream (§7.2.1
        // allows both kinds of block in one message).
        let mut c = Compress::new(Compression::default(), false);
        let mut first = Vec::with_capacity(64);
        c.compress_vec(b"He", &mut first, FlushCompress::Finish)
            .unwrap();
        let mut c = Compress::new(Compression::default(), false);
        let mut second = Vec::with_capacity(64);
        c.compress_vec(b"llo", &mut second, FlushCompress::Sync)
            .unwrap();
        second.truncate(second.len() - 4);
        let mut d = Decompressor::new(&params(15, false));
        let payload = [first, second].concat();
        assert_eq!(inflate(&mut d, &[&payload]).unwrap(), b"Hello");
        assert_eq!(inflate(&mut d, &[&HELLO]).unwrap(), b"Hello");
    }

    #[test]
    fn rfc7692_7_2_3_5_two_blocks_in_one_message() {
        let payload = [
            0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
        ];
        let mut d = Decompressor::new(&params(15, false));
        assert_eq!(inflate(&mut d, &[&payload]).unwrap(), b"Hello");
        let mut d = Decompressor::new(&params(15, false));
        assert_eq!(
            inflate(&mut d, &[&payload[..5], &payload[5..9], &payload[9..]]).unwrap(),
            b"Hello"
        );
    }

    // -- Errors and limits --

    #[test]
    fn corrupt_data_is_a_typed_error_and_the_decompressor_recovers() {
        let mut d = Decompressor::new(&params(15, true));
        let err = inflate(&mut d, &[&[0xff, 0xff, 0xff, 0xff]]).unwrap_err();
        assert!(matches!(err, InflateError::Corrupt), "{err:?}");
        assert_eq!(inflate(&mut d, &[&HELLO]).unwrap(), b"Hello");
    }

    #[test]
    fn reference_before_the_start_of_the_stream_is_corrupt() {
        // The second "Hello" of §7.2.3.2 refers to a first one this stream never saw.
        let mut d = Decompressor::new(&params(15, false));
        let err = inflate(&mut d, &[&[0xf2, 0x00, 0x11, 0x00, 0x00]]).unwrap_err();
        assert!(matches!(err, InflateError::Corrupt), "{err:?}");
    }

    #[test]
    fn limit_is_exact() {
        let message = vec![b'a'; 10_000];
        let mut c = Compressor::new(&params(15, true), 6);
        let payload = compress(&mut c, &message);
        let mut d = Decompressor::new(&params(15, true));
        let mut out = Vec::new();
        assert_eq!(d.decompress(&payload, true, &mut out, 10_000), Ok(10_000));
        assert_eq!(out, message);
        let mut out = Vec::new();
        assert_eq!(
            d.decompress(&payload, true, &mut out, 9_999),
            Err(InflateError::TooLarge {
                size: 10_000,
                limit: 9_999
            })
        );
        assert!(out.len() <= 10_000);
        // The limit counts the whole message, across pieces.
        let mut out = Vec::new();
        let (a, b) = payload.split_at(payload.len() / 2);
        let first = d.decompress(a, false, &mut out, 9_999).unwrap();
        assert_eq!(d.message_len(), first);
        assert!(d.decompress(b, true, &mut out, 9_999).is_err());
        assert_eq!(d.message_len(), 0);
    }

    #[test]
    fn limit_holds_in_a_vector_with_more_spare_room() {
        let message = vec![0u8; 1 << 20];
        let mut c = Compressor::new(&params(15, true), 1);
        let payload = compress(&mut c, &message);
        let mut d = Decompressor::new(&params(15, true));
        let mut out = Vec::with_capacity(4 << 20);
        out.extend_from_slice(b"prefix");
        let err = d.decompress(&payload, true, &mut out, 1000).unwrap_err();
        assert_eq!(
            err,
            InflateError::TooLarge {
                size: 1001,
                limit: 1000
            }
        );
        assert!(out.len() <= 6 + 1001, "{}", out.len());
        assert_eq!(&out[..6], b"prefix");
    }

    /// A stream of `chunks` MiB of zeros, compressed with context takeover
    /// and a sync flush after each MiB. From the second MiB on, zlib's output
    /// for each MiB is the same, so the bomb is built from two compressions.
    fn zero_bomb(chunks: usize) -> Vec<u8> {
        let zeros = vec![0u8; 1 << 20];
        let mut c = Compress::new(Compression::new(9), false);
        let mut parts = Vec::new();
        for _ in 0..3 {
            let mut out = Vec::with_capacity(8 << 10);
            let before = c.total_in();
            c.compress_vec(&zeros, &mut out, FlushCompress::Sync)
                .unwrap();
            assert_eq!(c.total_in() - before, 1 << 20);
            parts.push(out);
        }
        assert_eq!(parts[1], parts[2], "steady state");
        let mut bomb = parts[0].clone();
        for _ in 1..chunks {
            bomb.extend_from_slice(&parts[1]);
        }
        bomb.truncate(bomb.len() - TAIL.len());
        bomb
    }

    #[test]
    fn zero_bomb_inflates_to_what_it_says() {
        let mut d = Decompressor::new(&params(15, false));
        let mut out = Vec::new();
        assert_eq!(
            d.decompress(&zero_bomb(8), true, &mut out, 8 << 20),
            Ok(8 << 20)
        );
    }

    #[test]
    fn decompression_bomb_of_1_gib_stops_at_the_limit() {
        let bomb = zero_bomb(1024);
        assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());
        let limit = 4 << 20;
        let mut d = Decompressor::new(&params(15, false));
        let mut out = Vec::new();
        // Frame by frame, as a connection would feed it.
        let mut result = Ok(0);
        for frame in bomb.chunks(64 << 10) {
            result = d.decompress(frame, false, &mut out, limit);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(
            result,
            Err(InflateError::TooLarge {
                size: limit + 1,
                limit
            })
        );
        assert!(out.len() <= limit + 1, "{}", out.len());
        assert!(out.capacity() <= limit + 1 + STEP, "{}", out.capacity());
        assert!(out.iter().all(|&b| b == 0));
    }

    #[test]
    fn bomb_in_one_piece_into_a_large_vector() {
        let bomb = zero_bomb(64);
        let limit = 1 << 20;
        let mut d = Decompressor::new(&params(15, false));
        let mut out = Vec::with_capacity(16 << 20);
        let err = d.decompress(&bomb, true, &mut out, limit).unwrap_err();
        assert_eq!(
            err,
            InflateError::TooLarge {
                size: limit + 1,
                limit
            }
        );
        assert!(out.len() <= limit + 1);
    }

    #[test]
    fn window_bits_8_from_the_peer_is_inflated_with_9() {
        let mut negotiated = params(9, false);
        let mut c = Compressor::new(&negotiated, 6);
        negotiated.decompress_window_bits = 8;
        let mut d = Decompressor::new(&negotiated);
        assert_eq!(d.window_bits(), 9);
        let message: Vec<u8> = (0..5000u32)
            .map(|i| (i % 251) as u8 ^ (i / 700) as u8)
            .collect();
        let payload = compress(&mut c, &message);
        assert_eq!(inflate(&mut d, &[&payload]).unwrap(), message);
    }

    #[test]
    #[should_panic(expected = "decompress_window_bits must be in 8..=15, got 16")]
    fn decompressor_refuses_a_window_over_15_bits() {
        let mut negotiated = takeover_15();
        negotiated.decompress_window_bits = 16;
        Decompressor::new(&negotiated);
    }

    #[test]
    #[should_panic(expected = "decompress_window_bits must be in 8..=15, got 7")]
    fn decompressor_refuses_a_window_under_8_bits() {
        let mut negotiated = takeover_15();
        negotiated.decompress_window_bits = 7;
        Decompressor::new(&negotiated);
    }

    #[test]
    fn corrupt_data_error_names_no_zlib_internals() {
        let mut d = Decompressor::new(&takeover_15());
        // "invalid distance too far back", in zlib's words.
        let err = inflate(&mut d, &[&[0xf2, 0x00, 0x11, 0x00, 0x00]]).unwrap_err();
        assert_eq!(err, InflateError::Corrupt);
        assert_eq!(err.to_string(), "invalid compressed data");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn arbitrary_payloads_never_panic(
            payload in prop::collection::vec(any::<u8>(), 0..200),
            limit in 0usize..2000,
        ) {
            let mut d = Decompressor::new(&params(15, false));
            let mut out = Vec::new();
            if let Ok(n) = d.decompress(&payload, true, &mut out, limit) {
                prop_assert!(n <= limit);
            }
            prop_assert!(out.len() <= limit + 1);
        }
    }
}
