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
    use bytes::Bytes;

    use crate::deflate::{Compressor, Decompressor, InflateError};
    use crate::extensions::{DeflateConfig, NegotiatedDeflate};
    use crate::ProtocolError;

    /// The largest buffer kept for the next message: the scratch buffer
    /// messages are compressed in, and the allocation of inflated output.
    const RETAIN: usize = 64 * 1024;

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
        /// What the message being received has inflated to and not yet
        /// handed out.
        inflated: Vec<u8>,
        /// The last inflated payload handed out, shared with the caller,
        /// and the size of its allocation (at most 64 KiB): once the caller
        /// has dropped it, the next message inflates into that allocation
        /// instead of freeing it and allocating another (a `Vec` still, so
        /// it grows without being zeroed and never past the limit).
        handed_out: Option<(Bytes, usize)>,
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
                inflated: Vec::new(),
                handed_out: None,
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
            if scratch.capacity() <= RETAIN {
                scratch.clear();
                self.scratch = scratch;
            }
        }

        /// A compressed message starts: takes back the allocation of the
        /// last payload handed out if the caller has dropped it, or else
        /// lets it go.
        pub(crate) fn start_inflating(&mut self) {
            // Nothing of an earlier message is left to hand out (one cut
            // short by a close or a failure ends the input anyway).
            self.inflated.clear();
            if let Some((last, _)) = self.handed_out.take() {
                if self.inflated.capacity() == 0 {
                    // Only the allocation comes back: no byte is copied.
                    if let Ok(mut last) = last.try_into_mut() {
                        last.clear();
                        self.inflated = Vec::from(last);
                    }
                }
            }
        }

        /// Inflates the next piece of a compressed message, appending to
        /// [`inflated`](Self::inflated).
        pub(crate) fn decompress(
            &mut self,
            input: &[u8],
            last: bool,
            limit: usize,
        ) -> Result<(), ProtocolError> {
            let negotiated = &self.negotiated;
            let decompressor = self
                .decompressor
                .get_or_insert_with(|| Decompressor::new(negotiated));
            match decompressor.decompress(input, last, &mut self.inflated, limit) {
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

        /// The inflated bytes not yet handed out.
        pub(crate) fn inflated(&self) -> &[u8] {
            &self.inflated
        }

        /// Hands the inflated bytes out. With `keep`, a share of their
        /// allocation is kept, to be reclaimed by the next message once the
        /// caller has dropped them ([`start_inflating`](Self::start_inflating)).
        pub(crate) fn take_inflated(&mut self, keep: bool) -> Bytes {
            let inflated = std::mem::take(&mut self.inflated);
            let capacity = inflated.capacity();
            let bytes = Bytes::from(inflated);
            if keep && capacity <= RETAIN && self.handed_out.is_none() {
                self.handed_out = Some((bytes.clone(), capacity));
            }
            bytes
        }

        /// Forgets the inflated bytes, after they were lent; with `keep`,
        /// their allocation stays for the next message.
        pub(crate) fn clear_inflated(&mut self, keep: bool) {
            if keep && self.inflated.capacity() <= RETAIN {
                self.inflated.clear();
            } else {
                self.inflated = Vec::new();
            }
        }

        /// Frees the inflated bytes, and the share of the last payload
        /// handed out.
        pub(crate) fn drop_inflated(&mut self) {
            self.inflated = Vec::new();
            self.handed_out = None;
        }

        /// An allocation is kept for the next message and nothing in it
        /// waits to be handed out: what going quiet gives back.
        pub(crate) fn keeps_inflated(&self) -> bool {
            self.inflated.is_empty() && (self.inflated.capacity() > 0 || self.handed_out.is_some())
        }

        /// Bytes held for inflated output: the message's, and the
        /// allocation kept from the last payload handed out.
        pub(crate) fn inflated_capacity(&self) -> usize {
            self.inflated.capacity() + self.handed_out.as_ref().map_or(0, |(_, cap)| *cap)
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

        pub(crate) fn start_inflating(&mut self) {
            match *self {}
        }

        pub(crate) fn decompress(
            &mut self,
            _: &[u8],
            _: bool,
            _: usize,
        ) -> Result<(), ProtocolError> {
            match *self {}
        }

        pub(crate) fn inflated(&self) -> &[u8] {
            match *self {}
        }

        pub(crate) fn take_inflated(&mut self, _: bool) -> bytes::Bytes {
            match *self {}
        }

        pub(crate) fn clear_inflated(&mut self, _: bool) {
            match *self {}
        }

        pub(crate) fn drop_inflated(&mut self) {
            match *self {}
        }

        pub(crate) fn keeps_inflated(&self) -> bool {
            match *self {}
        }

        pub(crate) fn inflated_capacity(&self) -> usize {
            match *self {}
        }

        pub(crate) fn memory_usage(&self) -> usize {
            match *self {}
        }
    }
}
