//! The client's side of the opening handshake: build the request (RFC 6455
//! §4.1, in `request.rs`), then read and check the server's response (in
//! `response.rs`).

mod request;
mod response;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};

use crate::config::Config;
use crate::connection::{Connection, Role};
use crate::entropy::{Entropy, OsEntropy};
use crate::handshake::error::ResponseError;
use crate::handshake::http::HeadReader;
use crate::handshake::negotiate::ClientOffer;

pub use request::ClientRequest;
pub use response::{check_response, Response};

use response::{Checked, Sent};

/// How the opening handshake ended, as seen by the client.
// Returned once per handshake and taken apart at once: boxing the
// connection would cost an allocation and a clumsier pattern for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
#[must_use]
pub enum Outcome {
    /// A 101 that passed the checks of RFC 6455 §4.1: the response and the
    /// client [`Connection`], which knows what was agreed and has been fed
    /// whatever followed the response head.
    Accepted(Response, Connection),
    /// Another status, to be handled as HTTP says (RFC 6455 §4.1): a 401 to
    /// authenticate, a 3xx to redirect, an error. The response carries its
    /// headers and the beginning of its body.
    Rejected(Response),
}

/// The client's side of the opening handshake.
///
/// Write what [`poll_transmit`](Self::poll_transmit) gives, then feed what
/// the transport reads to [`handle_read`](Self::handle_read) and call
/// [`poll_response`](Self::poll_response) until it returns the
/// [`Outcome`], or an error.
///
/// Limits and the timeout come from the [`Config`]:
/// [`max_handshake_size`](Config::max_handshake_size),
/// [`max_handshake_headers`](Config::max_handshake_headers),
/// [`handshake_timeout`](Config::handshake_timeout). permessage-deflate is
/// offered as [`Config::deflate`] says, alongside the request's own
/// subprotocols and extensions.
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
    /// The `Sec-WebSocket-Key` sent.
    key: String,
    /// The subprotocols and extensions offered.
    offer: ClientOffer,
    max_head: usize,
    max_headers: usize,
    after_head_limit: usize,
    /// The request, until it is polled.
    transmit: Option<Bytes>,
    reader: HeadReader,
    state: State,
    /// What the connection is made of, until it is handed over.
    parts: Option<(Config, Box<dyn Entropy>)>,
    timer: super::HandshakeTimer,
}

// One per handshake; it moves once, into the outcome.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum State {
    /// The response head has not ended yet.
    Reading,
    /// The response was read and checked; `leftover` followed it.
    Read {
        response: Result<Checked, ResponseError>,
        leftover: BytesMut,
    },
    /// The outcome was handed over.
    Done,
}

impl ClientHandshake {
    /// A handshake for `request`, with a key and mask keys from the
    /// operating system's generator; `config` is for the handshake's
    /// limits and the [`Connection`].
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
        // RFC 7692 §5: permessage-deflate is offered as the configuration
        // says, with the request's own offers.
        let offer = request.offer(&config.deflate);
        Self {
            transmit: Some(request.encode(&key, &offer)),
            key,
            offer,
            max_head: config.max_handshake_size,
            max_headers: config.max_handshake_headers,
            after_head_limit: super::after_head_limit(&config),
            reader: HeadReader::default(),
            state: State::Reading,
            timer: super::HandshakeTimer::new(config.handshake_timeout),
            parts: Some((config, entropy)),
        }
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
    /// with [`ResponseError::Timeout`].
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
    /// response is parsed and checked. After a 101, the bytes that follow
    /// are kept for the [`Connection`], up to a frame's worth
    /// ([`Config::max_frame_size`] plus 14); more turns the response into
    /// [`ResponseError::TooMuchDataAfterHead`]. After another status, a
    /// failed response, or once the outcome was handed over, further bytes
    /// are dropped: feed the connection.
    pub fn handle_read(&mut self, data: &[u8]) {
        let cap = self.after_head_limit;
        match &mut self.state {
            State::Read {
                response: Ok(Checked::Accepted(..)),
                leftover,
            } => {
                if leftover.len().saturating_add(data.len()) > cap {
                    self.fail(ResponseError::TooMuchDataAfterHead { limit: cap });
                } else {
                    leftover.extend_from_slice(data);
                }
            }
            State::Read { .. } | State::Done => {}
            State::Reading => match self.reader.handle_read(data, self.max_head) {
                Ok(None) => {}
                Ok(Some(end)) => {
                    let (head, leftover) = self.reader.take(end);
                    let sent = Sent {
                        key: &self.key,
                        offer: &self.offer,
                        max_headers: self.max_headers,
                        max_body: self.max_head,
                    };
                    match response::read(head, &leftover, &sent) {
                        Err(e) => self.fail(e),
                        Ok(Checked::Accepted(..)) if leftover.len() > cap => {
                            self.fail(ResponseError::TooMuchDataAfterHead { limit: cap });
                        }
                        // The body was copied out; what follows is not ours.
                        rejected @ Ok(Checked::Rejected(_)) => {
                            self.state = State::Read {
                                response: rejected,
                                leftover: BytesMut::new(),
                            }
                        }
                        response => self.state = State::Read { response, leftover },
                    }
                }
                Err(e) => {
                    self.reader = HeadReader::default();
                    self.fail(e.into());
                }
            },
        }
    }

    /// Fails the handshake with `error`, dropping what was buffered.
    fn fail(&mut self, error: ResponseError) {
        self.state = State::Read {
            response: Err(error),
            leftover: BytesMut::new(),
        };
    }

    // ----- outputs -----

    /// The request to write, once; then `None`.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmit.take()
    }

    /// The [`Outcome`] once the response has been read in full (and, for a
    /// 101, passed the checks of RFC 6455 §4.1); `Ok(None)` while more bytes
    /// are needed.
    ///
    /// A 101 gives [`Outcome::Accepted`] with the client [`Connection`],
    /// already fed whatever followed the response head; another status gives
    /// [`Outcome::Rejected`]. The outcome is handed over once; after that
    /// this returns `Ok(None)`. An error is returned each time it is called.
    pub fn poll_response(&mut self) -> Result<Option<Outcome>, ResponseError> {
        match &self.state {
            State::Reading if self.timer.expired => return Err(ResponseError::Timeout),
            State::Reading | State::Done => return Ok(None),
            State::Read {
                response: Err(e), ..
            } => return Err(e.clone()),
            State::Read {
                response: Ok(_), ..
            } => {}
        }
        let State::Read {
            response: Ok(checked),
            leftover,
        } = std::mem::replace(&mut self.state, State::Done)
        else {
            return Ok(None);
        };
        let (response, negotiated) = match checked {
            Checked::Rejected(response) => return Ok(Some(Outcome::Rejected(response))),
            Checked::Accepted(response, negotiated) => (response, negotiated),
        };
        let Some((config, entropy)) = self.parts.take() else {
            return Ok(None);
        };
        let mut conn = Connection::from_parts(Role::Client, config, entropy, negotiated);
        if !leftover.is_empty() {
            conn.handle_read(&leftover);
        }
        Ok(Some(Outcome::Accepted(response, conn)))
    }
}

#[cfg(test)]
mod tests;
