//! The permessage-deflate codec (RFC 7692 §7.2): one [`Compressor`] for the
//! messages we send, one [`Decompressor`] for those we receive, each set up
//! from a [`NegotiatedDeflate`] and independent of the
//! [`Connection`](crate::Connection).
//!
//! Both keep one zlib stream for the life of the connection: context takeover
//! simply continues it, no context takeover resets it between messages
//! (`deflateReset`/`inflateReset`, which keep every allocation).
//!
//! # Memory
//!
//! Per instance, measured with a counting global allocator (zlib-rs 0.6 via
//! flate2 1.1, memLevel 8 as flate2 sets it), right after `new` and the same
//! after any number of messages:
//!
//! | window bits | 9 | 10 | 11 | 12 | 13 | 14 | 15 |
//! |---|---|---|---|---|---|---|---|
//! | [`Compressor`] | 245 KiB | 247 KiB | 251 KiB | 259 KiB | 275 KiB | 307 KiB | 371 KiB |
//! | [`Decompressor`] | 46 KiB | 46 KiB | 46 KiB | 46 KiB | 46 KiB | 46 KiB | 46 KiB |
//!
//! zlib's own formulas are `2^(w+2) + 2^(memLevel+9)` for deflate and
//! `2^w` plus about 7 KiB for inflate; zlib-rs allocates more for deflate
//! (larger buffers for speed) and always allocates inflate's full 32 KiB
//! window, up front. Both are allocated once per connection, never per
//! message.
//!
//! # Decompression limits
//!
//! [`Decompressor::decompress`] takes the message size limit and never lets
//! one message's output pass it by more than one byte: the output vector is
//! only grown up to the limit, and a vector that already has more spare room
//! is filled at most [`STEP`] bytes at a time. A decompression bomb therefore
//! costs at most the limit in memory and about the limit in CPU.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::extensions::NegotiatedDeflate;

/// The heap a [`Compressor`] and a [`Decompressor`] take for these
/// parameters, as measured (see the module doc and
/// `cargo run --release --example memory`).
pub fn state_memory(negotiated: &NegotiatedDeflate) -> (usize, usize) {
    // Measured with a counting allocator, zlib-rs via flate2, level 6.
    const COMPRESSOR_KIB: [usize; 7] = [245, 247, 251, 259, 275, 307, 371];
    const DECOMPRESSOR_KIB: usize = 46;
    let bits = usize::from(negotiated.compress_window_bits.clamp(MIN_WINDOW_BITS, 15));
    (COMPRESSOR_KIB[bits - 9] * 1024, DECOMPRESSOR_KIB * 1024)
}

/// The four octets a sync flush ends with, removed by the sender and put
/// back by the receiver (RFC 7692 §7.2.1, §7.2.2).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The most output the decompressor writes in one step into spare room it
/// did not allocate itself.
pub const STEP: usize = 32 * 1024;

/// zlib's smallest window: raw streams with 8 bits are not supported.
const MIN_WINDOW_BITS: u8 = 9;

/// Compresses the messages we send (RFC 7692 §7.2.1).
///
/// ```
/// use wsproto::deflate::{Compressor, Decompressor};
/// use wsproto::extensions::NegotiatedDeflate;
///
/// let params = NegotiatedDeflate::new(15, false, 15, false);
/// let mut compressor = Compressor::new(&params, 6);
/// let mut payload = Vec::new();
/// compressor.compress(b"Hello", &mut payload);
/// // RFC 7692 §7.2.3.1.
/// assert_eq!(payload, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
///
/// let mut decompressor = Decompressor::new(&params);
/// let mut message = Vec::new();
/// decompressor.decompress(&payload, true, &mut message, 1 << 20).unwrap();
/// assert_eq!(message, b"Hello");
/// ```
pub struct Compressor {
    deflate: Compress,
    window_bits: u8,
    no_context_takeover: bool,
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor")
            .field("window_bits", &self.window_bits)
            .field("no_context_takeover", &self.no_context_takeover)
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// A compressor with our side of the agreed parameters
    /// ([`compress_window_bits`](NegotiatedDeflate::compress_window_bits),
    /// [`compress_no_context_takeover`](NegotiatedDeflate::compress_no_context_takeover))
    /// and a compression level 0..=9 (over 9 is taken as 9).
    ///
    /// The window is never larger than the agreed one (RFC 7692 §7.2.1: an
    /// endpoint "MUST NOT use an LZ77 sliding window longer than" the agreed
    /// size); 8 bits, which zlib cannot do, is raised to 9: negotiation in
    /// [`extensions`](crate::extensions) never agrees to 8 for our compressor.
    pub fn new(negotiated: &NegotiatedDeflate, level: u32) -> Self {
        let window_bits = negotiated.compress_window_bits.clamp(MIN_WINDOW_BITS, 15);
        Self {
            deflate: Compress::new_with_window_bits(
                Compression::new(level.min(9)),
                false,
                window_bits,
            ),
            window_bits,
            no_context_takeover: negotiated.compress_no_context_takeover,
        }
    }

    /// The window our compressor uses.
    pub fn window_bits(&self) -> u8 {
        self.window_bits
    }

    /// Appends the compressed payload of one whole message to `out`: raw
    /// DEFLATE ended by a sync flush, without its final `00 00 ff ff`
    /// (RFC 7692 §7.2.1). Send it with RSV1 set on the first frame; it may be
    /// split into frames anywhere. An empty message gives the single byte
    /// `0x00` (§7.2.3.6).
    ///
    /// With no context takeover, the stream is reset after the message, so
    /// each message is compressed from an empty window.
    pub fn compress(&mut self, message: &[u8], out: &mut Vec<u8>) {
        if message.is_empty() {
            // RFC 7692 §7.2.3.6: an empty message is the single byte 0x00 (an
            // empty stored block without its tail). zlib's sync flush writes
            // nothing at all when no input came since the last one, so this
            // case does not go through it; the window is unchanged either way.
            out.push(0x00);
            return;
        }
        let start = out.len();
        let mut input = message;
        loop {
            // zlib's deflateBound for the default parameters, plus the sync
            // flush; the loop covers any excess.
            out.reserve(input.len() + (input.len() >> 12) + (input.len() >> 14) + 32);
            let before = self.deflate.total_in();
            self.deflate
                .compress_vec(input, out, FlushCompress::Sync)
                .expect("deflate fails only on a misused stream");
            input = &input[(self.deflate.total_in() - before) as usize..];
            // zlib: the flush is complete when input is used up and output room is left.
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        // RFC 7692 §7.2.1 step 3: remove 0x00 0x00 0xff 0xff from the tail end.
        debug_assert!(out.len() > start + TAIL.len() && out.ends_with(&TAIL));
        out.truncate(out.len() - TAIL.len());
        if self.no_context_takeover {
            // RFC 7692 §7.2.1: start each new message "with an empty LZ77 sliding window".
            self.deflate.reset();
        }
    }

    /// Empties the LZ77 window, without freeing anything: the next message
    /// is compressed as if it were the first.
    pub fn reset(&mut self) {
        self.deflate.reset();
    }
}

/// A compressed message that cannot be inflated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InflateError {
    /// The message inflates to more than the limit (close code 1009).
    #[error("decompressed message exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit given to [`Decompressor::decompress`].
        limit: usize,
    },
    /// The payload is not valid DEFLATE data (RFC 1951), or refers back
    /// further than the window holds.
    #[error("invalid compressed data: {reason}")]
    Corrupt {
        /// zlib's description.
        reason: String,
    },
}

/// Inflates the messages we receive (RFC 7692 §7.2.2), frame by frame or
/// in any smaller pieces, with a size limit per message.
pub struct Decompressor {
    inflate: Decompress,
    window_bits: u8,
    no_context_takeover: bool,
    /// Output of the message in progress so far.
    message_len: usize,
    /// Payload bytes went into the stream since it was last at a block
    /// boundary, so the message end needs the `00 00 ff ff` tail.
    pending: bool,
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decompressor")
            .field("window_bits", &self.window_bits)
            .field("no_context_takeover", &self.no_context_takeover)
            .field("message_len", &self.message_len)
            .finish_non_exhaustive()
    }
}

impl Decompressor {
    /// A decompressor with the peer's side of the agreed parameters
    /// ([`decompress_window_bits`](NegotiatedDeflate::decompress_window_bits),
    /// [`decompress_no_context_takeover`](NegotiatedDeflate::decompress_no_context_takeover)).
    ///
    /// The window is the agreed one (RFC 7692 §7.2.2: the receiver "MAY
    /// reduce" it to the agreed size), but at least 9 bits: zlib cannot
    /// inflate raw streams with an 8-bit window, a 9-bit one inflates every
    /// 8-bit stream, and it also copes with zlib-based peers that were told
    /// 8 and silently used 9.
    pub fn new(negotiated: &NegotiatedDeflate) -> Self {
        let window_bits = negotiated.decompress_window_bits.clamp(MIN_WINDOW_BITS, 15);
        Self {
            inflate: Decompress::new_with_window_bits(false, window_bits),
            window_bits,
            no_context_takeover: negotiated.decompress_no_context_takeover,
            message_len: 0,
            pending: false,
        }
    }

    /// The window our decompressor uses.
    pub fn window_bits(&self) -> u8 {
        self.window_bits
    }

    /// Bytes of the message in progress inflated so far.
    pub fn message_len(&self) -> usize {
        self.message_len
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
        let result = self.inflate_all(compressed, out, limit).and_then(|()| {
            // An empty payload, or a stream that just ended on a BFINAL block,
            // is already at a block boundary: the tail would only start a
            // stored block header that nothing completes.
            if is_last && self.pending {
                self.inflate_all(&TAIL, out, limit)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            self.reset();
            return Err(e);
        }
        if is_last {
            self.message_len = 0;
            self.pending = false;
            if self.no_context_takeover {
                // RFC 7692 §7.2.2: the receiver "MAY decompress each new
                // message with an empty LZ77 sliding window".
                self.inflate.reset(false);
            }
        }
        Ok(out.len() - start)
    }

    /// Drops the message in progress and empties the window.
    pub fn reset(&mut self) {
        self.inflate.reset(false);
        self.message_len = 0;
        self.pending = false;
    }

    /// Feeds all of `input`, growing `out` within the limit. After a BFINAL
    /// block, what `out` holds is the history the next stream may refer to.
    fn inflate_all(
        &mut self,
        mut input: &[u8],

        out: &mut Vec<u8>,
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
                    // Grow geometrically (amortized linear), never past the limit.
                    let grow = len
                        .max(input.len().saturating_mul(4))
                        .clamp(256, STEP.max(len))
                        .min(room);
                    out.reserve_exact(grow);
                }
                let space = out.capacity() - out.len();
                let status = self
                    .inflate
                    .decompress_vec(input, out, FlushDecompress::None);
                (status, space)
            };
            let status = status.map_err(|e| InflateError::Corrupt {
                reason: e.message().unwrap_or("invalid DEFLATE data").to_owned(),
            })?;
            let consumed = (self.inflate.total_in() - before_in) as usize;
            let produced = (self.inflate.total_out() - before_out) as usize;
            if consumed > 0 {
                self.pending = true;
            }
            input = &input[consumed..];
            self.message_len += produced;
            if self.message_len > limit {
                return Err(InflateError::TooLarge { limit });
            }
            if status == Status::StreamEnd {
                // A block with BFINAL set (RFC 7692 §7.2.1 allows it, §7.2.3.4).
                // Whatever follows is a new DEFLATE stream that may refer back
                // into this one: restart, with our recent output as history.
                self.inflate.reset(false);
                self.pending = false;
                // The whole of `out` (the message so far, when the caller
                // keeps it there), not only this call's output: a message fed
                // in pieces refers back across them.

                let history = &out[..];
                let window = 1usize << self.window_bits;
                let history = &history[history.len().saturating_sub(window)..];
                if !history.is_empty() {
                    self.inflate
                        .set_dictionary(history)
                        .map_err(|e| InflateError::Corrupt {
                            reason: e
                                .message()
                                .unwrap_or("cannot set the dictionary")
                                .to_owned(),
                        })?;
                }
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
                return Err(InflateError::Corrupt {
                    reason: "inflate made no progress".to_owned(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn takeover_15() -> NegotiatedDeflate {
        NegotiatedDeflate {
            compress_window_bits: 15,
            compress_no_context_takeover: false,
            decompress_window_bits: 15,
            decompress_no_context_takeover: false,
        }
    }

    // Found by fuzzing (fuzz/README.md, bug 2): zlib writes nothing for a
    // sync flush with no new input, so there was no tail to strip.
    #[test]
    fn empty_message_after_another_compresses_to_a_single_zero_byte() {
        let mut c = Compressor::new(&takeover_15(), 6);
        let mut out = Vec::new();
        c.compress(b"x", &mut out);
        out.clear();
        c.compress(b"", &mut out);
        assert_eq!(out, [0x00]);
        c.compress(b"", &mut out);
        assert_eq!(out, [0x00, 0x00]);
        let mut d = Decompressor::new(&takeover_15());
        let mut message = Vec::new();
        d.decompress(&[0x00], true, &mut message, 100).unwrap();
        assert!(message.is_empty());
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
    use proptest::prelude::*;

    fn params(bits: u8, no_context_takeover: bool) -> NegotiatedDeflate {
        NegotiatedDeflate {
            compress_window_bits: bits,
            compress_no_context_takeover: no_context_takeover,
            decompress_window_bits: bits,
            decompress_no_context_takeover: no_context_takeover,
        }
    }

    fn compress(c: &mut Compressor, message: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        c.compress(message, &mut out);
        out
    }

    fn inflate(d: &mut Decompressor, frames: &[&[u8]]) -> Result<Vec<u8>, InflateError> {
        let mut out = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            d.decompress(frame, i + 1 == frames.len(), &mut out, 1 << 20)?;
        }
        Ok(out)
    }

    const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

    // -- RFC 7692 §7.2.3 examples, byte for byte --

    #[test]
    fn rfc7692_7_2_3_1_hello_in_one_compressed_block() {
        let mut c = Compressor::new(&params(15, false), 6);
        assert_eq!(compress(&mut c, b"Hello"), HELLO);
        let mut d = Decompressor::new(&params(15, false));
        assert_eq!(inflate(&mut d, &[&HELLO]).unwrap(), b"Hello");
    }

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
    fn rfc7692_7_2_3_2_context_takeover_shares_the_window() {
        let mut c = Compressor::new(&params(15, false), 6);
        assert_eq!(compress(&mut c, b"Hello"), HELLO);
        assert_eq!(compress(&mut c, b"Hello"), [0xf2, 0x00, 0x11, 0x00, 0x00]);
        let mut d = Decompressor::new(&params(15, false));
        assert_eq!(inflate(&mut d, &[&HELLO]).unwrap(), b"Hello");
        assert_eq!(
            inflate(&mut d, &[&[0xf2, 0x00, 0x11, 0x00, 0x00]]).unwrap(),
            b"Hello"
        );
    }

    #[test]
    fn rfc7692_7_2_3_2_no_context_takeover_repeats_the_first_payload() {
        let mut c = Compressor::new(&params(15, true), 6);
        assert_eq!(compress(&mut c, b"Hello"), HELLO);
        assert_eq!(compress(&mut c, b"Hello"), HELLO);
        let mut d = Decompressor::new(&params(15, true));
        for _ in 0..3 {
            assert_eq!(inflate(&mut d, &[&HELLO]).unwrap(), b"Hello");
        }
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

    #[test]
    fn rfc7692_7_2_3_6_empty_message() {
        let mut c = Compressor::new(&params(15, false), 6);
        assert_eq!(compress(&mut c, b""), [0x00]);
        assert_eq!(compress(&mut c, b"Hello"), HELLO);
        let mut d = Decompressor::new(&params(15, false));
        assert_eq!(inflate(&mut d, &[&[0x00]]).unwrap(), b"");
        // A payload of no bytes at all is an empty message too, and leaves
        // the stream where it was.
        assert_eq!(inflate(&mut d, &[&[]]).unwrap(), b"");
        assert_eq!(inflate(&mut d, &[&[], &[]]).unwrap(), b"");
        assert_eq!(inflate(&mut d, &[&HELLO]).unwrap(), b"Hello");
        assert_eq!(inflate(&mut d, &[&[]]).unwrap(), b"");
        assert_eq!(
            inflate(&mut d, &[&[0xf2, 0x00, 0x11, 0x00, 0x00]]).unwrap(),
            b"Hello"
        );
    }

    // -- Errors and limits --

    #[test]
    fn corrupt_data_is_a_typed_error_and_the_decompressor_recovers() {
        let mut d = Decompressor::new(&params(15, true));
        let err = inflate(&mut d, &[&[0xff, 0xff, 0xff, 0xff]]).unwrap_err();
        assert!(matches!(err, InflateError::Corrupt { .. }), "{err:?}");
        assert_eq!(inflate(&mut d, &[&HELLO]).unwrap(), b"Hello");
    }

    #[test]
    fn reference_before_the_start_of_the_stream_is_corrupt() {
        // The second "Hello" of §7.2.3.2 refers to a first one this stream never saw.
        let mut d = Decompressor::new(&params(15, false));
        let err = inflate(&mut d, &[&[0xf2, 0x00, 0x11, 0x00, 0x00]]).unwrap_err();
        assert!(matches!(err, InflateError::Corrupt { .. }), "{err:?}");
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
            Err(InflateError::TooLarge { limit: 9_999 })
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
        assert_eq!(err, InflateError::TooLarge { limit: 1000 });
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
        assert_eq!(result, Err(InflateError::TooLarge { limit }));
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
        assert_eq!(err, InflateError::TooLarge { limit });
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
    fn compressor_never_uses_a_window_below_9() {
        let c = Compressor::new(&params(8, false), 6);
        assert_eq!(c.window_bits(), 9);
    }

    #[test]
    fn incompressible_and_large_messages_roundtrip() {
        let mut state = 0x1234_5678u32;
        let noise: Vec<u8> = (0..300_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        for bits in [9, 15] {
            let mut c = Compressor::new(&params(bits, false), 6);
            let mut d = Decompressor::new(&params(bits, false));
            for _ in 0..2 {
                let payload = compress(&mut c, &noise);
                let frames: Vec<&[u8]> = payload.chunks(4096).collect();
                assert_eq!(inflate(&mut d, &frames).unwrap(), noise);
            }
        }
    }

    /// The reference: plain flate2, the whole payload and the tail at once.
    fn reference_inflate(r: &mut Decompress, payload: &[u8]) -> Vec<u8> {
        let mut input = payload.to_vec();
        input.extend_from_slice(&TAIL);
        let mut out = Vec::with_capacity(1 << 16);
        let mut fed = 0;
        loop {
            let before = r.total_in();
            r.decompress_vec(&input[fed..], &mut out, FlushDecompress::Sync)
                .unwrap();
            fed += (r.total_in() - before) as usize;
            if fed == input.len() && out.len() < out.capacity() {
                return out;
            }
            out.reserve(1 << 16);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn roundtrip_all_window_bits_and_takeover(
            bits in 9u8..=15,
            no_context_takeover: bool,
            level in 0u32..=9,
            messages in prop::collection::vec(
                prop_oneof![
                    prop::collection::vec(any::<u8>(), 0..600),
                    prop::collection::vec(b'a'..=b'd', 0..3000),
                ],
                1..6,
            ),
            cut in any::<prop::sample::Index>(),
        ) {
            let p = params(bits, no_context_takeover);
            let mut c = Compressor::new(&p, level);
            let mut d = Decompressor::new(&p);
            let mut reference = Decompress::new(false);
            for message in &messages {
                let payload = compress(&mut c, message);
                let at = cut.index(payload.len() + 1);
                let got = inflate(&mut d, &[&payload[..at], &payload[at..]]).unwrap();
                prop_assert_eq!(&got, message);
                let expected = reference_inflate(&mut reference, &payload);
                prop_assert_eq!(&got, &expected);
                if no_context_takeover {
                    reference.reset(false);
                }
            }
        }

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
