//! The server's side of the opening handshake: read and check the client's
//! request (RFC 6455 §4.2.1, in `request.rs`), then answer 101 (§4.2.2) or
//! reject it (in `response.rs`).

mod request;
mod response;

use bytes::{Bytes, BytesMut};

use crate::config::Config;
use crate::connection::{Connection, Role};
use crate::entropy::{Entropy, OsEntropy};
use crate::handshake::error::{BuildError, RequestError};
use crate::handshake::http::HeadReader;

pub use request::{Request, UpgradeRequest, UpgradeResponse};
pub use response::{reject_fields, Accept, Rejection};

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
/// Limits and the timeout come from the [`Config`]:
/// [`max_handshake_size`](Config::max_handshake_size),
/// [`max_handshake_headers`](Config::max_handshake_headers),
/// [`handshake_timeout`](Config::handshake_timeout); and, once the head is
/// read, at most a frame's worth of bytes
/// ([`max_frame_size`](Config::max_frame_size) plus 14) is kept for the
/// connection until `accept`.
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
    entropy: Box<dyn Entropy>,
    reader: HeadReader,
    state: State,
    timer: super::HandshakeTimer,
}

#[derive(Debug)]
enum State {
    /// The head has not ended yet.
    Reading,
    /// The head was read and checked; `leftover` followed it.
    Read {
        request: Result<Request, RequestError>,
        leftover: BytesMut,
    },
}

impl ServerHandshake {
    /// A handshake whose limits and timeout, and the [`Connection`] it
    /// hands over, follow `config`.
    pub fn new(config: Config) -> Self {
        Self::with_entropy(config, Box::new(OsEntropy::new()))
    }

    /// A handshake whose [`Connection`] draws randomness from `entropy`.
    /// A server never masks (RFC 6455 §5.1), so this only matters for tests
    /// that want every source seeded.
    pub fn with_entropy(config: Config, entropy: Box<dyn Entropy>) -> Self {
        Self {
            timer: super::HandshakeTimer::new(config.handshake_timeout),
            config,
            entropy,
            reader: HeadReader::default(),
            state: State::Reading,
        }
    }

    // ----- inputs -----

    /// Takes bytes read from the transport.
    ///
    /// They are scanned once for the end of the head; once it is there the
    /// request is parsed and checked. Bytes after the head are kept for the
    /// [`Connection`], up to a frame's worth; more turns the request into
    /// [`RequestError::TooMuchDataAfterHead`]. After a failed request,
    /// further bytes are dropped.
    pub fn handle_read(&mut self, data: &[u8]) {
        let cap = super::after_head_limit(&self.config);
        match &mut self.state {
            State::Read {
                request: Ok(_),
                leftover,
            } => {
                if leftover.len().saturating_add(data.len()) > cap {
                    self.fail(RequestError::TooMuchDataAfterHead { limit: cap });
                } else {
                    leftover.extend_from_slice(data);
                }
            }
            State::Read {
                request: Err(_), ..
            } => {}
            State::Reading => match self
                .reader
                .handle_read(data, self.config.max_handshake_size)
            {
                Ok(None) => {}
                Ok(Some(end)) => {
                    let (head, leftover) = self.reader.take(end);
                    match Request::parse(head, self.config.max_handshake_headers) {
                        Err(e) => self.fail(e),
                        Ok(_) if leftover.len() > cap => {
                            self.fail(RequestError::TooMuchDataAfterHead { limit: cap });
                        }
                        request => self.state = State::Read { request, leftover },
                    }
                }
                Err(e) => {
                    // Drop the oversized buffer.
                    self.reader = HeadReader::default();
                    self.fail(e.into());
                }
            },
        }
    }

    /// Fails the handshake with `error`, dropping what was buffered.
    fn fail(&mut self, error: RequestError) {
        self.state = State::Read {
            request: Err(error),
            leftover: BytesMut::new(),
        };
    }

    /// Input: the time is now `now`. The first call starts the handshake
    /// timer ([`Config::handshake_timeout`]); once it expires before the
    /// request is complete, [`poll_request`](Self::poll_request) fails with
    /// [`RequestError::Timeout`].
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
    /// Once it returns a request or an error, it returns the same each time,
    /// except that a request turns into
    /// [`RequestError::TooMuchDataAfterHead`] if the peer sends too much
    /// before `accept`. On an error, write
    /// [`reject_error`](Self::reject_error) and close.
    pub fn poll_request(&mut self) -> Result<Option<Request>, RequestError> {
        match &self.state {
            State::Reading if self.timer.expired => Err(RequestError::Timeout),
            State::Reading => Ok(None),
            State::Read { request, .. } => request.clone().map(Some),
        }
    }

    // ----- commands -----

    /// Accepts the request: returns the 101 response to write and the
    /// server [`Connection`], which has already been fed whatever followed
    /// the request head and knows what was agreed
    /// ([`subprotocol`](Connection::subprotocol),
    /// [`extensions`](Connection::extensions), `deflate`).
    ///
    /// The subprotocols and extensions are negotiated by
    /// [`ServerOffers::answer`](crate::handshake::ServerOffers::answer), as
    /// over any other transport. Fails, without writing anything, if no
    /// valid request is there ([`BuildError::NoRequest`]), if the
    /// subprotocol or a custom extension was not offered by the client
    /// (RFC 6455 §4.2.2, item 4; §9.1), or if an explicit permessage-deflate
    /// answer does not fit the offers.
    pub fn accept(self, accept: Accept) -> Result<(Bytes, Connection), BuildError> {
        let State::Read {
            request: Ok(request),
            leftover,
        } = self.state
        else {
            return Err(BuildError::NoRequest);
        };
        let answer = request.offers().answer(&accept, &self.config.deflate)?;
        let response = response::switching_protocols(request.key(), &answer, &accept);
        let mut conn = Connection::from_parts(
            Role::Server,
            self.config,
            self.entropy,
            answer.into_negotiated(),
        );
        if !leftover.is_empty() {
            conn.handle_read(&leftover);
        }
        Ok((response, conn))
    }
}

#[cfg(test)]
mod tests;
