//! What a server writes back: the 101 that accepts a request (RFC 6455
//! §4.2.2, item 5), built from the application's [`Accept`], or a
//! rejection.

use bytes::Bytes;

use crate::extensions::CustomExtension;
use crate::handshake::error::{BuildError, RequestError};
use crate::handshake::http::{self, escape, write_header};
use crate::handshake::negotiate::{Answer, DeflateAnswer};
use crate::handshake::{accept_key, check_extra_header, VERSION};

use super::ServerHandshake;

/// Headers a server's 101 response sets itself, with what to use instead.
const ACCEPT_RESERVED: &[(&str, &str)] = &[
    ("upgrade", "the handshake sets it"),
    ("connection", "the handshake sets it"),
    ("sec-websocket-accept", "the handshake computes it"),
    ("sec-websocket-protocol", "use Accept::subprotocol"),
    (
        "sec-websocket-extensions",
        "use Accept::deflate and Accept::extension",
    ),
    ("sec-websocket-version", "a 101 response does not carry it"),
    // RFC 9110 §8.6: no Content-Length in a 1xx response.
    ("content-length", "a 101 response has no body"),
    ("transfer-encoding", "a 101 response has no body"),
];

/// Headers every rejection sets itself.
const REJECT_RESERVED: &[(&str, &str)] = &[
    ("content-length", "it is computed from the body"),
    ("transfer-encoding", "the body is sent with Content-Length"),
    ("connection", "a rejection always closes the connection"),
];

/// How a server accepts a request: the subprotocol it chose, its answer to
/// the extension offers, and any extra headers (`Set-Cookie`, ...).
///
/// Extensions are typed choices: permessage-deflate is negotiated from
/// [`Config::deflate`](crate::Config::deflate) unless
/// [`deflate`](Self::deflate) says otherwise, so an agreement on it always
/// turns the connection's codec on; any other extension is a
/// [`CustomExtension`] the application runs itself.
///
/// ```
/// use wsproto::handshake::{Accept, DeflateAnswer};
///
/// let accept = Accept::new()
///     .subprotocol("chat")?
///     .deflate(DeflateAnswer::Decline)
///     .header("Set-Cookie", "session=1; HttpOnly")?;
/// # Ok::<(), wsproto::handshake::BuildError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accept {
    pub(crate) subprotocol: Option<String>,
    pub(crate) deflate: DeflateAnswer,
    pub(crate) extensions: Vec<CustomExtension>,
    headers: Vec<(String, String)>,
}

impl Accept {
    /// Accept with no subprotocol, permessage-deflate as the configuration
    /// negotiates it, no other extension and no extra headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The subprotocol chosen from those the client offered (RFC 6455
    /// §4.2.2, item 4). Must be a token; whether it was offered is checked
    /// by [`ServerHandshake::accept`].
    pub fn subprotocol(mut self, name: &str) -> Result<Self, BuildError> {
        if !http::is_token(name.as_bytes()) {
            return Err(BuildError::InvalidSubprotocol(escape(name.as_bytes())));
        }
        self.subprotocol = Some(name.to_owned());
        Ok(self)
    }

    /// The answer to the permessage-deflate offers (RFC 7692 §5): negotiate
    /// (the default), decline, or accept with given parameters.
    #[must_use]
    pub fn deflate(mut self, answer: DeflateAnswer) -> Self {
        self.deflate = answer;
        self
    }

    /// Accepts an extension the client offered and the application runs
    /// itself, with the parameters to answer; listed after
    /// permessage-deflate's answer. Whether the client offered an extension
    /// of that name is checked by [`ServerHandshake::accept`] (RFC 6455 §9.1).
    #[must_use]
    pub fn extension(mut self, extension: CustomExtension) -> Self {
        self.extensions.push(extension);
        self
    }

    /// An extra header for the 101 response. Names must be tokens and
    /// values free of control characters; the headers the handshake sets
    /// (Upgrade, Connection, Sec-WebSocket-*, Content-Length,
    /// Transfer-Encoding) are refused.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, BuildError> {
        check_extra_header(name, value, ACCEPT_RESERVED)?;
        self.headers.push((name.to_owned(), value.to_owned()));
        Ok(self)
    }

    /// The extra headers, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// The 101 response's fields (RFC 6455 §4.2.2, item 5) for the request
/// with `key`.
pub(super) fn switching_protocols_fields<'a>(
    key: &str,
    answer: &'a Answer,
    accept: &'a Accept,
) -> Vec<(&'a str, String)> {
    let mut fields = vec![
        ("Upgrade", "websocket".to_owned()),
        ("Connection", "Upgrade".to_owned()),
        ("Sec-WebSocket-Accept", accept_key(key.as_bytes())),
    ];
    fields.extend(answer.headers().iter().map(|(n, v)| (*n, v.clone())));
    fields.extend(accept.headers().map(|(n, v)| (n, v.to_owned())));
    fields
}

/// The 101 response (RFC 6455 §4.2.2, item 5) to the request with `key`.
pub(super) fn switching_protocols(key: &str, answer: &Answer, accept: &Accept) -> Bytes {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    for (name, value) in switching_protocols_fields(key, answer, accept) {
        write_header(&mut out, name, value.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    Bytes::from(out)
}

/// The fields a refusal of `error` carries besides its status
/// ([`RequestError::status`]), for an HTTP stack that writes the response
/// itself: `Upgrade: websocket` and `Sec-WebSocket-Version: 13` with a 426
/// (RFC 6455 §4.2.2, §4.4; RFC 9110 §15.5.22), `Allow: GET` with a 405
/// (RFC 9110 §15.5.6). [`ServerHandshake::reject_error`] writes the same.
/// Over HTTP/2, use [`h2::reject_fields`](crate::handshake::h2::reject_fields).
pub fn reject_fields(error: &RequestError) -> Vec<(&'static str, &'static str)> {
    match error.status() {
        426 => vec![("Upgrade", "websocket"), ("Sec-WebSocket-Version", VERSION)],
        405 => vec![("Allow", "GET")],
        _ => Vec::new(),
    }
}

impl ServerHandshake {
    /// The response to a request that failed its checks: the status of
    /// [`RequestError::status`] and a `text/plain` body naming the problem,
    /// e.g. "missing Sec-WebSocket-Key header".
    ///
    /// A 426 carries `Sec-WebSocket-Version: 13` (RFC 6455 §4.2.2, §4.4) and
    /// `Upgrade: websocket` (RFC 9110 §15.5.22); a 405 carries `Allow: GET`
    /// (RFC 9110 §15.5.6). Like every rejection it has `Content-Length` and
    /// `Connection: close`; close the transport after writing it (after a
    /// lingering close, as `blocking` does, so the peer reads it). The body
    /// holds no raw peer bytes: the error's text is escaped.
    #[must_use]
    pub fn reject_error(error: &RequestError) -> Bytes {
        let status = error.status();
        let body = format!("{error}\n");
        let extra = reject_fields(error);
        // RFC 9110 §7.8: whoever sends Upgrade names it in Connection.
        let connection = if status == 426 {
            "Upgrade, close"
        } else {
            "close"
        };
        rejection(status, &extra, connection, body.as_bytes())
    }

    /// A rejection with any status in 200..=599 the application chooses
    /// (401 or 403 for a missing credential or a disallowed Origin, 404 for
    /// an unknown path, 3xx with `Location` to redirect), its own `headers`
    /// and `body`.
    ///
    /// `Content-Length` and `Connection: close` are added, and, for a
    /// non-empty body, `Content-Type: text/plain; charset=utf-8` unless
    /// `headers` has a `Content-Type`. Setting `Content-Length`,
    /// `Connection` or `Transfer-Encoding` is an error, as is a name that is
    /// not a token or a value with a control character such as CR or LF.
    pub fn reject(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Result<Bytes, BuildError> {
        if !(200..=599).contains(&status) {
            return Err(BuildError::InvalidStatus(status));
        }
        for (name, value) in headers {
            check_extra_header(name, value, REJECT_RESERVED)?;
        }
        Ok(rejection(status, headers, "close", body))
    }
}

/// Writes a complete rejection response.
fn rejection(status: u16, headers: &[(&str, &str)], connection: &str, body: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(128 + body.len());
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(http::reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    let typed = headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
    if !body.is_empty() && !typed {
        write_header(&mut out, "Content-Type", b"text/plain; charset=utf-8");
    }
    for (name, value) in headers {
        write_header(&mut out, name, value.as_bytes());
    }
    write_header(
        &mut out,
        "Content-Length",
        body.len().to_string().as_bytes(),
    );
    write_header(&mut out, "Connection", connection.as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Bytes::from(out)
}

/// The answer to a request the application refuses: any status, headers
/// and body, for the adapters' `accept_with` callbacks (the blocking and
/// the tokio one take the same type). The response is made by
/// [`ServerHandshake::reject`], whose rules it follows.
#[derive(Debug, Clone)]
pub struct Rejection {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Rejection {
    /// A rejection with `status` (401 or 403 for failed authentication or a
    /// disallowed Origin, 404 for an unknown path, for example) and an
    /// empty body.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header, such as `WWW-Authenticate`.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body, sent as `text/plain; charset=utf-8` unless a
    /// `Content-Type` header says otherwise.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The response's bytes ([`ServerHandshake::reject`]).
    pub fn to_response(&self) -> Result<Bytes, BuildError> {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        ServerHandshake::reject(self.status, &headers, &self.body)
    }
}

impl From<BuildError> for Rejection {
    fn from(_: BuildError) -> Self {
        Self::new(500)
    }
}
