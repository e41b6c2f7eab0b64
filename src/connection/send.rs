//! Commands that send, and the queue of bytes they fill.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

use super::{Connection, MessageKind, Role};
use crate::error::Error;
use crate::frame::{self, CloseCode, FrameHeader, OpCode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use crate::utf8::Utf8Bytes;

/// Payloads at least this large, sent unmasked from a shared buffer, are
/// queued as their own chunk instead of being copied behind their header.
const ZERO_COPY_MIN: usize = 1024;

/// A payload to send: borrowed (copied into the send queue) or shared (a
/// large one is queued without copying when no mask must be applied).
#[derive(Debug, Clone)]
pub enum Payload<'a> {
    /// Bytes the queue copies.
    Borrowed(&'a [u8]),
    /// Bytes the queue can hold by reference.
    Shared(Bytes),
}

impl Payload<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Payload::Borrowed(s) => s,
            Payload::Shared(b) => b,
        }
    }
}

impl<'a> From<&'a [u8]> for Payload<'a> {
    fn from(s: &'a [u8]) -> Self {
        Payload::Borrowed(s)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Payload<'a> {
    fn from(s: &'a [u8; N]) -> Self {
        Payload::Borrowed(s)
    }
}

impl<'a> From<&'a Vec<u8>> for Payload<'a> {
    fn from(s: &'a Vec<u8>) -> Self {
        Payload::Borrowed(s)
    }
}

impl<'a> From<&'a str> for Payload<'a> {
    fn from(s: &'a str) -> Self {
        Payload::Borrowed(s.as_bytes())
    }
}

impl<'a> From<&'a String> for Payload<'a> {
    fn from(s: &'a String) -> Self {
        Payload::Borrowed(s.as_bytes())
    }
}

impl From<Bytes> for Payload<'_> {
    fn from(b: Bytes) -> Self {
        Payload::Shared(b)
    }
}

impl From<Vec<u8>> for Payload<'_> {
    fn from(v: Vec<u8>) -> Self {
        Payload::Shared(Bytes::from(v))
    }
}

impl From<String> for Payload<'_> {
    fn from(s: String) -> Self {
        Payload::Shared(Bytes::from(s))
    }
}

impl From<Utf8Bytes> for Payload<'_> {
    fn from(s: Utf8Bytes) -> Self {
        Payload::Shared(s.into_bytes())
    }
}

/// Bytes waiting to be written: small frames are packed into one buffer,
/// large shared payloads follow as their own chunks, in order.
#[derive(Debug, Default)]
pub(super) struct SendQueue {
    /// Packed frames not yet handed out; they follow every chunk in `chunks`.
    tail: BytesMut,
    /// Chunks ready to hand out, in order, before `tail`.
    chunks: VecDeque<Bytes>,
    /// Bytes in `chunks`.
    chunked: usize,
}

impl SendQueue {
    pub(super) fn len(&self) -> usize {
        self.chunked + self.tail.len()
    }

    fn push_chunk(&mut self, chunk: Bytes) {
        if !self.tail.is_empty() {
            let packed = self.tail.split().freeze();
            self.chunked += packed.len();
            self.chunks.push_back(packed);
        }
        self.chunked += chunk.len();
        self.chunks.push_back(chunk);
    }

    fn pop(&mut self) -> Option<Bytes> {
        if let Some(chunk) = self.chunks.pop_front() {
            self.chunked -= chunk.len();
            return Some(chunk);
        }
        if self.tail.is_empty() {
            None
        } else {
            Some(self.tail.split().freeze())
        }
    }
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
        self.send_message(MessageKind::Text, text.into().0)
    }

    /// Sends a whole binary message.
    pub fn send_binary<'a>(&mut self, data: impl Into<Payload<'a>>) -> Result<(), Error> {
        self.send_message(MessageKind::Binary, data.into())
    }

    fn send_message(&mut self, kind: MessageKind, payload: Payload<'_>) -> Result<(), Error> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(Error::Fragmentation(
                "a fragmented message is being sent; finish it with send_fragment first",
            ));
        }
        self.queue_frame(true, opcode_for(kind), payload);
        Ok(())
    }

    /// Sends one fragment of a message (RFC 6455 §5.4): the first call
    /// starts a message of `kind`, later calls continue it, and the call with
    /// `last` set ends it. Control frames may be sent in between. The kind of
    /// later calls must match the first.
    ///
    /// For text, the concatenated fragments must be valid UTF-8; each
    /// fragment on its own need not be.
    pub fn send_fragment<'a>(
        &mut self,
        kind: MessageKind,
        data: impl Into<Payload<'a>>,
        last: bool,
    ) -> Result<(), Error> {
        self.check_can_send()?;
        let opcode = match self.sending {
            None => opcode_for(kind),
            Some(started) if started == kind => OpCode::Continuation,
            Some(_) => {
                return Err(Error::Fragmentation(
                    "a fragment's kind differs from the message's first fragment",
                ))
            }
        };
        self.sending = if last { None } else { Some(kind) };
        self.queue_frame(last, opcode, data.into());
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
        self.queue_frame(true, opcode, Payload::Borrowed(payload));
        Ok(())
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2) with a status code and
    /// a reason of at most 123 bytes. No data frame may be sent after it;
    /// received messages are still delivered until the peer's close arrives.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.check_can_send()?;
        if !code.is_valid_on_wire() {
            return Err(Error::InvalidCloseCode(code.0));
        }
        if reason.len() > MAX_CONTROL_PAYLOAD - 2 {
            return Err(Error::ControlPayloadTooLong(reason.len() + 2));
        }
        self.queue_close(Some(code), reason);
        Ok(())
    }

    /// Hands out the next chunk of bytes to write to the transport, in order.
    ///
    /// Write every chunk; a caller that can write vectored may take several
    /// before writing.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.send.pop()
    }

    fn check_can_send(&self) -> Result<(), Error> {
        if self.close_sent {
            Err(Error::AlreadyClosing)
        } else {
            Ok(())
        }
    }

    /// Queues a close frame and marks the close as sent. The code must be
    /// valid on the wire and the reason short enough.
    pub(super) fn queue_close(&mut self, code: Option<CloseCode>, reason: &str) {
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let len = code.map_or(0, |code| {
            frame::encode_close_payload(code, reason, &mut payload)
        });
        self.queue_frame(true, OpCode::Close, Payload::Borrowed(&payload[..len]));
        self.close_sent = true;
    }

    /// Frames `payload` and queues it: masked with a fresh key in the client
    /// role (RFC 6455 §5.3), and without copying a large shared payload in
    /// the server role.
    pub(super) fn queue_frame(&mut self, fin: bool, opcode: OpCode, payload: Payload<'_>) {
        let len = payload.as_slice().len();
        let mut header = FrameHeader::new(fin, opcode, len as u64);
        if self.role == Role::Client {
            header.mask = Some(self.entropy.mask_key());
        }
        let mut raw = [0u8; MAX_HEADER_LEN];
        let header_len = header.encode(&mut raw);
        let tail = &mut self.send.tail;
        match (header.mask, payload) {
            (None, Payload::Shared(shared)) if shared.len() >= ZERO_COPY_MIN => {
                tail.put_slice(&raw[..header_len]);
                self.send.push_chunk(shared);
            }
            (mask, payload) => {
                tail.reserve(header_len + len);
                tail.put_slice(&raw[..header_len]);
                let start = tail.len();
                tail.put_slice(payload.as_slice());
                if let Some(key) = mask {
                    frame::apply_mask(&mut tail[start..], key, 0);
                }
            }
        }
    }
}

fn opcode_for(kind: MessageKind) -> OpCode {
    match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    }
}

/// A text payload: a `&str` (copied into the send queue) or an owned text
/// (a large one is queued without copying in the server role).
#[derive(Debug, Clone)]
pub struct TextPayload<'a>(Payload<'a>);

impl<'a> From<&'a str> for TextPayload<'a> {
    fn from(s: &'a str) -> Self {
        Self(Payload::Borrowed(s.as_bytes()))
    }
}

impl<'a> From<&'a String> for TextPayload<'a> {
    fn from(s: &'a String) -> Self {
        Self(Payload::Borrowed(s.as_bytes()))
    }
}

impl From<String> for TextPayload<'_> {
    fn from(s: String) -> Self {
        Self(Payload::Shared(Bytes::from(s)))
    }
}

impl From<Utf8Bytes> for TextPayload<'_> {
    fn from(s: Utf8Bytes) -> Self {
        Self(Payload::Shared(s.into_bytes()))
    }
}
