//! The permessage-deflate codec (RFC 7692 §7.2): one [`Compressor`] for the
//! messages we send, one [`Decompressor`] for those we receive, each set up
//! from a [`NegotiatedDeflate`] and independent of the
//! [`Connection`](crate::Connection).
//!
//! Both keep one zlib stream for the life of the connection: context takeover
//! simply continues it, no context takeover resets it between messages
//! (`deflateReset`/`inflateReset`, which keep every allocation). The
//! decompressor also restarts the stream after a DEFLATE block with BFINAL
//! set, with the LZ77 window carried over (see [`Decompressor`]).
//!
//! - `compress`: [`Compressor`] (RFC 7692 §7.2.1).
//! - `inflate`: [`Decompressor`], the size limit, the window across BFINAL
//!   blocks (§7.2.2).
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
//! | its window copy, at most | 0.5 KiB | 1 KiB | 2 KiB | 4 KiB | 8 KiB | 16 KiB | 32 KiB |
//!
//! zlib's own formulas are `2^(w+2) + 2^(memLevel+9)` for deflate and
//! `2^w` plus about 7 KiB for inflate; zlib-rs allocates more for deflate
//! (larger buffers for speed) and always allocates inflate's full 32 KiB
//! window, up front. Both are allocated once per connection, never per
//! message. The decompressor's own copy of the last `2^w` inflated bytes
//! (the dictionary after a BFINAL block) grows with the messages up to that
//! size and is then reused; without context takeover it is used only by a
//! message inflated in more than one call. [`Compressor::memory_usage`] and
//! [`Decompressor::memory_usage`] give these figures for one instance.
//!
//! # Decompression limits
//!
//! [`Decompressor::decompress`] takes the message size limit and never lets
//! one message's output pass it by more than one byte: the output vector is
//! only grown up to the limit, and a vector that already has more spare room
//! is filled at most 32 KiB at a time. A decompression bomb therefore costs
//! at most the limit in memory and about the limit in CPU.

mod compress;
mod inflate;

use crate::extensions::NegotiatedDeflate;

pub use compress::Compressor;
pub use inflate::{Decompressor, InflateError};

/// The four octets a sync flush ends with, removed by the sender and put
/// back by the receiver (RFC 7692 §7.2.1, §7.2.2).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// zlib's smallest window: raw streams with 8 bits are not supported.
const MIN_WINDOW_BITS: u8 = 9;

/// The largest window, 32 KiB (RFC 1951, RFC 7692 §7.1.2).
const MAX_WINDOW_BITS: u8 = 15;

/// zlib-rs's inflate state, whatever the window (see the module doc).
const DECOMPRESSOR_STATE: usize = 46 * 1024;

/// zlib-rs's deflate state for `window_bits` 9..=15 at memLevel 8, as
/// measured with a counting allocator (`cargo run --release --example memory`).
fn compressor_state(window_bits: u8) -> usize {
    const KIB: [usize; 7] = [245, 247, 251, 259, 275, 307, 371];
    KIB[usize::from(window_bits - MIN_WINDOW_BITS)] * 1024
}

/// Checks a window size taken from a [`NegotiatedDeflate`], which any
/// caller may fill in.
fn check_window_bits(name: &str, bits: u8, min: u8) {
    assert!(
        (min..=MAX_WINDOW_BITS).contains(&bits),
        "{name} must be in {min}..={MAX_WINDOW_BITS}, got {bits}"
    );
}

/// Checks both window sizes of `negotiated`, as [`Compressor::new`] and
/// [`Decompressor::new`] would.
pub(crate) fn check_negotiated(negotiated: &NegotiatedDeflate) {
    check_window_bits(
        "compress_window_bits",
        negotiated.compress_window_bits,
        MIN_WINDOW_BITS,
    );
    check_window_bits(
        "decompress_window_bits",
        negotiated.decompress_window_bits,
        8,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Decompress, FlushDecompress};
    use proptest::prelude::*;

    pub(super) fn params(bits: u8, no_context_takeover: bool) -> NegotiatedDeflate {
        NegotiatedDeflate {
            compress_window_bits: bits,
            compress_no_context_takeover: no_context_takeover,
            decompress_window_bits: bits,
            decompress_no_context_takeover: no_context_takeover,
        }
    }

    pub(super) fn compress(c: &mut Compressor, message: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        c.compress(message, &mut out);
        out
    }

    pub(super) fn inflate(d: &mut Decompressor, frames: &[&[u8]]) -> Result<Vec<u8>, InflateError> {
        let mut out = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            d.decompress(frame, i + 1 == frames.len(), &mut out, 1 << 20)?;
        }
        Ok(out)
    }

    pub(super) const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

    // -- RFC 7692 §7.2.3 examples, both halves --

    #[test]
    fn rfc7692_7_2_3_1_hello_in_one_compressed_block() {
        let mut c = Compressor::new(&params(15, false), 6);
        assert_eq!(compress(&mut c, b"Hello"), HELLO);
        let mut d = Decompressor::new(&params(15, false));
        assert_eq!(inflate(&mut d, &[&HELLO]).unwrap(), b"Hello");
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


    }
}
