//! `extensions`: the `Sec-WebSocket-Extensions` grammar and the
//! permessage-deflate negotiation. The input's text, split at `\n`, is a
//! list of header lines; two [`DeflateConfig`]s come from the knobs.
//!
//! Asserted:
//! - `parse_extensions` gives only tokens (names, parameter names and
//!   unescaped values, RFC 6455 §9.1); an error points inside the input, at
//!   the character it reports;
//! - a server's answer to arbitrary offers is itself a valid
//!   permessage-deflate response, and the windows it agrees are in range;
//! - a client's reading of an arbitrary response agrees windows in range;
//! - the server's answer to the client's own offer is accepted by that
//!   client, and the two sides agree: neither compresses with a larger window
//!   than the other decompresses with, and whoever may reset its
//!   decompressor has a peer that resets its compressor (RFC 7692 §7.2).

use arbitrary::Arbitrary;
use wsproto::extensions::{
    parse_extensions, ClientMaxWindowBits, DeflateConfig, DeflateParams, NegotiatedDeflate,
    PERMESSAGE_DEFLATE,
};

/// One client offer, for `client_offers`.
#[derive(Arbitrary, Debug, Clone, Copy, Default)]
struct Offer {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    /// 0: absent; else 15 - n % 8.
    server_max_window_bits: u8,
    /// 0: absent; 1: without a value; else 15 - n % 8.
    client_max_window_bits: u8,
}

/// One endpoint's `DeflateConfig`; all zero is the default, enabled.
#[derive(Arbitrary, Debug, Clone, Copy, Default)]
struct Side {
    disabled: bool,
    level: u8,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    /// How many of `offers` to use; 0 keeps the default offers.
    offer_count: u8,
    offers: [Offer; 2],
}

/// 8..=15, with 0 giving 15.
fn bits(n: u8) -> u8 {
    15 - n % 8
}

impl Side {
    fn config(&self) -> DeflateConfig {
        let mut config = DeflateConfig::default()
            .enabled(!self.disabled)
            .level(u32::from(self.level % 10))
            .server_max_window_bits(bits(self.server_max_window_bits))
            .client_max_window_bits(bits(self.client_max_window_bits))
            .server_no_context_takeover(self.server_no_context_takeover)
            .client_no_context_takeover(self.client_no_context_takeover);
        let count = usize::from(self.offer_count % 3);
        if count > 0 {
            let offers = self.offers[..count]
                .iter()
                .map(|o| {
                    let mut params = DeflateParams::default();
                    params.server_no_context_takeover = o.server_no_context_takeover;
                    params.client_no_context_takeover = o.client_no_context_takeover;
                    params.server_max_window_bits =
                        (o.server_max_window_bits != 0).then(|| bits(o.server_max_window_bits));
                    params.client_max_window_bits = match o.client_max_window_bits {
                        0 => None,
                        1 => Some(ClientMaxWindowBits::Supported),
                        n => Some(ClientMaxWindowBits::Bits(bits(n))),
                    };
                    params
                })
                .collect();
            config = config.client_offers(offers);
        }
        config
    }
}

/// The two endpoints' configurations.
#[derive(Arbitrary, Debug, Clone, Copy, Default)]
pub struct Knobs {
    client: Side,
    server: Side,
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn check_windows(n: &NegotiatedDeflate) {
    assert!((9..=15).contains(&n.compress_window_bits), "{n:?}");
    assert!((8..=15).contains(&n.decompress_window_bits), "{n:?}");
}

/// The target: knobs, then header lines.
pub fn run(data: &[u8]) {
    let (knobs, text) = crate::split_input::<Knobs>(data);
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let (client, server) = (knobs.client.config(), knobs.server.config());

    match parse_extensions(&lines) {
        Ok(list) => {
            for element in &list {
                assert!(is_token(element.name), "{element:?}");
                for param in &element.params {
                    assert!(is_token(param.name), "{element:?}");
                    assert!(param.value.as_deref().is_none_or(is_token), "{element:?}");
                }
            }
        }
        Err(e) => {
            let line = lines[e.header];
            assert!(line.is_char_boundary(e.position), "{e:?} in {line:?}");
            assert_eq!(
                e.found,
                line[e.position..].chars().next(),
                "{e:?} in {line:?}"
            );
        }
    }

    if let Ok(Some((negotiated, answer))) = server.negotiate(&lines) {
        check_windows(&negotiated);
        let elements = parse_extensions(&[&answer]).expect("our answer parses");
        assert_eq!(elements.len(), 1);
        assert_eq!(elements[0].name, PERMESSAGE_DEFLATE);
        DeflateParams::from_response(&elements[0]).expect("our answer is a valid response");
    }
    if let Ok(Some(negotiated)) = client.accept_response(&lines) {
        check_windows(&negotiated);
    }

    let offer = client.offer_header();
    if offer.is_empty() {
        return;
    }
    let Some((s, answer)) = server.negotiate(&[&offer]).expect("our offer parses") else {
        return;
    };
    let c = match client.accept_response(&[&answer]) {
        Ok(Some(c)) => c,
        other => panic!("client refuses the answer {answer:?} to {offer:?}: {other:?}"),
    };
    assert!(
        c.compress_window_bits <= s.decompress_window_bits,
        "{c:?} {s:?}"
    );
    assert!(
        s.compress_window_bits <= c.decompress_window_bits,
        "{c:?} {s:?}"
    );
    assert!(!s.decompress_no_context_takeover || c.compress_no_context_takeover);
    assert!(!c.decompress_no_context_takeover || s.compress_no_context_takeover);
}
