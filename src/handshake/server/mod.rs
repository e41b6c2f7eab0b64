//! The server's side of the opening handshake: read and check the client's
//! request (RFC 6455 §4.2.1, in `request.rs`), then answer 101 (§4.2.2) or
//! reject it.

mod request;

use bytes::{Bytes, BytesMut};

use crate::config::Config;
use crate::connection::{Connection, Role};
use crate::entropy::{Entropy, OsEntropy};
use crate::extensions::NegotiatedDeflate;
use crate::handshake::error::{BuildError, HandshakeError};
use crate::handshake::http::{self, escape, write_header, HeadReader};
use crate::handshake::{accept_key, HandshakeLimits, VERSION};

pub use request::Request;

/// Headers a server's 101 response sets itself, with what to use instead.
const ACCEPT_RESERVED: &[(&str, &str)] = &[
    ("upgrade", "the handshake sets it"),
    ("connection", "the handshake sets it"),
    ("sec-websocket-accept", "the handshake computes it"),
    ("sec-websocket-protocol", "use Accept::subprotocol"),
    ("sec-websocket-extensions", "use Accept::extensions"),
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

/// The server's side of the opening handshake.
///
/// Feed it what the transport reads with [`handle_read`](Self::handle_read)
/// and call [`poll_request`](Self::poll_request) until it returns the
/// request. Then either [`accept`](Self::accept) it, which gives the 101
/// response to write and the [`Connection`], or write a rejection:
/// [`reject_error`](Self::reject_error) for a request that failed its checks,
/// [`reject`](Self::reject) for one the application refuses (a bad Origin, a
/// missing credential), then close the transport.
///
/// ```
/// use wsproto::handshake::{Accept, ServerHandshake};
/// use wsproto::Config;
///
/// let mut server = ServerHandshake::new(Config::default());
/// server.handle_read(
///     b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
///       Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///       Sec-WebSocket-Version: 13\r\n\r\n",
/// );
/// match server.poll_request() {
///     Ok(Some(request)) if request.path() == "/chat" => {
///         let (response, _conn) = server.accept(Accept::new()).unwrap();
///         assert!(response.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
///     }
///     Ok(Some(_)) => { /* write ServerHandshake::reject(404, &[], b"") */ }
///     Ok(None) => { /* read more */ }
///     Err(e) => { /* write ServerHandshake::reject_error(&e), then close */ }
/// }
/// ```
#[derive(Debug)]
pub struct ServerHandshake {
    config: Config,
    limits: HandshakeLimits,
    entropy: Box<dyn Entropy>,
    reader: HeadReader,
    state: State,
    timer: super::HandshakeTimer,
    /// The permessage-deflate parameters agreed from the client's offers,
    /// and the answer to send.
    deflate: Option<(NegotiatedDeflate, String)>,
}

#[derive(Debug)]
enum State {
    /// The head has not ended yet.
    Reading,
    /// The head was read and checked; `leftover` followed it.
    Read {
        request: Result<Request, HandshakeError>,
        leftover: BytesMut,
    },
}

impl ServerHandshake {
    /// A handshake with the default [`HandshakeLimits`]; `config` is for the
    /// [`Connection`] it hands over.
    pub fn new(config: Config) -> Self {
        Self::with_entropy(config, Box::new(OsEntropy::new()))
    }

    /// A handshake whose [`Connection`] draws randomness from `entropy`.
    /// A server never masks (RFC 6455 §5.1), so this only matters for tests
    /// that want every source seeded.
    pub fn with_entropy(config: Config, entropy: Box<dyn Entropy>) -> Self {
        Self {
            timer: super::HandshakeTimer::new(config.handshake_timeout),
            deflate: None,
            config,
            limits: HandshakeLimits::default(),
            entropy,
            reader: HeadReader::default(),
            state: State::Reading,
        }
    }

    /// Replaces the limits on the request head.
    pub fn with_limits(mut self, limits: HandshakeLimits) -> Self {
        self.limits = limits;
        self
    }

    // ----- inputs -----

    /// Takes bytes read from the transport.
    ///
    /// They are scanned once for the end of the head; once it is there the
    /// request is parsed and checked. Bytes after the head are kept for the
    /// [`Connection`]. After a failed request, further bytes are dropped.
    pub fn handle_read(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Read {
                request: Ok(_),
                leftover,
            } => leftover.extend_from_slice(data),
            State::Read {
                request: Err(_), ..
            } => {}
            State::Reading => match self
                .reader
                .handle_read(data, self.limits.get_max_head_size())
            {
                Ok(None) => {}
                Ok(Some(end)) => {
                    let (head, leftover) = self.reader.take(end);
                    let request =
                        Request::parse(head, self.limits.get_max_headers()).and_then(|request| {
                            self.deflate = negotiate_deflate(&self.config, &request)?;
                            Ok(request)
                        });
                    self.state = State::Read { request, leftover };
                }
                Err(e) => {
                    // Drop the oversized buffer.
                    self.reader = HeadReader::default();
                    self.state = State::Read {
                        request: Err(e),
                        leftover: BytesMut::new(),
                    };
                }
            },
        }
    }

    /// Input: the time is now `now`. The first call starts the handshake
    /// timer ([`Config::handshake_timeout`]); once it expires before the
    /// request is complete, [`poll_request`](Self::poll_request) fails with
    /// [`HandshakeError::Timeout`].
    pub fn handle_timeout(&mut self, now: std::time::Instant) {
        if matches!(self.state, State::Reading) {
            self.timer.handle(now);
        }
    }

    // ----- outputs -----

    /// Output: when [`handle_timeout`](Self::handle_timeout) has work to do.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<std::time::Instant> {
        match self.state {
            State::Reading => self.timer.poll(),
            State::Read { .. } => None,
        }
    }

    /// The client's request once it has been read in full and passed the
    /// checks of RFC 6455 §4.2.1; `Ok(None)` while more bytes are needed.
    ///
    /// Once it returns a request or an error, it returns the same each time.
    /// On an error, write [`reject_error`](Self::reject_error) and close.
    pub fn poll_request(&mut self) -> Result<Option<Request>, HandshakeError> {
        match &self.state {
            State::Reading if self.timer.expired => Err(HandshakeError::Timeout),
            State::Reading => Ok(None),
            State::Read { request, .. } => request.clone().map(Some),
        }
    }

    // ----- commands -----

    /// Accepts the request: returns the 101 response to write and the
    /// server [`Connection`], which has already been fed whatever followed
    /// the request head.
    ///
    /// Fails, without writing anything, if no valid request was read, if the
    /// subprotocol was not offered by the client (RFC 6455 §4.2.2, item 4),
    /// or if extensions are answered to a client that offered none.
    pub fn accept(self, accept: Accept) -> Result<(Bytes, Connection), BuildError> {
        let State::Read {
            request: Ok(request),
            leftover,
        } = self.state
        else {
            return Err(BuildError::NoRequest);
        };
        // RFC 6455 §4.2.2, item 4: the subprotocol MUST be one the client offered.
        if let Some(chosen) = &accept.subprotocol {
            if !request.subprotocols().any(|p| p == chosen) {
                return Err(BuildError::SubprotocolNotOffered(chosen.clone()));
            }
        }
        // RFC 6455 §9.1: extensions not listed by the client MUST NOT be listed.
        if accept.extensions.is_some() && request.extensions().next().is_none() {
            return Err(BuildError::ExtensionsNotOffered);
        }

        // RFC 6455 §4.2.2, item 5.
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
        write_header(&mut out, "Upgrade", b"websocket");
        write_header(&mut out, "Connection", b"Upgrade");
        write_header(
            &mut out,
            "Sec-WebSocket-Accept",
            accept_key(request.key().as_bytes()).as_bytes(),
        );
        if let Some(p) = &accept.subprotocol {
            write_header(&mut out, "Sec-WebSocket-Protocol", p.as_bytes());
        }
        // An explicit answer replaces the automatic permessage-deflate one.
        match (&accept.extensions, &self.deflate) {
            (Some(e), _) | (None, Some((_, e))) => {
                write_header(&mut out, "Sec-WebSocket-Extensions", e.as_bytes());
            }
            (None, None) => {}
        }
        for (name, value) in &accept.headers {
            write_header(&mut out, name, value.as_bytes());
        }
        out.extend_from_slice(b"\r\n");

        let mut conn = Connection::with_entropy(Role::Server, self.config, self.entropy);
        #[cfg(feature = "deflate")]
        if let (Some((negotiated, _)), None) = (&self.deflate, &accept.extensions) {
            let config = conn.config().deflate.clone();
            conn.enable_deflate(*negotiated, &config);
        }
        if !leftover.is_empty() {
            conn.handle_read(&leftover);
        }
        Ok((Bytes::from(out), conn))
    }

    /// The response to a request that failed its checks: the status of
    /// [`HandshakeError::status`] (400 for an error that has none) and a
    /// `text/plain` body naming the problem, e.g. "missing Sec-WebSocket-Key
    /// header".
    ///
    /// A 426 carries `Sec-WebSocket-Version: 13` (RFC 6455 §4.2.2, §4.4) and
    /// `Upgrade: websocket` (RFC 9110 §15.5.22); a 405 carries `Allow: GET`
    /// (RFC 9110 §15.5.6). Like every rejection it has `Content-Length` and
    /// `Connection: close`; close the transport after writing it. The body
    /// holds no raw peer bytes: the error's text is escaped.
    pub fn reject_error(error: &HandshakeError) -> Bytes {
        let status = error.status().unwrap_or(400);
        let body = format!("{error}\n");
        let (extra, connection): (&[(&str, &str)], &str) = match status {
            // RFC 9110 §7.8: whoever sends Upgrade names it in Connection.
            426 => (
                &[("Upgrade", "websocket"), ("Sec-WebSocket-Version", VERSION)],
                "Upgrade, close",
            ),
            405 => (&[("Allow", "GET")], "close"),
            _ => (&[], "close"),
        };
        let mut headers = vec![("Content-Type", "text/plain; charset=utf-8")];
        headers.extend_from_slice(extra);
        rejection(status, &headers, connection, body.as_bytes())
    }

    /// A rejection with any status in 200..=599 the application chooses
    /// (401 or 403 for a missing credential or a disallowed Origin, 404 for
    /// an unknown path, 3xx with `Location` to redirect), its own `headers`
    /// and `body`.
    ///
    /// `Content-Length` and `Connection: close` are added; setting them (or
    /// `Transfer-Encoding`) is an error, as is a name that is not a token or
    /// a value with a control character such as CR or LF.
    pub fn reject(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Result<Bytes, BuildError> {
        if !(200..=599).contains(&status) {
            return Err(BuildError::InvalidStatus(status));
        }
        for (name, value) in headers {
            http::check_extra_header(name, value, REJECT_RESERVED)?;
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

/// RFC 7692 §5, §7.1: the first permessage-deflate offer this server can
/// honour, if the configuration enables it. A header that breaks the
/// extension grammar fails the handshake (RFC 6455 §9.1).
fn negotiate_deflate(
    config: &Config,
    request: &Request,
) -> Result<Option<(NegotiatedDeflate, String)>, HandshakeError> {
    let deflate = &config.deflate;
    if !cfg!(feature = "deflate") || !deflate.get_enabled() {
        return Ok(None);
    }
    let offers: Vec<&str> = request.extensions().collect();
    if offers.is_empty() {
        return Ok(None);
    }
    Ok(deflate.negotiate(&offers)?)
}

/// How a server accepts a request: the subprotocol it chose, its answer to
/// the extension offers, and any extra headers (`Set-Cookie`, ...).
///
/// ```
/// use wsproto::handshake::Accept;
///
/// let accept = Accept::new()
///     .subprotocol("chat")?
///     .header("Set-Cookie", "session=1; HttpOnly")?;
/// # Ok::<(), wsproto::handshake::BuildError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accept {
    subprotocol: Option<String>,
    extensions: Option<String>,
    headers: Vec<(String, String)>,
}

impl Accept {
    /// Accept with no subprotocol, no extensions and no extra headers.
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

    /// The `Sec-WebSocket-Extensions` answer, as written (RFC 6455 §9.1).
    /// Only a client that offered extensions may be answered; which ones
    /// is for the extension negotiation to get right.
    pub fn extensions(mut self, answer: &str) -> Result<Self, BuildError> {
        if !http::is_field_value(answer) {
            return Err(BuildError::InvalidHeaderValue(
                "Sec-WebSocket-Extensions".into(),
            ));
        }
        self.extensions = Some(answer.to_owned());
        Ok(self)
    }

    /// An extra header for the 101 response. Names must be tokens and
    /// values free of control characters; the headers the handshake sets
    /// (Upgrade, Connection, Sec-WebSocket-*, Content-Length,
    /// Transfer-Encoding) are refused.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, BuildError> {
        http::check_extra_header(name, value, ACCEPT_RESERVED)?;
        self.headers.push((name.to_owned(), value.to_owned()));
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;
    use crate::handshake::Headers;
    use crate::{Event, Message};

    const REQUEST: &str = "GET /chat?room=1 HTTP/1.1\r\n\
        Host: server.example.com\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    fn read(request: &str) -> Result<Option<Request>, HandshakeError> {
        let mut server = ServerHandshake::new(Config::default());
        server.handle_read(request.as_bytes());
        server.poll_request()
    }

    fn without(header: &str) -> String {
        REQUEST
            .split_inclusive("\r\n")
            .filter(|line| !line.starts_with(header))
            .collect()
    }

    fn replace(header: &str, line: &str) -> String {
        REQUEST
            .split_inclusive("\r\n")
            .map(|l| if l.starts_with(header) { line } else { l })
            .collect()
    }

    #[test]
    fn server_reads_rfc6455_section_1_3_request() {
        let request = read(REQUEST).unwrap().unwrap();
        assert_eq!(request.method(), "GET");
        assert_eq!(request.target(), "/chat?room=1");
        assert_eq!(request.path(), "/chat");
        assert_eq!(request.query(), Some("room=1"));
        assert_eq!(request.host(), "server.example.com");
        assert_eq!(request.origin(), Some("http://example.com"));
        assert_eq!(request.key(), "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(
            request.subprotocols().collect::<Vec<_>>(),
            ["chat", "superchat"]
        );
        assert_eq!(request.extensions().count(), 0);
        assert_eq!(request.headers().len(), 7);
        assert_eq!(request.header("upgrade"), Some(&b"websocket"[..]));
    }

    #[test]
    fn server_answers_rfc6455_section_1_3_accept_key() {
        let mut server = ServerHandshake::new(Config::default());
        server.handle_read(REQUEST.as_bytes());
        let (response, conn) = server
            .accept(Accept::new().subprotocol("chat").unwrap())
            .unwrap();
        assert_eq!(
            &response[..],
            b"HTTP/1.1 101 Switching Protocols\r\n\
              Upgrade: websocket\r\n\
              Connection: Upgrade\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
              Sec-WebSocket-Protocol: chat\r\n\r\n"
        );
        assert_eq!(conn.role(), Role::Server);
    }

    #[test]
    fn server_needs_more_bytes_before_the_blank_line() {
        assert_eq!(read(&REQUEST[..REQUEST.len() - 2]), Ok(None));
    }

    #[test]
    fn server_reads_request_fed_one_byte_at_a_time() {
        let mut server = ServerHandshake::new(Config::default());
        for b in REQUEST.as_bytes() {
            assert_eq!(server.poll_request(), Ok(None));
            server.handle_read(std::slice::from_ref(b));
        }
        assert_eq!(server.poll_request(), read(REQUEST));
    }

    #[test]
    fn server_hands_bytes_after_the_head_to_the_connection() {
        let mut server = ServerHandshake::new(Config::default());
        // RFC 6455 §5.7: a masked text frame "Hello", in the same read.
        let mut input = REQUEST.as_bytes().to_vec();
        input.extend_from_slice(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f]);
        server.handle_read(&input);
        assert!(server.poll_request().unwrap().is_some());
        // And the rest of the frame in a later read, before accepting.
        server.handle_read(&[0x9f, 0x4d, 0x51, 0x58]);
        let (_, mut conn) = server.accept(Accept::new()).unwrap();
        match conn.poll_event() {
            Some(Event::Message(Message::Text(text))) => assert_eq!(&*text, "Hello"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn server_rejects_post_with_405() {
        let err = read(&REQUEST.replacen("GET", "POST", 1)).unwrap_err();
        assert_eq!(err, HandshakeError::Method("POST".into()));
        assert_eq!(err.status(), Some(405));
        let response = ServerHandshake::reject_error(&err);
        assert!(response.starts_with(b"HTTP/1.1 405 Method Not Allowed\r\n"));
        assert!(contains(&response, b"\r\nAllow: GET\r\n"));
    }

    #[test]
    fn server_rejects_http_1_0_with_400() {
        let err = read(&REQUEST.replacen("HTTP/1.1", "HTTP/1.0", 1)).unwrap_err();
        assert_eq!(err, HandshakeError::HttpVersion);
        assert_eq!(err.status(), Some(400));
    }

    #[test]
    fn server_rejects_http_2_request_line_as_malformed() {
        let err = read(&REQUEST.replacen("HTTP/1.1", "HTTP/2.0", 1)).unwrap_err();
        assert_eq!(err, HandshakeError::Malformed("invalid HTTP version"));
        assert_eq!(err.status(), Some(400));
    }

    #[test]
    fn server_rejects_missing_host_with_400() {
        let err = read(&without("Host")).unwrap_err();
        assert_eq!(err, HandshakeError::MissingHeader("Host"));
        assert_eq!(err.status(), Some(400));
    }

    #[test]
    fn server_rejects_two_hosts() {
        let twice = REQUEST.replacen("Host: server.example.com\r\n", "Host: a\r\nHost: b\r\n", 1);
        assert_eq!(read(&twice), Err(HandshakeError::DuplicateHeader("Host")));
    }

    #[test]
    fn server_rejects_missing_upgrade_with_400() {
        let err = read(&without("Upgrade")).unwrap_err();
        assert_eq!(err, HandshakeError::MissingHeader("Upgrade"));
        assert_eq!(err.status(), Some(400));
    }

    #[test]
    fn server_rejects_upgrade_to_another_protocol() {
        let err = read(&replace("Upgrade", "Upgrade: h2c\r\n")).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::InvalidHeader {
                name: "Upgrade",
                ..
            }
        ));
    }

    #[test]
    fn server_accepts_upgrade_in_any_case() {
        assert!(read(&replace("Upgrade", "Upgrade: WebSocket\r\n"))
            .unwrap()
            .is_some());
    }

    #[test]
    fn server_rejects_missing_connection_with_400() {
        let err = read(&without("Connection")).unwrap_err();
        assert_eq!(err, HandshakeError::MissingHeader("Connection"));
    }

    #[test]
    fn server_rejects_connection_without_upgrade_token() {
        let err = read(&replace("Connection", "Connection: keep-alive\r\n")).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::InvalidHeader {
                name: "Connection",
                ..
            }
        ));
    }

    #[test]
    fn server_accepts_connection_keep_alive_upgrade() {
        let request = replace("Connection", "Connection: keep-alive, Upgrade\r\n");
        assert!(read(&request).unwrap().is_some());
        let request = replace(
            "Connection",
            "connection: keep-alive\r\nConnection: upgrade\r\n",
        );
        assert!(read(&request).unwrap().is_some());
    }

    #[test]
    fn server_rejects_missing_key_with_400() {
        let err = read(&without("Sec-WebSocket-Key")).unwrap_err();
        assert_eq!(err, HandshakeError::MissingHeader("Sec-WebSocket-Key"));
        assert_eq!(err.status(), Some(400));
        let response = ServerHandshake::reject_error(&err);
        assert!(response.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
        assert!(contains(&response, b"missing Sec-WebSocket-Key header"));
    }

    #[test]
    fn server_rejects_key_that_is_not_16_bytes() {
        for key in [
            "dGhlIHNhbXBsZSBub25jZQ",
            "dGhlIHNhbXBsZSBub25jZXg=",
            "!!!!!!!!!!!!!!!!!!!!!!==",
            "",
        ] {
            let line = format!("Sec-WebSocket-Key: {key}\r\n");
            let err = read(&replace("Sec-WebSocket-Key", &line)).unwrap_err();
            assert!(
                matches!(
                    err,
                    HandshakeError::InvalidHeader {
                        name: "Sec-WebSocket-Key",
                        ..
                    }
                ),
                "{key}: {err}"
            );
        }
    }

    #[test]
    fn server_rejects_two_keys() {
        let request = replace(
            "Sec-WebSocket-Key",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
        );
        assert_eq!(
            read(&request),
            Err(HandshakeError::DuplicateHeader("Sec-WebSocket-Key"))
        );
    }

    #[test]
    fn server_rejects_missing_version_with_426() {
        let err = read(&without("Sec-WebSocket-Version")).unwrap_err();
        assert_eq!(err, HandshakeError::UnsupportedVersion(None));
        assert_eq!(err.status(), Some(426));
        let response = ServerHandshake::reject_error(&err);
        assert!(response.starts_with(b"HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(contains(&response, b"\r\nSec-WebSocket-Version: 13\r\n"));
        assert!(contains(&response, b"\r\nUpgrade: websocket\r\n"));
    }

    #[test]
    fn server_rejects_other_version_with_426() {
        let err = read(&replace(
            "Sec-WebSocket-Version",
            "Sec-WebSocket-Version: 8\r\n",
        ))
        .unwrap_err();
        assert_eq!(err, HandshakeError::UnsupportedVersion(Some("8".into())));
        assert_eq!(err.status(), Some(426));
    }

    #[test]
    fn server_rejects_version_list_with_426() {
        let request = replace("Sec-WebSocket-Version", "Sec-WebSocket-Version: 13, 8\r\n");
        assert_eq!(read(&request).unwrap_err().status(), Some(426));
    }

    #[test]
    fn server_merges_repeated_subprotocol_lines() {
        let request = replace(
            "Sec-WebSocket-Protocol",
            "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: superchat, v2\r\n",
        );
        let request = read(&request).unwrap().unwrap();
        assert_eq!(
            request.subprotocols().collect::<Vec<_>>(),
            ["chat", "superchat", "v2"]
        );
    }

    #[test]
    fn server_rejects_subprotocol_that_is_not_a_token() {
        let request = replace("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: a/b\r\n");
        let err = read(&request).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::InvalidHeader {
                name: "Sec-WebSocket-Protocol",
                ..
            }
        ));
    }

    #[test]
    fn server_lists_extension_offers_line_by_line() {
        let request = REQUEST.replacen(
            "\r\n\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
             Sec-WebSocket-Extensions: x-foo\r\n\r\n",
            1,
        );
        let request = read(&request).unwrap().unwrap();
        assert_eq!(
            request.extensions().collect::<Vec<_>>(),
            ["permessage-deflate; client_max_window_bits", "x-foo"]
        );
    }

    #[test]
    fn server_rejects_head_over_the_cap_with_431_without_waiting() {
        let mut server = ServerHandshake::new(Config::default())
            .with_limits(HandshakeLimits::default().max_head_size(100));
        server.handle_read(b"GET / HTTP/1.1\r\nX-Long: ");
        assert_eq!(server.poll_request(), Ok(None));
        server.handle_read(&[b'a'; 100]);
        let err = server.poll_request().unwrap_err();
        assert_eq!(err, HandshakeError::HeadTooLarge { limit: 100 });
        assert_eq!(err.status(), Some(431));
        let response = ServerHandshake::reject_error(&err);
        assert!(response.starts_with(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    }

    #[test]
    fn server_scans_a_16_kib_request_fed_byte_by_byte_in_linear_time() {
        let mut request = REQUEST.trim_end_matches("\r\n").to_owned() + "\r\n";
        while request.len() < 16 * 1024 - 64 {
            request.push_str("X-Filler: abcdefghijklmnopqrstuvwxyz0123456789\r\n");
        }
        request.push_str("\r\n");
        let n = request.len();
        let mut server = ServerHandshake::new(Config::default())
            .with_limits(HandshakeLimits::default().max_headers(512));
        for b in request.as_bytes() {
            server.handle_read(std::slice::from_ref(b));
        }
        assert!(server.poll_request().unwrap().is_some());
        // Re-scanning (or re-parsing) on every read would be ~n²/2 = 134M.
        assert!(
            server.reader.scanned <= 2 * n,
            "scanned {} for {n}",
            server.reader.scanned
        );
    }

    #[test]
    fn server_rejects_too_many_headers_with_431() {
        let mut server = ServerHandshake::new(Config::default())
            .with_limits(HandshakeLimits::default().max_headers(6));
        server.handle_read(REQUEST.as_bytes());
        let err = server.poll_request().unwrap_err();
        assert_eq!(err, HandshakeError::TooManyHeaders { limit: 6 });
        assert_eq!(err.status(), Some(431));
    }

    #[test]
    fn server_rejects_garbage_as_malformed_with_400() {
        let err = read("\x16\x03\x01\x02\x00\r\n\r\n").unwrap_err();
        assert!(matches!(err, HandshakeError::Malformed(_)), "{err:?}");
        assert_eq!(err.status(), Some(400));
    }

    #[test]
    fn server_error_text_escapes_peer_bytes() {
        let err = read("G\u{7f}T / HTTP/1.1\r\n\r\n").unwrap_err();
        // httparse refuses a DEL in the method, so the peer's bytes never reach the error.
        assert!(matches!(err, HandshakeError::Malformed(_)));
        let err = read(&REQUEST.replacen(
            "GET",
            "X-EVIL-METHOD-ABCDEFGHIJKLMNOPQRSTUVWXYZ-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            1,
        ))
        .unwrap_err();
        let response = ServerHandshake::reject_error(&err);
        assert!(contains(&response, b"..."));
    }

    #[test]
    fn server_drops_bytes_after_a_failed_request() {
        let mut server = ServerHandshake::new(Config::default());
        server.handle_read(b"POST / HTTP/1.1\r\n\r\n");
        server.handle_read(b"more");
        assert_eq!(server.poll_request().unwrap_err().status(), Some(405));
        assert_eq!(
            server.accept(Accept::new()).unwrap_err(),
            BuildError::NoRequest
        );
    }

    #[test]
    fn accept_before_a_request_is_an_error() {
        let server = ServerHandshake::new(Config::default());
        assert_eq!(
            server.accept(Accept::new()).unwrap_err(),
            BuildError::NoRequest
        );
    }

    #[test]
    fn accept_refuses_a_subprotocol_not_offered() {
        let mut server = ServerHandshake::new(Config::default());
        server.handle_read(REQUEST.as_bytes());
        let err = server
            .accept(Accept::new().subprotocol("mqtt").unwrap())
            .unwrap_err();
        assert_eq!(err, BuildError::SubprotocolNotOffered("mqtt".into()));
    }

    #[test]
    fn accept_refuses_extensions_when_none_were_offered() {
        let mut server = ServerHandshake::new(Config::default());
        server.handle_read(REQUEST.as_bytes());
        let accept = Accept::new().extensions("permessage-deflate").unwrap();
        assert_eq!(
            server.accept(accept).unwrap_err(),
            BuildError::ExtensionsNotOffered
        );
    }

    #[test]
    fn accept_writes_extensions_and_extra_headers() {
        let mut server =
            ServerHandshake::with_entropy(Config::default(), Box::new(SeededEntropy::new(1)));
        let request = REQUEST.replacen(
            "\r\n\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
            1,
        );
        server.handle_read(request.as_bytes());
        let accept = Accept::new()
            .extensions("permessage-deflate")
            .unwrap()
            .header("Set-Cookie", "a=b")
            .unwrap();
        let (response, _) = server.accept(accept).unwrap();
        assert!(response
            .ends_with(b"Sec-WebSocket-Extensions: permessage-deflate\r\nSet-Cookie: a=b\r\n\r\n"));
    }

    #[test]
    fn accept_refuses_headers_the_handshake_sets() {
        for name in [
            "Sec-WebSocket-Accept",
            "connection",
            "UPGRADE",
            "Content-Length",
        ] {
            assert!(matches!(
                Accept::new().header(name, "x"),
                Err(BuildError::ReservedHeader { .. })
            ));
        }
        assert!(matches!(
            Accept::new().header("X-A", "b\r\nSet-Cookie: evil"),
            Err(BuildError::InvalidHeaderValue(_))
        ));
        assert!(matches!(
            Accept::new().subprotocol("a b"),
            Err(BuildError::InvalidSubprotocol(_))
        ));
        assert!(Accept::new().extensions("x\ny").is_err());
    }

    #[test]
    fn reject_adds_content_length_and_connection_close() {
        let response = ServerHandshake::reject(
            403,
            &[("Content-Type", "text/plain")],
            b"origin not allowed",
        )
        .unwrap();
        assert_eq!(
            &response[..],
            b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\
              Content-Length: 18\r\nConnection: close\r\n\r\norigin not allowed"
        );
    }

    #[test]
    fn reject_refuses_status_101_and_injected_headers() {
        assert_eq!(
            ServerHandshake::reject(101, &[], b""),
            Err(BuildError::InvalidStatus(101))
        );
        assert!(
            ServerHandshake::reject(401, &[("WWW-Authenticate", "Basic\r\nX: y")], b"").is_err()
        );
        assert!(matches!(
            ServerHandshake::reject(401, &[("Content-Length", "0")], b""),
            Err(BuildError::ReservedHeader { .. })
        ));
    }

    #[test]
    fn reject_with_an_unnamed_status_keeps_the_space_before_an_empty_reason() {
        let response = ServerHandshake::reject(499, &[], b"").unwrap();
        assert!(response.starts_with(b"HTTP/1.1 499 \r\n"));
    }

    #[test]
    fn every_rejection_has_content_length_and_connection_close() {
        for err in [
            HandshakeError::HeadTooLarge { limit: 1 },
            HandshakeError::Method("PUT".into()),
            HandshakeError::UnsupportedVersion(Some("8".into())),
            HandshakeError::MissingHeader("Host"),
            HandshakeError::AcceptMismatch,
        ] {
            let response = ServerHandshake::reject_error(&err);
            let mut parsed = [httparse::EMPTY_HEADER; 8];
            let mut res = httparse::Response::new(&mut parsed);
            let httparse::Status::Complete(n) = res.parse(&response).unwrap() else {
                panic!("incomplete rejection");
            };
            assert_eq!(res.code, err.status().or(Some(400)));
            let headers = Headers::from_parsed(&response, res.headers);
            let body_len = response.len() - n;
            assert_eq!(
                headers.get_str("Content-Length"),
                Some(&*body_len.to_string())
            );
            assert!(headers.contains_token("Connection", "close"));
        }
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }
}
