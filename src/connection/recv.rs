//! Inputs, and turning received bytes into events.
//!
//! Every received byte passes through here once: the header is parsed in
//! place, the payload is unmasked in place as it arrives and, for text,
//! validated as it arrives, so a peer's invalid byte fails the connection
//! before the rest of its frame is read (RFC 6455 §8.1). A frame's payload is
//! then handed out as a `Bytes` slice of the read buffer, without copying;
//! only the fragments of a fragmented message are copied, to join them.
//! Control payloads (at most 125 bytes) are copied out, so that no ping or
//! pong keeps a read buffer alive.
//!
//! The rules a header breaks in the light of the connection's state (masking
//! direction §5.1, RSV bits §5.2 and RFC 7692 §6, fragmentation §5.4, the
//! limits) are checked in [`Connection::check_header`]; those one header
//! shows on its own are the `frame` module's. The three ways a data frame's
//! payload arrives (whole, in streaming pieces, inflated) end in one step,
//! [`Connection::deliver`]. The commonest frame, a whole small message
//! already buffered, is read straight off its first bytes instead
//! ([`Connection::small_whole_message`]), with the same outcome; the test
//! `receive_paths` holds the two paths to the same events.

use bytes::{Bytes, BytesMut};

use super::{read_buf, Connection, Event, EventRef, Message, MessageKind, Role};
use crate::close::CloseFrame;
use crate::error::ProtocolError;
use crate::frame::{self, FrameHeader, OpCode, Parsed, MAX_CONTROL_PAYLOAD};
use crate::utf8::Utf8Bytes;

/// The frame whose payload is being received.
#[derive(Debug)]
pub(super) struct InFrame {
    opcode: OpCode,
    fin: bool,
    mask: Option<[u8; 4]>,
    /// Payload bytes not yet taken off the read buffer.
    remaining: u64,
    /// Of those, how many at the front of the read buffer are already
    /// unmasked (and, for text, validated).
    processed: usize,
    /// Payload bytes already taken off (streaming, inflating), for the mask's phase.
    consumed: u64,
    /// Text bytes go through the streaming validator as they arrive;
    /// otherwise (a single-frame text message that arrived whole) the
    /// payload is validated once when it is wrapped.
    validate_as_it_arrives: bool,
    /// The payload is compressed (RFC 7692): it is inflated as it arrives.
    compressed: bool,
}

/// The data message being received.
#[derive(Debug)]
pub(super) struct InMessage {
    kind: MessageKind,
    /// Payload bytes announced so far, for the message size limit.
    size: u64,
    /// The fragments received so far, joined.
    parts: Option<BytesMut>,
    /// In streaming mode, whether a piece of this message was handed out.
    chunk_sent: bool,
    /// RSV1 was set on the first frame: the message is compressed (RFC 7692 §6);
    /// it inflates into the codec's output buffer.
    compressed: bool,
}

/// At most this many automatic pongs wait to be handed out; beyond it the
/// oldest is dropped (RFC 6455 §5.5.3 allows answering only the most recent
/// ping), so a ping flood from a peer that does not read cannot grow the queue.
const MAX_PENDING_PONGS: usize = 16;

/// The payload of a ping waiting for its automatic pong, held inline.
#[derive(Debug, Clone, Copy)]
pub(super) struct PongPayload {
    bytes: [u8; MAX_CONTROL_PAYLOAD],
    len: u8,
}

impl PongPayload {
    fn new(payload: &[u8]) -> Self {
        let mut bytes = [0; MAX_CONTROL_PAYLOAD];
        bytes[..payload.len()].copy_from_slice(payload);
        Self {
            bytes,
            len: payload.len() as u8,
        }
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// What one step over the read buffer came to.
enum Step {
    Event(Found),
    Continue,
    NeedMore,
}

/// An event found in the received bytes, its payload not yet handed out:
/// [`Connection::poll_event`] hands it out owned, and
/// [`Connection::poll_event_ref`] lends it.
pub(super) enum Found {
    Data {
        kind: MessageKind,
        at: At,
    },
    Chunk {
        kind: MessageKind,
        at: At,
        first: bool,
        last: bool,
    },
    Ping(usize),
    Pong(usize),
    Close(Option<CloseFrame>),
    Failed(ProtocolError),
}

/// Where a payload lies.
pub(super) enum At {
    /// The first `n` bytes of the read buffer, unmasked.
    Read(usize),
    /// A fragmented message's joined fragments.
    Parts(BytesMut),
    /// A compressed message's inflated bytes, in the codec's output buffer.
    Inflated,
}

/// A payload lent by `poll_event_ref` until the next call.
#[derive(Debug, Default)]
pub(super) enum Lent {
    #[default]
    Nothing,
    /// The first `n` bytes of the read buffer.
    Read(usize),
    Parts(BytesMut),
    /// The codec's inflated bytes (counted with the codec's buffer).
    Inflated,
}

impl Lent {
    pub(super) fn capacity(&self) -> usize {
        match self {
            Lent::Nothing | Lent::Read(_) | Lent::Inflated => 0,
            Lent::Parts(b) => b.capacity(),
        }
    }
}

/// Where the piece of a data message that [`Connection::deliver`] hands on is.
enum Piece {
    /// The first `n` bytes of the read buffer, unmasked.
    Buffered(usize),
    /// The message's inflated bytes.
    Inflated,
}

impl Connection {
    /// Input: bytes read from the transport.
    ///
    /// They are buffered until [`poll_event`](Self::poll_event) turns them
    /// into events; nothing that arrived is dropped, except what follows the
    /// peer's close frame or the connection's failure (RFC 6455 §5.5.1,
    /// §7.1.7).
    pub fn handle_read(&mut self, data: &[u8]) {
        self.release_lent();
        if self.state.accepts_input() && !data.is_empty() {
            let limit = self.read_buffer_limit();
            self.read.extend(data, limit);
            self.timers.on_received();
        }
    }

    /// Input, without a copy: returns `len` writable bytes after the
    /// received ones. Read from the transport into them, then call
    /// [`handle_received`](Self::handle_received) with the count read.
    ///
    /// Space lent once stays initialised, so lending it again costs no
    /// zeroing. Other calls may come in between (`poll_event`,
    /// `poll_transmit`, commands); the next `recv_buffer` or `handle_read`
    /// withdraws a lend that was not committed.
    ///
    /// ```
    /// # use wsproto::{Config, Connection, Event, Message, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// let wire = b"\x82\x03abc";
    /// client.recv_buffer(4096)[..wire.len()].copy_from_slice(wire);
    /// client.handle_received(wire.len());
    /// assert_eq!(client.poll_event(), Some(Event::Message(Message::Binary("abc".into()))));
    /// ```
    pub fn recv_buffer(&mut self, len: usize) -> &mut [u8] {
        self.release_lent();
        let limit = self.read_buffer_limit();
        self.read.lend(len, limit)
    }

    /// With a memory budget or a shared pool, the capacity the read buffer
    /// may grow to without passing either.
    #[inline]
    fn read_buffer_limit(&self) -> Option<usize> {
        if self.config.memory_budget.is_none() && self.pool.is_none() {
            return None;
        }
        self.bounded_read_limit()
    }

    /// [`read_buffer_limit`](Self::read_buffer_limit) under a memory budget or pool.
    #[cold]
    fn bounded_read_limit(&self) -> Option<usize> {
        let budget = self
            .config
            .memory_budget
            .map(|budget| budget.saturating_sub(self.memory_usage() - self.read.capacity()));
        let pool = self.pool_room().map(|room| room + self.read.capacity());
        match (budget, pool) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Input: `n` bytes were written into the slice from
    /// [`recv_buffer`](Self::recv_buffer) (never more than it lent).
    pub fn handle_received(&mut self, n: usize) {
        if !self.state.accepts_input() {
            self.read.commit(0);
            return;
        }
        if self.read.commit(n) > 0 {
            self.timers.on_received();
        }
    }

    /// Input: the peer closed the transport (a read returned 0 bytes).
    ///
    /// Events for bytes already received are still delivered; if the peer's
    /// close frame never came, the last event is
    /// [`ProtocolError::UnexpectedEof`] (RFC 6455 §7.1.5: code 1006).
    pub fn handle_eof(&mut self) {
        self.on_eof();
    }

    /// Output: the next thing the peer did, or `None` when the buffered bytes
    /// hold no further complete event.
    ///
    /// Call it after every input until it returns `None`, then drain
    /// [`poll_transmit`](Self::poll_transmit): events may queue frames (a
    /// pong, the close reply).
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.release_lent();
        // The commonest event first, without the detour through `Found`.
        if let Some((kind, n)) = self.small_whole_message() {
            let data = self.read.split_to(n);
            return Some(match kind {
                MessageKind::Binary => Event::Message(Message::Binary(data)),
                MessageKind::Text => self.text_event(data),
            });
        }
        if self.drained() {
            return None;
        }
        Some(match self.poll_found()? {
            Found::Data { kind, at } => {
                let data = self.take_owned(at);
                match kind {
                    MessageKind::Binary => Event::Message(Message::Binary(data)),
                    MessageKind::Text => self.text_event(data),
                }
            }
            Found::Chunk {
                kind,
                at,
                first,
                last,
            } => Event::Chunk {
                kind,
                data: self.take_owned(at),
                first,
                last,
            },
            Found::Ping(n) => Event::Message(Message::Ping(self.copy_control(n))),
            Found::Pong(n) => Event::Message(Message::Pong(self.copy_control(n))),
            Found::Close(close) => Event::Message(Message::Close(close)),
            Found::Failed(e) => Event::Failed(e),
        })
    }

    /// Output, lent rather than handed out: the next thing the peer did,
    /// with its payload borrowed from the connection's buffers until the
    /// next call, so that nothing is reference-counted or allocated for it.
    /// The same events as [`poll_event`](Self::poll_event), in the same
    /// order; use one or the other as it suits each call.
    ///
    /// ```
    /// # use wsproto::{Config, Connection, EventRef, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// client.handle_read(b"\x81\x02hi\x82\x01!");
    /// assert_eq!(client.poll_event_ref(), Some(EventRef::Text("hi")));
    /// assert_eq!(client.poll_event_ref(), Some(EventRef::Binary(b"!")));
    /// assert_eq!(client.poll_event_ref(), None);
    /// ```
    #[must_use]
    pub fn poll_event_ref(&mut self) -> Option<EventRef<'_>> {
        self.release_lent();
        // The commonest event first, as in `poll_event`.
        if let Some((kind, n)) = self.small_whole_message() {
            self.lent = Lent::Read(n);
            if kind == MessageKind::Text
                && simdutf8::basic::from_utf8(&self.read.data()[..n]).is_err()
            {
                self.release_lent();
                return Some(EventRef::Failed(
                    self.on_failure(ProtocolError::InvalidUtf8),
                ));
            }
            let data = &self.read.data()[..n];
            return Some(match kind {
                MessageKind::Binary => EventRef::Binary(data),
                MessageKind::Text => match simdutf8::basic::from_utf8(data) {
                    Ok(text) => EventRef::Text(text),
                    Err(_) => unreachable!("validated above"),
                },
            });
        }
        if self.drained() {
            return None;
        }
        let found = self.poll_found()?;
        let (kind, at, chunk) = match found {
            Found::Data { kind, at } => (kind, at, None),
            Found::Chunk {
                kind,
                at,
                first,
                last,
            } => (kind, at, Some((first, last))),
            Found::Ping(n) => {
                self.lent = Lent::Read(n);
                return Some(EventRef::Ping(&self.read.data()[..n]));
            }
            Found::Pong(n) => {
                self.lent = Lent::Read(n);
                return Some(EventRef::Pong(&self.read.data()[..n]));
            }
            Found::Close(close) => return Some(EventRef::Close(close)),
            Found::Failed(e) => return Some(EventRef::Failed(e)),
        };
        self.lent = match at {
            At::Read(n) => Lent::Read(n),
            At::Parts(parts) => Lent::Parts(parts),
            At::Inflated => Lent::Inflated,
        };
        // A whole text message is validated here (once, with SIMD);
        // chunks were validated as they arrived.
        if chunk.is_none()
            && kind == MessageKind::Text
            && simdutf8::basic::from_utf8(self.lent_bytes()).is_err()
        {
            self.release_lent();
            return Some(EventRef::Failed(
                self.on_failure(ProtocolError::InvalidUtf8),
            ));
        }
        let data = self.lent_bytes();
        Some(match (chunk, kind) {
            (Some((first, last)), kind) => EventRef::Chunk {
                kind,
                data,
                first,
                last,
            },
            (None, MessageKind::Binary) => EventRef::Binary(data),
            (None, MessageKind::Text) => match simdutf8::basic::from_utf8(data) {
                Ok(text) => EventRef::Text(text),
                Err(_) => unreachable!("validated above"),
            },
        })
    }

    /// A whole text message's event: its text once validated, or the failure.
    fn text_event(&mut self, data: Bytes) -> Event {
        match Utf8Bytes::try_from_bytes(data) {
            Ok(text) => Event::Message(Message::Text(text)),
            Err(_) => Event::Failed(self.on_failure(ProtocolError::InvalidUtf8)),
        }
    }

    /// The payload `poll_event_ref` lends.
    fn lent_bytes(&self) -> &[u8] {
        match &self.lent {
            Lent::Nothing => &[],
            Lent::Read(n) => &self.read.data()[..*n],
            Lent::Parts(parts) => parts,
            Lent::Inflated => self.compression.as_ref().map_or(&[], |c| c.inflated()),
        }
    }

    /// Ends the lend of the last `poll_event_ref`.
    #[inline]
    pub(super) fn release_lent(&mut self) {
        match self.lent {
            // Nothing lent: nothing to move or drop.
            Lent::Nothing => {}
            Lent::Read(n) => {
                self.lent = Lent::Nothing;
                self.read.advance(n);
            }
            Lent::Inflated => {
                self.lent = Lent::Nothing;
                let keep = self.keeps_buffers();
                if let Some(compression) = &mut self.compression {
                    compression.clear_inflated(keep);
                }
            }
            Lent::Parts(_) => self.lent = Lent::Nothing,
        }
    }

    fn take_owned(&mut self, at: At) -> Bytes {
        match at {
            At::Read(n) => self.read.split_to(n),
            At::Parts(parts) => parts.freeze(),
            At::Inflated => {
                let keep = self.keeps_buffers();
                self.compression
                    .as_mut()
                    .map_or_else(Bytes::new, |c| c.take_inflated(keep))
            }
        }
    }

    /// Whether buffers may be kept from message to message: not when a
    /// memory budget or a shared pool wants each one counted as it is
    /// made and given back as soon as it is out.
    fn keeps_buffers(&self) -> bool {
        self.pool.is_none() && self.config.memory_budget.is_none()
    }

    /// A control payload, copied: at most 125 bytes, and no read buffer held.
    fn copy_control(&mut self, n: usize) -> Bytes {
        let payload = Bytes::copy_from_slice(&self.read.data()[..n]);
        self.read.advance(n);
        payload
    }

    /// Whether the next frame [`poll_event`](Self::poll_event) processes is
    /// the peer's close frame (RFC 6455 §5.5.1): the frame being received,
    /// or the one the next unprocessed byte starts, whether or not the rest
    /// of it has arrived. Nothing is consumed. A frame that makes no event
    /// of its own (a fragment of a message still arriving) may stand before
    /// a close: this is false until it is processed, and the `poll_event`
    /// that processes it may go on to the close.
    ///
    /// For code that reads ahead on an application's behalf (to answer
    /// pings while it only sends) and wants to leave the close, which
    /// `poll_event` answers as it hands it out, until the application has
    /// read the messages before it.
    ///
    /// ```
    /// # use wsproto::{Config, Connection, Event, Message, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// client.handle_read(b"\x81\x02hi\x88\x02\x03\xe8");
    /// assert!(!client.close_is_next());
    /// assert!(matches!(client.poll_event(), Some(Event::Message(Message::Text(_)))));
    /// assert!(client.close_is_next());
    /// ```
    pub fn close_is_next(&self) -> bool {
        let data = match self.lent {
            Lent::Read(n) => &self.read.data()[n..],
            _ => self.read.data(),
        };
        if self.pending_event.is_some() || !self.state.accepts_input() {
            return false;
        }
        match &self.frame {
            // A close frame whose header is in and whose payload is not yet.
            Some(frame) => frame.opcode == OpCode::Close,
            None => data
                .first()
                .is_some_and(|b0| b0 & 0x0F == OpCode::Close.as_u8()),
        }
    }

    /// The next event in the received bytes.
    fn poll_found(&mut self) -> Option<Found> {
        if let Some(error) = self.pending_event.take() {
            return Some(Found::Failed(error));
        }
        loop {
            if !self.state.accepts_input() {
                return None;
            }
            if self.frame.is_none() {
                if let Some((kind, n)) = self.small_whole_message() {
                    return Some(Found::Data {
                        kind,
                        at: At::Read(n),
                    });
                }
                match FrameHeader::parse(self.read.data()) {
                    Err(e) => return Some(Found::Failed(self.on_failure(e.into()))),
                    Ok(Parsed::Partial(_)) => return self.need_more(),
                    Ok(Parsed::Complete(header, len)) => {
                        if let Err(e) = self.check_header(&header, len) {
                            return Some(Found::Failed(self.on_failure(e)));
                        }
                        if let Err(e) = self.cover_frame_from_pool(&header, len) {
                            return Some(Found::Failed(self.on_failure(e)));
                        }
                        self.read.advance(len);
                        if let Some(found) = self.whole_message(&header) {
                            return Some(found);
                        }
                        self.begin_frame(header);
                    }
                }
            }
            match self.step_payload() {
                Step::Event(found) => return Some(found),
                Step::Continue => {}
                Step::NeedMore => return self.need_more(),
            }
        }
    }

    /// The buffer holds no complete event.
    fn need_more(&mut self) -> Option<Found> {
        // A large read buffer, now empty, is kept while messages keep
        // coming (the next large one then reuses it, without allocating
        // or faulting its pages in again) and given back once the
        // connection is quiet (`handle_timeout`); a caller that runs no
        // timers gets it back at once.
        if self.message.is_none() && self.read.is_large_and_empty() && !self.timers.running() {
            self.read.release();
        }
        self.trim_pool();
        self.on_input_exhausted().map(Found::Failed)
    }

    /// With a shared memory pool, makes it cover what this frame will make
    /// the buffers hold: its payload, without streaming (a compressed frame
    /// is covered as it inflates).
    fn cover_frame_from_pool(
        &mut self,
        header: &FrameHeader,
        header_len: usize,
    ) -> Result<(), ProtocolError> {
        if self.pool.is_none() {
            return Ok(());
        }
        let compressed = !header.opcode.is_control()
            && (header.rsv1 || self.message.as_ref().is_some_and(|m| m.compressed));
        let held = (self.read.len() - header_len) as u64;
        let to_come = if self.config.streaming || compressed {
            0
        } else {
            header.payload_len.saturating_sub(held)
        };
        // A frame this large failed the size limit already.
        let to_come = usize::try_from(to_come).unwrap_or(usize::MAX);
        self.cover_from_pool(to_come)
            .map_err(|limit| ProtocolError::MemoryPoolExhausted { limit })
    }

    /// The rules a header breaks in the light of the connection's state;
    /// `header_len` bytes of the read buffer are the header.
    fn check_header(&self, header: &FrameHeader, header_len: usize) -> Result<(), ProtocolError> {
        match self.role {
            // RFC 6455 §5.1: "The server MUST close the connection upon
            // receiving a frame that is not masked."
            Role::Server if header.mask.is_none() && !self.config.accept_unmasked_frames => {
                return Err(ProtocolError::UnmaskedFrame)
            }
            // RFC 6455 §5.1: "A client MUST close a connection if it detects
            // a masked frame."
            Role::Client if header.mask.is_some() => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        // RFC 6455 §5.2: "MUST be 0 unless an extension is negotiated that
        // defines meanings for non-zero values." RFC 7692 §6: permessage-deflate
        // gives RSV1 a meaning on the first frame of a data message only
        // (§6.1: not on continuation frames, §6: not on control frames).
        let rsv1_allowed =
            self.compression.is_some() && matches!(header.opcode, OpCode::Text | OpCode::Binary);
        let rsv1 = header.rsv1 && !rsv1_allowed;
        for (bit, set) in [(1, rsv1), (2, header.rsv2), (3, header.rsv3)] {
            if set {
                return Err(ProtocolError::ReservedBit(bit));
            }
        }
        // RFC 6455 §5.4: fragments of one message arrive in order, with only
        // control frames between them.
        match (header.opcode, &self.message) {
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Text | OpCode::Binary, Some(_)) => {
                return Err(ProtocolError::ExpectedContinuation)
            }
            _ => {}
        }
        if header.payload_len > self.config.max_frame_size as u64 {
            return Err(ProtocolError::FrameTooLarge {
                size: header.payload_len,
                limit: self.config.max_frame_size,
            });
        }
        // A compressed message's limit counts inflated bytes; the inflater
        // enforces it. Its compressed frames are inflated as they arrive.
        let compressed = !header.opcode.is_control()
            && (header.rsv1 || self.message.as_ref().is_some_and(|m| m.compressed));
        if let Some(budget) = self.config.memory_budget {
            // Without streaming the whole payload will be buffered; what of
            // it arrived with the header is held (and counted) already.
            let held = (self.read.len() - header_len) as u64;
            let to_come = if self.config.streaming || compressed {
                0
            } else {
                header.payload_len.saturating_sub(held)
            };
            if self.memory_usage() as u64 + to_come > budget as u64 {
                return Err(ProtocolError::MemoryBudgetExceeded { budget });
            }
        }
        if !header.opcode.is_control() && !compressed {
            let size = self.message.as_ref().map_or(0, |m| m.size) + header.payload_len;
            if size > self.config.max_message_size as u64 {
                return Err(ProtocolError::MessageTooLarge {
                    size,
                    limit: self.config.max_message_size,
                });
            }
        }
        Ok(())
    }

    /// Nothing is buffered and nothing else is due: the general path would
    /// find no frame, keep the (empty) buffer, have no pool to trim and no
    /// end of input to report, so the caller's loop ends here at once.
    #[inline(always)]
    fn drained(&self) -> bool {
        self.read.len() == 0
            && self.pending_event.is_none()
            && self.frame.is_none()
            && !self.state.at_eof()
            && self.pool.is_none()
            && self.config.memory_budget.is_none()
            && (self.message.is_some() || self.timers.running() || !self.read.is_large_and_empty())
    }

    /// The commonest frame of all, read straight off its first bytes: a
    /// whole uncompressed text or binary message (FIN set, RSV bits clear,
    /// a 7- or 16-bit length), masked as the role requires (RFC 6455 §5.1),
    /// buffered in full, with no message under way, no streaming, no memory
    /// budget or pool to consult, and within the size limits. The outcome
    /// is the one [`FrameHeader::parse`], [`check_header`](Self::check_header)
    /// and [`whole_message`](Self::whole_message) give, without building a
    /// header or checking rules that cannot apply; anything else returns
    /// `None` and takes that path.
    ///
    /// Returns the message's kind and the length of its payload, unmasked
    /// at the front of the read buffer.
    #[inline(always)]
    fn small_whole_message(&mut self) -> Option<(MessageKind, usize)> {
        // Nothing else comes first: no failure to report, no frame under
        // way, input still accepted.
        if self.pending_event.is_some() || self.frame.is_some() || !self.state.accepts_input() {
            return None;
        }
        let data = self.read.data();
        let (&[b0, b1], rest) = data.split_first_chunk::<2>()?;
        let kind = match b0 {
            0x81 => MessageKind::Text,
            0x82 => MessageKind::Binary,
            _ => return None,
        };
        let (len, ext) = match b1 & 0x7F {
            126 => (usize::from(u16::from_be_bytes(*rest.first_chunk()?)), 2),
            127 => return None,
            len7 => (usize::from(len7), 0),
        };
        let masked = b1 & 0x80 != 0;
        let header_len = 2 + ext + if masked { 4 } else { 0 };
        if masked != (self.role == Role::Server)
            || data.len() < header_len + len
            || self.message.is_some()
            || self.config.streaming
            || self.config.memory_budget.is_some()
            || self.pool.is_some()
            || len > self.config.max_frame_size
            || len > self.config.max_message_size
        {
            return None;
        }
        // In bounds: the whole frame is buffered.
        let key = match rest.get(ext..ext + 4) {
            Some(&[k0, k1, k2, k3]) if masked => Some([k0, k1, k2, k3]),
            _ => None,
        };
        self.read.advance(header_len);
        if let Some(key) = key {
            frame::apply_mask(&mut self.read.data_mut()[..len], key, 0);
        }
        self.timers.on_data();
        Some((kind, len))
    }

    /// The common case in one step: a data frame that is a whole message
    /// (FIN set, not compressed), not streamed, and already buffered in
    /// full, is unmasked and handed out without the frame and message
    /// bookkeeping of [`begin_frame`](Self::begin_frame) and
    /// [`step_payload`](Self::step_payload), with the same outcome. Its
    /// text is validated once, when it is wrapped.
    fn whole_message(&mut self, header: &FrameHeader) -> Option<Found> {
        let kind = match header.opcode {
            OpCode::Text => MessageKind::Text,
            OpCode::Binary => MessageKind::Binary,
            _ => return None,
        };
        // `check_header` let a Text or Binary frame through, so no message
        // is under way; RSV1 set means compressed.
        if !header.fin
            || header.rsv1
            || self.config.streaming
            || (self.read.len() as u64) < header.payload_len
        {
            return None;
        }
        let n = header.payload_len as usize;
        if let Some(key) = header.mask {
            frame::apply_mask(&mut self.read.data_mut()[..n], key, 0);
        }
        self.timers.on_data();
        Some(Found::Data {
            kind,
            at: At::Read(n),
        })
    }

    fn begin_frame(&mut self, header: FrameHeader) {
        let kind = match header.opcode {
            OpCode::Text => Some(MessageKind::Text),
            OpCode::Binary => Some(MessageKind::Binary),
            _ => None,
        };
        if let Some(kind) = kind {
            self.validator.reset();
            self.message = Some(InMessage {
                kind,
                size: 0,
                parts: None,
                chunk_sent: false,
                compressed: header.rsv1,
            });
            if header.rsv1 {
                if let Some(compression) = &mut self.compression {
                    compression.start_inflating();
                }
            }
        }
        if !header.opcode.is_control() {
            self.timers.on_data();
            if let Some(message) = &mut self.message {
                message.size += header.payload_len;
            }
        }
        // A single-frame text message that is already whole is validated
        // once, when it is wrapped; anything else as it arrives.
        let whole_now = self.read.len() as u64 >= header.payload_len;
        let compressed =
            !header.opcode.is_control() && self.message.as_ref().is_some_and(|m| m.compressed);
        // Compressed text is validated as it is inflated (`step_inflate`).
        let validate_as_it_arrives = !compressed
            && (self.config.streaming
                || !(header.fin && header.opcode == OpCode::Text && whole_now));
        self.frame = Some(InFrame {
            opcode: header.opcode,
            fin: header.fin,
            mask: header.mask,
            remaining: header.payload_len,
            processed: 0,
            consumed: 0,
            validate_as_it_arrives,
            compressed,
        });
    }

    /// Unmasks and validates what arrived of the current frame's payload,
    /// and hands it on when it is complete (or, streaming or inflating, as
    /// it arrives).
    fn step_payload(&mut self) -> Step {
        let Some(frame) = &mut self.frame else {
            return Step::NeedMore;
        };
        let available = (self.read.len() as u64).min(frame.remaining) as usize;
        let text = match (frame.opcode, &self.message) {
            (OpCode::Text | OpCode::Continuation, Some(m)) => m.kind == MessageKind::Text,
            _ => false,
        };
        if available > frame.processed {
            let fresh = &mut self.read.data_mut()[frame.processed..available];
            if let Some(key) = frame.mask {
                let phase = (frame.consumed % 4) as usize + frame.processed;
                frame::apply_mask(fresh, key, phase);
            }
            if text && frame.validate_as_it_arrives && self.validator.feed(fresh).is_err() {
                return Step::Event(Found::Failed(self.on_failure(ProtocolError::InvalidUtf8)));
            }
            frame.processed = available;
        }
        let complete = available as u64 == frame.remaining;
        let last = complete && frame.fin;
        let validated = frame.validate_as_it_arrives || frame.compressed;
        if frame.compressed {
            return self.step_inflate(available, complete, text);
        }
        if self.config.streaming && !frame.opcode.is_control() {
            // Hand out what arrived; an empty piece only when it ends the message.
            if available == 0 && !last {
                if complete {
                    self.frame = None;
                    return Step::Continue;
                }
                return Step::NeedMore;
            }
            frame.remaining -= available as u64;
            frame.consumed += available as u64;
            frame.processed = 0;
            if complete {
                self.frame = None;
            }
            return self.deliver(Piece::Buffered(available), last, validated);
        }
        if !complete {
            return Step::NeedMore;
        }
        let frame = self.frame.take().expect("checked above");
        match frame.opcode {
            OpCode::Ping => {
                if self.config.auto_pong && !self.state.close_sent() {
                    if self.pending_pongs.len() == MAX_PENDING_PONGS {
                        self.pending_pongs.pop_front();
                    }
                    let payload = PongPayload::new(&self.read.data()[..available]);
                    self.pending_pongs.push_back(payload);
                }
                Step::Event(Found::Ping(available))
            }
            OpCode::Pong => Step::Event(Found::Pong(available)),
            OpCode::Close => {
                let close = CloseFrame::parse_payload(&self.read.data()[..available])
                    .map(|parsed| parsed.map(|(code, reason)| CloseFrame::new(code, reason)));
                self.read.advance(available);
                match close {
                    Ok(close) => Step::Event(Found::Close(self.on_close_received(close))),
                    Err(e) => Step::Event(Found::Failed(self.on_failure(e.into()))),
                }
            }
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                self.deliver(Piece::Buffered(available), frame.fin, validated)
            }
        }
    }

    /// A compressed message (RFC 7692 §7.2.2): inflates what arrived of the
    /// frame and validates inflated text as it comes out.
    fn step_inflate(&mut self, available: usize, complete: bool, text: bool) -> Step {
        let frame = self.frame.as_mut().expect("called with a frame");
        let last = complete && frame.fin;
        if available == 0 && !complete {
            return Step::NeedMore;
        }
        // A memory budget also caps what one message may inflate to; so
        // does a shared pool, from which the whole output is covered before
        // it is made (and what is left over given back once it is out).
        let budget_limit = self
            .config
            .memory_budget
            .map_or(self.config.max_message_size, |b| {
                b.min(self.config.max_message_size)
            });
        let mut limit = budget_limit;
        if let Some(room) = self.pool_room() {
            let inflated = self.compression.as_ref().map_or(0, |c| c.inflated().len());
            let want = room.min(budget_limit.saturating_sub(inflated));
            if self.cover_from_pool(want).is_ok() {
                limit = limit.min(inflated + want);
            } else {
                limit = inflated;
            }
        }
        let pool_limited = limit < budget_limit;
        let frame = self.frame.as_mut().expect("called with a frame");
        let Some(compression) = self.compression.as_mut() else {
            unreachable!("a compressed frame belongs to a compressed message");
        };
        let before = compression.inflated().len();
        let inflated = compression.decompress(&self.read.data()[..available], last, limit);
        self.read.advance(available);
        frame.remaining -= available as u64;
        frame.consumed += available as u64;
        frame.processed = 0;
        if complete {
            self.frame = None;
        }
        if let Err(e) = inflated {
            let e = match e {
                ProtocolError::MessageTooLarge { .. } if pool_limited => {
                    ProtocolError::MemoryPoolExhausted {
                        limit: self.pool.as_ref().map_or(0, |g| g.limit()),
                    }
                }
                e => e,
            };
            return Step::Event(Found::Failed(self.on_failure(e)));
        }
        // A message inflated whole by this one call is validated once, when
        // it is wrapped, as an uncompressed one that arrived whole is; any
        // other as it inflates, so that invalid text fails as soon as it
        // comes out.
        let whole = before == 0 && last && !self.config.streaming;
        if text
            && !whole
            && self
                .validator
                .feed(&compression.inflated()[before..])
                .is_err()
        {
            return Step::Event(Found::Failed(self.on_failure(ProtocolError::InvalidUtf8)));
        }
        if !self.config.streaming && !last {
            return Step::Continue;
        }
        self.deliver(Piece::Inflated, last, !whole)
    }

    /// The end of every path a data frame's payload takes: hands `piece` on
    /// as a chunk (streaming), keeps it for the rest of the message, or,
    /// when `last`, ends the message and hands it out whole. `validated`
    /// says the text went through the streaming validator, which must then
    /// find no code point left unfinished (RFC 6455 §8.1).
    fn deliver(&mut self, piece: Piece, last: bool, validated: bool) -> Step {
        let message = self.message.as_mut().expect("a data frame has a message");
        let kind = message.kind;
        if last && kind == MessageKind::Text && validated && self.validator.finish().is_err() {
            return Step::Event(Found::Failed(self.on_failure(ProtocolError::InvalidUtf8)));
        }
        if self.config.streaming {
            let at = match piece {
                Piece::Buffered(n) => At::Read(n),
                Piece::Inflated => At::Inflated,
            };
            let empty = match at {
                At::Read(n) => n == 0,
                At::Inflated => self
                    .compression
                    .as_ref()
                    .is_none_or(|c| c.inflated().is_empty()),
                At::Parts(_) => false,
            };
            if empty && !last {
                return Step::Continue;
            }
            let first = !message.chunk_sent;
            message.chunk_sent = true;
            if last {
                self.message = None;
            }
            return Step::Event(Found::Chunk {
                kind,
                at,
                first,
                last,
            });
        }
        if !last {
            if let Piece::Buffered(n) = piece {
                // With a budget, the joined fragments grow no further than it allows.
                let parts = message.parts.as_ref().map_or(0, BytesMut::capacity);
                let limit = self
                    .config
                    .memory_budget
                    .map(|budget| budget.saturating_sub(self.memory_usage() - parts));
                let message = self.message.as_mut().expect("checked above");
                let parts = message.parts.get_or_insert_with(BytesMut::new);
                read_buf::reserve_within(parts, n, limit);
                parts.extend_from_slice(&self.read.data()[..n]);
                self.read.advance(n);
            }
            return Step::Continue;
        }
        let message = self.message.take().expect("checked above");
        let at = match (piece, message.parts) {
            (Piece::Buffered(n), None) => At::Read(n),
            (Piece::Buffered(n), Some(mut parts)) => {
                parts.extend_from_slice(&self.read.data()[..n]);
                self.read.advance(n);
                At::Parts(parts)
            }
            (Piece::Inflated, _) => At::Inflated,
        };
        Step::Event(Found::Data { kind, at })
    }

    /// Bytes held by the message being reassembled, and for inflated
    /// output (kept from message to message without a budget or pool).
    pub(super) fn message_buffer_capacity(&self) -> usize {
        self.message
            .as_ref()
            .and_then(|m| m.parts.as_ref())
            .map_or(0, BytesMut::capacity)
            + self
                .compression
                .as_ref()
                .map_or(0, |c| c.inflated_capacity())
    }
}
