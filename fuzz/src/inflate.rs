//! `inflate`: arbitrary bytes as compressed messages, into the
//! permessage-deflate [`Decompressor`]; `deflate_roundtrip`: arbitrary
//! messages through the [`Compressor`] and back.
//!
//! `inflate` asserts that the same messages cut into different pieces
//! inflate to the same result (each message is inflated once whole by one
//! decompressor, and piece by piece by another), that a message's output
//! never passes the limit (by more than the one byte that detects it), that
//! the output vector never grows past the limit + 1, and that
//! `decompress` returns what it appended.
//!
//! `deflate_roundtrip` asserts that every message inflates back to itself
//! with a decompressor of the agreed window, its compressed payload cut
//! anywhere, and that an empty message compresses to `0x00` (RFC 7692
//! §7.2.3.6) .

use arbitrary::Arbitrary;
use wsproto::deflate::{Compressor, Decompressor, InflateError};
use wsproto::extensions::NegotiatedDeflate;

use crate::Cuts;

/// The codec's parameters and how the input is cut.
#[derive(Arbitrary, Debug, Clone, Copy, Default)]
pub struct Knobs {
    /// Window bits 15 - n % 8.
    window: u8,
    no_context_takeover: bool,
    /// The message limit; 0 means 64 KiB.
    limit: u16,
    /// Where messages end: piece `i` is a message's last if bit `i % 8` is
    /// set (and the input's last piece always is).
    last: u8,
    /// How messages are cut into pieces.
    cuts: Cuts,
    /// `deflate_roundtrip` only: compression level (n % 10) and where the
    /// compressed payloads are cut.
    level: u8,
    payload_cuts: Cuts,
}

impl Knobs {
    fn negotiated(&self) -> NegotiatedDeflate {
        let bits = 15 - self.window % 8;
        NegotiatedDeflate::new(
            bits.max(9),
            self.no_context_takeover,
            bits,
            self.no_context_takeover,
        )
    }

    fn limit(&self) -> usize {
        match self.limit {
            0 => 64 * 1024,
            n => usize::from(n),
        }
    }

    /// The messages, each as its pieces.
    fn messages<'a>(&self, wire: &'a [u8]) -> Vec<Vec<&'a [u8]>> {
        let mut messages = vec![Vec::new()];
        for (i, (piece, _)) in self.cuts.split(wire).enumerate() {
            messages.last_mut().unwrap().push(piece);
            if self.last & (1 << (i % 8)) != 0 {
                messages.push(Vec::new());
            }
        }
        if messages.last().unwrap().is_empty() && messages.len() > 1 {
            messages.pop();
        }
        messages
    }
}

/// Inflates one message piece by piece, checking the limit as it goes.
fn inflate(d: &mut Decompressor, pieces: &[&[u8]], limit: usize) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let before = out.len();
        let result = d.decompress(piece, i + 1 == pieces.len(), &mut out, limit);
        assert!(
            out.len() <= limit + 1,
            "{} bytes out, limit {limit}",
            out.len()
        );
        assert!(
            out.capacity() <= limit + 1,
            "capacity {}, limit {limit}",
            out.capacity()
        );
        match result {
            Ok(n) => {
                assert_eq!(n, out.len() - before);
                assert!(out.len() <= limit);
            }
            Err(InflateError::TooLarge { size, limit: l }) => {
                assert_eq!(l, limit);
                assert_eq!(out.len(), limit + 1, "TooLarge at exactly limit + 1");
                assert_eq!(size, limit + 1, "the size reached is reported");
                return Err(InflateError::TooLarge { size, limit });
            }
            Err(e) => return Err(e),
        }
    }
    if pieces.is_empty() {
        d.decompress(&[], true, &mut out, limit)?;
    }
    Ok(out)
}

/// The `inflate` target: knobs, then compressed payloads.
pub fn run_inflate(data: &[u8]) {
    let (knobs, wire) = crate::split_input::<Knobs>(data);
    let (negotiated, limit) = (knobs.negotiated(), knobs.limit());
    let mut whole = Decompressor::new(&negotiated);
    let mut pieces = Decompressor::new(&negotiated);
    for message in knobs.messages(wire) {
        let joined = message.concat();
        let expected = inflate(&mut whole, &[&joined], limit);
        let got = inflate(&mut pieces, &message, limit);
        match (&expected, &got) {
            (Ok(a), Ok(b)) => assert!(a == b, "pieces inflate differently"),
            (Err(_), Err(_)) => return, // the connection would be failed
            _ => panic!("whole: {expected:?}\npieces: {got:?}"),
        }
    }
}

/// The `deflate_roundtrip` target: knobs, then messages.
pub fn run_roundtrip(data: &[u8]) {
    let (knobs, wire) = crate::split_input::<Knobs>(data);
    let negotiated = knobs.negotiated();
    let mut compressor = Compressor::new(&negotiated, u32::from(knobs.level % 10));
    // The peer decompresses with the window we compress with.
    let mut theirs = negotiated;
    theirs.decompress_window_bits = compressor.window_bits();
    let mut peer = Decompressor::new(&theirs);
    let mut messages = knobs.messages(wire);
    messages.push(Vec::new()); // and an empty message
    for message in messages {
        let message = message.concat();
        let mut payload = Vec::new();
        compressor.compress(&message, &mut payload);
        if message.is_empty() && knobs.no_context_takeover {
            assert_eq!(payload, [0x00], "RFC 7692 §7.2.3.6");
        }
        let pieces: Vec<&[u8]> = knobs.payload_cuts.split(&payload).map(|(p, _)| p).collect();
        let limit = message.len();
        let inflated = inflate(&mut peer, &pieces, limit).expect("our own payload inflates");
        assert!(inflated == message, "round trip changed the message");
    }
}
