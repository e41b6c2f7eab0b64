//! `differential`: our frame and message parser against tungstenite's
//! (`tungstenite::protocol::WebSocket` over an in-memory stream), on the
//! same bytes from a peer.
//!
//! Both run in the role the knobs pick, with the same limits (frames 4096
//! bytes, messages 8192: tungstenite's `max_frame_size` and
//! `max_message_size`, which like ours fail a frame or message *over* the
//! limit), the same `accept_unmasked_frames`, no extension, and get the
//! bytes in the same reads (tungstenite's stream returns them cut where the
//! knobs say, then end-of-file; ours gets them through `handle_read`, or
//! `recv_buffer` where the knobs say, then `handle_eof`). Ours may stream
//! (a knob): its pieces are joined into messages.
//!
//! Asserted: both deliver the same messages (text, binary, ping, pong, with
//! the same payloads) in the same order, then end the same way: both with
//! the peer's close frame (the same code and reason, or both without a
//! status), or both failing. Which error fails the connection is not
//! compared, only that both fail after the same messages, because the two
//! check in different orders within one frame: ours fails a frame at its
//! header (a reserved opcode, RSV bits, a missing or unexpected mask, a
//! fragmented or oversized control frame, a length over the limit) and
//! text as soon as its bytes cannot be UTF-8 (RFC 6455 §8.1, fail fast),
//! while tungstenite reads the whole frame first and then checks it; on
//! input that stops inside such a frame ours reports the protocol error
//! and tungstenite the end of the stream. Both are failures.
//!
//! The allowed differences, and why each is not a bug of ours:
//! - **A close frame with an invalid status code** (RFC 6455 §7.4.1,
//!   §7.4.2: 0–999, 1004, 1005, 1006, 1015, 1016–2999, 5000 and up):
//!   tungstenite does not fail; it delivers the close as
//!   `1002 "Protocol violation"` (and echoes that), where ours fails the
//!   connection with 1002 (`Event::Failed`). Both end the connection with
//!   1002 on the wire, so tungstenite's substituted close counts as a
//!   failure here.
//! - **Close code 1014** (IANA's "Bad Gateway", registered after RFC 6455
//!   in the registry §11.7 creates, as 1012 and 1013 were): tungstenite
//!   has no name for it and treats it as invalid (the substituted 1002
//!   above); ours accepts it, as §7.4.2 leaves codes 1000–2999 to the
//!   registry and 1014 is in it. tungstenite's is the stricter reading;
//!   this target accepts either for 1014.
//!
//! Nothing else may differ.

use std::collections::VecDeque;
use std::io::{self, Read, Write};

use arbitrary::Arbitrary;
use tungstenite::protocol::{Role as TRole, WebSocket, WebSocketConfig};
use wsproto::{Config, Connection, Event, Message, MessageKind, Role};

use crate::Cuts;

/// The frame size limit of both parsers.
pub const MAX_FRAME: usize = 4096;
/// The message size limit of both parsers.
pub const MAX_MESSAGE: usize = 8192;

/// The settings the fuzzer picks. All zero: a server, masked frames
/// required, whole messages, one read.
#[derive(Arbitrary, Debug, Clone, Copy, Default)]
pub struct Knobs {
    client: bool,
    accept_unmasked: bool,
    streaming: bool,
    cuts: Cuts,
}

/// What a parser delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// A text message's bytes.
    Text(Vec<u8>),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping's payload.
    Ping(Vec<u8>),
    /// A pong's payload.
    Pong(Vec<u8>),
}

/// How a parser ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The peer's close frame: code and reason, if it had a status.
    Closed(Option<(u16, String)>),
    /// The connection failed (a protocol error, a limit, the end of the
    /// input without a close frame); the text is for the report only.
    Failed(String),
    /// tungstenite only: a close frame whose code it does not accept,
    /// delivered as `1002 "Protocol violation"` (see the module doc).
    Substituted,
}

/// The target: knobs, then the peer's bytes.
pub fn run(data: &[u8]) {
    let (knobs, wire) = crate::split_input::<Knobs>(data);
    let (ours, our_end) = ours(&knobs, wire);
    let (theirs, their_end) = theirs(&knobs, wire);
    assert_eq!(
        ours, theirs,
        "messages differ (ours {our_end:?}, tungstenite {their_end:?})"
    );
    match (&our_end, &their_end) {
        (End::Closed(a), End::Closed(b)) if a == b => {}
        (End::Failed(_), End::Failed(_)) => {}
        // An invalid close code: ours fails, tungstenite substitutes a
        // close; a peer's own `1002 "Protocol violation"` looks the same to
        // tungstenite; and its stricter reading of 1014 (see the module doc).
        (End::Failed(_), End::Substituted) => {}
        (End::Closed(Some((1002, reason))), End::Substituted) if reason == "Protocol violation" => {
        }
        (End::Closed(Some((1014, _))), End::Substituted) => {}
        _ => panic!("ours ended {our_end:?}, tungstenite {their_end:?}"),
    }
}

/// Our connection on the input.
pub fn ours(knobs: &Knobs, wire: &[u8]) -> (Vec<Delivered>, End) {
    let role = if knobs.client {
        Role::Client
    } else {
        Role::Server
    };
    let config = Config::default()
        .max_frame_size(MAX_FRAME)
        .max_message_size(MAX_MESSAGE)
        .accept_unmasked_frames(knobs.accept_unmasked)
        .streaming(knobs.streaming);
    let mut conn = Connection::new(role, config);
    let mut delivered = Vec::new();
    let mut streamed: Option<(MessageKind, Vec<u8>)> = None;
    let mut poll = |conn: &mut Connection, delivered: &mut Vec<Delivered>| -> Option<End> {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Message(Message::Text(t)) => {
                    delivered.push(Delivered::Text(t.as_bytes().to_vec()))
                }
                Event::Message(Message::Binary(b)) => delivered.push(Delivered::Binary(b.to_vec())),
                Event::Message(Message::Ping(b)) => delivered.push(Delivered::Ping(b.to_vec())),
                Event::Message(Message::Pong(b)) => delivered.push(Delivered::Pong(b.to_vec())),
                Event::Message(Message::Close(close)) => {
                    return Some(End::Closed(
                        close.map(|c| (u16::from(c.code), c.reason.to_string())),
                    ))
                }
                Event::Chunk {
                    kind,
                    data,
                    first,
                    last,
                } => {
                    if first {
                        streamed = Some((kind, Vec::new()));
                    }
                    let (kind, message) = streamed.as_mut().expect("a first piece");
                    message.extend_from_slice(&data);
                    if last {
                        let message = std::mem::take(message);
                        delivered.push(match kind {
                            MessageKind::Text => Delivered::Text(message),
                            MessageKind::Binary => Delivered::Binary(message),
                        });
                        streamed = None;
                    }
                }
                Event::Failed(e) => return Some(End::Failed(format!("{e:?}"))),
                other => panic!("an event this target does not know: {other:?}"),
            }
        }
        while conn.poll_transmit().is_some() {}
        None
    };
    for (piece, via) in knobs.cuts.split(wire) {
        if via {
            let buf = conn.recv_buffer(piece.len());
            buf.copy_from_slice(piece);
            conn.handle_received(piece.len());
        } else {
            conn.handle_read(piece);
        }
        if let Some(end) = poll(&mut conn, &mut delivered) {
            return (delivered, end);
        }
    }
    conn.handle_eof();
    let end = poll(&mut conn, &mut delivered).expect("EOF ends the connection");
    (delivered, end)
}

/// The input in the knobs' reads, then end-of-file; what is written is
/// dropped.
struct Chunked<'a> {
    reads: VecDeque<&'a [u8]>,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(piece) = self.reads.front_mut() else {
            return Ok(0);
        };
        let n = piece.len().min(buf.len());
        buf[..n].copy_from_slice(&piece[..n]);
        *piece = &piece[n..];
        if piece.is_empty() {
            self.reads.pop_front();
        }
        Ok(n)
    }
}

impl Write for Chunked<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// tungstenite on the input.
pub fn theirs(knobs: &Knobs, wire: &[u8]) -> (Vec<Delivered>, End) {
    let role = if knobs.client {
        TRole::Client
    } else {
        TRole::Server
    };
    let config = WebSocketConfig::default()
        .max_frame_size(Some(MAX_FRAME))
        .max_message_size(Some(MAX_MESSAGE))
        .accept_unmasked_frames(knobs.accept_unmasked);
    let stream = Chunked {
        reads: knobs.cuts.split(wire).map(|(piece, _)| piece).collect(),
    };
    let mut ws = WebSocket::from_raw_socket(stream, role, Some(config));
    let mut delivered = Vec::new();
    loop {
        use tungstenite::Message as M;
        match ws.read() {
            Ok(M::Text(t)) => delivered.push(Delivered::Text(t.as_bytes().to_vec())),
            Ok(M::Binary(b)) => delivered.push(Delivered::Binary(b.to_vec())),
            Ok(M::Ping(b)) => delivered.push(Delivered::Ping(b.to_vec())),
            Ok(M::Pong(b)) => delivered.push(Delivered::Pong(b.to_vec())),
            Ok(M::Close(close)) => {
                let close = close.map(|c| (u16::from(c.code), c.reason.to_string()));
                // An invalid code, replaced (see the module doc).
                if close == Some((1002, "Protocol violation".to_owned())) {
                    return (delivered, End::Substituted);
                }
                return (delivered, End::Closed(close));
            }
            Ok(M::Frame(_)) => unreachable!("read() gives no raw frames"),
            Err(e) => return (delivered, End::Failed(format!("{e:?}"))),
        }
    }
}
