//! A tokio adapter (feature `tokio`): connect to a `ws://` URL or accept on
//! any `AsyncRead + AsyncWrite` stream, then use the connection as a
//! [`Stream`](futures_core::Stream) and [`Sink`](futures_sink::Sink) of
//! [`Message`](crate::Message)s, or split it into halves that two tasks use at once.
//!
//! It is a thin loop around the sans-IO core and uses only the core's public
//! API, like its blocking twin `wsproto::blocking`.
//!
//! ```no_run
//! # async fn run() -> Result<(), wsproto::tokio::Error> {
//! use wsproto::tokio as ws;
//! use wsproto::Message;
//!
//! let (mut ws, _response) = ws::connect("ws://127.0.0.1:9001/chat").await?;
//! ws.send_text("hello").await?;
//! while let Ok(Message::Text(text)) = ws.recv().await {
//!     println!("{text}");
//! }
//! # Ok(()) }
//! ```
//!
//! # What must be polled for the connection to progress
//!
//! There is no background task: the connection moves when it is polled.
//! It moves fully — pongs to the peer's pings, the reply to the peer's
//! close, keepalive pings, the pong deadline (1011), the idle timeout and
//! the close-handshake timeout — while **any one** of these is being polled
//! (a future of it is pending in some task):
//!
//! - the read side: [`WebSocketStream::recv`], `Stream::poll_next`, or the
//!   same on a [`ReadHalf`]; this side also writes what the connection
//!   queued, without ever waiting for a full socket to drain (while the send
//!   queue is over the high-water mark it stops reading instead, so a peer
//!   that does not read cannot grow the queue). A data message already
//!   buffered is handed out at once, without a write or a look at the
//!   timers (it queued nothing and fired nothing); the chores run before
//!   any other event is handed out and whenever the buffered messages run
//!   out, before the transport is read;
//! - the write side: [`WebSocketStream::send`] and the other sends,
//!   `Sink::poll_ready`, `poll_flush` and `poll_close`, or the same on a
//!   [`WriteHalf`]; this side also reads what has arrived and processes it
//!   (answering pings), keeping every event in order for the read side.
//!   It reads ahead, data messages too, until it keeps the high-water
//!   mark's worth of bytes ([`WebSocketStream::set_high_water_mark`], 64
//!   KiB by default) or a protocol error; it stops before the peer's close
//!   while messages before it are unread, so the close is answered only
//!   once the application has read them and could answer them, as when it
//!   reads itself. An application that never reads answers pings until
//!   that much data is waiting for it; then reading stops, and the peer's
//!   keepalive decides.
//!
//! An application that neither reads nor writes for a while should keep
//! a `recv()` pending somewhere — typically the read half in its own task,
//! which on its own keeps the pongs and the timers going. Between polls,
//! nothing happens: a ping that arrives then is answered at the next poll
//! of either side.
//!
//! # Backpressure
//!
//! `Sink::poll_ready` (and so every send) is `Pending` while
//! [`buffered_amount`](WebSocketStream::buffered_amount) is above the
//! high-water mark, and meanwhile writes out what is queued. `poll_flush`
//! writes everything: each readiness cycle is one vectored write of every
//! queued frame (the send queue is lent to `poll_write_vectored`, not
//! copied), never a write per frame. While the queue is over the mark the
//! read side stops reading, so a peer that does not read cannot grow the
//! queue with pongs or echoes. A writer blocked on a full socket still runs
//! the timers: a peer that stops reading is failed by the pong deadline,
//! the close deadline or the send deadline
//! ([`Config::send_timeout`](crate::Config::send_timeout)), and once the
//! connection is closed what it could not take is given
//! [`CLOSED_FLUSH_GRACE`] before the transport is shut down anyway.
//!
//! # Halves
//!
//! [`WebSocketStream::split`] (any stream, over `tokio::io::split`) and
//! [`into_split`](WebSocketStream::into_split) (TCP, and what
//! [`connect`] returns: no lock on the transport) give a [`ReadHalf`] and a
//! [`WriteHalf`] for two tasks. They share the connection behind short
//! `std::sync::Mutex`es that are never held across an `.await`; a reader
//! parked in `recv` never delays a writer, and a writer waiting for a full
//! socket never delays the reader.
//!
//! # Cancel safety
//!
//! - [`recv`](WebSocketStream::recv) (and `poll_next`) is cancel-safe:
//!   whatever was read is kept in the connection, so dropping the future,
//!   even in the middle of a frame, loses nothing; the next `recv` returns
//!   the message.
//! - [`send`](WebSocketStream::send), `send_text`, `send_binary` and `ping`
//!   first wait for the send queue to be under the high-water mark, then
//!   queue the whole frame at once, then wait for it to be written.
//!   Dropping the future while it waits for room means the message was
//!   **not** sent; dropping it after that means it **was** queued whole and
//!   goes out with the next write (any later poll of either side, or a
//!   `flush`). A message is never half-queued, sent twice, or torn. To know
//!   which happened, use the `Sink` (`poll_ready`, `start_send`, then
//!   `poll_flush`), where the step that queues is not async.
//! - [`close`](WebSocketStream::close) queues its frame at once (behind
//!   what is queued, without waiting for room), then waits for it to be
//!   written; dropping the future leaves the close queued.
//! - [`flush`](WebSocketStream::flush) is cancel-safe: what it did not write
//!   stays queued.
//!
//! # Transports
//!
//! Any `AsyncRead + AsyncWrite + Unpin` stream works ([`client`],
//! [`accept`], [`WebSocketStream::from_raw`]). Frames are written whole, so
//! turn Nagle's algorithm off on TCP streams you accept yourself
//! (`set_nodelay(true)`; [`connect`] does it). The opening handshake, on
//! either side, is bounded by
//! [`Config::handshake_timeout`](crate::Config::handshake_timeout).
//!
//! A stream upgraded elsewhere (a hyper upgrade, an HTTP/2 extended
//! CONNECT) needs no handshake: [`WebSocketStream::from_raw`], or
//! [`from_partially_read`](WebSocketStream::from_partially_read) with the
//! bytes the server framework already read past the handshake, or
//! [`from_parts`](WebSocketStream::from_parts) with a connection built by
//! [`Connection::with_negotiated`](crate::Connection::with_negotiated) for
//! what was agreed there (subprotocol, permessage-deflate).
//!
//! With [`Config::streaming`](crate::Config::streaming) on, messages arrive
//! in pieces: receive them with [`WebSocketStream::recv_event`] (or
//! [`ReadHalf::recv_event`]); `recv` and the `Stream` hand out whole
//! messages only, and return [`Error::Streaming`] for a piece.

mod driver;
mod handshake;
pub mod reconnect;
mod split;
mod stream;
#[cfg(feature = "rustls")]
pub mod tls;
mod transport;

use std::io;

use crate::error::ProtocolError;
use crate::handshake::{BuildError, RequestError, Response, ResponseError};

pub use driver::CLOSED_FLUSH_GRACE;
pub use handshake::{accept, accept_with, client, connect, connect_with, Rejection};
pub use split::{ReadHalf, WriteHalf};
pub use stream::WebSocketStream;
pub use transport::{MaybeTlsReadHalf, MaybeTlsStream, MaybeTlsWriteHalf};

/// What went wrong on a tokio WebSocket (the same cases as the blocking
/// adapter's).
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
    /// A request or response could not be built (a bad URL, a header that
    /// may not be set).
    #[error("{0}")]
    Build(#[from] BuildError),
    /// The application rejected the request with this status.
    #[error("the request was rejected with status {0}")]
    Rejected(u16),
    /// The peer broke the protocol or vanished, or a deadline passed; the
    /// close frame was sent where one could be.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// The call was not valid in the connection's state.
    #[error(transparent)]
    Local(#[from] crate::Error),
    /// The connection is closed: the close handshake is over, or a close
    /// frame was already sent. (A transport that ended without it is
    /// [`Error::Protocol`] with [`ProtocolError::UnexpectedEof`]: 1006.)
    #[error("the connection is closed")]
    Closed,
    /// `recv` or the `Stream` met a piece of a message: with
    /// [`Config::streaming`](crate::Config::streaming) on, receive with
    /// [`WebSocketStream::recv_event`].
    #[error("streaming mode hands out pieces of messages: use recv_event")]
    Streaming,
}
