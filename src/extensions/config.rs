//! [`DeflateConfig`]: what this endpoint wants from permessage-deflate, as a
//! `Default` struct with setters, and the client's offers it implies
//! (RFC 7692 §5, §7.1). The negotiation itself is in `negotiate`.

use super::{ClientMaxWindowBits, DeflateParams, MAX_WINDOW_BITS, MIN_COMPRESS_WINDOW_BITS};

/// What this endpoint wants from permessage-deflate, and the negotiation in
/// both roles. A `Default` struct with setters, like [`Config`](crate::Config).
///
/// Parameters are named after the direction they govern, as in RFC 7692:
/// `server_*` is the server-to-client direction, `client_*` the
/// client-to-server one, whichever role we play.
///
/// Memory per connection, measured with zlib-rs (see `deflate`): a
/// compressor takes 245 KiB at 9 window bits, 259 KiB at 12 and 371 KiB at
/// 15; a decompressor takes 46 KiB whatever the window, since zlib-rs
/// allocates the full 32 KiB window up front. Window bits therefore save
/// memory on the compressing side only.
///
/// A value outside what RFC 7692 allows (a level over 9, window bits
/// outside 8..=15, an empty or out-of-range offer list) is a programming
/// error: the setter panics (see each `# Panics`), so a configuration that
/// exists is valid, and the codec built from it never clamps or
/// second-guesses a value.
///
/// ```
/// use wsproto::extensions::DeflateConfig;
///
/// let config = DeflateConfig::default()
///     .enabled(true)
///     .level(1)
///     .server_max_window_bits(12)
///     .client_no_context_takeover(true);
/// assert_eq!(
///     config.offer_header(),
///     "permessage-deflate; client_no_context_takeover; server_max_window_bits=12; \
///      client_max_window_bits, \
///      permessage-deflate; client_no_context_takeover; server_max_window_bits=12"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflateConfig {
    enabled: bool,
    level: u32,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    compression_threshold: usize,
    client_offers: Option<Vec<DeflateParams>>,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            enabled: cfg!(feature = "deflate"),
            level: 6,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            compression_threshold: 32,
            client_offers: None,
        }
    }
}

fn assert_window_bits(bits: u8) {
    assert!(
        (8..=MAX_WINDOW_BITS).contains(&bits),
        "window bits must be in 8..=15 (RFC 7692 §7.1.2), got {bits}"
    );
}

impl DeflateConfig {
    /// Offer (client) or accept (server) permessage-deflate at all. Default
    /// on when the crate is built with the `deflate` feature, off without it.
    ///
    /// Off, a client sends no offer and a server declines every offer.
    #[must_use]
    pub fn enabled(mut self, on: bool) -> Self {
        self.enabled = on;
        self
    }

    /// The compression level, 0 (stored blocks only) to 9. Default 6, zlib's
    /// default. Level 1 is about two to three times faster at a somewhat worse
    /// ratio. The level does not change memory use.
    ///
    /// # Panics
    ///
    /// If `level` is over 9.
    #[must_use]
    pub fn level(mut self, level: u32) -> Self {
        assert!(level <= 9, "compression level must be 0..=9, got {level}");
        self.level = level;
        self
    }

    /// `server_max_window_bits`, 8..=15: the window of the server-to-client
    /// direction. Default 15 (32 KiB, and the parameter is left out).
    ///
    /// As a server: the largest window our compressor uses, and announced
    /// when below 15 (RFC 7692 §7.1.2.1 lets a server include it
    /// unasked). Our compressor then takes 245 KiB at 9 bits, 259 KiB at 12,
    /// 371 KiB at 15; 8 is raised to 9, since zlib cannot compress with a
    /// 256-byte window.
    ///
    /// As a client: the value we ask the server to stay within. It spares
    /// the server memory, not us (our decompressor takes 46 KiB whatever
    /// the window). A server that cannot honour it declines the offer.
    ///
    /// # Panics
    ///
    /// If `bits` is not in 8..=15.
    #[must_use]
    pub fn server_max_window_bits(mut self, bits: u8) -> Self {
        assert_window_bits(bits);
        self.server_max_window_bits = bits;
        self
    }

    /// `client_max_window_bits`, 8..=15: the window of the client-to-server
    /// direction. Default 15.
    ///
    /// As a client: the largest window our compressor uses (8 is raised to
    /// 9), sent as the hint in our offer's `client_max_window_bits`: 245 KiB
    /// at 9 bits, 259 KiB at 12, 371 KiB at 15.
    ///
    /// As a server: the largest window we let a client use. It spares the
    /// client memory, not us (our decompressor takes 46 KiB whatever the
    /// window), and the client's window bounds how far back its messages
    /// refer, so keep 15 unless clients ask for less; 8 is sent as 9, since
    /// zlib-based clients cannot compress with 8 bits. Below 15, an offer
    /// without `client_max_window_bits` is declined, because the server could
    /// not limit that client's window (RFC 7692 §7.1.2.2: the response "MUST
    /// NOT include" the parameter then).
    ///
    /// # Panics
    ///
    /// If `bits` is not in 8..=15.
    #[must_use]
    pub fn client_max_window_bits(mut self, bits: u8) -> Self {
        assert_window_bits(bits);
        self.client_max_window_bits = bits;
        self
    }

    /// `server_no_context_takeover`: the server resets its compressor after
    /// each message. Default off.
    ///
    /// As a server: we reset and say so (RFC 7692 §7.1.1.1 lets a server add
    /// it unasked). As a client: we ask for it; our decompressor's window is
    /// then needed only within a message. Either way it costs ratio on
    /// similar messages and saves no allocation (windows are kept, not freed,
    /// between messages), but it makes each message independent, which is
    /// what encode-once broadcast needs.
    #[must_use]
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// `client_no_context_takeover`: the client resets its compressor after
    /// each message. Default off.
    ///
    /// As a client: we reset, and offer the parameter as the hint
    /// (RFC 7692 §7.1.1.2). As a server: we ask every client for it in our
    /// response. Memory as for
    /// [`server_no_context_takeover`](Self::server_no_context_takeover).
    #[must_use]
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// Messages shorter than this many bytes are sent uncompressed (RSV1
    /// unset, RFC 7692 §6). Default 32.
    ///
    /// Below about 32 bytes a DEFLATE block (3 header bits, the end-of-block
    /// code, byte alignment) saves at most a few bytes even with context
    /// takeover, while a deflate call costs a hundred times what the rest of
    /// sending a small message does. Uncompressed messages do not enter the
    /// LZ77 window (RFC 7692 §7.2.3.2). No memory implication.
    #[must_use]
    pub fn compression_threshold(mut self, bytes: usize) -> Self {
        self.compression_threshold = bytes;
        self
    }

    /// The client's offers, most preferred first (RFC 7692 §5). Default: one
    /// offer built from the settings above, with `client_max_window_bits`,
    /// and a fallback without it for servers that decline that parameter.
    ///
    /// # Panics
    ///
    /// If the list is empty or a window-bits value is not in 8..=15.
    #[must_use]
    pub fn client_offers(mut self, offers: Vec<DeflateParams>) -> Self {
        assert!(
            !offers.is_empty(),
            "at least one offer is needed; use enabled(false) for none"
        );
        offers.iter().for_each(DeflateParams::check_range);
        self.client_offers = Some(offers);
        self
    }

    /// Whether permessage-deflate is offered or accepted at all.
    pub fn get_enabled(&self) -> bool {
        self.enabled
    }

    /// The compression level, 0..=9.
    pub fn get_level(&self) -> u32 {
        self.level
    }

    /// The configured `server_max_window_bits`.
    pub fn get_server_max_window_bits(&self) -> u8 {
        self.server_max_window_bits
    }

    /// The configured `client_max_window_bits`.
    pub fn get_client_max_window_bits(&self) -> u8 {
        self.client_max_window_bits
    }

    /// Whether `server_no_context_takeover` is asked for or announced.
    pub fn get_server_no_context_takeover(&self) -> bool {
        self.server_no_context_takeover
    }

    /// Whether `client_no_context_takeover` is asked for or announced.
    pub fn get_client_no_context_takeover(&self) -> bool {
        self.client_no_context_takeover
    }

    /// The size under which messages go uncompressed.
    pub fn get_compression_threshold(&self) -> usize {
        self.compression_threshold
    }

    /// The client's offers, most preferred first: the list set with
    /// [`client_offers`](Self::client_offers), or the default pair.
    /// Empty when disabled.
    pub fn get_client_offers(&self) -> Vec<DeflateParams> {
        if !self.enabled {
            return Vec::new();
        }
        if let Some(offers) = &self.client_offers {
            return offers.clone();
        }
        let own = self.client_max_window_bits.max(MIN_COMPRESS_WINDOW_BITS);
        let primary = DeflateParams {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: (self.server_max_window_bits < MAX_WINDOW_BITS)
                .then_some(self.server_max_window_bits),
            client_max_window_bits: Some(if own < MAX_WINDOW_BITS {
                ClientMaxWindowBits::Bits(own)
            } else {
                ClientMaxWindowBits::Supported
            }),
        };
        let fallback = DeflateParams {
            client_max_window_bits: None,
            ..primary
        };
        vec![primary, fallback]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer() -> DeflateParams {
        DeflateParams::default()
    }

    #[test]
    fn setters_take_every_value_in_range() {
        for level in 0..=9 {
            assert_eq!(DeflateConfig::default().level(level).get_level(), level);
        }
        for bits in 8..=15 {
            let config = DeflateConfig::default()
                .server_max_window_bits(bits)
                .client_max_window_bits(bits);
            assert_eq!(config.get_server_max_window_bits(), bits);
            assert_eq!(config.get_client_max_window_bits(), bits);
            let offers = vec![DeflateParams {
                server_max_window_bits: Some(bits),
                client_max_window_bits: Some(ClientMaxWindowBits::Bits(bits)),
                ..offer()
            }];
            let config = DeflateConfig::default()
                .enabled(true)
                .client_offers(offers.clone());
            assert_eq!(config.get_client_offers(), offers);
        }
    }

    #[test]
    #[should_panic(expected = "compression level must be 0..=9, got 10")]
    fn level_over_9_panics() {
        let _ = DeflateConfig::default().level(10);
    }

    #[test]
    #[should_panic(expected = "window bits must be in 8..=15 (RFC 7692 §7.1.2), got 7")]
    fn server_max_window_bits_under_8_panics() {
        let _ = DeflateConfig::default().server_max_window_bits(7);
    }

    #[test]
    #[should_panic(expected = "window bits must be in 8..=15 (RFC 7692 §7.1.2), got 16")]
    fn server_max_window_bits_over_15_panics() {
        let _ = DeflateConfig::default().server_max_window_bits(16);
    }

    #[test]
    #[should_panic(expected = "window bits must be in 8..=15 (RFC 7692 §7.1.2), got 7")]
    fn client_max_window_bits_under_8_panics() {
        let _ = DeflateConfig::default().client_max_window_bits(7);
    }

    #[test]
    #[should_panic(expected = "window bits must be in 8..=15 (RFC 7692 §7.1.2), got 16")]
    fn client_max_window_bits_over_15_panics() {
        let _ = DeflateConfig::default().client_max_window_bits(16);
    }

    #[test]
    #[should_panic(expected = "at least one offer is needed")]
    fn client_offers_empty_panics() {
        let _ = DeflateConfig::default().client_offers(Vec::new());
    }

    #[test]
    #[should_panic(expected = "server_max_window_bits must be in 8..=15")]
    fn client_offers_with_server_max_window_bits_out_of_range_panics() {
        let bad = DeflateParams {
            server_max_window_bits: Some(16),
            ..offer()
        };
        let _ = DeflateConfig::default().client_offers(vec![offer(), bad]);
    }

    #[test]
    #[should_panic(expected = "client_max_window_bits must be in 8..=15")]
    fn client_offers_with_client_max_window_bits_out_of_range_panics() {
        let bad = DeflateParams {
            client_max_window_bits: Some(ClientMaxWindowBits::Bits(7)),
            ..offer()
        };
        let _ = DeflateConfig::default().client_offers(vec![bad]);
    }
}
