//! `h2_connect`: the extended CONNECT rules of RFC 8441 (`handshake::h2`)
//! on arbitrary header lists.
//!
//! The input after the knobs is a list of fields, one a line (`\n`), the
//! name before the first space and the value after it (names made UTF-8
//! lossily). Unless a knob says otherwise, the list follows the fields
//! [`h2::request_fields`] builds for a [`ClientOffer`] the knobs pick
//! (subprotocols, permessage-deflate with its parameters).
//!
//! Asserted on any list:
//! - [`ExtendedConnect::from_headers`] never panics and answers the same
//!   twice;
//! - a refusal's [`RequestError::status`] is one of those
//!   `from_headers` documents (400, 405, 426, 501), its text has no control
//!   characters, [`h2::reject_fields`] carries `sec-websocket-version: 13`
//!   exactly with 426 and `allow: CONNECT` exactly with 405; an uppercase
//!   field name is `Malformed` (RFC 9113 §8.2.1), whatever else is wrong; a
//!   405 names a single `:method` that is not `CONNECT`, a 501 a single
//!   `:protocol` other than `websocket` after `:method: CONNECT`, a 426 a
//!   version list other than `13`;
//! - an accepted request has lowercase names and no connection-specific
//!   field, exactly one of each pseudo-header, `:method` `CONNECT`,
//!   `:protocol` `websocket`, a non-empty `:path`, and version `13`; its
//!   getters give the (trimmed) values; [`ExtendedConnect::accept`] with no
//!   choice, and with any offered subprotocol, succeeds with status 200,
//!   lowercase fields, the chosen subprotocol, and `sec-websocket-accept`
//!   exactly when a key was sent ([`accept_key`] of it);
//! - round trip: when the extra lines add only fields the handshake does
//!   not read, the request is accepted, and [`h2::check_response`] accepts
//!   the server's answer for the same offer: the same subprotocol, and
//!   mirrored permessage-deflate parameters (each side's compressor within
//!   the other's decompressor window); a status outside 2xx is `Ok(None)`;
//! - `check_response` on the input's fields as an answer never panics;
//!   outside 2xx it is `Ok(None)`; with an uppercase name, `Malformed`.

use arbitrary::Arbitrary;
use wsproto::extensions::DeflateConfig;
use wsproto::handshake::h2::{self, ExtendedConnect};
use wsproto::handshake::{accept_key, Accept, ClientOffer, RequestError, ResponseError};

const SUBPROTOCOLS: [&str; 3] = ["chat", "superchat", "mqtt"];
const CONNECTION_SPECIFIC: [&str; 5] = [
    "connection",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
];

/// One side's permessage-deflate settings.
#[derive(Arbitrary, Debug, Clone, Copy, Default)]
pub struct Deflate {
    /// Bit 0: off; bit 1: server no context takeover; bit 2: client's.
    flags: u8,
    /// `15 - n % 8` each: server, client windows.
    server_window: u8,
    client_window: u8,
}

impl Deflate {
    fn config(&self) -> DeflateConfig {
        DeflateConfig::default()
            .enabled(self.flags & 1 == 0)
            .server_no_context_takeover(self.flags & 2 != 0)
            .client_no_context_takeover(self.flags & 4 != 0)
            .server_max_window_bits(15 - self.server_window % 8)
            .client_max_window_bits(15 - self.client_window % 8)
    }
}

/// The settings the fuzzer picks. All zero: the lines follow the request
/// of a client offering all three subprotocols and permessage-deflate; the
/// server negotiates default permessage-deflate and chooses no subprotocol.
#[derive(Arbitrary, Debug, Clone, Copy, Default)]
pub struct Knobs {
    /// The lines alone, without the generated request.
    raw: bool,
    /// Subprotocols offered: `n % 4 == 0` all three, else the first `n % 4 - 1`.
    subprotocols: u8,
    client: Deflate,
    server: Deflate,
    /// 0: no subprotocol chosen; else the `(n - 1) % count`-th offered.
    choose: u8,
    /// The status of a refusal checked with `check_response`: `100 + n`.
    refuse: u8,
}

impl Knobs {
    fn offer(&self) -> ClientOffer {
        // 0 (the default) offers all three.
        let count = match self.subprotocols % 4 {
            0 => 3,
            n => usize::from(n - 1),
        };
        let mut offer = ClientOffer::new().deflate(self.client.config());
        for name in &SUBPROTOCOLS[..count] {
            offer = offer.subprotocol(name).expect("a token offered once");
        }
        offer
    }
}

/// The input's lines as fields.
fn lines(text: &[u8]) -> Vec<(String, Vec<u8>)> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split(|&b| b == b'\n')
        .map(|line| {
            let (name, value) = match line.iter().position(|&b| b == b' ') {
                Some(i) => (&line[..i], &line[i + 1..]),
                None => (line, &[][..]),
            };
            (String::from_utf8_lossy(name).into_owned(), value.to_vec())
        })
        .collect()
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|b| !matches!(b, b' ' | b'\t'));
    let end = v.iter().rposition(|b| !matches!(b, b' ' | b'\t'));
    match (start, end) {
        (Some(s), Some(e)) => &v[s..=e],
        _ => &[],
    }
}

fn values<'a>(fields: &'a [(String, Vec<u8>)], name: &'a str) -> Vec<&'a [u8]> {
    fields
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| trim(v))
        .collect()
}

fn version_tokens(fields: &[(String, Vec<u8>)]) -> Vec<&[u8]> {
    values(fields, "sec-websocket-version")
        .into_iter()
        .flat_map(|v| v.split(|&b| b == b','))
        .map(trim)
        .filter(|t| !t.is_empty())
        .collect()
}

/// Fields the handshake reads: extra lines with these names are left out
/// of the round trip.
fn read_by_handshake(name: &str) -> bool {
    name.starts_with(':')
        || name.bytes().any(|b| b.is_ascii_uppercase())
        || CONNECTION_SPECIFIC.contains(&name)
        || name.to_ascii_lowercase().starts_with("sec-websocket-")
        || name.eq_ignore_ascii_case("origin")
}

/// The target: knobs, then the fields.
pub fn run(data: &[u8]) {
    let (knobs, text) = crate::split_input::<Knobs>(data);
    let extra = lines(text);
    let offer = knobs.offer();
    let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
    if !knobs.raw {
        fields = h2::request_fields("https", "example.com", "/chat", &offer)
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.into_bytes()))
            .collect();
    }
    fields.extend(extra.iter().cloned());
    check_request(&knobs, &fields);

    // Round trip: the generated request with only fields the handshake
    // does not read added.
    let mut plain: Vec<(String, Vec<u8>)> =
        h2::request_fields("https", "example.com", "/chat", &offer)
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.into_bytes()))
            .collect();
    plain.extend(extra.iter().filter(|(n, _)| !read_by_handshake(n)).cloned());
    let connect = read(&plain).expect("the generated request is accepted");
    let chosen = choose(&knobs, &connect);
    let mut accept = Accept::new();
    if let Some(name) = &chosen {
        accept = accept.subprotocol(name).expect("a token");
    }
    let server_deflate = knobs.server.config();
    let response = connect
        .accept(&accept, &server_deflate)
        .expect("accepting an offered subprotocol");
    assert!(!response
        .fields
        .iter()
        .any(|(n, _)| n == "sec-websocket-accept"));
    let answer = || {
        response
            .fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
    };
    let client = h2::check_response(response.status, answer(), &offer)
        .expect("the client accepts the server's answer")
        .expect("a 2xx");
    let server = &response.negotiated;
    assert_eq!(client.subprotocol, server.subprotocol);
    assert_eq!(client.subprotocol, chosen);
    assert_eq!(client.deflate.is_some(), server.deflate.is_some());
    if let (Some(c), Some(s)) = (client.deflate, server.deflate) {
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
    let refused = 100 + u16::from(knobs.refuse);
    if !(200..300).contains(&refused) {
        assert_eq!(h2::check_response(refused, answer(), &offer), Ok(None));
    }

    // The input's fields as an answer.
    let as_answer = || extra.iter().map(|(n, v)| (n.as_str(), v.as_slice()));
    let result = h2::check_response(200, as_answer(), &offer);
    if extra
        .iter()
        .any(|(n, _)| n.bytes().any(|b| b.is_ascii_uppercase()))
    {
        assert!(
            matches!(result, Err(ResponseError::Malformed(_))),
            "{result:?}"
        );
    }
    assert_eq!(
        h2::check_response(refused.max(300), as_answer(), &offer),
        Ok(None)
    );
}

fn read(fields: &[(String, Vec<u8>)]) -> Result<ExtendedConnect, RequestError> {
    ExtendedConnect::from_headers(fields.iter().map(|(n, v)| (n.as_str(), v.as_slice())))
}

fn choose(knobs: &Knobs, connect: &ExtendedConnect) -> Option<String> {
    let offered: Vec<&str> = connect.offers().subprotocols().collect();
    match knobs.choose {
        0 => None,
        _ if offered.is_empty() => None,
        n => Some(offered[usize::from(n - 1) % offered.len()].to_owned()),
    }
}

fn check_request(knobs: &Knobs, fields: &[(String, Vec<u8>)]) {
    let result = read(fields);
    assert_eq!(result, read(fields), "the same answer twice");
    let one = |name| match values(fields, name)[..] {
        [v] => Some(v),
        _ => None,
    };
    let uppercase = fields
        .iter()
        .any(|(n, _)| n.bytes().any(|b| b.is_ascii_uppercase()));
    let connect = match result {
        Err(error) => {
            let status = error.status();
            assert!(
                matches!(status, 400 | 405 | 426 | 501),
                "{error:?}: {status}"
            );
            let text = error.to_string();
            assert!(!text.chars().any(char::is_control), "{text:?}");
            let reject = h2::reject_fields(&error);
            assert_eq!(
                reject.contains(&("sec-websocket-version", "13".to_owned())),
                status == 426
            );
            assert_eq!(
                reject.contains(&("allow", "CONNECT".to_owned())),
                status == 405
            );
            if uppercase {
                assert!(matches!(error, RequestError::Malformed(_)), "{error:?}");
            }
            match status {
                405 => assert!(one(":method").is_some_and(|m| m != b"CONNECT")),
                501 => {
                    assert_eq!(one(":method"), Some(&b"CONNECT"[..]));
                    assert!(one(":protocol").is_some_and(|p| p != b"websocket"));
                }
                426 => assert_ne!(version_tokens(fields), [b"13"]),
                _ => {}
            }
            return;
        }
        Ok(connect) => connect,
    };
    assert!(!uppercase);
    for name in CONNECTION_SPECIFIC {
        assert!(values(fields, name).is_empty(), "{name}");
    }
    assert_eq!(one(":method"), Some(&b"CONNECT"[..]));
    assert_eq!(one(":protocol"), Some(&b"websocket"[..]));
    assert_eq!(one(":scheme"), Some(connect.scheme().as_bytes()));
    assert_eq!(one(":authority"), Some(connect.authority().as_bytes()));
    assert_eq!(one(":path"), Some(connect.path().as_bytes()));
    assert!(!connect.path().is_empty());
    assert_eq!(version_tokens(fields), [b"13"]);

    let key = one("sec-websocket-key");
    let server_deflate = knobs.server.config();
    for accept in [
        Some(Accept::new()),
        choose(knobs, &connect)
            .map(|name| Accept::new().subprotocol(&name).expect("an offered token")),
    ]
    .into_iter()
    .flatten()
    {
        let response = connect
            .accept(&accept, &server_deflate)
            .unwrap_or_else(|e| panic!("accept failed: {e:?}"));
        assert_eq!(response.status, 200);
        for (name, _) in &response.fields {
            assert!(!name.bytes().any(|b| b.is_ascii_uppercase()), "{name}");
        }
        let answered: Vec<&String> = response
            .fields
            .iter()
            .filter(|(n, _)| n == "sec-websocket-accept")
            .map(|(_, v)| v)
            .collect();
        match key {
            Some(key) => assert_eq!(answered, [&accept_key(key)]),
            None => assert!(answered.is_empty()),
        }
        let protocol = response
            .fields
            .iter()
            .find(|(n, _)| n == "sec-websocket-protocol")
            .map(|(_, v)| v.clone());
        assert_eq!(protocol, response.negotiated.subprotocol);
    }
}
