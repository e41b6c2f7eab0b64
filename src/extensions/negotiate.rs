//! permessage-deflate negotiation (RFC 7692 §5, §7.1) in both roles, on a
//! [`DeflateConfig`]: the client's offers and its check of the server's
//! response, the server's answer to the client's offers, and the outcome for
//! one endpoint ([`NegotiatedDeflate`]).

use std::fmt::Write as _;

use super::{
    parse_extensions, ClientMaxWindowBits, DeflateConfig, DeflateParam, DeflateParamError,
    DeflateParams, ExtensionOffer, ExtensionParseError, MAX_WINDOW_BITS, MIN_COMPRESS_WINDOW_BITS,
    PERMESSAGE_DEFLATE,
};

/// The outcome of a permessage-deflate negotiation, from one endpoint's
/// side: how our compressor and our decompressor are set up.
///
/// The handshakes produce it; build one with [`new`](Self::new) for a
/// connection negotiated elsewhere (RFC 8441, RFC 9220), and hand it to
/// [`Connection::with_negotiated`](crate::Connection::with_negotiated)
/// inside a [`Negotiated`](crate::Negotiated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct NegotiatedDeflate {
    /// The window our compressor uses, 9..=15: never larger than the peer
    /// allowed (RFC 7692 §7.2.1), never 8 (see [Window bits 8](crate::extensions#window-bits-8)).
    pub compress_window_bits: u8,
    /// Reset our compressor after every message (RFC 7692 §7.2.1).
    pub compress_no_context_takeover: bool,
    /// The largest window the peer compresses with, 8..=15; 15 unless the
    /// agreed parameters say less (RFC 7692 §7.2.2).
    pub decompress_window_bits: u8,
    /// The peer resets its compressor after every message, so our
    /// decompressor may too (RFC 7692 §7.2.2).
    pub decompress_no_context_takeover: bool,
}

impl NegotiatedDeflate {
    /// The agreement as seen by one endpoint: `compress_*` for the direction
    /// it sends, `decompress_*` for the one it receives. From the agreed
    /// parameters (RFC 7692 §7.1), a server compresses with
    /// `server_max_window_bits` (15 if absent) and `server_no_context_takeover`
    /// and decompresses with the `client_*` ones; a client the other way round.
    ///
    /// Window bits are clamped to what the codec can do: the compressor's to
    /// 9..=15 (see [Window bits 8](crate::extensions#window-bits-8)), the
    /// decompressor's to 8..=15.
    pub fn new(
        compress_window_bits: u8,
        compress_no_context_takeover: bool,
        decompress_window_bits: u8,
        decompress_no_context_takeover: bool,
    ) -> Self {
        Self {
            compress_window_bits: compress_window_bits
                .clamp(MIN_COMPRESS_WINDOW_BITS, MAX_WINDOW_BITS),
            compress_no_context_takeover,
            decompress_window_bits: decompress_window_bits.clamp(8, MAX_WINDOW_BITS),
            decompress_no_context_takeover,
        }
    }
}

/// Why a permessage-deflate negotiation failed the handshake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The header does not match RFC 6455 §9.1; the recipient MUST fail the
    /// connection.
    #[error(transparent)]
    Malformed(#[from] ExtensionParseError),
    /// The server's response names an extension the client did not offer
    /// (RFC 6455 §4.1, §9.1).
    #[error("the server accepted extension {0:?}, which was not offered (RFC 6455 §9.1)")]
    NotOffered(String),
    /// The server's response lists permessage-deflate more than once
    /// (RFC 7692 §5: both would claim RSV1).
    #[error("the server accepted permessage-deflate more than once (RFC 7692 §5)")]
    Duplicate,
    /// The server's permessage-deflate response is malformed (RFC 7692 §7).
    #[error("invalid permessage-deflate response: {0}")]
    InvalidResponse(#[from] DeflateParamError),
    /// The server's response does not answer any of the client's offers
    /// (RFC 7692 §5: "accepting a PMCE that the client did not offer").
    #[error("permessage-deflate response does not match the offer: {param} {reason} ({rfc})")]
    Mismatch {
        /// The parameter at fault.
        param: DeflateParam,
        /// What is wrong with it.
        reason: &'static str,
        /// The RFC clause.
        rfc: &'static str,
    },
    /// The response is valid but asks for something we cannot do
    /// (RFC 7692 §7: "the client does not support the configuration").
    #[error("unsupported permessage-deflate response: {param} {reason}")]
    Unsupported {
        /// The parameter at fault.
        param: DeflateParam,
        /// Why we cannot honour it.
        reason: &'static str,
    },
}

impl NegotiationError {
    /// The permessage-deflate parameter at fault, when there is one.
    pub fn param(&self) -> Option<DeflateParam> {
        match self {
            Self::InvalidResponse(e) => e.param(),
            Self::Mismatch { param, .. } | Self::Unsupported { param, .. } => Some(*param),
            _ => None,
        }
    }
}

impl DeflateConfig {
    // -- Client ------------------------------------------------------------

    /// The client's `Sec-WebSocket-Extensions` value: every offer, most
    /// preferred first. Empty when disabled (send no header then).
    pub fn offer_header(&self) -> String {
        let mut header = String::new();
        for offer in self.get_client_offers() {
            if !header.is_empty() {
                header.push_str(", ");
            }
            let _ = write!(header, "{offer}");
        }
        header
    }

    /// Checks the server's `Sec-WebSocket-Extensions` lines (all of them,
    /// in order; none if the response had no such header) against our
    /// offers, and says how to compress and decompress.
    ///
    /// `Ok(None)`: the server declined; no compression (RFC 7692 §5). An
    /// `Err` fails the connection, as RFC 6455 §9.1 and RFC 7692 §5, §7
    /// require, for: a malformed header; an extension we did not offer;
    /// permessage-deflate twice; an unknown, duplicate or malformed
    /// parameter; a response that answers none of our offers (it lacks a
    /// `server_no_context_takeover` we asked for, its
    /// `server_max_window_bits` is missing or above what we asked for, or it
    /// has a `client_max_window_bits` that offer lacked); or a
    /// `client_max_window_bits=8`, which zlib cannot honour.
    pub fn accept_response(
        &self,
        header_values: &[&str],
    ) -> Result<Option<NegotiatedDeflate>, NegotiationError> {
        let elements = parse_extensions(header_values)?;
        let offers = self.get_client_offers();
        // RFC 6455 §9.1: the server may only list what the client requested.
        if let Some(other) = elements
            .iter()
            .find(|e| e.name != PERMESSAGE_DEFLATE || offers.is_empty())
        {
            return Err(NegotiationError::NotOffered(other.name.to_owned()));
        }
        let elements: Vec<&ExtensionOffer<'_>> = elements.iter().collect();
        self.accept_elements(&elements)
    }

    /// [`accept_response`](Self::accept_response) on the permessage-deflate
    /// elements of a response already parsed (the caller has checked the
    /// other elements against its own offers).
    pub(crate) fn accept_elements(
        &self,
        elements: &[&ExtensionOffer<'_>],
    ) -> Result<Option<NegotiatedDeflate>, NegotiationError> {
        let offers = self.get_client_offers();
        let mut response = None;
        for element in elements {
            if offers.is_empty() {
                return Err(NegotiationError::NotOffered(element.name.to_owned()));
            }
            if response.is_some() {
                return Err(NegotiationError::Duplicate);
            }
            response = Some(DeflateParams::from_response(element)?);
        }
        let Some(response) = response else {
            return Ok(None);
        };
        // The response must be a corresponding response to one of the offers
        // (RFC 7692 §3, §5); the first mismatch is reported.
        let mut first_mismatch = None;
        for offer in &offers {
            match response_matches(offer, &response) {
                Ok(()) => {
                    first_mismatch = None;
                    break;
                }
                Err(e) => {
                    first_mismatch.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_mismatch {
            return Err(e);
        }
        // RFC 7692 §7.2.1: the client MUST NOT use a window larger than the
        // agreed client_max_window_bits; we never use one smaller than 9.
        let mut compress_window_bits = self
            .get_client_max_window_bits()
            .max(MIN_COMPRESS_WINDOW_BITS);
        if let Some(ClientMaxWindowBits::Bits(bits)) = response.client_max_window_bits {
            if bits < MIN_COMPRESS_WINDOW_BITS {
                return Err(NegotiationError::Unsupported {
                    param: DeflateParam::ClientMaxWindowBits,
                    reason: "of 8: zlib cannot compress with a 256-byte window",
                });
            }
            compress_window_bits = compress_window_bits.min(bits);
        }
        Ok(Some(NegotiatedDeflate {
            compress_window_bits,
            // RFC 7692 §7.2.1: binding if agreed; otherwise resetting is our choice.
            compress_no_context_takeover: response.client_no_context_takeover
                || self.get_client_no_context_takeover(),
            // RFC 7692 §7.2.2: without server_max_window_bits, a 32 KiB window.
            decompress_window_bits: response.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
            decompress_no_context_takeover: response.server_no_context_takeover,
        }))
    }

    // -- Server ------------------------------------------------------------

    /// Answers a client's `Sec-WebSocket-Extensions` lines (all of them, in
    /// order): accepts the first permessage-deflate offer we can honour and
    /// returns how to compress and decompress, with the header value to
    /// send back. `Ok(None)`: decline, answer without the header (or
    /// without a permessage-deflate element).
    ///
    /// Other extensions are ignored, which declines them. A permessage-deflate
    /// offer with an unknown or duplicate parameter or an invalid value is
    /// declined, and the next offer tried: RFC 7692 §7 says "a server MUST
    /// decline an extension negotiation offer" then, which is not failing
    /// the handshake. Also declined: an offer whose `server_max_window_bits`
    /// is 8 (zlib cannot honour it), and, when our
    /// [`client_max_window_bits`](Self::client_max_window_bits) is below 15,
    /// an offer without `client_max_window_bits`.
    ///
    /// The one error is a header that breaks the grammar of RFC 6455 §9.1,
    /// whose recipient "MUST immediately _Fail the WebSocket Connection_".
    pub fn negotiate(
        &self,
        offers_header_values: &[&str],
    ) -> Result<Option<(NegotiatedDeflate, String)>, NegotiationError> {
        let elements = parse_extensions(offers_header_values)?;
        Ok(self
            .negotiate_elements(&elements)
            .map(|(negotiated, response)| (negotiated, response.to_string())))
    }

    /// [`negotiate`](Self::negotiate) on offers already parsed: the agreed
    /// parameters and the response element, or `None` to decline.
    pub(crate) fn negotiate_elements(
        &self,
        elements: &[ExtensionOffer<'_>],
    ) -> Option<(NegotiatedDeflate, DeflateParams)> {
        if !self.get_enabled() {
            return None;
        }
        elements
            .iter()
            .filter(|element| element.name == PERMESSAGE_DEFLATE)
            // RFC 7692 §7: a malformed offer is declined, not fatal.
            .filter_map(|element| DeflateParams::from_offer(element).ok())
            .find_map(|offer| self.answer(&offer))
    }

    /// The response to one valid offer, or `None` to decline it.
    fn answer(&self, offer: &DeflateParams) -> Option<(NegotiatedDeflate, DeflateParams)> {
        let mut response = DeflateParams::default();

        // Server-to-client: our compressor.
        // RFC 7692 §7.1.2.1: accept with "the same or smaller value".
        let limit = offer.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS);
        if limit < MIN_COMPRESS_WINDOW_BITS {
            return None; // zlib cannot compress with 8 bits: "doesn't support" (§7).
        }
        let compress_window_bits = self
            .get_server_max_window_bits()
            .max(MIN_COMPRESS_WINDOW_BITS)
            .min(limit);
        if offer.server_max_window_bits.is_some() || compress_window_bits < MAX_WINDOW_BITS {
            response.server_max_window_bits = Some(compress_window_bits);
        }
        // RFC 7692 §7.1.1.1: accepted by echoing it; a server MAY add it unasked.
        response.server_no_context_takeover =
            offer.server_no_context_takeover || self.get_server_no_context_takeover();

        // Client-to-server: our decompressor.
        // RFC 7692 §7.1.1.2: the client's hint may be echoed to make it binding.
        response.client_no_context_takeover =
            offer.client_no_context_takeover || self.get_client_no_context_takeover();
        let want = self.get_client_max_window_bits();
        let limit = match offer.client_max_window_bits {
            // RFC 7692 §7.1.2.2: no parameter in the offer, none in the response;
            // a server that must bound the client's window cannot accept.
            None if want < MAX_WINDOW_BITS => return None,
            None => MAX_WINDOW_BITS,
            Some(ClientMaxWindowBits::Supported) => want,
            // The hint spares us a window larger than the client uses.
            Some(ClientMaxWindowBits::Bits(hint)) => want.min(hint),
        }
        // Never 8: our decompressor uses 9 bits anyway, and a zlib-based
        // client cannot compress with 8 (it would fail or break the limit).
        .max(MIN_COMPRESS_WINDOW_BITS);
        if limit < MAX_WINDOW_BITS {
            response.client_max_window_bits = Some(ClientMaxWindowBits::Bits(limit));
        }

        let negotiated = NegotiatedDeflate {
            compress_window_bits,
            compress_no_context_takeover: response.server_no_context_takeover,
            decompress_window_bits: limit,
            decompress_no_context_takeover: response.client_no_context_takeover,
        };
        Some((negotiated, response))
    }
}

/// A server's own permessage-deflate response parameters, checked against
/// the client's offers (the elements of its `Sec-WebSocket-Extensions`): the
/// agreement as the server sees it, if `response` is a valid response
/// (RFC 7692 §7) that corresponds to one of the offers (RFC 7692 §3, §5)
/// and our compressor can keep to its `server_max_window_bits`.
pub(crate) fn accept_params(
    offers: &[ExtensionOffer<'_>],
    response: &DeflateParams,
) -> Result<NegotiatedDeflate, NegotiationError> {
    // The response as the client will read it, with the client's checks:
    // window bits 8..=15, and a value on client_max_window_bits
    // (RFC 7692 §7.1.2.2).
    let text = response.to_string();
    let elements = parse_extensions(&[&text])?;
    let Some(element) = elements.first() else {
        return Err(NegotiationError::NotOffered(PERMESSAGE_DEFLATE.to_owned()));
    };
    let response = DeflateParams::from_response(element)?;
    let compress_window_bits = response.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS);
    if compress_window_bits < MIN_COMPRESS_WINDOW_BITS {
        return Err(NegotiationError::Unsupported {
            param: DeflateParam::ServerMaxWindowBits,
            reason: "of 8: zlib cannot compress with a 256-byte window",
        });
    }
    let mut first_mismatch = None;
    let offers = offers
        .iter()
        .filter(|element| element.name == PERMESSAGE_DEFLATE)
        .filter_map(|element| DeflateParams::from_offer(element).ok());
    for offer in offers {
        match response_matches(&offer, &response) {
            Ok(()) => {
                return Ok(NegotiatedDeflate {
                    compress_window_bits,
                    compress_no_context_takeover: response.server_no_context_takeover,
                    decompress_window_bits: match response.client_max_window_bits {
                        Some(ClientMaxWindowBits::Bits(bits)) => bits,
                        _ => MAX_WINDOW_BITS,
                    },
                    decompress_no_context_takeover: response.client_no_context_takeover,
                })
            }
            Err(e) => {
                first_mismatch.get_or_insert(e);
            }
        }
    }
    // RFC 6455 §9.1: no valid permessage-deflate offer to answer.
    Err(first_mismatch
        .unwrap_or_else(|| NegotiationError::NotOffered(PERMESSAGE_DEFLATE.to_owned())))
}

/// Whether `response` is a corresponding response to `offer` (RFC 7692 §3).
fn response_matches(
    offer: &DeflateParams,
    response: &DeflateParams,
) -> Result<(), NegotiationError> {
    // RFC 7692 §7.1.1.1: a server accepts the offer's
    // server_no_context_takeover "by including" it.
    if offer.server_no_context_takeover && !response.server_no_context_takeover {
        return Err(NegotiationError::Mismatch {
            param: DeflateParam::ServerNoContextTakeover,
            reason: "was offered but is missing",
            rfc: "RFC 7692 §7.1.1.1",
        });
    }
    // RFC 7692 §7.1.2.1: accepted "with the same or smaller value as the offer".
    if let Some(asked) = offer.server_max_window_bits {
        match response.server_max_window_bits {
            None => {
                return Err(NegotiationError::Mismatch {
                    param: DeflateParam::ServerMaxWindowBits,
                    reason: "was offered but is missing",
                    rfc: "RFC 7692 §7.1.2.1",
                })
            }
            Some(bits) if bits > asked => {
                return Err(NegotiationError::Mismatch {
                    param: DeflateParam::ServerMaxWindowBits,
                    reason: "is larger than offered",
                    rfc: "RFC 7692 §7.1.2.1",
                })
            }
            Some(_) => {}
        }
    }
    // RFC 7692 §7.1.2.2: without it in the offer, the response "MUST NOT include" it.
    if offer.client_max_window_bits.is_none() && response.client_max_window_bits.is_some() {
        return Err(NegotiationError::Mismatch {
            param: DeflateParam::ClientMaxWindowBits,
            reason: "was not offered",
            rfc: "RFC 7692 §7.1.2.2",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn on() -> DeflateConfig {
        DeflateConfig::default().enabled(true)
    }

    fn offer(s: &str) -> Result<DeflateParams, DeflateParamError> {
        DeflateParams::from_offer(&parse_extensions(&[s]).unwrap()[0])
    }

    // -- Server negotiation, RFC 7692 §5, §7.1 --

    fn neg(cb: u8, cn: bool, db: u8, dn: bool) -> NegotiatedDeflate {
        NegotiatedDeflate {
            compress_window_bits: cb,
            compress_no_context_takeover: cn,
            decompress_window_bits: db,
            decompress_no_context_takeover: dn,
        }
    }

    /// The client side of one of the server's cases: the same offers.
    fn offering(offers: &str) -> DeflateConfig {
        on().client_offers(
            parse_extensions(&[offers])
                .unwrap()
                .iter()
                .filter(|e| e.name == PERMESSAGE_DEFLATE)
                .filter_map(|e| DeflateParams::from_offer(e).ok())
                .collect(),
        )
    }

    #[test]
    fn server_negotiation_table() {
        let default = on();
        let small = on().server_max_window_bits(10).client_max_window_bits(11);
        let reset_both = on()
            .server_no_context_takeover(true)
            .client_no_context_takeover(true);
        let raised = on().server_max_window_bits(8);
        let eight = on().client_max_window_bits(8);
        let off = DeflateConfig::default().enabled(false);
        let pmd = "permessage-deflate";
        // offer → Some((response, negotiated)) or None for declined.
        type Case<'a> = (
            &'a DeflateConfig,
            &'a str,
            Option<(&'a str, NegotiatedDeflate)>,
        );
        #[rustfmt::skip]
        let cases: Vec<Case<'_>> = vec![
            // §7.1.3: the simplest offer and answer.
            (&default, pmd, Some((pmd, neg(15, false, 15, false)))),
            (&default, "permessage-deflate; client_max_window_bits", Some((pmd, neg(15, false, 15, false)))),
            // §7.1.1.1: accepted by echoing it.
            (&default, "permessage-deflate; server_no_context_takeover",
                Some(("permessage-deflate; server_no_context_takeover", neg(15, true, 15, false)))),
            // §7.1.1.2: the hint is echoed, which makes it binding.
            (&default, "permessage-deflate; client_no_context_takeover",
                Some(("permessage-deflate; client_no_context_takeover", neg(15, false, 15, true)))),
            // §7.1.2.1: the same or a smaller value.
            (&default, "permessage-deflate; server_max_window_bits=10",
                Some(("permessage-deflate; server_max_window_bits=10", neg(10, false, 15, false)))),
            (&small, "permessage-deflate; server_max_window_bits=12; client_max_window_bits",
                Some(("permessage-deflate; server_max_window_bits=10; client_max_window_bits=11", neg(10, false, 11, false)))),
            (&small, "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
                Some(("permessage-deflate; server_max_window_bits=9; client_max_window_bits=9", neg(9, false, 9, false)))),
            // §7.1.2.1: a server MAY add it unasked.
            (&small, "permessage-deflate; client_max_window_bits",
                Some(("permessage-deflate; server_max_window_bits=10; client_max_window_bits=11", neg(10, false, 11, false)))),
            // §7.1.2.2: the client's hint spares us a larger window.
            (&default, "permessage-deflate; client_max_window_bits=12",
                Some(("permessage-deflate; client_max_window_bits=12", neg(15, false, 12, false)))),
            // ... but never down to 8, which zlib-based clients cannot honour.
            (&default, "permessage-deflate; client_max_window_bits=8",
                Some(("permessage-deflate; client_max_window_bits=9", neg(15, false, 9, false)))),
            (&eight, "permessage-deflate; client_max_window_bits",
                Some(("permessage-deflate; client_max_window_bits=9", neg(15, false, 9, false)))),
            // Window 8 for our compressor cannot be honoured: declined.
            (&default, "permessage-deflate; server_max_window_bits=8", None),
            // §7.1.2.2: we want to limit the client but cannot: declined.
            (&small, pmd, None),
            // Our own settings, announced (§7.1.1.1, §7.1.1.2 allow it).
            (&reset_both, pmd,
                Some(("permessage-deflate; server_no_context_takeover; client_no_context_takeover", neg(15, true, 15, true)))),
            (&raised, pmd, Some(("permessage-deflate; server_max_window_bits=9", neg(9, false, 15, false)))),
            // §7: malformed offers are declined, and the next one is tried.
            (&default, "permessage-deflate; foo", None),
            (&default, "permessage-deflate; foo, permessage-deflate; server_no_context_takeover",
                Some(("permessage-deflate; server_no_context_takeover", neg(15, true, 15, false)))),
            (&default, "permessage-deflate; server_max_window_bits=16, permessage-deflate",
                Some((pmd, neg(15, false, 15, false)))),
            (&default, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", None),
            (&default, "permessage-deflate; server_max_window_bits", None),
            (&default, "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9",
                Some(("permessage-deflate; server_max_window_bits=9", neg(9, false, 15, false)))),
            // Other extensions are ignored.
            (&default, "x-webkit-deflate-frame", None),
            (&default, "x-foo; bar, permessage-deflate", Some((pmd, neg(15, false, 15, false)))),
            // §5: the first acceptable offer wins (the §7.1.3 example).
            (&default, "permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate; client_max_window_bits",
                Some(("permessage-deflate; server_max_window_bits=10", neg(10, false, 15, false)))),
            // Disabled: every offer is declined.
            (&off, pmd, None),
        ];
        for (config, offers, expected) in cases {
            let got = config.negotiate(&[offers]).unwrap();
            let expected = expected.map(|(r, n)| (n, r.to_owned()));
            assert_eq!(got, expected, "offer {offers:?} with {config:?}");
            // Whatever we answer, a client that made the offer accepts, and
            // the two sides mirror each other.
            if let Some((negotiated, response)) = got {
                let mirror = offering(offers)
                    .accept_response(&[&response])
                    .unwrap()
                    .unwrap();
                assert_eq!(
                    mirror.decompress_window_bits, negotiated.compress_window_bits,
                    "{response}"
                );
                assert_eq!(
                    mirror.decompress_no_context_takeover,
                    negotiated.compress_no_context_takeover
                );
                assert!(mirror.compress_window_bits <= negotiated.decompress_window_bits.max(9));
                assert_eq!(
                    mirror.compress_no_context_takeover,
                    negotiated.decompress_no_context_takeover
                );
            }
        }
    }

    #[test]
    fn server_fails_only_on_a_malformed_header() {
        let err = on()
            .negotiate(&["permessage-deflate", "permessage-deflate; x=\"a"])
            .unwrap_err();
        assert!(
            matches!(
                err,
                NegotiationError::Malformed(ExtensionParseError { header: 1, .. })
            ),
            "{err}"
        );
        // RFC 6455 §9.1 covers the whole header, whatever the extension.
        assert!(on().negotiate(&["x-foo;", "permessage-deflate"]).is_err());
        // No header at all: nothing offered.
        assert_eq!(on().negotiate(&[]), Ok(None));
    }

    // -- Client negotiation, RFC 7692 §5, §7.1 --

    #[test]
    fn client_default_offers_and_settings() {
        assert_eq!(
            on().offer_header(),
            "permessage-deflate; client_max_window_bits, permessage-deflate"
        );
        assert_eq!(DeflateConfig::default().enabled(false).offer_header(), "");
        assert_eq!(
            on().server_max_window_bits(10)
                .client_max_window_bits(8)
                .server_no_context_takeover(true)
                .offer_header(),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; \
             client_max_window_bits=9, \
             permessage-deflate; server_no_context_takeover; server_max_window_bits=10"
        );
        let custom = on().client_offers(vec![DeflateParams::default()]);
        assert_eq!(custom.offer_header(), "permessage-deflate");
        // Our own offer header parses, and a default server accepts it.
        assert!(on().negotiate(&[&on().offer_header()]).unwrap().is_some());
    }

    #[test]
    fn client_accepts_valid_responses() {
        let default = on();
        let asks = on()
            .server_max_window_bits(10)
            .server_no_context_takeover(true)
            .client_max_window_bits(12);
        let resets = on().client_no_context_takeover(true);
        #[rustfmt::skip]
        let cases: Vec<(&DeflateConfig, &[&str], Option<NegotiatedDeflate>)> = vec![
            (&default, &[], None),
            (&default, &["permessage-deflate"], Some(neg(15, false, 15, false))),
            (&default, &["permessage-deflate; server_no_context_takeover"], Some(neg(15, false, 15, true))),
            (&default, &["permessage-deflate; client_no_context_takeover"], Some(neg(15, true, 15, false))),
            (&default, &["permessage-deflate; server_max_window_bits=8"], Some(neg(15, false, 8, false))),
            (&default, &["permessage-deflate; client_max_window_bits=9"], Some(neg(9, false, 15, false))),
            (&default, &["permessage-deflate; client_max_window_bits=\"10\""], Some(neg(10, false, 15, false))),
            (&default, &["permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=13"],
                Some(neg(13, true, 11, true))),
            (&default, &["permessage-deflate;client_max_window_bits=13 ;server_max_window_bits=11"],
                Some(neg(13, false, 11, false))),
            // Our own limits hold whatever the server allows.
            (&asks, &["permessage-deflate; server_no_context_takeover; server_max_window_bits=10"], Some(neg(12, false, 10, true))),
            (&asks, &["permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=14"],
                Some(neg(12, false, 9, true))),
            (&resets, &["permessage-deflate"], Some(neg(15, true, 15, false))),
            // Empty lines around the one element.
            (&default, &[", permessage-deflate"], Some(neg(15, false, 15, false))),
            (&default, &[" ,permessage-deflate , "], Some(neg(15, false, 15, false))),
        ];
        for (config, response, expected) in cases {
            assert_eq!(
                config.accept_response(response),
                Ok(expected),
                "{response:?}"
            );
        }
    }

    #[test]
    fn client_rejects_invalid_responses_naming_the_parameter() {
        use DeflateParam::*;
        let default = on();
        let asks = on()
            .server_max_window_bits(10)
            .server_no_context_takeover(true);
        let no_cmwb = on().client_offers(vec![DeflateParams::default()]);
        #[rustfmt::skip]
        let cases: Vec<(&DeflateConfig, &str, Option<DeflateParam>)> = vec![
            // §7: unknown, duplicate, malformed.
            (&default, "permessage-deflate; foo", None),
            (&default, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", Some(ServerNoContextTakeover)),
            (&default, "permessage-deflate; server_max_window_bits=16", Some(ServerMaxWindowBits)),
            (&default, "permessage-deflate; server_max_window_bits", Some(ServerMaxWindowBits)),
            (&default, "permessage-deflate; client_max_window_bits", Some(ClientMaxWindowBits)),
            (&default, "permessage-deflate; client_max_window_bits=08", Some(ClientMaxWindowBits)),
            (&default, "permessage-deflate; client_no_context_takeover=1", Some(ClientNoContextTakeover)),
            // §7.1.1.1: asked for, missing.
            (&asks, "permessage-deflate; server_max_window_bits=10", Some(ServerNoContextTakeover)),
            // §7.1.2.1: asked for, missing or larger.
            (&asks, "permessage-deflate; server_no_context_takeover", Some(ServerMaxWindowBits)),
            (&asks, "permessage-deflate; server_no_context_takeover; server_max_window_bits=11", Some(ServerMaxWindowBits)),
            // §7.1.2.2: not offered.
            (&no_cmwb, "permessage-deflate; client_max_window_bits=10", Some(ClientMaxWindowBits)),
            // 8 bits for our compressor: unsupported.
            (&default, "permessage-deflate; client_max_window_bits=8", Some(ClientMaxWindowBits)),
        ];
        for (config, response, param) in cases {
            let err = config.accept_response(&[response]).expect_err(response);
            assert_eq!(err.param(), param, "{response}: {err}");
            if let Some(param) = param {
                assert!(err.to_string().contains(param.as_str()), "{err}");
            }
        }
        // RFC 6455 §9.1: only offered extensions; RFC 7692 §5: once.
        assert_eq!(
            default.accept_response(&["x-foo"]),
            Err(NegotiationError::NotOffered("x-foo".into()))
        );
        assert_eq!(
            default.accept_response(&["permessage-deflate", "permessage-deflate"]),
            Err(NegotiationError::Duplicate)
        );
        assert_eq!(
            DeflateConfig::default()
                .enabled(false)
                .accept_response(&["permessage-deflate"]),
            Err(NegotiationError::NotOffered("permessage-deflate".into()))
        );
        assert!(matches!(
            default.accept_response(&["permessage-deflate;"]),
            Err(NegotiationError::Malformed(_))
        ));
    }

    #[test]
    fn client_accepts_a_response_to_any_of_its_offers() {
        // RFC 7692 §7.1.3: an offer with a fallback; either answer is fine.
        let config = on().client_offers(vec![
            offer("permessage-deflate; client_max_window_bits; server_max_window_bits=10").unwrap(),
            offer("permessage-deflate; client_max_window_bits").unwrap(),
        ]);
        assert_eq!(
            config.offer_header(),
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits, \
             permessage-deflate; client_max_window_bits"
        );
        for response in [
            "permessage-deflate; server_max_window_bits=10",
            "permessage-deflate",
        ] {
            assert!(
                config.accept_response(&[response]).unwrap().is_some(),
                "{response}"
            );
        }
    }

    proptest! {
        #[test]
        fn every_server_answer_is_accepted_by_the_offering_client(
            sn: bool,
            cn: bool,
            sb in prop::option::of(8u8..=15),
            cb in prop::option::of(prop::option::of(8u8..=15)),
            server_sb in 8u8..=15,
            server_cb in 8u8..=15,
            server_sn: bool,
            server_cn: bool,
        ) {
            let params = DeflateParams {
                server_no_context_takeover: sn,
                client_no_context_takeover: cn,
                server_max_window_bits: sb,
                client_max_window_bits: cb
                    .map(|b| b.map_or(ClientMaxWindowBits::Supported, ClientMaxWindowBits::Bits)),
            };
            let client = on().client_offers(vec![params]);
            let server = on()
                .server_max_window_bits(server_sb)
                .client_max_window_bits(server_cb)
                .server_no_context_takeover(server_sn)
                .client_no_context_takeover(server_cn);
            if let Some((negotiated, response)) = server.negotiate(&[&client.offer_header()]).unwrap() {
                prop_assert!(negotiated.compress_window_bits >= 9);
                // Both sides mirror each other; the server never asks for 8.
                let mirror = client.accept_response(&[&response]).unwrap().unwrap();
                prop_assert_eq!(mirror.decompress_window_bits, negotiated.compress_window_bits);
                prop_assert!(mirror.compress_window_bits <= negotiated.decompress_window_bits);
            }
        }
    }
}
