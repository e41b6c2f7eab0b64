//! The properties the fuzz targets check. Each target in `fuzz_targets/` is
//! three lines that hand the fuzzer's bytes to one `run` function here, in
//! the manner of httparse's targets; what is asserted is written once, here.
//!
//! Inputs are a fixed-size prefix of knobs (read with `arbitrary`: flags,
//! where to cut the rest into reads, limits) followed by the bytes a peer
//! sends, unchanged. An all-zero prefix means "defaults, one read", so a seed
//! is `zeros(knobs_len) ++ wire`: see [`seed`] and `examples/seed.rs`.

use arbitrary::{Arbitrary, Unstructured};

pub mod connection;
pub mod connection_deflate;
pub mod extensions;
pub mod frame;
pub mod handshake;
pub mod inflate;

/// Where to cut the peer's bytes into reads, and how to hand each read in.
#[derive(Arbitrary, Debug, Clone, Copy, Default)]
pub struct Cuts {
    /// Lengths of the reads, cycled; 0 means "all the rest".
    lens: [u8; 4],
    /// Bit `i % 8` set: read `i` goes through `recv_buffer`/`handle_received`
    /// (with a longer buffer than is filled) instead of `handle_read`.
    via_recv_buffer: u8,
}

impl Cuts {
    /// The reads: `(bytes, via_recv_buffer)`, in order, covering `wire`.
    pub fn split<'a>(&self, mut wire: &'a [u8]) -> impl Iterator<Item = (&'a [u8], bool)> + 'a {
        let cuts = *self;
        let mut i = 0;
        std::iter::from_fn(move || {
            if wire.is_empty() {
                return None;
            }
            let len = match cuts.lens[i % 4] {
                0 => wire.len(),
                n => wire.len().min(usize::from(n)),
            };
            let (piece, rest) = wire.split_at(len);
            wire = rest;
            let via = cuts.via_recv_buffer & (1 << (i % 8)) != 0;
            i += 1;
            Some((piece, via))
        })
    }
}

/// Reads the knobs `K` off the front of `data`; the rest is the wire.
pub fn split_input<'a, K: Arbitrary<'a> + Default>(data: &'a [u8]) -> (K, &'a [u8]) {
    let mut u = Unstructured::new(data);
    let knobs = K::arbitrary(&mut u).unwrap_or_default();
    (knobs, u.take_rest())
}

/// How many bytes of knobs `K` takes.
pub fn knobs_len<'a, K: Arbitrary<'a>>() -> usize {
    K::size_hint(0).0
}

/// A seed input: default knobs (all zero bytes), then `wire`.
pub fn seed<'a, K: Arbitrary<'a>>(wire: &[u8]) -> Vec<u8> {
    let mut input = vec![0; knobs_len::<K>()];
    input.extend_from_slice(wire);
    input
}
