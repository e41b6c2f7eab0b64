//! A blocking adapter over `std::io`: connect to a `ws://` URL, accept on a
//! server stream, then read and send messages.
//!
//! It is a thin loop around the sans-IO core and uses only the core's public
//! API; an adapter for another runtime can do everything this one does.
//!
//! ```no_run
//! use wsproto::blocking;
//! use wsproto::Message;
//!
//! let (mut ws, _response) = blocking::connect("ws://127.0.0.1:9001/chat")?;
//! ws.send_text("hello")?;
//! while let Message::Text(text) = ws.read()? {
//!     println!("{text}");
//! }
//! # Ok::<(), blocking::Error>(())
//! ```

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::close::CloseCode;
use crate::connection::{Connection, Event, Message, Payload, State, TextPayload};
use crate::error::ProtocolError;
/// The answer to a request the application refuses (the same type for
/// every adapter; defined in [`crate::handshake`]).
pub use crate::handshake::Rejection;
use crate::handshake::{
    Accept, BuildError, ClientHandshake, ClientRequest, Outcome, Request, RequestError, Response,
    ResponseError, ServerHandshake,
};
use crate::Config;

/// How many bytes one `read` asks the transport for, between messages.
const READ_CHUNK: usize = 4 * 1024;

/// How many bytes one `read` may ask for while a large frame arrives.
const MAX_READ_CHUNK: usize = 64 * 1024;

/// After a rejection, how long to read (and drop) what the client still
/// sends before closing, and how much of it at most: a lingering close.
const LINGER_TIME: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 1 << 20;

/// A blocking byte stream whose reads can time out: how the adapter drives
/// the connection's timers (keepalive, idle, close, handshake).
///
/// Implemented for [`TcpStream`] and, on Unix, `UnixStream`. For another
/// stream (a TLS stream, say), implement it by forwarding to the socket
/// underneath, or wrap the stream in [`NoTimeouts`] to run without timers.
pub trait Transport: Read + Write {
    /// Makes a `read` that waits longer than `timeout` fail with
    /// [`io::ErrorKind::WouldBlock`] or [`io::ErrorKind::TimedOut`];
    /// `None` waits forever.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// Makes a `write` that waits longer than `timeout` fail with
    /// [`io::ErrorKind::WouldBlock`] or [`io::ErrorKind::TimedOut`]; `None`
    /// waits forever. The adapter sets it from the connection's deadlines
    /// ([`Config::send_timeout`] among them) so that a peer that stops
    /// reading cannot hold a write, and the thread, forever. The default
    /// does nothing: writes then wait as long as the stream makes them.
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Shuts the write side down (a TCP FIN) while reads go on: once the
    /// connection has said the transport may end
    /// ([`Connection::poll_shutdown`]), so the peer sees the end at once even
    /// while this end keeps the stream, and after a rejection, so the client
    /// reads the whole response before the connection closes (the drain
    /// that follows runs only when this succeeds, since it relies on read
    /// timeouts). The default does nothing; the stream then ends when it is
    /// dropped.
    fn shutdown_write(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        TcpStream::shutdown(self, std::net::Shutdown::Write)
    }
}

#[cfg(unix)]
impl Transport for std::os::unix::net::UnixStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_write_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        std::os::unix::net::UnixStream::shutdown(self, std::net::Shutdown::Write)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
}

/// Any `Read + Write` stream, run without read timeouts: timers fire only
/// when a read returns.
#[derive(Debug)]
pub struct NoTimeouts<S>(pub S);

impl<S: Read> Read for NoTimeouts<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<S: Write> Write for NoTimeouts<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<S: Read + Write> Transport for NoTimeouts<S> {
    fn set_read_timeout(&mut self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }

    /// Unsupported: the inner stream cannot be half-closed, and without read
    /// timeouts the drain after a rejection could wait on the peer forever,
    /// so it is skipped.
    fn shutdown_write(&mut self) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// Connects to a `ws://` URL over TCP and runs the client handshake.
pub fn connect(url: &str) -> Result<(WebSocket<TcpStream>, Response), Error> {
    connect_with(ClientRequest::from_url(url)?, Config::default())
}

/// Connects over TCP with a request built by hand (subprotocols, Origin,
/// extra headers such as `Authorization`) and a configuration.
pub fn connect_with(
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocket<TcpStream>, Response), Error> {
    let stream = TcpStream::connect((request.host(), request.port()))?;
    stream.set_nodelay(true)?;
    client(stream, request, config)
}

/// Runs the client handshake over a stream that is already connected.
pub fn client<S: Transport>(
    mut stream: S,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocket<S>, Response), Error> {
    let timeout = config.handshake_timeout;
    let mut handshake = ClientHandshake::new(request, config);
    while let Some(bytes) = handshake.poll_transmit() {
        stream.write_all(&bytes)?;
    }
    stream.flush()?;
    let deadline = Deadline::start(&mut stream, timeout)?;
    let mut buf = [0u8; 4096];
    loop {
        match handshake.poll_response()? {
            Some(Outcome::Accepted(response, conn)) => {
                deadline.finish(&mut stream)?;
                return Ok((WebSocket::from_parts(stream, conn), response));
            }
            Some(Outcome::Rejected(response)) => return Err(Error::Refused(Box::new(response))),
            None => {}
        }
        let n = deadline
            .read(&mut stream, &mut buf)?
            .ok_or(Error::Response(ResponseError::Timeout))?;
        handshake.handle_read(&buf[..n]);
    }
}

/// Runs the server handshake on an accepted stream and accepts every valid
/// request, with no subprotocol.
pub fn accept<S: Transport>(stream: S) -> Result<WebSocket<S>, Error> {
    accept_with(stream, Config::default(), |_| Ok(Accept::new()))
}

/// Runs the server handshake; `decide` sees the request (path, headers,
/// Origin, offered subprotocols) and accepts it or rejects it.
///
/// A malformed request is answered with 400 (426 for a wrong version, 431
/// for an oversized head) without calling `decide`. After any rejection the
/// write side is shut down and what the client still sends is read and
/// dropped, for at most a second and 1 MiB, before the stream is closed (a
/// lingering close, RFC 9112 §9.6), so the client reads the whole response
/// instead of a connection reset.
///
/// ```no_run
/// use wsproto::blocking::{self, Rejection};
/// use wsproto::handshake::Accept;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let (stream, _) = listener.accept()?;
/// let ws = blocking::accept_with(stream, wsproto::Config::default(), |request| {
///     if request.header("authorization") != Some(b"Bearer let-me-in".as_slice()) {
///         return Err(Rejection::new(401).body("who are you?"));
///     }
///     match request.subprotocols().any(|p| p == "chat") {
///         true => Ok(Accept::new().subprotocol("chat")?),
///         false => Ok(Accept::new()),
///     }
/// });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn accept_with<S, F>(mut stream: S, config: Config, decide: F) -> Result<WebSocket<S>, Error>
where
    S: Transport,
    F: FnOnce(&Request) -> Result<Accept, Rejection>,
{
    let timeout = config.handshake_timeout;
    let mut handshake = ServerHandshake::new(config);
    let deadline = Deadline::start(&mut stream, timeout)?;
    let mut buf = [0u8; 4096];
    let request = loop {
        match handshake.poll_request() {
            Ok(Some(request)) => break request,
            Ok(None) => {}
            Err(e) => {
                // The peer hears why; our error is the handshake's, whatever the write does.
                let _ = stream.write_all(&ServerHandshake::reject_error(&e));
                let _ = stream.flush();
                linger(&mut stream);
                return Err(e.into());
            }
        }
        let n = deadline
            .read(&mut stream, &mut buf)?
            .ok_or(Error::Request(RequestError::Timeout))?;
        handshake.handle_read(&buf[..n]);
    };
    deadline.finish(&mut stream)?;
    match decide(&request) {
        Ok(answer) => {
            let (response, conn) = handshake.accept(answer)?;
            stream.write_all(&response)?;
            stream.flush()?;
            Ok(WebSocket::from_parts(stream, conn))
        }
        Err(rejection) => {
            let response = rejection.to_response()?;
            stream.write_all(&response)?;
            stream.flush()?;
            linger(&mut stream);
            Err(Error::Rejected(rejection.status()))
        }
    }
}

/// A lingering close after a rejection (RFC 9112 §9.6): half-close, then
/// read and drop what the client still sends, until it closes too or the
/// time or byte budget is spent. Closing with unread bytes would make the
/// kernel answer with a reset, and the client could lose the response.
fn linger<S: Transport>(stream: &mut S) {
    if stream.shutdown_write().is_err() {
        return;
    }
    let until = Instant::now() + LINGER_TIME;
    let mut left = LINGER_BYTES;
    let mut buf = [0u8; 4096];
    while left > 0 {
        let wait = until.saturating_duration_since(Instant::now());
        if wait.is_zero() || stream.set_read_timeout(Some(wait)).is_err() {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => left = left.saturating_sub(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// The opening handshake's time limit, applied as socket read timeouts.
struct Deadline(Option<Instant>);

impl Deadline {
    fn start<S: Transport>(stream: &mut S, timeout: Option<Duration>) -> io::Result<Self> {
        stream.set_read_timeout(timeout)?;
        Ok(Self(timeout.map(|t| Instant::now() + t)))
    }

    /// Reads some bytes before the deadline: `None` once it has passed; the
    /// end of the stream is an error.
    fn read<S: Transport>(&self, stream: &mut S, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        loop {
            if let Some(deadline) = self.0 {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(None);
                }
                stream.set_read_timeout(Some(left))?;
            }
            match stream.read(buf) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
                Ok(n) => return Ok(Some(n)),
                Err(e) if is_timeout(&e) && self.0.is_some() => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn finish<S: Transport>(self, stream: &mut S) -> io::Result<()> {
        stream.set_read_timeout(None)
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// What went wrong on a blocking WebSocket.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The client's opening handshake request was invalid, too large or too
    /// slow; the server answered it with [`RequestError::status`].
    #[error("handshake failed: {0}")]
    Request(#[from] RequestError),
    /// The server's opening handshake response was invalid, too large or
    /// too slow.
    #[error("handshake failed: {0}")]
    Response(#[from] ResponseError),
    /// The server answered with a status other than 101 (a 401, a 3xx
    /// redirect, ...): the response, with the beginning of its body
    /// (RFC 6455 §4.1: handled as HTTP says).
    #[error("the server answered {} {:?} instead of 101 Switching Protocols", .0.status(), .0.reason())]
    Refused(Box<Response>),
    /// A request or response could not be built (a bad URL, `wss://`, a
    /// header that may not be set).
    #[error("{0}")]
    Build(#[from] BuildError),
    /// The application rejected the request with this status.
    #[error("the request was rejected with status {0}")]
    Rejected(u16),
    /// The peer broke the protocol; the close frame was sent.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// The call was not valid in the connection's state.
    #[error(transparent)]
    Local(#[from] crate::Error),
    /// The connection is closed: the close handshake is over. (A transport
    /// that ended without it is [`Error::Protocol`] with
    /// [`ProtocolError::UnexpectedEof`]: close code 1006.)
    #[error("the connection is closed")]
    Closed,
    /// [`WebSocket::read`] met a piece of a message: with
    /// [`Config::streaming`] on, read with [`WebSocket::read_event`].
    #[error("streaming mode hands out pieces of messages: use read_event")]
    Streaming,
}

/// A WebSocket over a blocking stream.
///
/// The connection's timers ([`Config::ping_interval`],
/// [`Config::close_timeout`], ...) run on socket read timeouts: a `read`
/// that waits for data wakes up when a timer is due, acts on it, and goes
/// on waiting.
#[derive(Debug)]
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    /// The read timeout set on the stream now.
    stream_timeout: Option<Duration>,
    /// The write timeout set on the stream now.
    write_timeout: Option<Duration>,
    /// The caller's own read timeout ([`set_read_timeout`](Self::set_read_timeout)).
    user_timeout: Option<Duration>,
}

impl<S: Transport> WebSocket<S> {
    /// Wraps a stream whose opening handshake is done, and the connection
    /// the handshake produced.
    pub fn from_parts(stream: S, conn: Connection) -> Self {
        let mut ws = Self {
            stream,
            conn,
            stream_timeout: None,
            write_timeout: None,
            user_timeout: None,
        };
        ws.conn.handle_timeout(Instant::now());
        ws
    }

    /// Makes [`read`](Self::read) give up with an [`Error::Io`] of kind
    /// [`io::ErrorKind::WouldBlock`] after waiting this long for a message,
    /// without losing anything; `None` (the default) waits as long as it
    /// takes.
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.user_timeout = timeout;
    }

    /// The sans-IO connection inside.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Takes the stream and the connection apart.
    pub fn into_parts(self) -> (S, Connection) {
        (self.stream, self.conn)
    }

    /// The sans-IO connection inside, to use any command of the core
    /// ([`send_fragment`](Connection::send_fragment),
    /// [`send_prepared`](Connection::send_prepared), ...); then
    /// [`flush`](Self::flush).
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Reads the next message, blocking until one arrives.
    ///
    /// Pongs to pings and the reply to the peer's close are written before
    /// this returns. After [`Message::Close`] it returns [`Error::Closed`]; a
    /// client that reads on after the close waits there for the server to
    /// end the transport (RFC 6455 §7.1.1). A failed connection (the peer
    /// broke the protocol, a deadline passed, the transport ended without a
    /// close frame) is [`Error::Protocol`], its close frame already written.
    pub fn read(&mut self) -> Result<Message, Error> {
        match self.read_event()? {
            Event::Message(message) => Ok(message),
            _ => Err(Error::Streaming),
        }
    }

    /// Reads the next event: a [`Message`], or in streaming mode
    /// ([`Config::streaming`]) an [`Event::Chunk`]. [`Event::Failed`] is
    /// never returned: it is [`Error::Protocol`].
    pub fn read_event(&mut self) -> Result<Event, Error> {
        let started = Instant::now();
        let user_deadline = self.user_timeout.map(|t| started + t);
        loop {
            let now = Instant::now();
            self.conn.handle_timeout(now);
            if let Some(event) = self.conn.poll_event() {
                // Pongs and close replies go out before the caller hears of
                // them. Once the peer's close is in, a peer that has already
                // gone cannot take the reply; that ends the connection cleanly.
                self.conn.handle_timeout(Instant::now());
                if let Err(e) = self.flush() {
                    if self.peer_may_send() {
                        return Err(e);
                    }
                    self.conn.handle_eof();
                }
                return match event {
                    Event::Failed(e) => Err(Error::Protocol(e)),
                    event => Ok(event),
                };
            }
            if let Err(e) = self.flush() {
                if self.peer_may_send() {
                    return Err(e);
                }
                self.conn.handle_eof();
            }
            if self.conn.is_closed() {
                return Err(match self.conn.failure() {
                    Some(e) => Error::Protocol(e.clone()),
                    None => Error::Closed,
                });
            }
            if user_deadline.is_some_and(|d| d <= now) {
                return Err(io::Error::from(io::ErrorKind::WouldBlock).into());
            }
            let wake = [self.conn.poll_timeout(), user_deadline]
                .into_iter()
                .flatten()
                .min();
            // At least a millisecond: a zero timeout means "none" to the socket.
            let timeout = wake.map(|at| {
                at.saturating_duration_since(now)
                    .max(Duration::from_millis(1))
            });
            if timeout != self.stream_timeout {
                self.stream.set_read_timeout(timeout)?;
                self.stream_timeout = timeout;
            }
            let pending = self.conn.received_amount();
            let result = if pending < READ_CHUNK {
                // Between messages: read onto the stack and copy only what
                // came, so the connection's buffer stays as small as the data.
                let mut chunk = [0u8; READ_CHUNK];
                let result = self.stream.read(&mut chunk);
                if let Ok(n) = result {
                    self.conn.handle_read(&chunk[..n]);
                }
                result
            } else {
                // A large frame is arriving: read straight into the
                // connection's buffer, more at once.
                let buf = self.conn.recv_buffer(pending.min(MAX_READ_CHUNK));
                let result = self.stream.read(buf);
                self.conn.handle_received(*result.as_ref().unwrap_or(&0));
                result
            };
            match result {
                Ok(0) => self.conn.handle_eof(),
                Ok(_) => {}
                Err(e)
                    if is_timeout(&e) && timeout.is_some()
                        || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if self.peer_may_send() {
                        return Err(e.into());
                    }
                    // After the close handshake (or a failure) a reset is the end of the transport.
                    self.conn.handle_eof();
                }
            }
        }
    }

    /// The peer may still send something this end delivers.
    fn peer_may_send(&self) -> bool {
        matches!(self.conn.state(), State::Open | State::CloseSent)
    }

    /// Sends a text message and writes it out.
    pub fn send_text<'a>(&mut self, text: impl Into<TextPayload<'a>>) -> Result<(), Error> {
        self.conn.send_text(text)?;
        self.flush()
    }

    /// Sends a binary message and writes it out.
    pub fn send_binary<'a>(&mut self, data: impl Into<Payload<'a>>) -> Result<(), Error> {
        self.conn.send_binary(data)?;
        self.flush()
    }

    /// Sends a ping and writes it out.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.conn.ping(payload)?;
        self.flush()
    }

    /// Sends a close frame and writes it out. Keep calling
    /// [`read`](Self::read) until it returns [`Error::Closed`] to finish the
    /// close handshake, or use [`close_and_wait`](Self::close_and_wait).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.conn.close(code, reason)?;
        self.flush()
    }

    /// Sends a close frame, then reads (and drops) messages until the close
    /// handshake is over and the transport ended or may be ended.
    pub fn close_and_wait(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.close(code, reason)?;
        loop {
            match self.read() {
                Ok(_) => {}
                Err(Error::Closed) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes every byte the connection has queued, vectored; once the
    /// connection says the transport may end, shuts its write side down.
    ///
    /// The whole flush runs under the connection's deadlines, not a timeout
    /// per write: while a write waits, the timers still fire (a pong or
    /// close deadline, and [`Config::send_timeout`] for bytes the peer does
    /// not take), and a connection they fail returns
    /// [`Error::Protocol`] at once, with what was queued dropped.
    pub fn flush(&mut self) -> Result<(), Error> {
        let mut wrote = false;
        loop {
            // Commands may have started timers (the close timer, say).
            let now = Instant::now();
            self.conn.handle_timeout(now);
            if let Some(e) = self
                .conn
                .failure()
                .filter(|_| self.conn.buffered_amount() == 0)
            {
                if *e == ProtocolError::SendTimeout {
                    return Err(Error::Protocol(e.clone()));
                }
            }
            let timeout = self.conn.poll_timeout().map(|at| {
                at.saturating_duration_since(now)
                    .max(Duration::from_millis(1))
            });
            // The queue is lent, not copied: up to 16 slices per write.
            let mut slices = [IoSlice::new(&[]); 16];
            let n = self.conn.transmit_slices(&mut slices);
            if n == 0 {
                break;
            }
            if timeout != self.write_timeout {
                self.stream.set_write_timeout(timeout)?;
                self.write_timeout = timeout;
            }
            let written = match self.stream.write_vectored(&slices[..n]) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(written) => written,
                // A deadline came while the write waited: the timers act above.
                Err(e) if is_timeout(&e) && timeout.is_some() => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            self.conn.advance_transmit(written);
            wrote = true;
        }
        if wrote {
            self.stream.flush()?;
        }
        if self.conn.poll_shutdown() {
            // The peer may have gone already; the end is the end either way.
            let _ = self.stream.shutdown_write();
        }
        Ok(())
    }
}
