//! The HTTP/1.1 opening handshake (RFC 6455 §4), for both roles, sans-IO.
//!
//! A client builds a [`ClientRequest`], hands it to a [`ClientHandshake`],
//! writes what [`poll_transmit`](ClientHandshake::poll_transmit) gives, feeds
//! what it reads to [`handle_read`](ClientHandshake::handle_read) and calls
//! [`poll_response`](ClientHandshake::poll_response) until it returns the
//! server's [`Response`] and the [`Connection`](crate::Connection).
//!
//! A server feeds what it reads to a [`ServerHandshake`], calls
//! [`poll_request`](ServerHandshake::poll_request) until it returns the
//! client's [`Request`], looks at it (path, Origin, subprotocols, ...), then
//! either [`accept`](ServerHandshake::accept)s it, which gives the 101
//! response to write and the `Connection`, or writes a rejection built by
//! [`ServerHandshake::reject`] or [`ServerHandshake::reject_error`].
//!
//! Either way, bytes that arrive in the same read after the end of the
//! handshake head are handed to the `Connection`, never lost.
//!
//! Heads are read incrementally: each read is scanned once for the blank line
//! that ends the head, and the head is parsed (with `httparse`) only once it
//! is complete, so a slow peer costs linear, not quadratic, time. A head is
//! bounded by [`HandshakeLimits`].
//!
//! ```
//! use wsproto::handshake::{Accept, ClientHandshake, ClientRequest, ServerHandshake};
//! use wsproto::Config;
//!
//! let request = ClientRequest::from_url("ws://example.com/chat")?.subprotocol("chat")?;
//! let mut client = ClientHandshake::new(request, Config::default());
//! let mut server = ServerHandshake::new(Config::default());
//!
//! server.handle_read(&client.poll_transmit().unwrap());
//! let request = server.poll_request()?.expect("the whole request was read");
//! assert_eq!(request.path(), "/chat");
//! let (response, _server_conn) = server.accept(Accept::new().subprotocol("chat")?)?;
//!
//! client.handle_read(&response);
//! let (response, _client_conn) = client.poll_response()?.expect("the whole response was read");
//! assert_eq!(response.subprotocol(), Some("chat"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod client;
mod error;
mod http;
pub mod server;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha1::{Digest, Sha1};

pub use client::{ClientHandshake, ClientRequest, Response};
pub use error::{BuildError, HandshakeError};
pub use http::Headers;
pub use server::{Accept, Request, ServerHandshake};

/// The opening handshake's timer, driven by the caller's clock like the
/// [`Connection`](crate::Connection)'s: armed by the first `handle_timeout`.
#[derive(Debug, Default)]
struct HandshakeTimer {
    timeout: Option<std::time::Duration>,
    deadline: Option<std::time::Instant>,
    expired: bool,
}

impl HandshakeTimer {
    fn new(timeout: Option<std::time::Duration>) -> Self {
        Self {
            timeout,
            ..Self::default()
        }
    }

    fn poll(&self) -> Option<std::time::Instant> {
        self.deadline.filter(|_| !self.expired)
    }

    fn handle(&mut self, now: std::time::Instant) {
        match self.deadline {
            None => self.deadline = self.timeout.map(|t| now + t),
            Some(deadline) if deadline <= now => self.expired = true,
            Some(_) => {}
        }
    }
}

/// The GUID a server appends to the client's key (RFC 6455 §1.3, §4.2.2).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only protocol version this crate speaks (RFC 6455 §4.1, §11.3.5).
pub const VERSION: &str = "13";

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`: the base64 of
/// the SHA-1 of the key (as sent, not decoded) followed by [`GUID`]
/// (RFC 6455 §4.2.2, item 5.4).
///
/// ```
/// // The example of RFC 6455 §1.3.
/// assert_eq!(
///     wsproto::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/// );
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(GUID.as_bytes());
    BASE64.encode(sha1.finalize())
}

/// Bounds on the HTTP head a handshake reads from its peer: the request for a
/// server, the response for a client.
///
/// ```
/// use wsproto::handshake::HandshakeLimits;
///
/// let limits = HandshakeLimits::default().max_head_size(8 * 1024).max_headers(32);
/// assert_eq!(limits.get_max_head_size(), 8 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeLimits {
    max_head_size: usize,
    max_headers: usize,
}

impl Default for HandshakeLimits {
    fn default() -> Self {
        Self {
            max_head_size: 16 * 1024,
            max_headers: 64,
        }
    }
}

impl HandshakeLimits {
    /// The largest head, in bytes, from the request or status line to the
    /// blank line that ends it, inclusive. Default 16 KiB.
    ///
    /// A head that has not ended within this many bytes fails as soon as the
    /// bytes are there, without waiting for more: a server answers
    /// 431 (RFC 6585 §5). A handshake buffers at most this much plus one read.
    pub fn max_head_size(mut self, bytes: usize) -> Self {
        self.max_head_size = bytes;
        self
    }

    /// The most header lines a head may have. Default 64.
    ///
    /// More fails the handshake; a server answers 431 (RFC 6585 §5). Parsing
    /// allocates an array of this many entries (32 bytes each on 64-bit
    /// targets) once, when the head is complete.
    pub fn max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// The head size limit, in bytes.
    pub fn get_max_head_size(&self) -> usize {
        self.max_head_size
    }

    /// The header count limit.
    pub fn get_max_headers(&self) -> usize {
        self.max_headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    use std::time::{Duration, Instant};

    #[test]
    fn server_handshake_times_out_on_the_callers_clock() {
        let t0 = Instant::now();
        let config = Config::default().handshake_timeout(Some(Duration::from_secs(5)));
        let mut server = ServerHandshake::new(config);
        assert_eq!(
            server.poll_timeout(),
            None,
            "not started before the first call"
        );
        server.handle_timeout(t0);
        assert_eq!(server.poll_timeout(), Some(t0 + Duration::from_secs(5)));
        server.handle_read(b"GET / HTTP/1.1\r\n");
        server.handle_timeout(t0 + Duration::from_secs(4));
        assert_eq!(
            server.poll_request(),
            Ok(None),
            "called early: nothing fires"
        );
        server.handle_timeout(t0 + Duration::from_secs(5));
        assert_eq!(server.poll_request(), Err(HandshakeError::Timeout));
        assert_eq!(HandshakeError::Timeout.status(), Some(408));
        assert_eq!(server.poll_timeout(), None);
    }

    #[test]
    fn client_handshake_times_out_and_a_complete_one_stops_its_timer() {
        let t0 = Instant::now();
        let config = Config::default().handshake_timeout(Some(Duration::from_secs(1)));
        let request = ClientRequest::from_url("ws://localhost/").unwrap();
        let mut client = ClientHandshake::new(request.clone(), config.clone());
        client.handle_timeout(t0);
        client.handle_timeout(t0 + Duration::from_secs(1));
        assert!(matches!(
            client.poll_response(),
            Err(HandshakeError::Timeout)
        ));

        let mut client = ClientHandshake::new(request, config.clone());
        let mut server = ServerHandshake::new(config);
        client.handle_timeout(t0);
        server.handle_read(&client.poll_transmit().unwrap());
        server.poll_request().unwrap().unwrap();
        let (response, _) = server.accept(Accept::new()).unwrap();
        client.handle_read(&response);
        client.handle_timeout(t0 + Duration::from_secs(2));
        assert!(client.poll_response().unwrap().is_some());
        assert_eq!(client.poll_timeout(), None);
    }

    #[test]
    fn accept_key_matches_rfc6455_section_1_3_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn limits_default_to_16_kib_and_64_headers() {
        let limits = HandshakeLimits::default();
        assert_eq!(limits.get_max_head_size(), 16 * 1024);
        assert_eq!(limits.get_max_headers(), 64);
    }
}
