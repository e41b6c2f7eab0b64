//! The WebSocket state machine after the opening handshake (RFC 6455 §5–§7).

mod compression;
mod recv;
mod send;
mod timers;

use bytes::{Bytes, BytesMut};

use crate::config::Config;
use crate::entropy::{Entropy, OsEntropy};
use crate::frame::CloseCode;
use crate::utf8::{Utf8Bytes, Utf8Validator};
use crate::ProtocolError;

pub use send::{Payload, PreparedMessage, TextPayload};

/// Which end of the connection this is. Clients mask what they send;
/// servers must not (RFC 6455 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection.
    Client,
    /// The end that accepted it.
    Server,
}

/// The two kinds of data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (opcode `0x1`).
    Text,
    /// Arbitrary bytes (opcode `0x2`).
    Binary,
}

/// The code and reason of a close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, at most 123 bytes of UTF-8.
    pub reason: Utf8Bytes,
}

/// What the peer did, as reported by [`Connection::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum Event {
    /// A whole text message, validated.
    Text(Utf8Bytes),
    /// A whole binary message.
    Binary(Bytes),
    /// A piece of a data message, in streaming mode ([`Config::streaming`]).
    ///
    /// The pieces of a text message are validated as they arrive, but a code
    /// point may straddle two pieces; their concatenation is valid UTF-8.
    Chunk {
        /// Text or binary, from the message's first frame.
        kind: MessageKind,
        /// The bytes, unmasked.
        data: Bytes,
        /// This is the message's first piece.
        first: bool,
        /// This is the message's last piece.
        last: bool,
    },
    /// A ping with its payload. With [`Config::auto_pong`] the pong is already queued.
    Ping(Bytes),
    /// A pong with its payload.
    Pong(Bytes),
    /// The peer's close frame (`None` when it carried no status code). The
    /// reply is already queued unless this end had sent its close first;
    /// nothing further is delivered.
    Close(Option<CloseFrame>),
    /// The peer broke the protocol, exceeded a limit, or vanished. A close
    /// frame with [`ProtocolError::close_code`] is already queued where one
    /// can still be sent; nothing further is delivered.
    ProtocolError(ProtocolError),
}

/// A WebSocket connection in either role: a sans-IO state machine.
///
/// It performs no I/O. Its methods fall in four groups, as in quinn-proto:
///
/// - **Inputs** (`handle_*`): [`handle_read`](Self::handle_read) (or
///   [`recv_buffer`](Self::recv_buffer) then
///   [`handle_received`](Self::handle_received) to read straight into the
///   connection's buffer), [`handle_eof`](Self::handle_eof),
///   [`handle_timeout`](Self::handle_timeout).
/// - **Commands** (verbs): [`send_text`](Self::send_text),
///   [`send_binary`](Self::send_binary), [`send_fragment`](Self::send_fragment),
///   [`ping`](Self::ping), [`pong`](Self::pong), [`close`](Self::close).
///   A caller's mistake is an immediate [`Error`](crate::Error).
/// - **Outputs** (`poll_*`): [`poll_event`](Self::poll_event),
///   [`poll_transmit`](Self::poll_transmit) (or, lent rather than handed
///   out, [`transmit_slices`](Self::transmit_slices) then
///   [`advance_transmit`](Self::advance_transmit)),
///   [`poll_timeout`](Self::poll_timeout).
/// - **Getters** (nouns): [`role`](Self::role), [`is_closed`](Self::is_closed),
///   [`buffered_amount`](Self::buffered_amount) and the like.
///
/// After each input, call [`poll_event`](Self::poll_event) until it returns
/// `None` (events may queue frames, such as pongs and the close reply), then
/// [`poll_transmit`](Self::poll_transmit) until it returns `None` and write
/// every chunk; once that is done and [`is_closed`](Self::is_closed) is true,
/// shut the transport down.
///
/// A peer's mistake is never an `Err`: it becomes an
/// [`Event::ProtocolError`], with the matching close frame queued.
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Config,
    entropy: Box<dyn Entropy>,
    /// Received bytes not yet handed out.
    read_buf: BytesMut,
    /// Set by `recv_buffer`: the length of `read_buf` before its zeroed tail.
    read_fill: Option<usize>,
    /// The frame whose payload is being received.
    frame: Option<recv::InFrame>,
    /// The data message being received, if one has started.
    message: Option<recv::InMessage>,
    validator: Utf8Validator,
    send: send::SendQueue,
    /// The kind of the fragmented message being sent, if one was started.
    sending: Option<MessageKind>,
    close_sent: bool,
    close_received: bool,
    /// The connection failed (RFC 6455 §7.1.7); input is discarded.
    failed: bool,
    /// The peer closed the transport.
    eof: bool,
    timers: timers::Timers,
    /// Something arrived since the timers last looked.
    rx_activity: bool,
    /// A data frame crossed, either way, since the timers last looked.
    data_activity: bool,
    /// The close timer expired.
    close_timed_out: bool,
    /// An event raised outside `poll_event` (by a timer), reported first.
    pending_event: Option<Event>,
    /// Payloads of pings whose automatic pongs are not yet handed out.
    pending_pongs: std::collections::VecDeque<Bytes>,
    /// permessage-deflate, when negotiated.
    compression: Option<Box<compression::Compression>>,
}

impl Connection {
    /// A connection in `role`, drawing mask keys from the operating system.
    pub fn new(role: Role, config: Config) -> Self {
        Self::with_entropy(role, config, Box::new(OsEntropy::new()))
    }

    /// A connection that draws mask keys from `entropy` (seed one in tests).
    pub fn with_entropy(role: Role, config: Config, entropy: Box<dyn Entropy>) -> Self {
        Self {
            role,
            config,
            entropy,
            read_buf: BytesMut::new(),
            read_fill: None,
            frame: None,
            message: None,
            validator: Utf8Validator::new(),
            send: send::SendQueue::default(),
            sending: None,
            close_sent: false,
            close_received: false,
            failed: false,
            eof: false,
            timers: timers::Timers::default(),
            rx_activity: false,
            data_activity: false,
            close_timed_out: false,
            pending_event: None,
            pending_pongs: std::collections::VecDeque::new(),
            compression: None,
        }
    }

    // ----- getters -----

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Bytes queued for [`poll_transmit`](Self::poll_transmit), the
    /// WebSocket API's `bufferedAmount`.
    ///
    /// An adapter applies backpressure with it: while it is above the
    /// adapter's high-water mark, stop reading from the transport (so pongs
    /// and echoes stop adding to it) and stop accepting sends, until writes
    /// drain it. Sends past [`Config::max_send_queue`] fail.
    pub fn buffered_amount(&self) -> usize {
        self.send.len()
            + self
                .pending_pongs
                .iter()
                .map(|p| 2 + p.len())
                .sum::<usize>()
    }

    /// Bytes the connection holds: the read buffer, a message being
    /// reassembled, the send queue, and the connection itself.
    pub fn memory_usage(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.read_buf.capacity()
            + self.message_buffer_capacity()
            + self.send.capacity()
            + self.pending_pongs.capacity() * std::mem::size_of::<Bytes>()
            + self.pending_pongs.iter().map(Bytes::len).sum::<usize>()
            + self.entropy.memory_usage()
            + self.compression.as_ref().map_or(0, |c| c.memory_usage())
    }

    /// Turns permessage-deflate on with the parameters a negotiation agreed
    /// (RFC 7692 §7). The handshakes do this themselves; call it for a
    /// connection set up without one (an RFC 8441 stream, say). Do it before
    /// any message crosses.
    ///
    /// # Panics
    ///
    /// If `negotiated` holds window bits no negotiation gives: our
    /// compressor's outside 9..=15, the peer's outside 8..=15.
    #[cfg(feature = "deflate")]
    pub fn enable_deflate(
        &mut self,
        negotiated: crate::extensions::NegotiatedDeflate,
        config: &crate::extensions::DeflateConfig,
    ) {
        self.compression = Some(Box::new(compression::Compression::new(negotiated, config)));
    }

    /// The permessage-deflate parameters in use, if the extension was negotiated.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<&crate::extensions::NegotiatedDeflate> {
        self.compression.as_ref().map(|c| &c.negotiated)
    }

    /// Received bytes not yet turned into events.
    pub fn received_amount(&self) -> usize {
        self.read_fill.unwrap_or(self.read_buf.len())
    }

    /// A close frame was sent (or queued): no data frame may follow.
    pub fn is_close_sent(&self) -> bool {
        self.close_sent
    }

    /// The peer's close frame was received.
    pub fn is_close_received(&self) -> bool {
        self.close_received
    }

    /// Whether the transport may be shut down, once every queued byte is
    /// written (RFC 6455 §7.1.1).
    ///
    /// True when the connection failed, when the peer closed the transport,
    /// or when both close frames have crossed and this is the server: "the
    /// underlying TCP connection, in most normal cases, SHOULD be closed
    /// first by the server". A client waits for the server to close the
    /// transport ([`handle_eof`](Self::handle_eof)).
    pub fn is_closed(&self) -> bool {
        self.failed
            || self.eof
            || self.close_timed_out
            || (self.close_sent && self.close_received && self.role == Role::Server)
    }

    /// Whether the peer can still send anything this end will deliver.
    pub fn can_receive(&self) -> bool {
        !(self.failed || self.eof || self.close_received)
    }

    /// Whether this end can still send data frames.
    pub fn can_send(&self) -> bool {
        !self.close_sent
    }
}

#[cfg(test)]
mod tests;
