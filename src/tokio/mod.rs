//! A tokio adapter (feature `tokio`): connect to a `ws://` URL or accept on
//! any `AsyncRead + AsyncWrite` stream, then use the connection as a
//! [`Stream`](futures_core::Stream) and [`Sink`](futures_sink::Sink) of
//! [`Message`]s, or split it into halves that two tasks use at once.
//!
//! It is a thin loop around the sans-IO core and uses only the core's public
//! API, like its blocking twin `wsproto::blocking`.
//!
//! ```no_run
//! # async fn run() -> Result<(), wsproto::tokio::Error> {
//! use wsproto::tokio::{self as ws, Message};
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
//!   that does not read cannot grow the queue);
//! - the write side: [`WebSocketStream::send`] and the other sends,
//!   `Sink::poll_ready`, `poll_flush` and `poll_close`, or the same on a
//!   [`WriteHalf`]; this side also reads what has arrived and processes it
//!   (answering pings), keeping the messages in order for the read side.
//!   It stops reading once the messages it holds for the read side pass
//!   the high-water mark ([`WebSocketStream::set_high_water_mark`], 64 KiB
//!   by default; one message may cross it): an application that never
//!   reads then stops answering, and the peer's keepalive decides.
//!
//! An application that neither reads nor writes for a while should keep
//! a `recv()` pending somewhere — typically the read half in its own task,
//! which on its own keeps the pongs and the timers going. Between polls,
//! nothing happens: a ping that arrives then is answered at the next poll
//! of either side.
//!
//! # Cancel safety
//!
//! - [`recv`](WebSocketStream::recv) (and `poll_next`) is cancel-safe:
//!   whatever was read is kept in the connection, so dropping the future,
//!   even in the middle of a frame, loses nothing; the next `recv` returns
//!   the message.
//! - [`send`](WebSocketStream::send), `send_text`, `send_binary`, `ping`
//!   and `close` first wait for the send queue to be under the high-water
//!   mark, then queue the whole frame at once, then wait for it to be
//!   written. Dropping the future while it waits for room means the message
//!   was **not** sent; dropping it after that means it **was** queued whole
//!   and goes out with the next write (any later poll of either side, or a
//!   `flush`). A message is never half-queued, sent twice, or torn. To know
//!   which happened, use the `Sink` (`poll_ready`, `start_send`, then
//!   `poll_flush`), where the step that queues is not async.
//! - [`flush`](WebSocketStream::flush) is cancel-safe: what it did not write
//!   stays queued.

mod driver;
mod handshake;
pub mod reconnect;
mod split;
mod stream;
#[cfg(feature = "rustls")]
pub mod tls;
mod transport;

use std::io;

use bytes::Bytes;

use crate::connection::CloseFrame;
use crate::error::ProtocolError;
use crate::handshake::{BuildError, HandshakeError};
use crate::utf8::Utf8Bytes;

pub use handshake::{accept, accept_with, client, connect, connect_with, Rejection};
pub use split::{ReadHalf, WriteHalf};
pub use stream::WebSocketStream;
pub use transport::MaybeTlsStream;

/// A message received or sent: the payloads are the core's reference-counted
/// buffers, handed out without a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A text message, validated UTF-8.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping. A received one has already been answered unless
    /// [`Config::auto_pong`](crate::Config::auto_pong) is off.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// A close frame (`None`: without a status code). A received one has
    /// already been answered.
    Close(Option<CloseFrame>),
}

/// What went wrong on a tokio WebSocket.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The opening handshake failed (or timed out).
    #[error("handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// A request or response could not be built (a bad URL, a header that
    /// may not be set).
    #[error("{0}")]
    Build(#[from] BuildError),
    /// The application rejected the request with this status.
    #[error("the request was rejected with status {0}")]
    Rejected(u16),
    /// The peer broke the protocol or vanished, or a timer gave up on it;
    /// the close frame was sent where one could be.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// The call was not valid in the connection's state.
    #[error(transparent)]
    Local(#[from] crate::Error),
    /// The connection is closed: the close handshake is over, the transport
    /// ended, or a close frame was already sent.
    #[error("the connection is closed")]
    Closed,
    /// [`Config::streaming`](crate::Config::streaming) is on: this adapter
    /// hands out whole messages only.
    #[error("streaming mode is not supported by the tokio adapter")]
    StreamingUnsupported,
}
