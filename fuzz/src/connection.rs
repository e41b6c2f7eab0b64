//! `connection_server`, `connection_client`: a peer's bytes, cut anywhere,
//! into a [`Connection`] with small limits.
//!
//! Asserted after every read:
//! - no `Text`/`Binary` event, and no streamed message, exceeds the message
//!   limit; streamed pieces come in order (`first` .. `last`, one kind) and
//!   a streamed text message is valid UTF-8 once joined; whole messages
//!   appear only without streaming, pieces only with it;
//! - nothing follows an `Event::Message(Message::Close(_))` or
//!   `Event::Failed`, and every `ProtocolError` maps to a close code that
//!   may go on the wire (or 1006);
//! - `memory_usage()` stays under the message limit + 2 × the frame limit +
//!   64 KiB, over what the connection held when it was handed over (its
//!   fixed size, a compression state, the bytes that followed a handshake);
//! - what `poll_transmit` gives is a sequence of valid frames, masked exactly
//!   when this is the client, only pongs (each echoing a ping received) and
//!   close frames, with a valid close code, and nothing after the close;
//!   a close or protocol error (other than EOF) has put a close frame there.
//!
//! At the end, `handle_eof`: the last event is then a `Close` or a
//! `ProtocolError` and the connection is closed.

use arbitrary::Arbitrary;
use wsproto::frame::OpCode;
use wsproto::{CloseCode, Config, Connection, Event, Message, MessageKind, ProtocolError, Role};

use crate::Cuts;

/// The frame size limit of every fuzzed connection.
pub const MAX_FRAME: usize = 4096;
/// The message size limit of every fuzzed connection.
pub const MAX_MESSAGE: usize = 8192;
/// The memory budget, when the knobs turn it on.
pub const BUDGET: usize = 16 * 1024;
/// What `memory_usage()` may reach.
pub const MAX_MEMORY: usize = MAX_MESSAGE + 2 * MAX_FRAME + 64 * 1024;

/// The connection settings the fuzzer picks.
#[derive(Arbitrary, Debug, Clone, Copy, Default)]
pub struct Knobs {
    streaming: bool,
    no_auto_pong: bool,
    accept_unmasked: bool,
    /// This end sends its close frame before reading anything.
    close_first: bool,
    budget: bool,
    cuts: Cuts,
}

impl Knobs {
    /// The connection's configuration.
    pub fn config(&self) -> Config {
        Config::default()
            .max_frame_size(MAX_FRAME)
            .max_message_size(MAX_MESSAGE)
            .streaming(self.streaming)
            .auto_pong(!self.no_auto_pong)
            .accept_unmasked_frames(self.accept_unmasked)
            .memory_budget(self.budget.then_some(BUDGET))
    }

    /// Where to cut the wire into reads.
    pub fn cuts(&self) -> Cuts {
        self.cuts
    }
}

/// The target: knobs, then the peer's bytes.
pub fn run(role: Role, data: &[u8]) {
    let (knobs, wire) = crate::split_input::<Knobs>(data);
    let mut conn = Connection::new(role, knobs.config());
    if knobs.close_first {
        conn.close(CloseCode::NORMAL, "bye")
            .expect("the first close succeeds");
    }
    let mut driver = Driver::new(conn);
    for (piece, via) in knobs.cuts.split(wire) {
        driver.feed(piece, via);
    }
    driver.finish();
}

/// A streamed message being received.
struct Streamed {
    kind: MessageKind,
    len: usize,
    text: Vec<u8>,
}

/// Drives a [`Connection`] and checks every event and every byte it writes.
pub struct Driver {
    conn: Connection,
    streaming: bool,
    /// A `Close` or `ProtocolError` was delivered.
    ended: Option<Event>,
    streamed: Option<Streamed>,
    /// Payloads of the pings received, which pongs may echo.
    pings: Vec<Vec<u8>>,
    /// Everything written, and how much of it was checked.
    wire: Vec<u8>,
    checked: usize,
    close_on_wire: bool,
    /// `memory_usage()` may not pass this.
    max_memory: usize,
}

impl Driver {
    /// Takes over `conn` (which may already hold bytes) and polls it.
    pub fn new(conn: Connection) -> Self {
        let mut driver = Self {
            streaming: conn.config().streaming,
            ended: None,
            streamed: None,
            pings: Vec::new(),
            wire: Vec::new(),
            checked: 0,
            close_on_wire: false,
            max_memory: MAX_MEMORY + conn.memory_usage(),
            conn,
        };
        driver.poll();
        driver
    }

    /// One read from the transport, then every event and transmit.
    pub fn feed(&mut self, piece: &[u8], via_recv_buffer: bool) {
        if via_recv_buffer {
            let buf = self.conn.recv_buffer(piece.len() + 7);
            buf[..piece.len()].copy_from_slice(piece);
            self.conn.handle_received(piece.len());
        } else {
            self.conn.handle_read(piece);
        }
        self.poll();
    }

    /// The peer closes the transport.
    pub fn finish(mut self) {
        self.conn.handle_eof();
        self.poll();
        assert!(
            self.ended.is_some(),
            "EOF must end with Close or ProtocolError"
        );
        assert!(self.conn.is_closed(), "closed after EOF");
        assert_eq!(self.conn.state(), wsproto::State::Closed);
    }

    fn poll(&mut self) {
        loop {
            // What `close_is_next` announces is made from a close frame:
            // the close, or the failure it causes. (A close may also come
            // unannounced, behind a fragment that makes no event.)
            let close_next = self.conn.close_is_next();
            let Some(event) = self.conn.poll_event() else {
                break;
            };
            if close_next {
                assert!(
                    matches!(event, Event::Message(Message::Close(_)) | Event::Failed(_)),
                    "close_is_next() announced a close, then {event:?}"
                );
            }
            if let Some(last) = &self.ended {
                panic!("{event:?} delivered after {last:?}");
            }
            self.check_event(event);
        }
        while let Some(bytes) = self.conn.poll_transmit() {
            self.wire.extend_from_slice(&bytes);
        }
        self.check_wire();
        if let Some(last) = &self.ended {
            if !matches!(last, Event::Failed(ProtocolError::UnexpectedEof)) {
                assert!(self.close_on_wire, "{last:?} but no close frame was sent");
            }
        }
        let (memory, max) = (self.conn.memory_usage(), self.max_memory);
        assert!(memory <= max, "memory_usage() {memory} > {max}");
    }

    fn check_event(&mut self, event: Event) {
        match &event {
            Event::Message(Message::Text(text)) => {
                assert!(!self.streaming, "whole message while streaming");
                assert!(text.len() <= MAX_MESSAGE, "text of {} bytes", text.len());
            }
            Event::Message(Message::Binary(data)) => {
                assert!(!self.streaming, "whole message while streaming");
                assert!(data.len() <= MAX_MESSAGE, "binary of {} bytes", data.len());
            }
            Event::Chunk {
                kind,
                data,
                first,
                last,
            } => {
                assert!(self.streaming, "piece without streaming");
                if *first {
                    assert!(
                        self.streamed.is_none(),
                        "a new message before the last piece"
                    );
                    self.streamed = Some(Streamed {
                        kind: *kind,
                        len: 0,
                        text: Vec::new(),
                    });
                }
                let message = self.streamed.as_mut().expect("a piece before the first");
                assert_eq!(message.kind, *kind, "kind changed within a message");
                message.len += data.len();
                assert!(
                    message.len <= MAX_MESSAGE,
                    "streamed message of {} bytes",
                    message.len
                );
                if *kind == MessageKind::Text {
                    message.text.extend_from_slice(data);
                }
                if *last {
                    let message = self.streamed.take().expect("checked above");
                    assert!(
                        std::str::from_utf8(&message.text).is_ok(),
                        "invalid streamed text"
                    );
                }
            }
            other => {
                if crate::check_control_event(other, &mut self.pings) {
                    self.ended = Some(event.clone());
                }
            }
        }
    }

    /// Parses every complete frame written since the last check.
    fn check_wire(&mut self) {
        let role = self.conn.role();
        while let Some((header, _)) = crate::next_sent_frame(
            &self.wire,
            &mut self.checked,
            role,
            &self.pings,
            &mut self.close_on_wire,
        ) {
            assert!(!header.rsv1, "{header:?}");
            assert!(
                matches!(header.opcode, OpCode::Pong | OpCode::Close),
                "sent {:?} though nothing was sent",
                header.opcode
            );
        }
    }
}
