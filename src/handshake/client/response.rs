//! The server's answer as a client reads it: the [`Response`], and the
//! checks of RFC 6455 §4.1 a 101 must pass. Another status is not checked:
//! it is handed to the caller to handle as HTTP says.

use std::ops::Range;

use bytes::Bytes;

use crate::connection::Negotiated;
use crate::handshake::accept_key;
use crate::handshake::error::ResponseError;
use crate::handshake::http::{self, Fields, Headers};
use crate::handshake::negotiate::ClientOffer;

/// A server's response to the opening handshake.
///
/// For a 101 that passed the checks of RFC 6455 §4.1 it comes with the
/// [`Connection`](crate::Connection) in
/// [`Outcome::Accepted`](super::Outcome::Accepted); for another status it is
/// [`Outcome::Rejected`](super::Outcome::Rejected), with the beginning of
/// its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    head: Bytes,
    status: u16,
    reason: Range<usize>,
    headers: Headers,
    body: Bytes,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase, as sent (may be empty).
    pub fn reason(&self) -> &str {
        std::str::from_utf8(&self.head[self.reason.clone()]).unwrap_or_default()
    }

    /// Every header field, in order.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The value of the first header field called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// The subprotocol the server chose (the _Subprotocol In Use_, RFC 6455
    /// §4.1), if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.headers
            .get_str("Sec-WebSocket-Protocol")
            .map(http::trim_str)
    }

    /// The server's `Sec-WebSocket-Extensions` answer as sent (the
    /// _Extensions In Use_, RFC 6455 §4.1), if any. What it agreed, typed,
    /// is on the connection: [`Connection::extensions`](crate::Connection::extensions)
    /// and `Connection::deflate`.
    pub fn extensions(&self) -> Option<&str> {
        self.headers
            .get_str("Sec-WebSocket-Extensions")
            .map(http::trim_str)
    }

    /// For a status other than 101: the beginning of the body, as much of it
    /// as had been read with the head (at most
    /// [`Config::max_handshake_size`](crate::Config::max_handshake_size),
    /// and at most its `Content-Length`). Empty for a 101, whose following
    /// bytes go to the [`Connection`](crate::Connection).
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

/// A response read and, for a 101, checked.
#[derive(Debug)]
pub(super) enum Checked {
    /// A 101 that passed the checks, and what it agreed.
    Accepted(Response, Negotiated),
    /// Another status.
    Rejected(Response),
}

/// What the client sent, to check the answer against.
pub(super) struct Sent<'a> {
    /// The `Sec-WebSocket-Key`.
    pub(super) key: &'a str,
    pub(super) offer: &'a ClientOffer,
    pub(super) max_headers: usize,
    pub(super) max_body: usize,
}

/// Parses a complete head (`after` is what followed it) and checks it.
pub(super) fn read(head: Bytes, after: &[u8], sent: &Sent<'_>) -> Result<Checked, ResponseError> {
    let mut parsed = vec![httparse::EMPTY_HEADER; sent.max_headers];
    let mut res = httparse::Response::new(&mut parsed);
    match res.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(ResponseError::Malformed("the head ended early"))
        }
        Err(e) => return Err(http::parse_error(e, sent.max_headers).into()),
    }
    let (Some(version), Some(status)) = (res.version, res.code) else {
        return Err(ResponseError::Malformed("incomplete status line"));
    };
    let reason = http::str_range(&head, res.reason.unwrap_or_default());
    let headers = Headers::from_parsed(&head, res.headers);
    let mut response = Response {
        head,
        status,
        reason,
        headers,
        body: Bytes::new(),
    };

    // RFC 6455 §4.1, response check 1: another status is handled as HTTP
    // says (a 401 to authenticate, a 3xx to redirect): give it to the
    // caller, with the body as far as it was read.
    if status != 101 {
        let declared = response
            .headers
            .get_str("Content-Length")
            .and_then(|n| http::trim_str(n).parse::<usize>().ok());
        let len = after
            .len()
            .min(sent.max_body)
            .min(declared.unwrap_or(usize::MAX));
        response.body = Bytes::copy_from_slice(&after[..len]);
        return Ok(Checked::Rejected(response));
    }
    // A 101 does not exist in HTTP/1.0.
    if version == 0 {
        return Err(ResponseError::HttpVersion);
    }
    let negotiated = check(&response, sent)?;
    Ok(Checked::Accepted(response, negotiated))
}

/// The checks of RFC 6455 §4.1 on a 101 response.
fn check(response: &Response, sent: &Sent<'_>) -> Result<Negotiated, ResponseError> {
    check_fields(&response.headers.fields(), sent.key, sent.offer)
}

/// The checks of RFC 6455 §4.1 on a 101's header fields.
fn check_fields(
    h: &Fields<'_>,
    key: &str,
    offer: &ClientOffer,
) -> Result<Negotiated, ResponseError> {
    // Check 2: Upgrade is "websocket", any case.
    if h.count("Upgrade") == 0 {
        return Err(ResponseError::MissingHeader("Upgrade"));
    }
    let upgrade: Vec<&[u8]> = h.tokens("Upgrade").collect();
    if !matches!(&upgrade[..], [u] if u.eq_ignore_ascii_case(b"websocket")) {
        return Err(ResponseError::InvalidHeader {
            name: "Upgrade",
            reason: "it is not websocket",
        });
    }
    // Check 3: Connection holds the token "Upgrade", any case.
    h.require_connection_upgrade()?;
    // Check 4, and §11.3.3: one Sec-WebSocket-Accept, matching the key,
    // leading and trailing whitespace ignored.
    let Some(accept) = h.single("Sec-WebSocket-Accept")? else {
        return Err(ResponseError::MissingHeader("Sec-WebSocket-Accept"));
    };
    if http::trim_str(accept) != accept_key(key.as_bytes()) {
        return Err(ResponseError::AcceptMismatch);
    }
    // Checks 5 and 6: extensions and subprotocol, as over any transport.
    offer.check_fields(h)
}

/// Checks a server's HTTP/1.1 answer given as its status and header fields
/// (names in any case), for an HTTP stack that read the head itself:
/// `Ok(Some(..))` with what was agreed for a 101 that passes the checks of
/// RFC 6455 §4.1 against the `key` and `offer` sent, the same checks as
/// [`ClientHandshake`](super::ClientHandshake) makes; `Ok(None)` for any
/// other status, which is handled as HTTP says. The HTTP version is the
/// stack's to check (a 101 does not exist in HTTP/1.0). Over HTTP/2, use
/// [`h2::check_response`](crate::handshake::h2::check_response).
pub fn check_response<'a, I>(
    status: u16,
    fields: I,
    key: &str,
    offer: &ClientOffer,
) -> Result<Option<Negotiated>, ResponseError>
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
{
    if status != 101 {
        return Ok(None);
    }
    check_fields(&Fields::new(fields), key, offer).map(Some)
}
