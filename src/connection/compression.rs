//! permessage-deflate (RFC 7692) inside the connection: the negotiated
//! codec state, present only when the extension was agreed.
//!
//! Without the `deflate` feature the state is an empty enum, so the
//! connection's code reads the same either way and the compiler removes the
//! compressed paths.

#[cfg(feature = "deflate")]
pub(super) use with_deflate::Compression;

#[cfg(not(feature = "deflate"))]
pub(super) use without_deflate::Compression;

/// Compresses `message` on its own, from an empty window of `window_bits`
/// (9..=15) at `level` (0..=9), as a message sent without context takeover
/// is (RFC 7692 §7.2.1); returns the window bits used and the bytes. For
/// messages prepared once for many connections.
#[cfg(feature = "deflate")]
pub(super) fn compress_alone(message: &[u8], window_bits: u8, level: u32) -> (u8, Vec<u8>) {
    let params = crate::extensions::NegotiatedDeflate {
        compress_window_bits: window_bits,
        compress_no_context_takeover: true,
        decompress_window_bits: 15,
        decompress_no_context_takeover: false,
    };
    let mut compressor = crate::deflate::Compressor::new(&params, level);
    let mut out = Vec::new();
    compressor.compress(message, &mut out);
    (compressor.window_bits(), out)
}

#[cfg(feature = "deflate")]
mod with_deflate {
    use crate::deflate::{Compressor, Decompressor, InflateError};
    use crate::extensions::{DeflateConfig, NegotiatedDeflate};
    use crate::ProtocolError;

    /// The codec of one connection: one compressor and one decompressor,
    /// each made when the first message needs it (a connection that sends
    /// or receives nothing compressed holds neither) and then reused for
    /// every message (reset, never reallocated, when there is no context
    /// takeover).
    #[derive(Debug)]
    pub(crate) struct Compression {
        pub(crate) negotiated: NegotiatedDeflate,
        level: u32,
        compressor: Option<Compressor>,
        decompressor: Option<Decompressor>,
        threshold: usize,
        /// Where messages are compressed before they are framed.
        scratch: Vec<u8>,
    }

    impl Compression {
        /// The codec for the agreed parameters; its zlib states are made
        /// when the first message needs them.
        ///
        /// # Panics
        ///
        /// If `negotiated` holds window bits no negotiation agrees to (our
        /// compressor's outside 9..=15, the peer's outside 8..=15): checked
        /// here, once, rather than when the first message is compressed.
        pub(crate) fn new(negotiated: NegotiatedDeflate, config: &DeflateConfig) -> Self {
            crate::deflate::check_negotiated(&negotiated);
            Self {
                negotiated,
                level: config.get_level(),
                compressor: None,
                decompressor: None,
                threshold: config.get_compression_threshold(),
                scratch: Vec::new(),
            }
        }

        pub(crate) fn wants(&self, len: usize) -> bool {
            len >= self.threshold
        }

        /// Whether a message compressed on its own, from an empty window of
        /// `window_bits`, may be sent here: only when this end's messages
        /// are compressed without context takeover (else the peer's window
        /// and ours would part) and within the window the peer allowed.
        pub(crate) fn takes_independent_messages(&self, window_bits: u8) -> bool {
            self.negotiated.compress_no_context_takeover
                && window_bits <= self.negotiated.compress_window_bits
        }

        /// Compresses one whole message into the scratch buffer, which the
        /// caller takes and gives back with [`restore`](Self::restore).
        pub(crate) fn compress(&mut self, message: &[u8]) -> Vec<u8> {
            let mut out = std::mem::take(&mut self.scratch);
            out.clear();
            let negotiated = &self.negotiated;
            let level = self.level;
            self.compressor
                .get_or_insert_with(|| Compressor::new(negotiated, level))
                .compress(message, &mut out);
            out
        }

        pub(crate) fn restore(&mut self, mut scratch: Vec<u8>) {
            // A huge message's buffer is not kept for the small ones.
            if scratch.capacity() <= 64 * 1024 {
                scratch.clear();
                self.scratch = scratch;
            }
        }

        /// Inflates the next piece of a compressed message into `out`.
        pub(crate) fn decompress(
            &mut self,
            input: &[u8],
            last: bool,
            out: &mut Vec<u8>,
            limit: usize,
        ) -> Result<(), ProtocolError> {
            let negotiated = &self.negotiated;
            let decompressor = self
                .decompressor
                .get_or_insert_with(|| Decompressor::new(negotiated));
            match decompressor.decompress(input, last, out, limit) {
                Ok(_) => Ok(()),
                // The size the message reached when inflation stopped.
                Err(InflateError::TooLarge { size, limit }) => {
                    Err(ProtocolError::MessageTooLarge {
                        size: size as u64,
                        limit,
                    })
                }
                Err(_) => Err(ProtocolError::InvalidCompressedData),
            }
        }

        /// Bytes held: the zlib states made so far (as measured, see the
        /// `deflate` module), the decompressor's copy of its window, and
        /// the scratch buffer.
        pub(crate) fn memory_usage(&self) -> usize {
            std::mem::size_of::<Self>()
                + self.compressor.as_ref().map_or(0, Compressor::memory_usage)
                + self
                    .decompressor
                    .as_ref()
                    .map_or(0, Decompressor::memory_usage)
                + self.scratch.capacity()
        }
    }
}

#[cfg(not(feature = "deflate"))]
mod without_deflate {
    use crate::ProtocolError;

    /// Never constructed: without the `deflate` feature nothing is compressed.
    #[derive(Debug)]
    pub(crate) enum Compression {}

    impl Compression {
        pub(crate) fn wants(&self, _: usize) -> bool {
            match *self {}
        }

        pub(crate) fn takes_independent_messages(&self, _: u8) -> bool {
            match *self {}
        }

        pub(crate) fn compress(&mut self, _: &[u8]) -> Vec<u8> {
            match *self {}
        }

        pub(crate) fn restore(&mut self, _: Vec<u8>) {
            match *self {}
        }

        pub(crate) fn decompress(
            &mut self,
            _: &[u8],
            _: bool,
            _: &mut Vec<u8>,
            _: usize,
        ) -> Result<(), ProtocolError> {
            match *self {}
        }

        pub(crate) fn memory_usage(&self) -> usize {
            match *self {}
        }
    }
}
