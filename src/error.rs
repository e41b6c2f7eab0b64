//! Errors, split as h11 splits them: what the peer did wrong
//! ([`ProtocolError`], which also says which close code it earns) and what
//! the caller did wrong ([`Error`]).

use crate::close::{CloseCode, CloseError};
use crate::frame::FrameError;
use crate::message::MessageKind;

/// The peer broke RFC 6455, or exceeded a configured limit.
///
/// A `ProtocolError` is never returned from an input method: the
/// [`Connection`](crate::Connection) turns it into state, queues a close
/// frame with [`close_code`](Self::close_code) and reports it as
/// [`Event::Failed`](crate::Event::Failed). Besides the peer's protocol
/// violations it names the other ways a connection fails for the peer's
/// sake: a limit passed, a deadline missed, the transport gone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A client sent a frame without a mask (RFC 6455 §5.1).
    #[error("client frame is not masked (RFC 6455 §5.1)")]
    UnmaskedFrame,
    /// A server sent a masked frame (RFC 6455 §5.1).
    #[error("server frame is masked (RFC 6455 §5.1)")]
    MaskedFrame,
    /// An RSV bit was set that no negotiated extension gives a meaning to (RFC 6455 §5.2).
    #[error("reserved bit RSV{0} set without an extension that defines it (RFC 6455 §5.2)")]
    ReservedBit(u8),
    /// A reserved opcode (RFC 6455 §5.2).
    #[error("reserved opcode {0:#x} (RFC 6455 §5.2)")]
    ReservedOpcode(u8),
    /// A 64-bit payload length with its most significant bit set (RFC 6455 §5.2).
    #[error("64-bit payload length has its most significant bit set (RFC 6455 §5.2)")]
    LengthTopBitSet,
    /// A control frame with a payload over 125 bytes (RFC 6455 §5.5).
    #[error("control frame payload of {0} bytes exceeds 125 (RFC 6455 §5.5)")]
    ControlFrameTooLong(u64),
    /// A control frame without FIN (RFC 6455 §5.5).
    #[error("fragmented control frame (RFC 6455 §5.5)")]
    FragmentedControlFrame,
    /// A continuation frame with no message in progress (RFC 6455 §5.4).
    #[error("continuation frame without a message in progress (RFC 6455 §5.4)")]
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message was unfinished (RFC 6455 §5.4).
    #[error("new data frame while a fragmented message is unfinished (RFC 6455 §5.4)")]
    ExpectedContinuation,
    /// A text message, or a close reason, that is not valid UTF-8 (RFC 6455 §8.1).
    #[error("text message is not valid UTF-8 (RFC 6455 §8.1)")]
    InvalidUtf8,
    /// A close frame with a one-byte payload (RFC 6455 §5.5.1).
    #[error("close frame payload of one byte (RFC 6455 §5.5.1)")]
    InvalidClosePayload,
    /// A close code that may not be sent (RFC 6455 §7.4).
    #[error("close code {0} may not appear in a close frame (RFC 6455 §7.4)")]
    InvalidCloseCode(u16),
    /// A close reason that is not valid UTF-8 (RFC 6455 §5.5.1).
    #[error("close reason is not valid UTF-8 (RFC 6455 §5.5.1)")]
    InvalidCloseReason,
    /// A frame's payload exceeds the configured frame size limit.
    #[error("frame payload of {size} bytes exceeds the limit of {limit}")]
    FrameTooLarge {
        /// The length the frame header announced.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A message exceeds the configured message size limit.
    #[error("message of at least {size} bytes exceeds the limit of {limit}")]
    MessageTooLarge {
        /// The message size reached when the limit was crossed.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A compressed message is not a valid DEFLATE stream (RFC 7692 §7.2.2).
    #[error("compressed message is not valid DEFLATE data (RFC 7692 §7.2.2)")]
    InvalidCompressedData,
    /// The transport closed before the peer's close frame arrived
    /// (RFC 6455 §7.1.5: the close code is then 1006, never sent).
    #[error("the transport closed without a close frame (RFC 6455 §7.1.5)")]
    UnexpectedEof,
    /// Nothing arrived within the pong timeout after a keepalive ping.
    #[error("no answer to a keepalive ping within the pong timeout")]
    KeepaliveTimeout,
    /// The peer did not take the bytes queued for it within the send
    /// timeout: it stopped reading. Nothing more can be sent (the close code
    /// is 1006, never sent), and what was queued is dropped.
    #[error("the peer did not read what was sent within the send timeout")]
    SendTimeout,
    /// The peer's close frame did not arrive within the close timeout.
    #[error("the peer did not complete the close handshake within the close timeout")]
    CloseTimeout,
    /// What the peer sent would take the connections sharing a
    /// [`MemoryPool`](crate::MemoryPool) past it.
    #[error("received data would take the shared memory pool past its {limit} bytes")]
    MemoryPoolExhausted {
        /// The pool's size.
        limit: usize,
    },
    /// What the peer sent would take the connection past its memory budget.
    #[error("received data would exceed the connection's memory budget of {budget} bytes")]
    MemoryBudgetExceeded {
        /// The configured budget.
        budget: usize,
    },
}

impl ProtocolError {
    /// The close code this error earns; the one place errors map to the wire.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::InvalidUtf8 | Self::InvalidCloseReason | Self::InvalidCompressedData => {
                CloseCode::INVALID_PAYLOAD
            }
            Self::FrameTooLarge { .. } | Self::MessageTooLarge { .. } => CloseCode::MESSAGE_TOO_BIG,
            Self::UnexpectedEof | Self::CloseTimeout | Self::SendTimeout => CloseCode::ABNORMAL,
            Self::KeepaliveTimeout => CloseCode::INTERNAL_ERROR,
            Self::MemoryBudgetExceeded { .. } | Self::MemoryPoolExhausted { .. } => {
                CloseCode::MESSAGE_TOO_BIG
            }
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl From<FrameError> for ProtocolError {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::ReservedOpcode(op) => Self::ReservedOpcode(op),
            FrameError::LengthTopBitSet => Self::LengthTopBitSet,
            FrameError::ControlFrameTooLong(len) => Self::ControlFrameTooLong(len),
            FrameError::FragmentedControlFrame => Self::FragmentedControlFrame,
        }
    }
}

impl From<CloseError> for ProtocolError {
    fn from(e: CloseError) -> Self {
        match e {
            CloseError::OneBytePayload => Self::InvalidClosePayload,
            CloseError::InvalidCode(code) => Self::InvalidCloseCode(code),
            CloseError::InvalidReason => Self::InvalidCloseReason,
        }
    }
}

/// The caller asked for something the connection cannot do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A data or control frame after a close frame was sent (RFC 6455
    /// §5.5.1), or a failure of a connection already closed.
    #[error("a close frame was already sent; nothing may follow it (RFC 6455 §5.5.1)")]
    AlreadyClosing,
    /// A ping, pong or close payload over 125 bytes (RFC 6455 §5.5).
    #[error("control frame payload of {0} bytes exceeds 125 (RFC 6455 §5.5)")]
    ControlPayloadTooLong(usize),
    /// A close code that may not be sent (1005, 1006, 1015, reserved or out of range; RFC 6455 §7.4).
    #[error("close code {0} may not be sent (RFC 6455 §7.4)")]
    InvalidCloseCode(u16),
    /// Text to send that is not valid UTF-8 (RFC 6455 §8.1: the peer would
    /// have to fail the connection).
    #[error("text to send is not valid UTF-8 (RFC 6455 §8.1)")]
    InvalidUtf8,
    /// The send would take the queue past its limit
    /// ([`Config::max_send_queue`](crate::Config::max_send_queue) or the
    /// memory budget); write out what is queued first.
    #[error(
        "send queue full: {queued} bytes queued, {needed} more would pass the limit of {limit}"
    )]
    SendQueueFull {
        /// Bytes queued now.
        queued: usize,
        /// Bytes the send needed.
        needed: usize,
        /// The limit.
        limit: usize,
    },
    /// A prepared message is framed for one role only.
    #[error("a prepared message can only be sent by a server: a client masks each frame")]
    PreparedForServerOnly,
    /// A whole message (or a fragment of another kind's message) while a
    /// fragmented message of this kind is unfinished (RFC 6455 §5.4):
    /// finish it with [`send_fragment`](crate::Connection::send_fragment) first.
    #[error("a fragmented {0:?} message is being sent; finish it first (RFC 6455 §5.4)")]
    FragmentedMessageInProgress(MessageKind),
    /// A fragment's kind differs from that of its message's first fragment.
    #[error("a {given:?} fragment continues a {started:?} message (RFC 6455 §5.4)")]
    FragmentKindMismatch {
        /// The kind the message started with.
        started: MessageKind,
        /// The kind given.
        given: MessageKind,
    },
}
