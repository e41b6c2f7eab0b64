//! The client's side of the opening handshake: build the request (RFC 6455
//! §4.1, in `request.rs`), then read and check the server's response.

mod request;

use std::ops::Range;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};

use crate::config::Config;
use crate::connection::{Connection, Role};
use crate::entropy::{Entropy, OsEntropy};
use crate::extensions::NegotiatedDeflate;
use crate::handshake::error::HandshakeError;
use crate::handshake::http::{self, escape, HeadReader, Headers};
use crate::handshake::{accept_key, HandshakeLimits};

pub use request::ClientRequest;

/// The client's side of the opening handshake.
///
/// Write what [`poll_transmit`](Self::poll_transmit) gives, then feed what
/// the transport reads to [`handle_read`](Self::handle_read) and call
/// [`poll_response`](Self::poll_response) until it returns the [`Response`]
/// and the [`Connection`], or an error.
///
/// ```
/// use wsproto::entropy::SeededEntropy;
/// use wsproto::handshake::{ClientHandshake, ClientRequest};
/// use wsproto::Config;
///
/// let request = ClientRequest::from_url("ws://localhost:9001/")?;
/// let mut client =
///     ClientHandshake::with_entropy(request, Config::default(), Box::new(SeededEntropy::new(1)));
/// let bytes = client.poll_transmit().expect("the request");
/// assert!(bytes.starts_with(b"GET / HTTP/1.1\r\nHost: localhost:9001\r\n"));
/// assert!(client.poll_transmit().is_none());
/// assert!(matches!(client.poll_response(), Ok(None))); // nothing read yet
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ClientHandshake {
    limits: HandshakeLimits,
    /// The `Sec-WebSocket-Key` sent.
    key: String,
    subprotocols: Vec<String>,
    offered_extensions: bool,
    /// permessage-deflate was offered from the configuration.
    offered_deflate: bool,
    /// The request, until it is polled.
    transmit: Option<Bytes>,
    reader: HeadReader,
    state: State,
    /// What the connection is made of, until it is handed over.
    parts: Option<(Config, Box<dyn Entropy>)>,
    timer: super::HandshakeTimer,
}

#[derive(Debug)]
enum State {
    /// The response head has not ended yet.
    Reading,
    /// The response was read and checked; `leftover` followed it.
    Read {
        response: Result<Response, HandshakeError>,
        leftover: BytesMut,
    },
    /// The connection was handed over.
    Done,
}

impl ClientHandshake {
    /// A handshake for `request`, with a key and mask keys from the
    /// operating system's generator; `config` is for the [`Connection`].
    pub fn new(request: ClientRequest, config: Config) -> Self {
        Self::with_entropy(request, config, Box::new(OsEntropy::new()))
    }

    /// A handshake that draws its `Sec-WebSocket-Key`, and the connection's
    /// mask keys, from `entropy` (seed it for byte-exact tests; RFC 6455
    /// §4.1, item 7 and §10.3 ask for a strong source on a real network).
    pub fn with_entropy(
        request: ClientRequest,
        config: Config,
        mut entropy: Box<dyn Entropy>,
    ) -> Self {
        // RFC 6455 §4.1, item 7: a nonce of 16 random bytes, base64-encoded.
        let mut nonce = [0u8; 16];
        entropy.fill(&mut nonce);
        let key = BASE64.encode(nonce);
        // RFC 7692 §5: offer permessage-deflate, unless the caller wrote its
        // own extension offers.
        let deflate = &config.deflate;
        let offered_deflate =
            cfg!(feature = "deflate") && deflate.get_enabled() && request.extensions().is_empty();
        let request = match offered_deflate {
            true => request
                .clone()
                .extension(&deflate.offer_header())
                .unwrap_or(request),
            false => request,
        };
        Self {
            offered_deflate,
            limits: HandshakeLimits::default(),
            transmit: Some(request.encode(&key)),
            key,
            subprotocols: request.subprotocols().to_vec(),
            offered_extensions: !request.extensions().is_empty(),
            reader: HeadReader::default(),
            state: State::Reading,
            timer: super::HandshakeTimer::new(config.handshake_timeout),
            parts: Some((config, entropy)),
        }
    }

    /// Replaces the limits on the response head.
    pub fn with_limits(mut self, limits: HandshakeLimits) -> Self {
        self.limits = limits;
        self
    }

    // ----- getters -----

    /// The `Sec-WebSocket-Key` sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    // ----- inputs -----

    /// Input: the time is now `now`. The first call starts the handshake
    /// timer ([`Config::handshake_timeout`]); once it expires before the
    /// response is complete, [`poll_response`](Self::poll_response) fails
    /// with [`HandshakeError::Timeout`].
    pub fn handle_timeout(&mut self, now: std::time::Instant) {
        if matches!(self.state, State::Reading) {
            self.timer.handle(now);
        }
    }

    /// Output: when [`handle_timeout`](Self::handle_timeout) has work to do.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<std::time::Instant> {
        match self.state {
            State::Reading => self.timer.poll(),
            _ => None,
        }
    }

    /// Takes bytes read from the transport.
    ///
    /// They are scanned once for the end of the head; once it is there the
    /// response is parsed and checked. Bytes after the head are kept for
    /// the [`Connection`]. After a failed response, or once the connection
    /// was handed over, further bytes are dropped: feed the connection.
    pub fn handle_read(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Read {
                response: Ok(_),
                leftover,
            } => leftover.extend_from_slice(data),
            State::Read {
                response: Err(_), ..
            }
            | State::Done => {}
            State::Reading => match self
                .reader
                .handle_read(data, self.limits.get_max_head_size())
            {
                Ok(None) => {}
                Ok(Some(end)) => {
                    let (head, leftover) = self.reader.take(end);
                    let response = self.read_response(head, &leftover);
                    self.state = State::Read { response, leftover };
                }
                Err(e) => {
                    self.reader = HeadReader::default();
                    self.state = State::Read {
                        response: Err(e),
                        leftover: BytesMut::new(),
                    };
                }
            },
        }
    }

    // ----- outputs -----

    /// The request to write, once; then `None`.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmit.take()
    }

    /// The server's response and the client [`Connection`] once the
    /// response has been read in full and passed the checks of RFC 6455
    /// §4.1; `Ok(None)` while more bytes are needed.
    ///
    /// The connection has already been fed whatever followed the response
    /// head. It is handed over once; after that this returns `Ok(None)`. An
    /// error is returned each time it is called; a status other than 101 is
    /// [`HandshakeError::UnexpectedStatus`], with the response.
    pub fn poll_response(&mut self) -> Result<Option<(Response, Connection)>, HandshakeError> {
        match &self.state {
            State::Reading if self.timer.expired => return Err(HandshakeError::Timeout),
            State::Reading | State::Done => return Ok(None),
            State::Read {
                response: Err(e), ..
            } => return Err(e.clone()),
            State::Read {
                response: Ok(_), ..
            } => {}
        }
        let State::Read {
            response: Ok(response),
            leftover,
        } = std::mem::replace(&mut self.state, State::Done)
        else {
            return Ok(None);
        };
        let Some((config, entropy)) = self.parts.take() else {
            return Ok(None);
        };
        let mut conn = Connection::with_entropy(Role::Client, config, entropy);
        #[cfg(feature = "deflate")]
        if let Some(negotiated) = response.deflate {
            let config = conn.config().deflate.clone();
            conn.enable_deflate(negotiated, &config);
        }
        if !leftover.is_empty() {
            conn.handle_read(&leftover);
        }
        Ok(Some((response, conn)))
    }

    /// Parses a complete head and checks it.
    fn read_response(&self, head: Bytes, after: &[u8]) -> Result<Response, HandshakeError> {
        let max_headers = self.limits.get_max_headers();
        let mut parsed = vec![httparse::EMPTY_HEADER; max_headers];
        let mut res = httparse::Response::new(&mut parsed);
        match res.parse(&head) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => {
                return Err(HandshakeError::Malformed("the head ended early"))
            }
            Err(e) => return Err(http::parse_error(e, max_headers)),
        }
        let (Some(version), Some(status)) = (res.version, res.code) else {
            return Err(HandshakeError::Malformed("incomplete status line"));
        };
        let reason = http::str_range(&head, res.reason.unwrap_or_default());
        let headers = Headers::from_parsed(&head, res.headers);
        let mut response = Response {
            deflate: None,
            head,
            status,
            reason,
            headers,
            body: Bytes::new(),
        };

        // RFC 6455 §4.1, response check 1: another status is handled as
        // HTTP says (a 401 to authenticate, a 3xx to redirect): give it to
        // the caller, with the body as far as it was read.
        if status != 101 {
            let declared = response
                .headers
                .get_str("Content-Length")
                .and_then(|n| http::trim_str(n).parse::<usize>().ok());
            let len = after
                .len()
                .min(self.limits.get_max_head_size())
                .min(declared.unwrap_or(usize::MAX));
            response.body = Bytes::copy_from_slice(&after[..len]);
            return Err(HandshakeError::UnexpectedStatus(Box::new(response)));
        }
        // A 101 does not exist in HTTP/1.0.
        if version == 0 {
            return Err(HandshakeError::HttpVersion);
        }
        response.deflate = self.check(&response)?;
        Ok(response)
    }

    /// The checks of RFC 6455 §4.1 on a 101 response.
    fn check(&self, response: &Response) -> Result<Option<NegotiatedDeflate>, HandshakeError> {
        let h = &response.headers;
        // Check 2: Upgrade is "websocket", any case.
        if h.count("Upgrade") == 0 {
            return Err(HandshakeError::MissingHeader("Upgrade"));
        }
        let upgrade: Vec<&[u8]> = h.tokens("Upgrade").collect();
        if !matches!(&upgrade[..], [u] if u.eq_ignore_ascii_case(b"websocket")) {
            return Err(HandshakeError::InvalidHeader {
                name: "Upgrade",
                reason: "it is not websocket",
            });
        }
        // Check 3: Connection holds the token "Upgrade", any case.
        h.require_connection_upgrade()?;
        // Check 4, and §11.3.3: one Sec-WebSocket-Accept, matching the key,
        // leading and trailing whitespace ignored.
        let Some(accept) = h.single("Sec-WebSocket-Accept")? else {
            return Err(HandshakeError::MissingHeader("Sec-WebSocket-Accept"));
        };
        if http::trim_str(accept) != accept_key(self.key.as_bytes()) {
            return Err(HandshakeError::AcceptMismatch);
        }
        // Check 5, and §11.3.2: at most one Sec-WebSocket-Extensions, and
        // none unless offered. Which extensions were accepted is for the
        // extension negotiation to check.
        if h.single("Sec-WebSocket-Extensions")?.is_some() && !self.offered_extensions {
            return Err(HandshakeError::UnofferedExtensions);
        }
        // Check 6, and §11.3.4: at most one Sec-WebSocket-Protocol, naming
        // a subprotocol that was offered.
        if let Some(chosen) = h.single("Sec-WebSocket-Protocol")? {
            let chosen = http::trim_str(chosen);
            if !self.subprotocols.iter().any(|p| p == chosen) {
                return Err(HandshakeError::UnofferedSubprotocol(escape(
                    chosen.as_bytes(),
                )));
            }
        }
        // RFC 7692 §7.1: the server's permessage-deflate answer must fit the offer.
        match &self.parts {
            Some((config, _)) if self.offered_deflate => {
                let answers: Vec<&str> = h
                    .get_all("Sec-WebSocket-Extensions")
                    .filter_map(|v| std::str::from_utf8(v).ok())
                    .collect();
                Ok(config.deflate.accept_response(&answers)?)
            }
            _ => Ok(None),
        }
    }
}

/// A server's response to the opening handshake.
///
/// For a 101 that passed the checks of RFC 6455 §4.1, it is returned with
/// the [`Connection`]; for another status it is inside
/// [`HandshakeError::UnexpectedStatus`], with the beginning of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The agreed permessage-deflate parameters, when it was offered and accepted.
    deflate: Option<NegotiatedDeflate>,
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

    /// The permessage-deflate parameters agreed, when the client offered it
    /// (from [`Config::deflate`]) and the server accepted (RFC 7692 §7.1).
    pub fn deflate(&self) -> Option<&NegotiatedDeflate> {
        self.deflate.as_ref()
    }

    /// The server's `Sec-WebSocket-Extensions` answer as sent (the
    /// _Extensions In Use_, RFC 6455 §4.1), if any.
    pub fn extensions(&self) -> Option<&str> {
        self.headers
            .get_str("Sec-WebSocket-Extensions")
            .map(http::trim_str)
    }

    /// For a status other than 101: the beginning of the body, as much of it
    /// as had been read with the head (at most the head size limit, and at
    /// most its `Content-Length`). Empty for a 101, whose following bytes
    /// go to the [`Connection`].
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;
    use crate::extensions::DeflateConfig;
    use crate::Event;
    use crate::Message;

    /// A client handshake that offers no extension unless the request does.
    fn handshake(request: ClientRequest) -> ClientHandshake {
        let config = Config::default().deflate(DeflateConfig::default().enabled(false));
        ClientHandshake::with_entropy(request, config, Box::new(SeededEntropy::new(7)))
    }

    /// A valid 101 for `client`, with `extra` header lines.
    fn response_for(client: &ClientHandshake, extra: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
            accept_key(client.key().as_bytes())
        )
    }

    fn respond(
        mut client: ClientHandshake,
        response: &str,
    ) -> Result<Option<(Response, Connection)>, HandshakeError> {
        client.handle_read(response.as_bytes());
        client.poll_response()
    }

    fn check(request: ClientRequest, extra: &str) -> Result<Response, HandshakeError> {
        let client = handshake(request);
        let response = response_for(&client, extra);
        respond(client, &response).map(|r| r.expect("complete").0)
    }

    fn plain() -> ClientRequest {
        ClientRequest::from_url("ws://example.com/chat").unwrap()
    }

    #[test]
    fn client_request_is_byte_exact_with_seeded_entropy() {
        let request = ClientRequest::from_url("ws://example.com:8080/chat?x=1")
            .unwrap()
            .origin("http://example.com")
            .unwrap()
            .subprotocol("chat")
            .unwrap()
            .subprotocol("superchat")
            .unwrap()
            .extension("permessage-deflate; client_max_window_bits")
            .unwrap()
            .header("Authorization", "Bearer abc")
            .unwrap();
        let mut client = handshake(request);
        let mut nonce = [0u8; 16];
        SeededEntropy::new(7).fill(&mut nonce);
        assert_eq!(client.key(), BASE64.encode(nonce));
        let expected = format!(
            "GET /chat?x=1 HTTP/1.1\r\n\
             Host: example.com:8080\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Key: {}\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Origin: http://example.com\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
             Authorization: Bearer abc\r\n\r\n",
            client.key()
        );
        assert_eq!(client.poll_transmit().unwrap(), expected.as_bytes());
        assert_eq!(client.poll_transmit(), None);
    }

    #[test]
    fn client_key_is_base64_of_16_bytes() {
        let client = ClientHandshake::new(plain(), Config::default());
        assert_eq!(BASE64.decode(client.key()).unwrap().len(), 16);
    }

    #[test]
    fn client_accepts_valid_101() {
        let response = check(plain(), "").unwrap();
        assert_eq!(response.status(), 101);
        assert_eq!(response.reason(), "Switching Protocols");
        assert_eq!(response.subprotocol(), None);
        assert_eq!(response.extensions(), None);
        assert!(response.body().is_empty());
    }

    #[test]
    fn client_hands_a_client_connection_the_bytes_after_the_head() {
        let mut client = handshake(plain());
        let mut input = response_for(&client, "").into_bytes();
        input.extend_from_slice(&[0x81, 0x05, b'H', b'e']);
        client.handle_read(&input);
        client.handle_read(b"llo");
        let (_, mut conn) = client.poll_response().unwrap().unwrap();
        assert_eq!(conn.role(), Role::Client);
        match conn.poll_event() {
            Some(Event::Message(Message::Text(text))) => assert_eq!(&*text, "Hello"),
            other => panic!("unexpected {other:?}"),
        }
        // Handed over once.
        assert!(client.poll_response().unwrap().is_none());
    }

    #[test]
    fn client_reports_other_status_with_headers_and_body() {
        let client = handshake(plain());
        let err = respond(
            client,
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nno entry!trailing",
        )
        .unwrap_err();
        let HandshakeError::UnexpectedStatus(response) = &err else {
            panic!("unexpected {err:?}");
        };
        assert_eq!(response.status(), 403);
        assert_eq!(response.reason(), "Forbidden");
        assert_eq!(response.header("content-type"), Some(&b"text/plain"[..]));
        assert_eq!(&response.body()[..], b"no entry!");
        assert_eq!(err.status(), None);
        assert!(err.to_string().contains("403"));
    }

    #[test]
    fn client_names_missing_upgrade_header() {
        let client = handshake(plain());
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(client.key().as_bytes())
        );
        let err = respond(client, &response).unwrap_err();
        assert_eq!(err, HandshakeError::MissingHeader("Upgrade"));
        assert!(err.to_string().contains("Upgrade"));
    }

    #[test]
    fn client_names_wrong_upgrade_header() {
        let client = handshake(plain());
        let response = response_for(&client, "").replace("Upgrade: websocket", "Upgrade: h2c");
        let err = respond(client, &response).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::InvalidHeader {
                name: "Upgrade",
                ..
            }
        ));
    }

    #[test]
    fn client_accepts_upgrade_in_any_case() {
        let client = handshake(plain());
        let response =
            response_for(&client, "").replace("Upgrade: websocket", "upgrade: WebSocket");
        assert!(respond(client, &response).unwrap().is_some());
    }

    #[test]
    fn client_names_connection_without_upgrade_token() {
        let client = handshake(plain());
        let response =
            response_for(&client, "").replace("Connection: Upgrade", "Connection: close");
        let err = respond(client, &response).unwrap_err();
        assert!(matches!(
            err,
            HandshakeError::InvalidHeader {
                name: "Connection",
                ..
            }
        ));
        let client = handshake(plain());
        let response = response_for(&client, "").replace("Connection: Upgrade\r\n", "");
        assert_eq!(
            respond(client, &response).unwrap_err(),
            HandshakeError::MissingHeader("Connection")
        );
    }

    #[test]
    fn client_accepts_connection_keep_alive_upgrade() {
        let client = handshake(plain());
        let response = response_for(&client, "")
            .replace("Connection: Upgrade", "Connection: keep-alive, upgrade");
        assert!(respond(client, &response).unwrap().is_some());
    }

    #[test]
    fn client_names_wrong_accept_header() {
        let client = handshake(plain());
        let response = response_for(&client, "").replace(
            &accept_key(client.key().as_bytes()),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        );
        let err = respond(client, &response).unwrap_err();
        assert_eq!(err, HandshakeError::AcceptMismatch);
        assert!(err.to_string().contains("Sec-WebSocket-Accept"));
    }

    #[test]
    fn client_names_missing_accept_header() {
        let client = handshake(plain());
        let response =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        assert_eq!(
            respond(client, response).unwrap_err(),
            HandshakeError::MissingHeader("Sec-WebSocket-Accept")
        );
    }

    #[test]
    fn client_rejects_two_accept_headers() {
        let client = handshake(plain());
        let accept = accept_key(client.key().as_bytes());
        let response = response_for(&client, &format!("Sec-WebSocket-Accept: {accept}\r\n"));
        assert_eq!(
            respond(client, &response).unwrap_err(),
            HandshakeError::DuplicateHeader("Sec-WebSocket-Accept")
        );
    }

    #[test]
    fn client_exposes_the_chosen_subprotocol() {
        let request = plain()
            .subprotocol("chat")
            .unwrap()
            .subprotocol("superchat")
            .unwrap();
        let response = check(request, "Sec-WebSocket-Protocol: superchat\r\n").unwrap();
        assert_eq!(response.subprotocol(), Some("superchat"));
    }

    #[test]
    fn client_names_subprotocol_not_offered() {
        let request = plain().subprotocol("chat").unwrap();
        let err = check(request, "Sec-WebSocket-Protocol: mqtt\r\n").unwrap_err();
        assert_eq!(err, HandshakeError::UnofferedSubprotocol("mqtt".into()));
        assert!(err.to_string().contains("Sec-WebSocket-Protocol"));
        let err = check(plain(), "Sec-WebSocket-Protocol: chat\r\n").unwrap_err();
        assert_eq!(err, HandshakeError::UnofferedSubprotocol("chat".into()));
    }

    #[test]
    fn client_rejects_a_list_of_subprotocols_in_the_response() {
        let request = plain().subprotocol("a").unwrap().subprotocol("b").unwrap();
        let err = check(request.clone(), "Sec-WebSocket-Protocol: a, b\r\n").unwrap_err();
        assert!(matches!(err, HandshakeError::UnofferedSubprotocol(_)));
        let err = check(
            request,
            "Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b\r\n",
        )
        .unwrap_err();
        assert_eq!(
            err,
            HandshakeError::DuplicateHeader("Sec-WebSocket-Protocol")
        );
    }

    #[test]
    fn client_names_extensions_when_none_were_offered() {
        let err = check(plain(), "Sec-WebSocket-Extensions: permessage-deflate\r\n").unwrap_err();
        assert_eq!(err, HandshakeError::UnofferedExtensions);
        assert!(err.to_string().contains("Sec-WebSocket-Extensions"));
    }

    #[test]
    fn client_exposes_the_extension_answer_when_it_offered_some() {
        let request = plain().extension("permessage-deflate").unwrap();
        let response = check(request, "Sec-WebSocket-Extensions: permessage-deflate\r\n").unwrap();
        assert_eq!(response.extensions(), Some("permessage-deflate"));
    }

    #[test]
    fn client_rejects_http_1_0_101() {
        let client = handshake(plain());
        let response = response_for(&client, "").replace("HTTP/1.1", "HTTP/1.0");
        assert_eq!(
            respond(client, &response).unwrap_err(),
            HandshakeError::HttpVersion
        );
    }

    #[test]
    fn client_rejects_head_over_the_cap_without_waiting() {
        let mut client =
            handshake(plain()).with_limits(HandshakeLimits::default().max_head_size(64));
        client.handle_read(&[b'x'; 63]);
        assert!(matches!(client.poll_response(), Ok(None)));
        client.handle_read(b"x");
        assert_eq!(
            client.poll_response().err(),
            Some(HandshakeError::HeadTooLarge { limit: 64 })
        );
    }

    #[test]
    fn client_reads_response_fed_one_byte_at_a_time() {
        let mut client = handshake(plain().subprotocol("chat").unwrap());
        let response = response_for(&client, "Sec-WebSocket-Protocol: chat\r\n");
        for b in response.as_bytes() {
            assert_eq!(client.poll_response().unwrap().map(|_| ()), None);
            client.handle_read(std::slice::from_ref(b));
        }
        let (response, _) = client.poll_response().unwrap().unwrap();
        assert_eq!(response.subprotocol(), Some("chat"));
    }
}
