//! The WebSocket state machine after the opening handshake (RFC 6455 §5–§7).
//!
//! | file | concern |
//! |---|---|
//! | `state.rs` | the connection's life: every state and transition (§7) |
//! | `recv.rs` | inputs, frames in, messages out (§5.2–§5.6, §8.1) |
//! | `read_buf.rs` | received bytes, and space lent to read into |
//! | `send.rs` | commands (§5.4–§5.5, §7.1.2, §7.1.7) |
//! | `queue.rs` | the bytes to send, handed out or lent |
//! | `payload.rs` | what the send commands take |
//! | `prepared.rs` | messages framed once for many connections |
//! | `timers.rs` | keepalive, idle and close timers |
//! | `compression.rs` | permessage-deflate inside the connection (RFC 7692) |
//! | `negotiated.rs` | what the opening handshake agreed, handed to the connection |

mod compression;
mod negotiated;
mod payload;
mod prepared;
mod queue;
mod read_buf;
mod recv;
mod send;
mod state;
mod timers;

use std::collections::VecDeque;

use bytes::Bytes;

use crate::config::Config;
use crate::entropy::{Entropy, OsEntropy};
pub use crate::message::{Message, MessageKind};
use crate::utf8::Utf8Validator;
use crate::ProtocolError;

pub use negotiated::Negotiated;
pub use payload::{Payload, TextPayload};
pub use prepared::PreparedMessage;
pub use state::State;

/// Which end of the connection this is. Clients mask what they send;
/// servers must not (RFC 6455 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection.
    Client,
    /// The end that accepted it.
    Server,
}

/// What the peer did, as reported by [`Connection::poll_event`].
///
/// Payloads of text and binary messages are slices of the connection's read
/// buffer, unmasked in place: holding one keeps the read allocation it was
/// sliced from alive (up to the size of the read that brought it). Copy a
/// payload you keep for long.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum Event {
    /// A whole message or a control frame.
    Message(Message),
    /// A piece of a data message, in streaming mode ([`Config::streaming`]).
    ///
    /// The pieces of a text message are validated as they arrive, but a code
    /// point may straddle two pieces; their concatenation is valid UTF-8.
    Chunk {
        /// Text or binary, from the message's first frame.
        kind: MessageKind,
        /// The bytes, unmasked (inflated, for a compressed message).
        data: Bytes,
        /// This is the message's first piece.
        first: bool,
        /// This is the message's last piece.
        last: bool,
    },
    /// The connection failed (RFC 6455 §7.1.7): the peer broke the protocol
    /// or a limit, a keepalive or close deadline passed, or the transport
    /// ended without a close frame. A close frame with
    /// [`ProtocolError::close_code`] is already queued where one can still be
    /// sent; nothing further is delivered.
    Failed(ProtocolError),
}

/// What the peer did, as [`Connection::poll_event_ref`] reports it: an
/// [`Event`] whose payload is borrowed from the connection's buffers until
/// the next call on the connection, so that handing it out costs no
/// reference count and no allocation. Text is validated UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum EventRef<'a> {
    /// A whole text message.
    Text(&'a str),
    /// A whole binary message.
    Binary(&'a [u8]),
    /// A ping; with [`Config::auto_pong`] the pong is already queued.
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// The peer's close frame, as in [`Message::Close`].
    Close(Option<crate::CloseFrame>),
    /// A piece of a data message, in streaming mode, as in [`Event::Chunk`].
    Chunk {
        /// Text or binary, from the message's first frame.
        kind: MessageKind,
        /// The bytes.
        data: &'a [u8],
        /// This is the message's first piece.
        first: bool,
        /// This is the message's last piece.
        last: bool,
    },
    /// The connection failed, as in [`Event::Failed`].
    Failed(ProtocolError),
}

/// A WebSocket connection in either role: a sans-IO state machine.
///
/// It performs no I/O and reads no clock. Its methods fall in four groups,
/// as in quinn-proto:
///
/// - **Inputs** (`handle_*`): [`handle_read`](Self::handle_read) (or
///   [`recv_buffer`](Self::recv_buffer) then
///   [`handle_received`](Self::handle_received) to read straight into the
///   connection's buffer), [`handle_eof`](Self::handle_eof),
///   [`handle_timeout`](Self::handle_timeout), and
///   [`advance_transmit`](Self::advance_transmit) after a lent write.
/// - **Commands** (verbs): [`send_text`](Self::send_text),
///   [`send_binary`](Self::send_binary), [`send`](Self::send),
///   [`send_uncompressed`](Self::send_uncompressed),
///   [`send_fragment`](Self::send_fragment),
///   [`send_prepared`](Self::send_prepared), [`ping`](Self::ping),
///   [`pong`](Self::pong), [`close`](Self::close),
///   [`close_without_status`](Self::close_without_status),
///   [`fail`](Self::fail). A caller's mistake is an immediate
///   [`Error`](crate::Error) and changes nothing.
/// - **Outputs** (`poll_*`): [`poll_event`](Self::poll_event) (or, lent,
///   [`poll_event_ref`](Self::poll_event_ref)),
///   [`poll_transmit`](Self::poll_transmit) (or, lent rather than handed
///   out, [`transmit_slices`](Self::transmit_slices) then
///   [`advance_transmit`](Self::advance_transmit): what an adapter should
///   use), [`poll_timeout`](Self::poll_timeout),
///   [`poll_shutdown`](Self::poll_shutdown).
/// - **Getters** (nouns): [`role`](Self::role), [`state`](Self::state),
///   [`is_closed`](Self::is_closed), [`buffered_amount`](Self::buffered_amount),
///   [`received_close`](Self::received_close) and the like.
///
/// The call order, after each batch of inputs and commands:
///
/// 1. [`poll_event`](Self::poll_event) until it returns `None` (events may
///    queue frames: pongs, the close reply);
/// 2. if timers are configured, [`handle_timeout`](Self::handle_timeout)
///    when [`poll_timeout`](Self::poll_timeout)'s deadline has come. After
///    inputs or commands that start or re-arm a timer, that deadline is the
///    last time given to `handle_timeout`, already past, so a caller that
///    sleeps until the deadline calls it at once and the timer counts from
///    then;
/// 3. [`transmit_slices`](Self::transmit_slices) /
///    [`advance_transmit`](Self::advance_transmit) (or
///    [`poll_transmit`](Self::poll_transmit)) until nothing is left, writing
///    every byte;
/// 4. once [`poll_shutdown`](Self::poll_shutdown) returns `true`, shut the
///    transport down.
///
/// A peer's mistake is never an `Err`: it becomes an [`Event::Failed`], with
/// the matching close frame queued.
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Config,
    entropy: Box<dyn Entropy>,
    /// Received bytes not yet handed out.
    read: read_buf::ReadBuf,
    /// The frame whose payload is being received.
    frame: Option<recv::InFrame>,
    /// The data message being received, if one has started.
    message: Option<recv::InMessage>,
    validator: Utf8Validator,
    send: queue::SendQueue,
    /// The fragmented message being sent, if one was started.
    sending: Option<send::OutMessage>,
    state: state::Lifecycle,
    timers: timers::Timers,
    /// A failure raised outside `poll_event` (by a timer), reported first.
    pending_event: Option<ProtocolError>,
    /// What the last `poll_event_ref` lent, given back at the next call.
    lent: recv::Lent,
    /// Payloads of pings whose automatic pongs are not yet handed out.
    pending_pongs: VecDeque<recv::PongPayload>,
    /// permessage-deflate, when negotiated.
    compression: Option<Box<compression::Compression>>,
    /// What the opening handshake agreed.
    negotiated: Negotiated,
    /// What the buffers hold from a shared [`MemoryPool`](crate::MemoryPool).
    pool: Option<crate::pool::Grant>,
}

impl Connection {
    /// A connection in `role`, drawing mask keys from the operating
    /// system's CSPRNG ([`OsEntropy`]).
    pub fn new(role: Role, config: Config) -> Self {
        Self::with_entropy(role, config, Box::new(OsEntropy::new()))
    }

    /// A connection that draws mask keys from `entropy` (seed one in tests).
    pub fn with_entropy(role: Role, config: Config, entropy: Box<dyn Entropy>) -> Self {
        let pool = config.memory_pool.clone().map(crate::pool::Grant::new);
        Self {
            role,
            config,
            entropy,
            read: read_buf::ReadBuf::default(),
            frame: None,
            message: None,
            validator: Utf8Validator::new(),
            send: queue::SendQueue::default(),
            sending: None,
            state: state::Lifecycle::default(),
            timers: timers::Timers::default(),
            pending_event: None,
            lent: recv::Lent::Nothing,
            pending_pongs: VecDeque::new(),
            compression: None,
            negotiated: Negotiated::new(),
            pool,
        }
    }

    // ----- what the opening handshake agreed -----

    /// A connection whose opening handshake ran elsewhere (an HTTP/2 or
    /// HTTP/3 extended CONNECT, RFC 8441 / RFC 9220, a server framework's
    /// upgrade) and agreed `negotiated`: its subprotocol and extensions, and
    /// permessage-deflate, which the codec then runs with the level and
    /// threshold of `config`'s [`DeflateConfig`](crate::extensions::DeflateConfig).
    pub fn with_negotiated(role: Role, config: Config, negotiated: Negotiated) -> Self {
        Self::from_parts(role, config, Box::new(OsEntropy::new()), negotiated)
    }

    /// [`with_negotiated`](Self::with_negotiated) with a source of mask keys
    /// (seed one in tests): the constructor every other one calls.
    pub fn from_parts(
        role: Role,
        config: Config,
        entropy: Box<dyn Entropy>,
        negotiated: Negotiated,
    ) -> Self {
        let mut conn = Self::with_entropy(role, config, entropy);
        #[cfg(feature = "deflate")]
        if let Some(deflate) = negotiated.deflate {
            let codec = compression::Compression::new(deflate, &conn.config.deflate);
            conn.compression = Some(Box::new(codec));
        }
        conn.negotiated = negotiated;
        conn
    }

    /// The subprotocol agreed in the opening handshake, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.negotiated.subprotocol.as_deref()
    }

    /// The extensions agreed in the opening handshake that the application
    /// runs itself (permessage-deflate, which the connection runs, is
    /// `deflate()`, with the `deflate` feature).
    pub fn extensions(&self) -> &[crate::extensions::CustomExtension] {
        &self.negotiated.extensions
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
        if self.pending_pongs.is_empty() {
            return self.send.len();
        }
        // A pong's header is 2 bytes, plus a 4-byte key from a client.
        let header = if self.role == Role::Client { 6 } else { 2 };
        self.send.len()
            + self
                .pending_pongs
                .iter()
                .map(|p| header + p.as_slice().len())
                .sum::<usize>()
    }

    /// Bytes the connection holds: the read buffer, a message being
    /// reassembled or inflated (and the allocation kept from the last
    /// inflated payload handed out, for the next message to reuse), the send
    /// queue, pending pongs, the compression state and the connection
    /// itself. Payloads already handed out are the caller's
    /// (a received data payload keeps the read allocation it was sliced
    /// from alive while it is held; see [`Event`]).
    pub fn memory_usage(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.read.capacity()
            + self.message_buffer_capacity()
            + self.lent.capacity()
            + self.send.capacity()
            + self.pending_pongs.capacity() * std::mem::size_of::<recv::PongPayload>()
            + self.entropy.memory_usage()
            + self.compression.as_ref().map_or(0, |c| c.memory_usage())
    }

    /// The permessage-deflate parameters in use, if the extension was negotiated.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<&crate::extensions::NegotiatedDeflate> {
        self.compression.as_ref().map(|c| &c.negotiated)
    }

    /// Bytes held in buffers a peer can make grow: what a memory pool covers.
    fn buffer_usage(&self) -> usize {
        self.read.capacity()
            + self.message_buffer_capacity()
            + self.lent.capacity()
            + self.send.capacity()
            + self.pending_pongs.capacity() * std::mem::size_of::<recv::PongPayload>()
    }

    /// Makes the memory pool, if there is one, cover the buffers plus
    /// `extra` bytes; `Err` with the pool's size if it cannot.
    fn cover_from_pool(&mut self, extra: usize) -> Result<(), usize> {
        if self.pool.is_none() {
            return Ok(());
        }
        let in_use = self.buffer_usage();
        match &mut self.pool {
            Some(grant) => match grant.cover(in_use + extra) {
                true => Ok(()),
                false => Err(grant.limit()),
            },
            None => Ok(()),
        }
    }

    /// Gives back to the pool what the buffers no longer need.
    fn trim_pool(&mut self) {
        if self.pool.is_some() {
            let in_use = self.buffer_usage();
            if let Some(grant) = &mut self.pool {
                grant.trim(in_use);
            }
        }
    }

    /// How many more bytes the buffers may take from the pool now.
    fn pool_room(&self) -> Option<usize> {
        let grant = self.pool.as_ref()?;
        Some(grant.room().saturating_sub(self.buffer_usage()))
    }

    /// Received bytes not yet turned into events.
    pub fn received_amount(&self) -> usize {
        match self.lent {
            recv::Lent::Read(n) => self.read.len() - n,
            _ => self.read.len(),
        }
    }
}

#[cfg(test)]
mod tests;
