//! Messages framed once and queued on many connections (a broadcast).

use bytes::{BufMut, Bytes, BytesMut};

use super::send::ZERO_COPY_MIN;
use super::{Connection, Role};
use crate::error::Error;
use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::utf8::Utf8Bytes;

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
    ///
    /// # Panics
    ///
    /// If `window_bits` is not in 9..=15 or `level` is over 9, as
    /// [`Compressor::new`](crate::deflate::Compressor::new): zlib cannot
    /// compress with an 8-bit window, so a connection that agreed 8 bits
    /// compresses with 9 (see [`NegotiatedDeflate`](crate::extensions::NegotiatedDeflate)).
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn with_deflate(mut self, window_bits: u8, level: u32) -> Self {
        let (bits, out) = super::compression::compress_alone(&self.payload, window_bits, level);
        let framed = Framed::new(self.opcode, true, Bytes::from(out));
        self.deflated = Some((bits, framed));
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

impl Connection {
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
        self.check_no_fragmented_message()?;
        let framed = match (&message.deflated, &self.compression) {
            (Some((bits, deflated)), Some(c)) if c.takes_independent_messages(*bits) => deflated,
            _ => &message.plain,
        };
        self.check_room(framed.len())?;
        self.timers.on_data();
        if framed.header.is_empty() {
            self.send.push_chunk(framed.body.clone(), true, true);
        } else {
            self.send.push_chunk(framed.header.clone(), true, false);
            self.send.push_chunk(framed.body.clone(), false, true);
        }
        Ok(())
    }
}
