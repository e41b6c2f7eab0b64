//! Commands that send, and the queue of bytes they fill.

use std::collections::VecDeque;

use std::io::IoSlice;

use bytes::{Buf, BufMut, Bytes, BytesMut};

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
#[derive(Debug)]
pub(super) struct SendQueue {
    /// Packed frames not yet handed out; they follow every chunk in `chunks`.
    tail: BytesMut,
    /// Chunks ready to hand out, in order, before `tail`, each with whether
    /// a frame ends with it.
    chunks: VecDeque<(Bytes, bool)>,
    /// Bytes in `chunks`.
    chunked: usize,
    /// The last chunk handed out ended a frame: a control frame may go next.
    at_boundary: bool,
}

impl Default for SendQueue {
    fn default() -> Self {
        Self {
            tail: BytesMut::new(),
            chunks: VecDeque::new(),
            chunked: 0,
            at_boundary: true,
        }
    }
}

/// A send buffer emptied with more capacity than this is released.
const RETAIN_SEND_BUFFER: usize = 1024;

impl SendQueue {
    pub(super) fn len(&self) -> usize {
        self.chunked + self.tail.len()
    }

    pub(super) fn capacity(&self) -> usize {
        self.chunked
            + self.tail.capacity()
            + self.chunks.capacity() * std::mem::size_of::<(Bytes, bool)>()
    }

    /// Queues `chunk` after everything queued so far; `starts_frame` and
    /// `ends_frame` say whether a frame starts and ends with it.
    fn push_chunk(&mut self, chunk: Bytes, starts_frame: bool, ends_frame: bool) {
        if !self.tail.is_empty() {
            let packed = self.tail.split().freeze();
            self.chunked += packed.len();
            // The tail ends with a header when the chunk is that header's payload.
            self.chunks.push_back((packed, starts_frame));
        }
        if !chunk.is_empty() {
            self.chunked += chunk.len();
            self.chunks.push_back((chunk, ends_frame));
        }
    }

    /// Fills `out` with the queued bytes, in order; returns how many slices.
    fn slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let tail = (!self.tail.is_empty()).then_some(&self.tail[..]);
        let all = self.chunks.iter().map(|(c, _)| &c[..]).chain(tail);
        let mut n = 0;
        for (slot, bytes) in out.iter_mut().zip(all) {
            *slot = IoSlice::new(bytes);
            n += 1;
        }
        n
    }

    /// Drops the first `n` queued bytes (all of them, if fewer are queued).
    fn advance(&mut self, mut n: usize) {
        while n > 0 {
            if let Some((front, ends_frame)) = self.chunks.front_mut() {
                let k = n.min(front.len());
                front.advance(k);
                self.chunked -= k;
                n -= k;
                self.at_boundary = front.is_empty() && *ends_frame;
                if front.is_empty() {
                    self.chunks.pop_front();
                }
            } else {
                let k = n.min(self.tail.len());
                self.tail.advance(k);
                // Packed frames end where the tail does; inside it, a
                // boundary is not tracked, so a pong waits for the end.
                self.at_boundary = self.tail.is_empty();
                if self.tail.is_empty() && self.tail.capacity() > RETAIN_SEND_BUFFER {
                    self.tail = BytesMut::new();
                }
                break;
            }
        }
    }

    fn pop(&mut self) -> Option<Bytes> {
        if let Some((chunk, ends_frame)) = self.chunks.pop_front() {
            self.chunked -= chunk.len();
            self.at_boundary = ends_frame;
            return Some(chunk);
        }
        if self.tail.is_empty() {
            if self.tail.capacity() > RETAIN_SEND_BUFFER {
                self.tail = BytesMut::new();
            }
            None
        } else {
            self.at_boundary = true;
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

    /// Sends a whole message without compressing it, even where
    /// permessage-deflate was negotiated (RFC 7692 §6: compression is chosen
    /// per message). Useful for data that is already compressed.
    pub fn send_uncompressed<'a>(
        &mut self,
        kind: MessageKind,
        data: impl Into<Payload<'a>>,
    ) -> Result<(), Error> {
        self.send_message_with(kind, data.into(), false)
    }

    fn send_message(&mut self, kind: MessageKind, payload: Payload<'_>) -> Result<(), Error> {
        self.send_message_with(kind, payload, true)
    }

    fn send_message_with(
        &mut self,
        kind: MessageKind,
        payload: Payload<'_>,
        compress: bool,
    ) -> Result<(), Error> {
        self.check_can_send()?;
        self.check_room(payload.as_slice().len())?;
        if self.sending.is_some() {
            return Err(Error::Fragmentation(
                "a fragmented message is being sent; finish it with send_fragment first",
            ));
        }
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
                self.queue_frame_rsv1(true, true, opcode, Payload::Shared(Bytes::from(out)));
            }
            Some(out) => {
                self.queue_frame_rsv1(true, true, opcode, Payload::Borrowed(&out));
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
        let data = data.into();
        self.check_can_send()?;
        self.check_room(data.as_slice().len())?;
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
        self.queue_pongs();
        self.send.pop()
    }

    /// Output, lent rather than handed out: fills `slices` with the bytes
    /// queued to send, in order, and returns how many slices it filled
    /// (0 when nothing is queued). Write them (vectored), then call
    /// [`advance_transmit`](Self::advance_transmit) with the number of bytes
    /// written. Nothing is allocated or reference-counted on this path.
    ///
    /// ```
    /// # use std::io::IoSlice;
    /// # use wsproto::{Config, Connection, Role};
    /// let mut conn = Connection::new(Role::Server, Config::default());
    /// conn.send_text("hi").unwrap();
    /// let mut slices = [IoSlice::new(&[]); 8];
    /// let n = conn.transmit_slices(&mut slices);
    /// assert_eq!(&*slices[0], b"\x81\x02hi");
    /// let written = slices[..n].iter().map(|s| s.len()).sum();
    /// conn.advance_transmit(written);
    /// assert_eq!(conn.buffered_amount(), 0);
    /// ```
    pub fn transmit_slices<'a>(&'a mut self, slices: &mut [IoSlice<'a>]) -> usize {
        self.queue_pongs();
        self.send.slices(slices)
    }

    /// Input: `n` bytes of what [`transmit_slices`](Self::transmit_slices)
    /// lent were written to the transport.
    pub fn advance_transmit(&mut self, n: usize) {
        self.send.advance(n);
    }

    /// Puts the pending automatic pongs at the front of the queue, if no
    /// frame there is partly written: they go out ahead of queued data.
    fn queue_pongs(&mut self) {
        if self.pending_pongs.is_empty() || !self.send.at_boundary {
            return;
        }
        let mut out = BytesMut::new();
        while let Some(payload) = self.pending_pongs.pop_front() {
            let mask = self.next_mask();
            encode_frame(&mut out, true, false, OpCode::Pong, &payload, mask);
        }
        let pongs = out.freeze();
        self.send.chunked += pongs.len();
        self.send.chunks.push_front((pongs, true));
    }

    /// Fails a send of `needed` payload bytes that would take the queue past
    /// its limit or the connection past its memory budget.
    fn check_room(&self, needed: usize) -> Result<(), Error> {
        let needed = needed + MAX_HEADER_LEN;
        let queued = self.buffered_amount();
        let mut limit = self.config.max_send_queue;
        if let Some(budget) = self.config.memory_budget {
            limit = limit.min(budget.saturating_sub(self.memory_usage() - queued));
        }
        if queued + needed > limit {
            return Err(Error::SendQueueFull {
                queued,
                needed,
                limit,
            });
        }
        Ok(())
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
        // Nothing answers pings once the close is out.
        self.pending_pongs.clear();
    }

    /// Frames `payload` and queues it: masked with a fresh key in the client
    /// role (RFC 6455 §5.3), and without copying a large shared payload in
    /// the server role.
    pub(super) fn queue_frame(&mut self, fin: bool, opcode: OpCode, payload: Payload<'_>) {
        self.queue_frame_rsv1(fin, false, opcode, payload);
    }

    /// [`queue_frame`](Self::queue_frame), with RSV1 (a compressed message, RFC 7692 §6).
    fn queue_frame_rsv1(&mut self, fin: bool, rsv1: bool, opcode: OpCode, payload: Payload<'_>) {
        if !opcode.is_control() {
            self.data_activity = true;
        }
        match payload {
            Payload::Shared(shared)
                if self.role == Role::Server && shared.len() >= ZERO_COPY_MIN =>
            {
                let mut header = FrameHeader::new(fin, opcode, shared.len() as u64);
                header.rsv1 = rsv1;
                let mut raw = [0u8; MAX_HEADER_LEN];
                let header_len = header.encode(&mut raw);
                self.send.tail.put_slice(&raw[..header_len]);
                self.send.push_chunk(shared, false, true);
            }
            payload => {
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
        }
    }

    /// A fresh masking key in the client role (RFC 6455 §5.3), none in the server role.
    fn next_mask(&mut self) -> Option<[u8; 4]> {
        (self.role == Role::Client).then(|| self.entropy.mask_key())
    }

    /// Queues a prepared message (server role only): the frame's bytes are
    /// shared, not copied, however many connections it is queued on.
    ///
    /// A message prepared with `PreparedMessage::with_deflate`
    /// goes out compressed on connections that negotiated permessage-deflate
    /// without context takeover for this end's messages and a window at least
    /// as large as the one it was compressed with; on the others it goes out
    /// uncompressed (RFC 7692 §6 lets each message choose).
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        if self.role != Role::Server {
            return Err(Error::PreparedForServerOnly);
        }
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(Error::Fragmentation(
                "a fragmented message is being sent; finish it with send_fragment first",
            ));
        }
        let framed = match (&message.deflated, &self.compression) {
            (Some((bits, deflated)), Some(c)) if c.takes_independent_messages(*bits) => deflated,
            _ => &message.plain,
        };
        self.check_room(framed.len())?;
        self.data_activity = true;
        if framed.header.is_empty() {
            self.send.push_chunk(framed.body.clone(), true, true);
        } else {
            self.send.push_chunk(framed.header.clone(), true, false);
            self.send.push_chunk(framed.body.clone(), false, true);
        }
        Ok(())
    }
}

/// A message framed once, to be queued on any number of server connections
/// (a broadcast) without framing or copying it again: each connection
/// queues clones of the same [`Bytes`].
///
/// ```
/// # use wsproto::{Config, Connection, PreparedMessage, Role};
/// let message = PreparedMessage::text("news for everyone");
/// let mut conns: Vec<Connection> =
///     (0..3).map(|_| Connection::new(Role::Server, Config::default())).collect();
/// for conn in &mut conns {
///     conn.send_prepared(&message).unwrap();
/// }
/// ```
#[derive(Debug, Clone)]
pub struct PreparedMessage {
    #[cfg(feature = "deflate")]
    opcode: OpCode,
    payload: Bytes,
    plain: Framed,
    /// Compressed without context takeover, with this many window bits.
    deflated: Option<(u8, Framed)>,
}

/// One frame's bytes: a header and a large payload as two chunks, or a
/// small frame whole in `body` (then `header` is empty).
#[derive(Debug, Clone)]
struct Framed {
    header: Bytes,
    body: Bytes,
}

impl Framed {
    fn new(opcode: OpCode, rsv1: bool, payload: Bytes) -> Self {
        let mut header = FrameHeader::new(true, opcode, payload.len() as u64);
        header.rsv1 = rsv1;
        let mut raw = [0u8; MAX_HEADER_LEN];
        let header_len = header.encode(&mut raw);
        if payload.len() >= ZERO_COPY_MIN {
            Self {
                header: Bytes::copy_from_slice(&raw[..header_len]),
                body: payload,
            }
        } else {
            let mut frame = BytesMut::with_capacity(header_len + payload.len());
            frame.put_slice(&raw[..header_len]);
            frame.put_slice(&payload);
            Self {
                header: Bytes::new(),
                body: frame.freeze(),
            }
        }
    }

    fn len(&self) -> usize {
        self.header.len() + self.body.len()
    }
}

impl PreparedMessage {
    /// A text message, framed for the server role.
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Self::new(OpCode::Text, text.into().into_bytes())
    }

    /// A binary message, framed for the server role.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Self::new(OpCode::Binary, data.into())
    }

    fn new(opcode: OpCode, payload: Bytes) -> Self {
        Self {
            #[cfg(feature = "deflate")]
            opcode,
            plain: Framed::new(opcode, false, payload.clone()),
            payload,
            deflated: None,
        }
    }

    /// Also compresses the message once (RFC 7692 §7.2.1, from an empty
    /// window, with `window_bits` 9..=15 and `level` 0..=9), for the
    /// connections that negotiated no context takeover for the server's
    /// messages ([`Connection::send_prepared`] says which get it).
    #[cfg(feature = "deflate")]
    pub fn with_deflate(mut self, window_bits: u8, level: u32) -> Self {
        let params = crate::extensions::NegotiatedDeflate {
            compress_window_bits: window_bits,
            compress_no_context_takeover: true,
            decompress_window_bits: 15,
            decompress_no_context_takeover: false,
        };
        let mut compressor = crate::deflate::Compressor::new(&params, level);
        let mut out = Vec::new();
        compressor.compress(&self.payload, &mut out);
        let framed = Framed::new(self.opcode, true, Bytes::from(out));
        self.deflated = Some((compressor.window_bits(), framed));
        self
    }

    /// The framed length in bytes, uncompressed.
    pub fn len(&self) -> usize {
        self.plain.len()
    }

    /// Whether the framed message is empty; it never is: a frame has a header.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload bytes, shared by every connection the message is queued on.
    pub fn payload(&self) -> Bytes {
        self.payload.clone()
    }
}

/// Appends one frame to `out`, masked with `mask` if there is one.
fn encode_frame(
    out: &mut BytesMut,
    fin: bool,
    rsv1: bool,
    opcode: OpCode,
    data: &[u8],
    mask: Option<[u8; 4]>,
) {
    let mut header = FrameHeader::new(fin, opcode, data.len() as u64);
    header.rsv1 = rsv1;
    header.mask = mask;
    let mut raw = [0u8; MAX_HEADER_LEN];
    let header_len = header.encode(&mut raw);
    out.reserve(header_len + data.len());
    out.put_slice(&raw[..header_len]);
    let start = out.len();
    out.put_slice(data);
    if let Some(key) = mask {
        frame::apply_mask(&mut out[start..], key, 0);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Event;
    use crate::Config;

    fn server(config: Config) -> Connection {
        Connection::new(Role::Server, config)
    }

    #[test]
    fn send_past_the_queue_limit_is_an_error_and_queues_nothing() {
        let mut c = server(Config::default().max_send_queue(100));
        c.send_binary(&[0u8; 50][..]).unwrap();
        let before = c.buffered_amount();
        assert!(matches!(
            c.send_binary(&[0u8; 50][..]),
            Err(Error::SendQueueFull { queued: 52, .. })
        ));
        assert_eq!(c.buffered_amount(), before);
        while c.poll_transmit().is_some() {}
        c.send_binary(&[0u8; 50][..]).unwrap();
    }

    #[test]
    fn ping_flood_from_a_peer_that_does_not_read_keeps_the_queue_bounded() {
        let mut c = server(Config::default());
        let ping = [0x89, 0x83, 0, 0, 0, 0, b'a', b'b', b'c'];
        for _ in 0..10_000 {
            c.handle_read(&ping);
            while c.poll_event().is_some() {}
        }
        // Only the most recent pings are answered.
        assert_eq!(c.buffered_amount(), 16 * 5);
        let out = c.poll_transmit().unwrap();
        assert_eq!(out.len(), 16 * 5);
        assert_eq!(&out[..5], &[0x8A, 0x03, b'a', b'b', b'c']);
        assert_eq!(c.poll_transmit(), None);
    }

    #[test]
    fn pongs_wait_for_a_frame_boundary() {
        let mut c = server(Config::default());
        c.send_binary(Bytes::from(vec![7u8; 4096])).unwrap();
        let header = c.poll_transmit().unwrap();
        assert_eq!(header.len(), 4);
        c.handle_read(&[0x89, 0x80, 0, 0, 0, 0]);
        assert!(matches!(c.poll_event(), Some(Event::Ping(_))));
        assert_eq!(c.poll_transmit().unwrap().len(), 4096, "the payload first");
        assert_eq!(&c.poll_transmit().unwrap()[..], &[0x8A, 0x00]);
    }

    /// Drains `conn` through the lending API, `step` bytes per "write".
    fn drain_lent(conn: &mut Connection, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let mut slices = [IoSlice::new(&[]); 4];
            let n = conn.transmit_slices(&mut slices);
            if n == 0 {
                return out;
            }
            let all: Vec<u8> = slices[..n].iter().flat_map(|s| s.to_vec()).collect();
            let k = step.min(all.len());
            out.extend_from_slice(&all[..k]);
            conn.advance_transmit(k);
        }
    }

    #[test]
    fn lent_slices_with_partial_writes_give_the_same_bytes_as_poll_transmit() {
        let build = || {
            let mut c = server(Config::default());
            c.send_text("small").unwrap();
            c.send_binary(Bytes::from(vec![3u8; 3000])).unwrap();
            c.ping(b"p").unwrap();
            c.send_text("after").unwrap();
            c
        };
        let mut polled = build();
        let expected: Vec<u8> = std::iter::from_fn(|| polled.poll_transmit())
            .flat_map(|b| b.to_vec())
            .collect();
        for step in [1, 7, 100, 4096, usize::MAX] {
            let mut lent = build();
            assert_eq!(drain_lent(&mut lent, step), expected, "step {step}");
            assert_eq!(lent.buffered_amount(), 0);
        }
    }

    #[test]
    fn lent_pong_waits_until_no_frame_is_partly_written() {
        let mut c = server(Config::default());
        c.send_binary(Bytes::from(vec![7u8; 4096])).unwrap();
        let mut slices = [IoSlice::new(&[]); 4];
        assert_eq!(c.transmit_slices(&mut slices), 2);
        c.advance_transmit(10); // the header and 6 payload bytes went out
        c.handle_read(&[0x89, 0x80, 0, 0, 0, 0]);
        assert!(matches!(c.poll_event(), Some(Event::Ping(_))));
        let rest = drain_lent(&mut c, usize::MAX);
        assert_eq!(rest.len(), 4090 + 2);
        assert_eq!(&rest[4090..], &[0x8A, 0x00], "the pong after the frame");
    }

    #[test]
    fn prepared_message_payload_is_shared_by_every_connection() {
        let payload = Bytes::from(vec![9u8; 2048]);
        let message = PreparedMessage::binary(payload.clone());
        let mut wires = Vec::new();
        for _ in 0..3 {
            let mut c = server(Config::default());
            c.send_prepared(&message).unwrap();
            let header = c.poll_transmit().unwrap();
            let body = c.poll_transmit().unwrap();
            assert_eq!(&header[..], &[0x82, 126, 0x08, 0x00]);
            assert_eq!(body.as_ptr(), payload.as_ptr(), "shared, not copied");
            wires.push(body);
        }
        assert_eq!(message.payload().as_ptr(), payload.as_ptr());
    }

    #[test]
    fn small_prepared_message_is_one_shared_frame() {
        let message = PreparedMessage::text("hi");
        let mut a = server(Config::default());
        let mut b = server(Config::default());
        a.send_prepared(&message).unwrap();
        b.send_prepared(&message).unwrap();
        let (x, y) = (a.poll_transmit().unwrap(), b.poll_transmit().unwrap());
        assert_eq!(&x[..], b"\x81\x02hi");
        assert_eq!(x.as_ptr(), y.as_ptr());
        assert_eq!(&message.payload()[..], b"hi");
    }

    #[test]
    fn client_cannot_send_a_prepared_message() {
        let mut c = Connection::new(Role::Client, Config::default());
        assert_eq!(
            c.send_prepared(&PreparedMessage::text("x")),
            Err(Error::PreparedForServerOnly)
        );
    }

    #[test]
    fn read_buffer_is_released_after_a_large_message() {
        let mut c = server(Config::default());
        let mut frame = vec![0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        frame.extend(vec![0u8; 65536]);
        c.handle_read(&frame);
        let Some(Event::Binary(data)) = c.poll_event() else {
            panic!()
        };
        assert_eq!(data.len(), 65536);
        assert_eq!(c.poll_event(), None);
        assert!(c.memory_usage() < 1024, "holds {} bytes", c.memory_usage());
    }

    #[test]
    fn idle_connection_holds_under_a_kibibyte() {
        let mut c = server(Config::default());
        for _ in 0..10 {
            c.handle_read(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]);
            let _ = c.poll_event();
            c.send_text("hi").unwrap();
            while c.poll_transmit().is_some() {}
        }
        assert!(c.memory_usage() < 1024, "holds {} bytes", c.memory_usage());
    }

    #[test]
    fn memory_budget_refuses_a_frame_that_would_cross_it() {
        let mut c = server(Config::default().memory_budget(Some(4096)));
        let mut frame = vec![0x82, 0xFE, 0x20, 0x00, 0, 0, 0, 0];
        frame.extend(vec![0u8; 8192]);
        c.handle_read(&frame[..8]);
        assert_eq!(
            c.poll_event(),
            Some(Event::ProtocolError(
                crate::ProtocolError::MemoryBudgetExceeded { budget: 4096 }
            ))
        );
    }
}
