//! The `Sec-WebSocket-Extensions` header (RFC 6455 §9.1) and the negotiation
//! of permessage-deflate (RFC 7692 §5, §7.1), for both roles.
//!
//! Three layers, each usable on its own:
//!
//! 1. [`parse_extensions`]: the header grammar. Any extension, any parameter;
//!    one linear pass, no allocation beyond the returned list (and a string
//!    for a quoted value that contains a backslash escape).
//! 2. [`DeflateParams`]: the four permessage-deflate parameters of one offer
//!    or one response (RFC 7692 §7.1), checked for unknown and duplicate
//!    parameters and malformed values.
//! 3. [`DeflateConfig`]: what we want, and the two sides of the negotiation:
//!    [`offer_header`](DeflateConfig::offer_header) and
//!    [`accept_response`](DeflateConfig::accept_response) for a client,
//!    [`negotiate`](DeflateConfig::negotiate) for a server. Both give a
//!    [`NegotiatedDeflate`]: the agreed parameters as seen by one endpoint,
//!    ready for the codec in `deflate` (feature `deflate`).
//!
//! ```
//! use wsproto::extensions::DeflateConfig;
//!
//! let client = DeflateConfig::default().enabled(true);
//! let server = DeflateConfig::default().enabled(true);
//! let offer = client.offer_header();
//! assert_eq!(offer, "permessage-deflate; client_max_window_bits, permessage-deflate");
//!
//! let (server_side, response) = server.negotiate(&[&offer]).unwrap().unwrap();
//! assert_eq!(response, "permessage-deflate");
//! let client_side = client.accept_response(&[&response]).unwrap().unwrap();
//! assert_eq!(client_side.compress_window_bits, server_side.decompress_window_bits);
//! ```
//!
//! # Window bits 8
//!
//! zlib, and so every zlib-based peer and our own compressor, cannot compress
//! with a 256-byte window: asked for 8 it uses 9 (or refuses). We never
//! compress with a larger window than the peer allowed (RFC 7692 §7.2.1), so
//! an agreement that limits *our* compressor to 8 bits is one we cannot keep:
//! a server declines such an offer, a client fails on such a response with
//! [`NegotiationError::Unsupported`]. A server never asks a client for 8
//! either (it answers 9 to a hint or a setting of 8), since that client may
//! be zlib-based too. The other direction is fine: our decompressor inflates
//! a peer's 8-bit stream with a 9-bit window, which also copes with a peer
//! that was told 8 and silently used 9.

// The layers, one file each: the header grammar, the permessage-deflate
// parameters of one element, what we want, the negotiation, and the
// extensions the codec does not handle.
mod config;
mod custom;
mod grammar;
mod negotiate;
mod params;

pub use config::DeflateConfig;
pub use custom::{CustomExtension, CustomExtensionError};
pub use grammar::{
    parse_extensions, Expected, ExtensionOffer, ExtensionParam, ExtensionParseError,
};
pub(crate) use negotiate::accept_params;
pub use negotiate::{NegotiatedDeflate, NegotiationError};
pub use params::{ClientMaxWindowBits, DeflateParam, DeflateParamError, DeflateParams};

/// The registered name of the permessage-deflate extension (RFC 7692 §9.1).
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// The smallest window our own compressor can use (zlib cannot do 8).
const MIN_COMPRESS_WINDOW_BITS: u8 = 9;

/// The largest LZ77 window, 32 KiB (RFC 7692 §7.2.1).
const MAX_WINDOW_BITS: u8 = 15;

/// The whole pipeline (grammar, parameters, negotiation) on arbitrary input.
#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::grammar::is_token;
    use super::*;

    fn on() -> DeflateConfig {
        DeflateConfig::default().enabled(true)
    }

    proptest! {
        #[test]
        fn arbitrary_headers_never_panic(values in prop::collection::vec(".{0,40}", 0..4)) {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            let _ = parse_extensions(&values);
            let _ = on().negotiate(&values);
            let _ = on().accept_response(&values);
        }

        #[test]
        fn grammar_shaped_headers_never_panic(
            values in prop::collection::vec("[a-z_ ;,=\"\\\\0-9\t]{0,60}", 0..4),
        ) {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            if let Ok(list) = parse_extensions(&values) {
                for element in &list {
                    prop_assert!(is_token(element.name));
                    let _ = DeflateParams::from_offer(element);
                }
            }
            let _ = on().negotiate(&values);
            let _ = on().accept_response(&values);
        }
    }
}
