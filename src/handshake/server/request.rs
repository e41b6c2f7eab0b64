//! The client's request as a server reads it, and the checks of RFC 6455
//! §4.2.1 it must pass.

use std::ops::Range;

use bytes::Bytes;

use crate::connection::Negotiated;
use crate::extensions::DeflateConfig;
use crate::handshake::error::{BuildError, RequestError};
use crate::handshake::http::{self, escape, Fields, Headers};
use crate::handshake::negotiate::ServerOffers;
use crate::handshake::VERSION;

use super::response::switching_protocols_fields;
use super::Accept;

/// A client's opening handshake request that passed the checks of RFC 6455
/// §4.2.1.
///
/// Cheap to clone: it shares the buffer the head was read into (the offers
/// are copied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    head: Bytes,
    method: Range<usize>,
    target: Range<usize>,
    headers: Headers,
    offers: ServerOffers,
}

impl Request {
    /// Parses a complete head and checks it.
    pub(super) fn parse(head: Bytes, max_headers: usize) -> Result<Self, RequestError> {
        let mut parsed = vec![httparse::EMPTY_HEADER; max_headers];
        let mut req = httparse::Request::new(&mut parsed);
        match req.parse(&head) {
            Ok(httparse::Status::Complete(_)) => {}
            // The head reader only stops at a blank line after content,
            // where httparse is complete or fails.
            Ok(httparse::Status::Partial) => {
                return Err(RequestError::Malformed("the head ended early"))
            }
            Err(e) => return Err(http::parse_error(e, max_headers).into()),
        }
        let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version)
        else {
            return Err(RequestError::Malformed("incomplete request line"));
        };
        let mut request = Self {
            method: http::str_range(&head, method),
            target: http::str_range(&head, target),
            headers: Headers::from_parsed(&head, req.headers),
            head,
            offers: ServerOffers::default(),
        };
        // RFC 6455 §4.2.1, item 1 (and §4.1, item 2): HTTP/1.1 or higher.
        // httparse reads only HTTP/1.0 and HTTP/1.1.
        if version == 0 {
            return Err(RequestError::HttpVersion);
        }
        request.check()?;
        // RFC 6455 §4.2.1, items 8 and 9: the offers, read as over any
        // other transport.
        request.offers = ServerOffers::from_fields(&request.headers.fields())?;
        Ok(request)
    }

    /// The checks of RFC 6455 §4.2.1 ([`check_upgrade`]).
    fn check(&self) -> Result<(), RequestError> {
        check_upgrade(self.method(), &self.headers.fields())
    }

    fn str(&self, range: &Range<usize>) -> &str {
        // Method and target are ASCII: httparse accepts nothing else there.
        std::str::from_utf8(&self.head[range.clone()]).unwrap_or_default()
    }

    /// The method: always `GET` for a request that passed the checks.
    pub fn method(&self) -> &str {
        self.str(&self.method)
    }

    /// The request target as sent: usually origin-form, `/chat?room=1`; an
    /// absolute URI is allowed too (RFC 6455 §4.2.1, item 1).
    pub fn target(&self) -> &str {
        self.str(&self.target)
    }

    /// The target up to the first `?`.
    pub fn path(&self) -> &str {
        let target = self.target();
        target.split_once('?').map_or(target, |(path, _)| path)
    }

    /// The target after the first `?`, if it has one.
    pub fn query(&self) -> Option<&str> {
        self.target().split_once('?').map(|(_, query)| query)
    }

    /// Every header field, in order.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The value of the first header field called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// The `Host` header: the authority the client asked for.
    pub fn host(&self) -> &str {
        self.headers.get_str("Host").unwrap_or_default()
    }

    /// The `Origin` header, sent by every browser (RFC 6455 §4.2.1, item 7;
    /// §10.2). A server that serves browsers should check it and reject
    /// origins it does not trust, with 403.
    pub fn origin(&self) -> Option<&str> {
        self.headers.get_str("Origin")
    }

    /// The `Sec-WebSocket-Key` the response answers.
    pub fn key(&self) -> &str {
        http::trim_str(
            self.headers
                .get_str("Sec-WebSocket-Key")
                .unwrap_or_default(),
        )
    }

    /// The subprotocols offered, in the client's order of preference, from
    /// every `Sec-WebSocket-Protocol` line (RFC 6455 §11.3.4).
    pub fn subprotocols(&self) -> impl Iterator<Item = &str> + '_ {
        self.offers.subprotocols()
    }

    /// The raw value of every `Sec-WebSocket-Extensions` line, in order
    /// (RFC 6455 §9.1; several lines make one list).
    pub fn extensions(&self) -> impl Iterator<Item = &str> + '_ {
        self.offers.extensions()
    }

    /// The subprotocol and extension offers, as
    /// [`negotiate`](crate::handshake#negotiation-over-any-transport) reads
    /// them from any header list.
    pub fn offers(&self) -> &ServerOffers {
        &self.offers
    }
}

/// The checks of RFC 6455 §4.2.1 on a request's method and header fields,
/// in an order that gives the most useful answer: a request that is not a
/// WebSocket upgrade at all is told so before details of its WebSocket
/// headers. The offers are read by [`ServerOffers::from_fields`].
fn check_upgrade(method: &str, h: &Fields<'_>) -> Result<(), RequestError> {
    // RFC 6455 §4.2.1, item 1: the method is GET.
    if method != "GET" {
        return Err(RequestError::Method(escape(method.as_bytes())));
    }
    // RFC 6455 §4.2.1, item 2; RFC 9112 §3.2: exactly one Host.
    if h.single("Host")?.is_none() {
        return Err(RequestError::MissingHeader("Host"));
    }
    // RFC 6455 §4.2.1, item 3: Upgrade holds "websocket", any case.
    if h.count("Upgrade") == 0 {
        return Err(RequestError::MissingHeader("Upgrade"));
    }
    if !h.contains_token("Upgrade", "websocket") {
        return Err(RequestError::InvalidHeader {
            name: "Upgrade",
            reason: "it does not name websocket",
        });
    }
    // RFC 6455 §4.2.1, item 4: Connection holds the token "Upgrade", any case.
    h.require_connection_upgrade()?;
    // RFC 6455 §4.2.1, item 6; §4.2.2: another version earns a 426 that
    // lists ours (§4.4). It is checked before the key, whose form a
    // client of another version may not share.
    let versions: Vec<&[u8]> = h.tokens("Sec-WebSocket-Version").collect();
    if versions != [VERSION.as_bytes()] {
        let found = (h.count("Sec-WebSocket-Version") > 0).then(|| {
            let all: Vec<&[u8]> = h.get_all("Sec-WebSocket-Version").collect();
            escape(&all.join(&b", "[..]))
        });
        return Err(RequestError::UnsupportedVersion(found));
    }
    // RFC 6455 §4.2.1, item 5; §11.3.1: one key, base64 of 16 bytes.
    let Some(key) = h.single("Sec-WebSocket-Key")? else {
        return Err(RequestError::MissingHeader("Sec-WebSocket-Key"));
    };
    if !is_valid_key(key) {
        return Err(RequestError::InvalidHeader {
            name: "Sec-WebSocket-Key",
            reason: "it is not the base64 encoding of 16 bytes",
        });
    }
    // RFC 6455 §4.2.1, item 7; RFC 6454 §7: one Origin, ASCII.
    h.single("Origin")?;
    Ok(())
}

/// A client's HTTP/1.1 upgrade request given as its method and header
/// fields, by an HTTP stack that parsed the head itself (hyper, or any
/// server framework), that passed the checks of RFC 6455 §4.2.1: the same
/// checks, and the same negotiation, as [`ServerHandshake`](super::ServerHandshake).
///
/// ```
/// use wsproto::handshake::{Accept, UpgradeRequest};
/// use wsproto::Config;
///
/// let fields = [
///     ("host", "example.com"),
///     ("upgrade", "websocket"),
///     ("connection", "Upgrade"),
///     ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
///     ("sec-websocket-version", "13"),
/// ];
/// let request = UpgradeRequest::from_headers("GET", fields.iter().map(|(n, v)| (*n, v.as_bytes())))?;
/// let response = request.accept(&Accept::new(), &Config::default().deflate)?;
/// assert_eq!(response.status, 101);
/// assert!(response.fields.contains(&("Sec-WebSocket-Accept".into(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into())));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequest {
    key: String,
    host: String,
    origin: Option<String>,
    offers: ServerOffers,
}

impl UpgradeRequest {
    /// Checks a request from its method and header fields (names in any
    /// case), as [`ServerHandshake`](super::ServerHandshake) checks a head
    /// it read; each error has its [`RequestError::status`], and
    /// [`reject_fields`](crate::handshake::reject_fields) gives the fields
    /// its answer carries. The HTTP version is the stack's to check
    /// (RFC 6455 §4.2.1, item 1: HTTP/1.1 or higher).
    pub fn from_headers<'a, I>(method: &str, fields: I) -> Result<Self, RequestError>
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
    {
        let h = Fields::new(fields);
        check_upgrade(method, &h)?;
        let text = |name| h.single(name).ok().flatten().map(http::trim_str);
        Ok(Self {
            key: text("Sec-WebSocket-Key").unwrap_or_default().to_owned(),
            host: text("Host").unwrap_or_default().to_owned(),
            origin: text("Origin").map(str::to_owned),
            offers: ServerOffers::from_fields(&h)?,
        })
    }

    /// The `Sec-WebSocket-Key` the response answers.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The `Host` header.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The `Origin` header (RFC 6455 §10.2), if any.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The subprotocol and extension offers.
    pub fn offers(&self) -> &ServerOffers {
        &self.offers
    }

    /// Accepts the request: the 101's fields (RFC 6455 §4.2.2, item 5:
    /// `Upgrade`, `Connection`, `Sec-WebSocket-Accept`, the negotiation's
    /// answer, then `accept`'s extra headers), and what was agreed. Fails as
    /// [`ServerOffers::answer`] does.
    pub fn accept(
        &self,
        accept: &Accept,
        deflate: &DeflateConfig,
    ) -> Result<UpgradeResponse, BuildError> {
        let answer = self.offers.answer(accept, deflate)?;
        let fields = switching_protocols_fields(&self.key, &answer, accept)
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v))
            .collect();
        Ok(UpgradeResponse {
            status: 101,
            fields,
            negotiated: answer.into_negotiated(),
        })
    }
}

/// A server's 101 answer to an [`UpgradeRequest`] it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpgradeResponse {
    /// The status: 101 Switching Protocols.
    pub status: u16,
    /// The header fields, in their registered case.
    pub fields: Vec<(String, String)>,
    /// What was agreed.
    pub negotiated: Negotiated,
}

/// RFC 6455 §4.2.1, item 5: the key decodes (base64, RFC 4648 §4) to 16
/// bytes. 16 bytes encode to exactly 24 characters, two of them padding.
fn is_valid_key(key: &str) -> bool {
    use base64::Engine as _;
    let key = http::trim_str(key);
    key.len() == 24
        && base64::engine::general_purpose::STANDARD
            .decode(key)
            .is_ok_and(|k| k.len() == 16)
}
