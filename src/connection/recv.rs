//! Inputs, and turning received bytes into events.
//!
//! Every received byte passes through here once: the header is parsed in
//! place, the payload is unmasked in place as it arrives and, for text,
//! validated as it arrives, so a peer's invalid byte fails the connection
//! before the rest of its frame is read (RFC 6455 §8.1). A frame's payload is
//! then handed out as a `Bytes` slice of the read buffer, without copying;
//! only the fragments of a fragmented message are copied, to join them.

use bytes::{Buf, Bytes, BytesMut};

use super::{CloseFrame, Connection, Event, MessageKind, Role};
use crate::error::ProtocolError;
use crate::frame::{self, FrameHeader, OpCode, Parsed};
use crate::utf8::Utf8Bytes;

/// The frame whose payload is being received.
#[derive(Debug)]
pub(super) struct InFrame {
    opcode: OpCode,
    fin: bool,
    mask: Option<[u8; 4]>,
    /// Payload bytes not yet split off the read buffer.
    remaining: u64,
    /// Of those, how many at the front of the read buffer are already
    /// unmasked (and, for text, validated).
    processed: usize,
    /// Payload bytes already handed out (streaming), for the mask's phase.
    consumed: u64,
    /// Text bytes go through the streaming validator; otherwise the whole
    /// payload is validated once when it is complete.
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
    /// RSV1 was set on the first frame: the message is compressed (RFC 7692 §6).
    compressed: bool,
    /// A compressed message's inflated bytes so far.
    inflated: Vec<u8>,
}

/// A read buffer emptied with more capacity than this is released, so an
/// idle connection holds no read buffer (it starts small and grows on demand).
const RETAIN_READ_BUFFER: usize = 1024;

/// At most this many automatic pongs wait to be handed out; beyond it the
/// oldest is dropped (RFC 6455 §5.5.3 allows answering only the most recent
/// ping), so a ping flood from a peer that does not read cannot grow the queue.
const MAX_PENDING_PONGS: usize = 16;

/// What one step over the read buffer came to.
enum Step {
    Event(Event),
    Continue,
    NeedMore,
}

impl Connection {
    /// Input: bytes read from the transport.
    ///
    /// They are buffered until [`poll_event`](Self::poll_event) turns them
    /// into events; nothing that arrived is dropped, except what follows the
    /// peer's close frame or a protocol error (RFC 6455 §5.5.1, §7.1.7).
    pub fn handle_read(&mut self, data: &[u8]) {
        self.settle_fill();
        if self.accepts_input() && !data.is_empty() {
            self.read_buf.extend_from_slice(data);
            self.rx_activity = true;
        }
    }

    /// Input, without a copy: returns `len` writable bytes at the end of the
    /// read buffer. Read from the transport into them, then call
    /// [`handle_received`](Self::handle_received) with the count read.
    ///
    /// ```
    /// # use wsproto::{Config, Connection, Event, Role};
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// let wire = b"\x82\x03abc";
    /// client.recv_buffer(4096)[..wire.len()].copy_from_slice(wire);
    /// client.handle_received(wire.len());
    /// assert_eq!(client.poll_event(), Some(Event::Binary("abc".into())));
    /// ```
    pub fn recv_buffer(&mut self, len: usize) -> &mut [u8] {
        self.settle_fill();
        let start = self.read_buf.len();
        self.read_buf.resize(start + len, 0);
        self.read_fill = Some(start);
        &mut self.read_buf[start..]
    }

    /// Input: `n` bytes were written into the slice from
    /// [`recv_buffer`](Self::recv_buffer).
    pub fn handle_received(&mut self, n: usize) {
        if let Some(start) = self.read_fill.take() {
            let end = start + n.min(self.read_buf.len() - start);
            self.read_buf.truncate(end);
            if !self.accepts_input() {
                self.read_buf.truncate(start);
            } else if end > start {
                self.rx_activity = true;
            }
        }
    }

    /// Input: the peer closed the transport (a read returned 0 bytes).
    ///
    /// Events for bytes already received are still delivered; if the peer's
    /// close frame never came, the last event is
    /// [`ProtocolError::UnexpectedEof`] (RFC 6455 §7.1.5: code 1006).
    pub fn handle_eof(&mut self) {
        self.settle_fill();
        self.eof = true;
    }

    /// Output: the next thing the peer did, or `None` when the buffered bytes
    /// hold no further complete event.
    ///
    /// Call it after every input until it returns `None`, then drain
    /// [`poll_transmit`](Self::poll_transmit): events may queue frames (a
    /// pong, the close reply).
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.settle_fill();
        if let Some(event) = self.pending_event.take() {
            return Some(event);
        }
        loop {
            if self.failed || self.close_received {
                return None;
            }
            if self.frame.is_none() {
                match FrameHeader::parse(&self.read_buf) {
                    Err(e) => return Some(self.fail(e)),
                    Ok(Parsed::Partial(_)) => return self.need_more(),
                    Ok(Parsed::Complete(header, len)) => {
                        if let Err(e) = self.check_header(&header) {
                            return Some(self.fail(e));
                        }
                        self.read_buf.advance(len);
                        self.begin_frame(header);
                    }
                }
            }
            match self.step_payload() {
                Step::Event(event) => return Some(event),
                Step::Continue => {}
                Step::NeedMore => return self.need_more(),
            }
        }
    }

    fn accepts_input(&self) -> bool {
        !(self.failed || self.close_received)
    }

    /// Drops the zeroed tail of a `recv_buffer` that was never filled.
    fn settle_fill(&mut self) {
        if let Some(start) = self.read_fill.take() {
            self.read_buf.truncate(start);
        }
    }

    /// The buffer holds no complete event: at the end of the transport, the
    /// connection ended abnormally unless the close handshake happened.
    fn need_more(&mut self) -> Option<Event> {
        if self.read_buf.is_empty() && self.read_buf.capacity() > RETAIN_READ_BUFFER {
            self.read_buf = BytesMut::new();
        }
        if self.eof {
            Some(self.fail(ProtocolError::UnexpectedEof))
        } else {
            None
        }
    }

    /// _Fail the WebSocket Connection_ (RFC 6455 §7.1.7): queue a close frame
    /// with the error's code if none was sent, and discard further input.
    pub(super) fn fail(&mut self, error: ProtocolError) -> Event {
        // 1006 is never sent; the peer is gone anyway.
        if !self.close_sent && error != ProtocolError::UnexpectedEof {
            self.queue_close(Some(error.close_code()), "");
        }
        self.failed = true;
        self.read_buf = BytesMut::new();
        self.frame = None;
        self.message = None;
        Event::ProtocolError(error)
    }

    /// The rules a header breaks in the light of the connection's state.
    fn check_header(&self, header: &FrameHeader) -> Result<(), ProtocolError> {
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
            // Without streaming the whole payload will be buffered.
            let buffered = if self.config.streaming || compressed {
                0
            } else {
                header.payload_len
            };
            if self.memory_usage() as u64 + buffered > budget as u64 {
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
                inflated: Vec::new(),
            });
        }
        if !header.opcode.is_control() {
            self.data_activity = true;
            if let Some(message) = &mut self.message {
                message.size += header.payload_len;
            }
        }
        // A single-frame text message that is already whole is validated
        // once, when it is wrapped; anything else as it arrives.
        let whole_now = self.read_buf.len() as u64 >= header.payload_len;
        let compressed =
            !header.opcode.is_control() && self.message.as_ref().is_some_and(|m| m.compressed);
        // Compressed text is validated as it is inflated.
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
    /// and hands it out when it is complete (or, streaming, as it arrives).
    fn step_payload(&mut self) -> Step {
        let Some(frame) = &mut self.frame else {
            return Step::NeedMore;
        };
        let available = (self.read_buf.len() as u64).min(frame.remaining) as usize;
        let text = match (frame.opcode, &self.message) {
            (OpCode::Text | OpCode::Continuation, Some(m)) => m.kind == MessageKind::Text,
            _ => false,
        };
        if available > frame.processed {
            let fresh = &mut self.read_buf[frame.processed..available];
            if let Some(key) = frame.mask {
                let phase = (frame.consumed % 4) as usize + frame.processed;
                frame::apply_mask(fresh, key, phase);
            }
            if text && frame.validate_as_it_arrives && self.validator.feed(fresh).is_err() {
                return Step::Event(self.fail(ProtocolError::InvalidUtf8));
            }
            frame.processed = available;
        }
        let complete = available as u64 == frame.remaining;
        if frame.compressed {
            return self.step_inflate(available, complete, text);
        }
        if self.config.streaming && !frame.opcode.is_control() {
            return self.step_chunk(available, complete, text);
        }
        if !complete {
            return Step::NeedMore;
        }
        let payload = self.read_buf.split_to(available).freeze();
        let frame = self.frame.take().expect("checked above");
        match frame.opcode {
            OpCode::Ping => {
                if self.config.auto_pong && !self.close_sent {
                    if self.pending_pongs.len() == MAX_PENDING_PONGS {
                        self.pending_pongs.pop_front();
                    }
                    self.pending_pongs.push_back(payload.clone());
                }
                Step::Event(Event::Ping(payload))
            }
            OpCode::Pong => Step::Event(Event::Pong(payload)),
            OpCode::Close => Step::Event(self.on_close(payload)),
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                self.on_data(payload, frame.fin, frame.validate_as_it_arrives)
            }
        }
    }

    /// Streaming mode: hands out what arrived of a data frame.
    fn step_chunk(&mut self, available: usize, complete: bool, text: bool) -> Step {
        let frame = self.frame.as_mut().expect("called with a frame");
        let last = complete && frame.fin;
        if available == 0 && !last {
            if complete {
                self.frame = None;
                return Step::Continue;
            }
            return Step::NeedMore;
        }
        if last && text && self.validator.finish().is_err() {
            return Step::Event(self.fail(ProtocolError::InvalidUtf8));
        }
        let data = self.read_buf.split_to(available).freeze();
        frame.remaining -= available as u64;
        frame.consumed += available as u64;
        frame.processed = 0;
        if complete {
            self.frame = None;
        }
        let message = self.message.as_mut().expect("a data frame has a message");
        let (kind, first) = (message.kind, !message.chunk_sent);
        message.chunk_sent = true;
        if last {
            self.message = None;
        }
        Step::Event(Event::Chunk {
            kind,
            data,
            first,
            last,
        })
    }

    /// A compressed message (RFC 7692 §7.2.2): inflates what arrived of the
    /// frame, validates inflated text, and hands the message out when it
    /// ends (or, streaming, what was inflated so far).
    fn step_inflate(&mut self, available: usize, complete: bool, text: bool) -> Step {
        let frame = self.frame.as_mut().expect("called with a frame");
        let last = complete && frame.fin;
        if available == 0 && !complete {
            return Step::NeedMore;
        }
        let (Some(message), Some(compression)) = (self.message.as_mut(), self.compression.as_mut())
        else {
            unreachable!("a compressed frame belongs to a compressed message");
        };
        let before = message.inflated.len();
        // A memory budget also caps what one message may inflate to.
        let limit = self
            .config
            .memory_budget
            .map_or(self.config.max_message_size, |b| {
                b.min(self.config.max_message_size)
            });
        let inflated = compression.decompress(
            &self.read_buf[..available],
            last,
            &mut message.inflated,
            limit,
        );
        self.read_buf.advance(available);
        frame.remaining -= available as u64;
        frame.consumed += available as u64;
        frame.processed = 0;
        if complete {
            self.frame = None;
        }
        if let Err(e) = inflated {
            return Step::Event(self.fail(e));
        }
        if text {
            let fresh = &message.inflated[before..];
            if self.validator.feed(fresh).is_err() || (last && self.validator.finish().is_err()) {
                return Step::Event(self.fail(ProtocolError::InvalidUtf8));
            }
        }
        let kind = message.kind;
        if self.config.streaming {
            if message.inflated.is_empty() && !last {
                return Step::Continue;
            }
            let data = Bytes::from(std::mem::take(&mut message.inflated));
            let first = !message.chunk_sent;
            message.chunk_sent = true;
            if last {
                self.message = None;
            }
            return Step::Event(Event::Chunk {
                kind,
                data,
                first,
                last,
            });
        }
        if !last {
            return Step::Continue;
        }
        let data = Bytes::from(std::mem::take(&mut message.inflated));
        self.message = None;
        match kind {
            MessageKind::Binary => Step::Event(Event::Binary(data)),
            MessageKind::Text => match Utf8Bytes::try_from_bytes(data) {
                Ok(text) => Step::Event(Event::Text(text)),
                Err(_) => Step::Event(self.fail(ProtocolError::InvalidUtf8)),
            },
        }
    }

    /// Bytes held by the message being reassembled.
    pub(super) fn message_buffer_capacity(&self) -> usize {
        self.message.as_ref().map_or(0, |m| {
            m.parts.as_ref().map_or(0, BytesMut::capacity) + m.inflated.capacity()
        })
    }

    fn on_data(&mut self, payload: Bytes, fin: bool, validated: bool) -> Step {
        let message = self.message.as_mut().expect("a data frame has a message");
        if !fin {
            message
                .parts
                .get_or_insert_with(BytesMut::new)
                .extend_from_slice(&payload);
            return Step::Continue;
        }
        let message = self.message.take().expect("checked above");
        let data = match message.parts {
            None => payload,
            Some(mut parts) => {
                parts.extend_from_slice(&payload);
                parts.freeze()
            }
        };
        match message.kind {
            MessageKind::Binary => Step::Event(Event::Binary(data)),
            MessageKind::Text => {
                if validated && self.validator.finish().is_err() {
                    return Step::Event(self.fail(ProtocolError::InvalidUtf8));
                }
                match Utf8Bytes::try_from_bytes(data) {
                    Ok(text) => Step::Event(Event::Text(text)),
                    Err(_) => Step::Event(self.fail(ProtocolError::InvalidUtf8)),
                }
            }
        }
    }

    /// The peer's close frame (RFC 6455 §5.5.1): reply with the same code
    /// unless this end sent its close first, then take no further input.
    fn on_close(&mut self, payload: Bytes) -> Event {
        let code = match frame::parse_close_payload(&payload) {
            Ok(parsed) => parsed.map(|(code, _)| code),
            Err(e) => return self.fail(e),
        };
        let close = match code {
            None => None,
            Some(code) => match Utf8Bytes::try_from_bytes(payload.slice(2..)) {
                Ok(reason) => Some(CloseFrame { code, reason }),
                Err(_) => return self.fail(ProtocolError::InvalidCloseReason),
            },
        };
        self.close_received = true;
        if !self.close_sent {
            // RFC 6455 §5.5.1: "the endpoint typically echos the status code it received".
            self.queue_close(code, "");
        }
        self.read_buf = BytesMut::new();
        self.frame = None;
        self.message = None;
        Event::Close(close)
    }
}
