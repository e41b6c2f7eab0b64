//! What crosses a connection, whole: a message or a control frame, and the
//! two kinds of data message. A codec-layer module: it imports nothing above
//! it.

use bytes::Bytes;

use crate::close::CloseFrame;
use crate::utf8::Utf8Bytes;

/// The two kinds of data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (opcode `0x1`).
    Text,
    /// Arbitrary bytes (opcode `0x2`).
    Binary,
}

/// A whole message or a control frame from the peer: what an adapter's
/// reader yields, and what [`Connection::send`](crate::Connection::send) takes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A whole text message, validated UTF-8.
    Text(Utf8Bytes),
    /// A whole binary message.
    Binary(Bytes),
    /// A ping with its payload (at most 125 bytes, owned: it holds no read
    /// buffer). Received: with [`Config::auto_pong`](crate::Config::auto_pong) the pong is already queued.
    Ping(Bytes),
    /// A pong with its payload (at most 125 bytes, owned).
    Pong(Bytes),
    /// A close frame, `None` when it carries no status code. Received: the
    /// reply is already queued unless this end had sent its close first, and
    /// nothing further is delivered.
    Close(Option<CloseFrame>),
}
