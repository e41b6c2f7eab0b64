//! The sending half of permessage-deflate (RFC 7692 §7.2.1): one zlib
//! stream per connection, sync-flushed after every message.

use flate2::{Compress, Compression, FlushCompress};

use super::{check_window_bits, compressor_state, MIN_WINDOW_BITS, TAIL};
use crate::extensions::NegotiatedDeflate;

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
    /// and a compression level 0..=9.
    ///
    /// The window is exactly the agreed one (RFC 7692 §7.2.1: an endpoint
    /// "MUST NOT use an LZ77 sliding window longer than" the agreed size).
    ///
    /// # Panics
    ///
    /// If `compress_window_bits` is not in 9..=15 or `level` is over 9.
    /// Negotiation in [`extensions`](crate::extensions) never agrees to 8
    /// bits for our compressor, since zlib cannot compress with them (see
    /// [Window bits 8](crate::extensions#window-bits-8)), and
    /// [`DeflateConfig::level`](crate::extensions::DeflateConfig::level)
    /// takes only 0..=9.
    pub fn new(negotiated: &NegotiatedDeflate, level: u32) -> Self {
        let window_bits = negotiated.compress_window_bits;
        check_window_bits("compress_window_bits", window_bits, MIN_WINDOW_BITS);
        assert!(level <= 9, "compression level must be 0..=9, got {level}");
        Self {
            deflate: Compress::new_with_window_bits(Compression::new(level), false, window_bits),
            window_bits,
            no_context_takeover: negotiated.compress_no_context_takeover,
        }
    }

    /// The window our compressor uses.
    pub fn window_bits(&self) -> u8 {
        self.window_bits
    }

    /// Heap bytes held: zlib's deflate state, as measured (see the
    /// [module doc](crate::deflate#memory)); the same for the life of the
    /// compressor.
    pub fn memory_usage(&self) -> usize {
        compressor_state(self.window_bits)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::tests::{compress, params, HELLO};

    // Found by fuzzing (fuzz/README.md, bug 2): zlib writes nothing for a
    // sync flush with no new input, so there was no tail to strip.
    #[test]
    fn empty_message_after_another_compresses_to_a_single_zero_byte() {
        let mut c = Compressor::new(&params(15, false), 6);
        let mut out = Vec::new();
        c.compress(b"x", &mut out);
        out.clear();
        c.compress(b"", &mut out);
        assert_eq!(out, [0x00]);
        c.compress(b"", &mut out);
        assert_eq!(out, [0x00, 0x00]);
    }

    #[test]
    fn no_context_takeover_compresses_every_message_from_an_empty_window() {
        let mut c = Compressor::new(&params(15, true), 6);
        for _ in 0..3 {
            assert_eq!(compress(&mut c, b"Hello"), HELLO);
        }
        let mut c = Compressor::new(&params(15, false), 6);
        assert_eq!(compress(&mut c, b"Hello"), HELLO);
        c.reset();
        assert_eq!(compress(&mut c, b"Hello"), HELLO);
    }

    #[test]
    fn compressor_uses_exactly_the_agreed_window() {
        for bits in 9..=15 {
            let c = Compressor::new(&params(bits, false), 6);
            assert_eq!(c.window_bits(), bits);
        }
    }

    #[test]
    #[should_panic(expected = "compress_window_bits must be in 9..=15, got 8")]
    fn compressor_refuses_a_window_of_8_bits() {
        Compressor::new(&params(8, false), 6);
    }

    #[test]
    #[should_panic(expected = "compress_window_bits must be in 9..=15, got 16")]
    fn compressor_refuses_a_window_over_15_bits() {
        Compressor::new(&params(16, false), 6);
    }

    #[test]
    #[should_panic(expected = "compression level must be 0..=9, got 10")]
    fn compressor_refuses_a_level_over_9() {
        Compressor::new(&params(15, false), 10);
    }
}
