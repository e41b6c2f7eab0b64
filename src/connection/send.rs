//! Commands: messages, fragments, control frames, the close and the local
//! failure, each framed into the send queue.
//!
//! A caller's mistake (a send after the close, a control payload over 125
//! bytes, text that is not UTF-8, a fragment out of sequence, a full queue)
//! is an immediate [`Error`] and queues nothing.

use bytes::{BufMut, BytesMut};

use super::{Connection, Message, MessageKind, Payload, Role, TextPayload};
use crate::close::{CloseCode, CloseFrame};
use crate::error::Error;
use crate::frame::{self, FrameHeader, OpCode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use crate::utf8::Utf8Validator;

/// Payloads at least this large, sent unmasked from a shared buffer, are
/// queued as their own chunk instead of being copied behind their header.
pub(super) const ZERO_COPY_MIN: usize = 1024;

/// The fragmented message being sent.
#[derive(Debug)]
pub(super) struct OutMessage {
    kind: MessageKind,
    /// Text fragments are validated as they are sent; a code point may
    /// straddle two of them.
    validator: Utf8Validator,
}

impl Connection {
    /// Sends a whole text message.
    ///
    /// ```
    /// # use wsproto::{Config, Connection, Role};
    /// let mut conn = Connection::new(Role::Server, Config::default());
    /// conn.send_text("hi").unwrap();
    /// assert_eq!(&conn.poll_transmit().unwrap()[..], b"\x81\x02hi");
    /// ```
    pub fn send_text<'a>(&mut self, text: impl Into<TextPayload<'a>>) -> Result<(), Error> {
        let payload: Payload<'_> = text.into().into();
        if self.send_small(MessageKind::Text, payload.as_slice(), true) {
            return Ok(());
        }
        self.send_message_with(MessageKind::Text, payload, true)
    }

    /// Sends a whole binary message.
    pub fn send_binary<'a>(&mut self, data: impl Into<Payload<'a>>) -> Result<(), Error> {
        let payload = data.into();
        if self.send_small(MessageKind::Binary, payload.as_slice(), true) {
            return Ok(());
        }
        self.send_message_with(MessageKind::Binary, payload, true)
    }

    /// The commonest send, framed straight into the send buffer without the
    /// general path's steps: a whole message with a 7- or 16-bit length
    /// (under [`ZERO_COPY_MIN`] in the server role, where larger shared
    /// payloads are queued uncopied), not to be compressed, with no
    /// fragmented message under way, the close not sent, no memory budget
    /// or pool to consult, and room in the queue. Anything else returns
    /// false having done nothing, and the general path sends it or says why
    /// not; both frame it alike (`tests/send_paths.rs`).
    #[inline(always)]
    fn send_small(&mut self, kind: MessageKind, data: &[u8], compress: bool) -> bool {
        let len = data.len();
        let server = self.role == Role::Server;
        if len > usize::from(u16::MAX)
            || (server && len >= ZERO_COPY_MIN)
            || self.sending.is_some()
            || self.state.close_sent()
            || self.config.memory_budget.is_some()
            || self.pool.is_some()
            || (compress && self.compression.as_ref().is_some_and(|c| c.wants(len)))
            || self.buffered_amount() + len + MAX_HEADER_LEN > self.config.max_send_queue
        {
            return false;
        }
        self.timers.on_data();
        // RFC 6455 §5.2: FIN set, RSV clear, the shortest length encoding,
        // then the masking key from a client.
        let b0 = 0x80 | opcode_for(kind).as_u8();
        let out = &mut self.send.tail;
        if server && len <= 125 {
            out.reserve(2 + len);
            out.put_slice(&[b0, len as u8]);
            out.put_slice(data);
            return true;
        }
        let mut head = [0u8; 8];
        head[0] = b0;
        let mut n = if len <= 125 {
            head[1] = len as u8;
            2
        } else {
            head[1] = 126;
            head[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        };
        if server {
            out.reserve(n + len);
            out.put_slice(&head[..n]);
            out.put_slice(data);
        } else {
            let key = self.entropy.mask_key();
            head[1] |= 0x80;
            head[n..n + 4].copy_from_slice(&key);
            n += 4;
            out.reserve(n + len);
            out.put_slice(&head[..n]);
            frame::extend_masked(out, data, key);
        }
        true
    }

    /// Sends `message`: a text or binary message, a ping, a pong, or a close
    /// (`Close(None)`: without a status code). The command an adapter's
    /// `Sink` needs; each kind behaves as its own command does.
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        match message {
            Message::Text(text) => self.send_text(text),
            Message::Binary(data) => self.send_binary(data),
            Message::Ping(payload) => self.ping(&payload),
            Message::Pong(payload) => self.pong(&payload),
            Message::Close(Some(close)) => self.close(close.code, &close.reason),
            Message::Close(None) => self.close_without_status(),
        }
    }

    /// Sends a whole message without compressing it, even where
    /// permessage-deflate was negotiated (RFC 7692 §6: compression is chosen
    /// per message). Useful for data that is already compressed. Text must
    /// be valid UTF-8 ([`Error::InvalidUtf8`] otherwise).
    pub fn send_uncompressed<'a>(
        &mut self,
        kind: MessageKind,
        data: impl Into<Payload<'a>>,
    ) -> Result<(), Error> {
        let data = data.into();
        if kind == MessageKind::Text && simdutf8::basic::from_utf8(data.as_slice()).is_err() {
            return Err(Error::InvalidUtf8);
        }
        self.send_message_with(kind, data, false)
    }

    fn send_message_with(
        &mut self,
        kind: MessageKind,
        payload: Payload<'_>,
        compress: bool,
    ) -> Result<(), Error> {
        self.check_can_send()?;
        self.check_room(payload.as_slice().len())?;
        self.check_no_fragmented_message()?;
        let opcode = opcode_for(kind);
        // RFC 7692 §7.2.1: the whole message is compressed, RSV1 on its (only) frame.
        let compressed = match self.compression.as_mut() {
            Some(c) if compress && c.wants(payload.as_slice().len()) => {
                Some(c.compress(payload.as_slice()))
            }
            _ => None,
        };
        match compressed {
            None => self.queue_frame(true, opcode, payload),
            Some(out) if self.role == Role::Server && out.len() >= ZERO_COPY_MIN => {
                self.queue_frame_rsv1(true, true, opcode, Payload::from(out));
            }
            Some(out) => {
                self.queue_frame_rsv1(true, true, opcode, Payload::from(&out));
                if let Some(c) = self.compression.as_mut() {
                    c.restore(out);
                }
            }
        }
        Ok(())
    }

    /// Sends one fragment of a message (RFC 6455 §5.4): the first call
    /// starts a message of `kind`, later calls continue it, and the call with
    /// `last` set ends it. Control frames may be sent in between. The kind of
    /// later calls must match the first. Fragments are never compressed.
    ///
    /// For text, the concatenated fragments must be valid UTF-8; a code
    /// point may straddle two fragments. Each fragment is validated as it is
    /// sent, and one that cannot continue valid text (or a last fragment
    /// that leaves a code point unfinished) is [`Error::InvalidUtf8`] and
    /// queues nothing.
    pub fn send_fragment<'a>(
        &mut self,
        kind: MessageKind,
        data: impl Into<Payload<'a>>,
        last: bool,
    ) -> Result<(), Error> {
        let data = data.into();
        self.check_can_send()?;
        self.check_room(data.as_slice().len())?;
        let opcode = match &self.sending {
            None => opcode_for(kind),
            Some(started) if started.kind == kind => OpCode::Continuation,
            Some(started) => {
                return Err(Error::FragmentKindMismatch {
                    started: started.kind,
                    given: kind,
                })
            }
        };
        if kind == MessageKind::Text {
            // Checked on a copy of the validator, so that a refused fragment
            // leaves the message as it was.
            let mut validator = self
                .sending
                .as_ref()
                .map_or_else(Utf8Validator::new, |m| m.validator.clone());
            let valid =
                validator.feed(data.as_slice()).is_ok() && (!last || validator.finish().is_ok());
            if !valid {
                return Err(Error::InvalidUtf8);
            }
            if let Some(started) = &mut self.sending {
                started.validator = validator;
            } else if !last {
                self.sending = Some(OutMessage { kind, validator });
            }
        } else if self.sending.is_none() && !last {
            self.sending = Some(OutMessage {
                kind,
                validator: Utf8Validator::new(),
            });
        }
        if last {
            self.sending = None;
        }
        self.queue_frame(last, opcode, data);
        Ok(())
    }

    /// Sends a ping (RFC 6455 §5.5.2) with at most 125 bytes of payload.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Sends an unsolicited pong, a heartbeat (RFC 6455 §5.5.3).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_control(OpCode::Pong, payload)
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), Error> {
        self.check_can_send()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(Error::ControlPayloadTooLong(payload.len()));
        }
        self.check_room(payload.len())?;
        self.queue_frame(true, opcode, Payload::borrowed(payload));
        Ok(())
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2) with a status code and
    /// a reason of at most 123 bytes. No frame may be sent after it;
    /// received messages are still delivered until the peer's close arrives.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.check_close(code, reason)?;
        self.queue_close(Some(code), reason);
        Ok(())
    }

    /// Starts the closing handshake with a close frame that carries no
    /// status code (RFC 6455 §5.5.1: the body is optional; the peer reads
    /// 1005, [`CloseCode::NO_STATUS`]).
    pub fn close_without_status(&mut self) -> Result<(), Error> {
        self.check_can_send()?;
        self.queue_close(None, "");
        Ok(())
    }

    /// _Fails the WebSocket Connection_ (RFC 6455 §7.1.7) for a reason of
    /// this end's: a message it cannot accept (1003, 1008, or 1009 for an
    /// application limit), say. A close frame with `code` and `reason` is
    /// queued unless one was sent already, input stops at once (nothing
    /// further is delivered), and the connection is closed: write what is
    /// queued and shut the transport down ([`poll_shutdown`](Self::poll_shutdown)).
    pub fn fail(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        if !self.state.close_sent() {
            self.check_close(code, reason)?;
        } else if self.is_closed() {
            return Err(Error::AlreadyClosing);
        }
        self.on_local_failure(code, reason);
        Ok(())
    }

    fn check_close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.check_can_send()?;
        if !code.is_valid_on_wire() {
            return Err(Error::InvalidCloseCode(code.0));
        }
        if reason.len() > MAX_CONTROL_PAYLOAD - 2 {
            return Err(Error::ControlPayloadTooLong(reason.len() + 2));
        }
        Ok(())
    }

    /// Fails a send of `needed` payload bytes that would take the queue past
    /// its limit or the connection past its memory budget.
    #[inline]
    pub(super) fn check_room(&mut self, needed: usize) -> Result<(), Error> {
        let needed = needed + MAX_HEADER_LEN;
        let queued = self.buffered_amount();
        let mut limit = self.config.max_send_queue;
        if let Some(budget) = self.config.memory_budget {
            let held_otherwise = self.memory_usage().saturating_sub(queued);
            limit = limit.min(budget.saturating_sub(held_otherwise));
        }
        if queued + needed > limit {
            return Err(Error::SendQueueFull {
                queued,
                needed,
                limit,
            });
        }
        self.cover_from_pool(needed)
            .map_err(|limit| Error::SendQueueFull {
                queued,
                needed,
                limit,
            })
    }

    pub(super) fn check_can_send(&self) -> Result<(), Error> {
        if self.state.close_sent() {
            Err(Error::AlreadyClosing)
        } else {
            Ok(())
        }
    }

    pub(super) fn check_no_fragmented_message(&self) -> Result<(), Error> {
        match &self.sending {
            Some(started) => Err(Error::FragmentedMessageInProgress(started.kind)),
            None => Ok(()),
        }
    }

    /// Queues a close frame and marks the close as sent. The code must be
    /// valid on the wire and the reason short enough.
    pub(super) fn queue_close(&mut self, code: Option<CloseCode>, reason: &str) {
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let len = code.map_or(0, |code| {
            CloseFrame::encode_payload(code, reason, &mut payload)
        });
        self.queue_frame(true, OpCode::Close, Payload::borrowed(&payload[..len]));
        self.on_close_queued(code, reason);
    }

    /// Frames `payload` and queues it: masked with a fresh key in the client
    /// role (RFC 6455 §5.3), and without copying a large shared payload in
    /// the server role.
    pub(super) fn queue_frame(&mut self, fin: bool, opcode: OpCode, payload: Payload<'_>) {
        self.queue_frame_rsv1(fin, false, opcode, payload);
    }

    /// [`queue_frame`](Self::queue_frame), with RSV1 (a compressed message, RFC 7692 §6).
    #[inline]
    fn queue_frame_rsv1(&mut self, fin: bool, rsv1: bool, opcode: OpCode, payload: Payload<'_>) {
        if !opcode.is_control() {
            self.timers.on_data();
        }
        let payload = if self.role == Role::Server && payload.as_slice().len() >= ZERO_COPY_MIN {
            match payload.into_shared() {
                Ok(shared) => {
                    let mut header = FrameHeader::new(fin, opcode, shared.len() as u64);
                    header.rsv1 = rsv1;
                    let mut raw = [0u8; MAX_HEADER_LEN];
                    let header_len = header.encode(&mut raw);
                    self.send.tail.put_slice(&raw[..header_len]);
                    self.send.push_chunk(shared, false, true);
                    return;
                }
                Err(borrowed) => borrowed,
            }
        } else {
            payload
        };
        let mask = self.next_mask();
        encode_frame(
            &mut self.send.tail,
            fin,
            rsv1,
            opcode,
            payload.as_slice(),
            mask,
        );
    }

    /// A fresh masking key in the client role (RFC 6455 §5.3), none in the server role.
    pub(super) fn next_mask(&mut self) -> Option<[u8; 4]> {
        (self.role == Role::Client).then(|| self.entropy.mask_key())
    }
}

/// Appends one frame to `out`, masked with `mask` if there is one.
#[inline]
pub(super) fn encode_frame(
    out: &mut BytesMut,
    fin: bool,
    rsv1: bool,
    opcode: OpCode,
    data: &[u8],
    mask: Option<[u8; 4]>,
) {
    // The common small unmasked frame (the server role): its two header
    // bytes are written directly, as `FrameHeader::encode` would.
    if mask.is_none() && data.len() <= 125 {
        let b0 = opcode.as_u8() | if fin { 0x80 } else { 0 } | if rsv1 { 0x40 } else { 0 };
        out.reserve(2 + data.len());
        out.put_slice(&[b0, data.len() as u8]);
        out.put_slice(data);
        return;
    }
    let mut header = FrameHeader::new(fin, opcode, data.len() as u64);
    header.rsv1 = rsv1;
    header.mask = mask;
    let mut raw = [0u8; MAX_HEADER_LEN];
    let header_len = header.encode(&mut raw);
    out.reserve(header_len + data.len());
    out.put_slice(&raw[..header_len]);
    match mask {
        Some(key) => frame::extend_masked(out, data, key),
        None => out.put_slice(data),
    }
}

fn opcode_for(kind: MessageKind) -> OpCode {
    match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    }
}
