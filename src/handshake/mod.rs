//! The opening handshake (RFC 6455 §4), for both roles, sans-IO: over
//! HTTP/1.1, and the negotiation of subprotocols and extensions over any
//! transport.
//!
//! A client builds a [`ClientRequest`], hands it to a [`ClientHandshake`],
//! writes what [`poll_transmit`](ClientHandshake::poll_transmit) gives, feeds
//! what it reads to [`handle_read`](ClientHandshake::handle_read) and calls
//! [`poll_response`](ClientHandshake::poll_response) until it returns an
//! [`Outcome`]: [`Accepted`](Outcome::Accepted), with the server's
//! [`Response`] and the [`Connection`](crate::Connection), or
//! [`Rejected`](Outcome::Rejected), with a response of another status to
//! handle as HTTP says (RFC 6455 §4.1: a 401 to authenticate, a 3xx to
//! redirect).
//!
//! A server feeds what it reads to a [`ServerHandshake`], calls
//! [`poll_request`](ServerHandshake::poll_request) until it returns the
//! client's [`Request`], looks at it (path, Origin, subprotocols, ...), then
//! either [`accept`](ServerHandshake::accept)s it, which gives the 101
//! response to write and the `Connection`, or writes a rejection built by
//! [`ServerHandshake::reject`] or [`ServerHandshake::reject_error`].
//!
//! Either way, bytes that arrive after the end of the handshake head are
//! handed to the `Connection`, never lost, up to a frame's worth
//! ([`Config::max_frame_size`](crate::Config::max_frame_size) plus 14 bytes);
//! more fails the handshake.
//!
//! Heads are read incrementally: each read is scanned once for the blank line
//! that ends the head, and the head is parsed (with `httparse`) only once it
//! is complete, so a slow peer costs linear, not quadratic, time. A head is
//! bounded by [`Config::max_handshake_size`](crate::Config::max_handshake_size)
//! and [`Config::max_handshake_headers`](crate::Config::max_handshake_headers),
//! and the handshake by [`Config::handshake_timeout`](crate::Config::handshake_timeout).
//!
//! ```
//! use wsproto::handshake::{Accept, ClientHandshake, ClientRequest, Outcome, ServerHandshake};
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
//! let Some(Outcome::Accepted(response, conn)) = client.poll_response()? else {
//!     panic!("not accepted");
//! };
//! assert_eq!(response.subprotocol(), Some("chat"));
//! assert_eq!(conn.subprotocol(), Some("chat"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Negotiation over any transport
//!
//! Over HTTP/2 and HTTP/3 (RFC 8441, RFC 9220) there is no HTTP/1.1
//! handshake: the request and response are header lists and frames run over
//! one stream. [`ServerOffers`] and [`ClientOffer`] negotiate subprotocols and
//! extensions over any header list, exactly as the HTTP/1.1 handshakes do
//! (they call them), and give the [`Negotiated`](crate::Negotiated) result for
//! [`Connection::with_negotiated`](crate::Connection::with_negotiated). The
//! extended CONNECT rules of RFC 8441 are in [`h2`].
//!
//! An HTTP stack that reads and writes HTTP/1.1 heads itself (hyper, a
//! server framework) checks a request's method and header list with
//! [`UpgradeRequest`] (the checks of [`ServerHandshake`], then the 101's
//! fields), refuses with [`reject_fields`], builds a client's head with
//! [`ClientRequest::head_fields`] and checks the 101 with
//! [`check_response`]: the same rules as the byte handshakes, which run on
//! them.

mod client;
mod error;
pub mod h2;
mod http;
mod negotiate;
mod server;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha1::{Digest, Sha1};

pub use client::{check_response, ClientHandshake, ClientRequest, Outcome, Response};
pub use error::{BuildError, RequestError, ResponseError};
pub use http::Headers;
pub use negotiate::{Answer, ClientOffer, DeflateAnswer, ServerOffers};
pub use server::{
    reject_fields, Accept, Rejection, Request, ServerHandshake, UpgradeRequest, UpgradeResponse,
};

/// Bytes kept after a head until the connection is handed over: one frame
/// of the largest size, with the longest header (2 + 8 length + 4 mask).
fn after_head_limit(config: &crate::Config) -> usize {
    config.max_frame_size.saturating_add(14)
}

/// Checks an extra header given by the caller, and that the handshake does
/// not own it (`reserved`: lowercase name and hint for each owned header).
fn check_extra_header(
    name: &str,
    value: &str,
    reserved: &[(&str, &'static str)],
) -> Result<(), BuildError> {
    if !http::is_token(name.as_bytes()) {
        return Err(BuildError::InvalidHeaderName(http::escape(name.as_bytes())));
    }
    if !http::is_field_value(value) {
        return Err(BuildError::InvalidHeaderValue(name.to_owned()));
    }
    if let Some((_, hint)) = reserved.iter().find(|(r, _)| r.eq_ignore_ascii_case(name)) {
        return Err(BuildError::ReservedHeader {
            name: name.to_owned(),
            hint,
        });
    }
    Ok(())
}

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
        assert_eq!(server.poll_request(), Err(RequestError::Timeout));
        assert_eq!(RequestError::Timeout.status(), 408);
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
            Err(ResponseError::Timeout)
        ));

        let mut client = ClientHandshake::new(request, config.clone());
        let mut server = ServerHandshake::new(config);
        client.handle_timeout(t0);
        server.handle_read(&client.poll_transmit().unwrap());
        server.poll_request().unwrap().unwrap();
        let (response, _) = server.accept(Accept::new()).unwrap();
        client.handle_read(&response);
        client.handle_timeout(t0 + Duration::from_secs(2));
        assert!(matches!(
            client.poll_response(),
            Ok(Some(Outcome::Accepted(..)))
        ));
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
    fn extra_headers_with_cr_or_lf_are_rejected() {
        assert_eq!(
            check_extra_header("X-A", "a\r\nInjected: yes", &[]),
            Err(BuildError::InvalidHeaderValue("X-A".into()))
        );
        assert!(matches!(
            check_extra_header("X-A\r\nB", "a", &[]),
            Err(BuildError::InvalidHeaderName(_))
        ));
        assert!(check_extra_header("Authorization", "Bearer x\ty", &[]).is_ok());
    }
}
