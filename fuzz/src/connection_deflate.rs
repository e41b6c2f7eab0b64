//! `connection_deflate`: a peer's bytes, cut anywhere, into a [`Connection`]
//! with permessage-deflate turned on by
//! [`Connection::with_negotiated`] (parameters from the knobs), and every
//! message received echoed back compressed.
//!
//! The knobs pick the role, the [`NegotiatedDeflate`] (window bits 9..=15 in
//! each direction, both no-context-takeover flags), streaming, the
//! compression level and threshold, and the cuts. Limits: frames 4096 bytes,
//! messages 16384.
//!
//! Asserted after every read (as in the other connection targets):
//! - no `Text`/`Binary` event, and no streamed message, exceeds the message
//!   limit; whole messages only without streaming, pieces only with it;
//!   pieces come `first` .. `last` with one kind, and streamed text is UTF-8
//!   once joined;
//! - nothing follows an `Event::Message(Message::Close(_))` or
//!   `Event::Failed`, and every `ProtocolError` maps to a close code that
//!   may go on the wire (or 1006);
//! - `memory_usage()` stays under 2 × the message limit + the codec state
//!   (both zlib states and the decompressor's window copy, as their
//!   `memory_usage` and `window_bits` give them) + 64 KiB,
//!   over what the connection held when deflate was enabled.
//!
//! And for the echo: every `Text`/`Binary` (or, streaming, every message once
//! its last piece is in) is sent back with `send_text`/`send_binary`, which
//! succeeds unless a close frame was already queued, and `poll_transmit` is
//! drained. What is written must parse as frames, masked exactly in the
//! client role: pongs echoing a received ping, close frames with a valid
//! code and nothing after them, and data frames, one per echoed message, in
//! order, with the message's opcode, FIN, RSV1 exactly when the message
//! reaches the compression threshold. A compressed payload goes through a
//! [`Decompressor`] with the peer's side of the parameters (so, with context
//! takeover, it sees every compressed message in order) and must give back
//! the message. A close or protocol error (other than EOF) has put a close
//! frame on the wire. At the end, `handle_eof`: the last event is then a
//! `Close` or `ProtocolError` and the connection is closed.

use std::collections::VecDeque;

use arbitrary::Arbitrary;
use wsproto::deflate::{Compressor, Decompressor};
use wsproto::extensions::{DeflateConfig, NegotiatedDeflate};
use wsproto::frame::OpCode;
use wsproto::{Config, Connection, Event, Message, MessageKind, Negotiated, ProtocolError, Role};

use crate::Cuts;

/// The frame size limit.
pub const MAX_FRAME: usize = 4096;
/// The message size limit (also what one message may inflate to).
pub const MAX_MESSAGE: usize = 16384;

/// The settings the fuzzer picks. All zero: server, 15-bit windows both
/// ways with context takeover, no streaming, level 6, every message
/// compressed (threshold 0), one read.
#[derive(Arbitrary, Debug, Clone, Copy, Default)]
pub struct Knobs {
    client: bool,
    /// `15 - n % 7`: our compressor's window.
    compress_window: u8,
    compress_no_context_takeover: bool,
    /// `15 - n % 7`: the peer's window, our decompressor's.
    decompress_window: u8,
    decompress_no_context_takeover: bool,
    streaming: bool,
    /// 0: level 6; else `(n - 1) % 10`.
    level: u8,
    /// Messages of at least this many bytes are compressed.
    threshold: u8,
    cuts: Cuts,
}

impl Knobs {
    pub fn role(&self) -> Role {
        if self.client {
            Role::Client
        } else {
            Role::Server
        }
    }

    pub fn negotiated(&self) -> NegotiatedDeflate {
        NegotiatedDeflate::new(
            15 - self.compress_window % 7,
            self.compress_no_context_takeover,
            15 - self.decompress_window % 7,
            self.decompress_no_context_takeover,
        )
    }

    pub fn deflate_config(&self) -> DeflateConfig {
        let level = match self.level {
            0 => 6,
            n => u32::from(n - 1) % 10,
        };
        DeflateConfig::default()
            .enabled(true)
            .level(level)
            .compression_threshold(usize::from(self.threshold))
    }

    pub fn config(&self) -> Config {
        Config::default()
            .max_frame_size(MAX_FRAME)
            .max_message_size(MAX_MESSAGE)
            .streaming(self.streaming)
    }
}

/// The target: knobs, then the peer's bytes.
pub fn run(data: &[u8]) {
    let (knobs, wire) = crate::split_input::<Knobs>(data);
    let negotiated = knobs.negotiated();
    let config = knobs.config().deflate(knobs.deflate_config());
    let conn =
        Connection::with_negotiated(knobs.role(), config, Negotiated::new().deflate(negotiated));
    assert_eq!(conn.deflate(), Some(&negotiated));
    let mut driver = EchoDriver::new(conn, &knobs);
    for (piece, via) in knobs.cuts.split(wire) {
        driver.feed(piece, via);
    }
    driver.finish();
}

/// A streamed message being received.
struct Streamed {
    kind: MessageKind,
    data: Vec<u8>,
}

/// Drives a [`Connection`], echoes what it receives, checks what it writes.
struct EchoDriver {
    conn: Connection,
    streaming: bool,
    threshold: usize,
    ended: Option<Event>,
    streamed: Option<Streamed>,
    pings: Vec<Vec<u8>>,
    /// Messages echoed and not yet seen on the wire.
    echoed: VecDeque<(MessageKind, Vec<u8>)>,
    /// The peer's decompressor for what we send.
    peer: Decompressor,
    wire: Vec<u8>,
    checked: usize,
    close_on_wire: bool,
    max_memory: usize,
}

impl EchoDriver {
    fn new(conn: Connection, knobs: &Knobs) -> Self {
        let ours = knobs.negotiated();
        let compressor = Compressor::new(&ours, 6).memory_usage();
        let ours_in = Decompressor::new(&ours);
        // The window copy grows to at most 2^w bytes.
        let decompressor = ours_in.memory_usage() + (1 << ours_in.window_bits());
        // The peer decompresses with what we compress with.
        let theirs = NegotiatedDeflate::new(
            ours.decompress_window_bits,
            ours.decompress_no_context_takeover,
            ours.compress_window_bits,
            ours.compress_no_context_takeover,
        );
        let mut driver = Self {
            streaming: knobs.streaming,
            threshold: usize::from(knobs.threshold),
            ended: None,
            streamed: None,
            pings: Vec::new(),
            echoed: VecDeque::new(),
            peer: Decompressor::new(&theirs),
            wire: Vec::new(),
            checked: 0,
            close_on_wire: false,
            max_memory: conn.memory_usage()
                + 2 * MAX_MESSAGE
                + compressor
                + decompressor
                + 64 * 1024,
            conn,
        };
        driver.poll();
        driver
    }

    fn feed(&mut self, piece: &[u8], via_recv_buffer: bool) {
        if via_recv_buffer {
            let buf = self.conn.recv_buffer(piece.len() + 7);
            buf[..piece.len()].copy_from_slice(piece);
            self.conn.handle_received(piece.len());
        } else {
            self.conn.handle_read(piece);
        }
        self.poll();
    }

    fn finish(mut self) {
        self.conn.handle_eof();
        self.poll();
        assert!(
            self.ended.is_some(),
            "EOF must end with Close or ProtocolError"
        );
        assert!(self.conn.is_closed(), "closed after EOF");
        assert_eq!(self.conn.state(), wsproto::State::Closed);
        assert!(
            self.echoed.is_empty(),
            "echoes never written: {:?}",
            self.echoed.len()
        );
    }

    fn poll(&mut self) {
        while let Some(event) = self.conn.poll_event() {
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

    /// Sends `data` back, compressed where the threshold says so.
    fn echo(&mut self, kind: MessageKind, data: &[u8]) {
        let sent = match kind {
            MessageKind::Text => {
                let text = std::str::from_utf8(data).expect("text events are UTF-8");
                self.conn.send_text(text)
            }
            MessageKind::Binary => self.conn.send_binary(data),
        };
        match sent {
            Ok(()) => self.echoed.push_back((kind, data.to_vec())),
            Err(e) => assert!(
                self.conn.sent_close().is_some(),
                "echo of {} bytes failed before any close: {e:?}",
                data.len()
            ),
        }
    }

    fn check_event(&mut self, event: Event) {
        match &event {
            Event::Message(Message::Text(text)) => {
                assert!(!self.streaming, "whole message while streaming");
                assert!(text.len() <= MAX_MESSAGE, "text of {} bytes", text.len());
                self.echo(MessageKind::Text, text.as_bytes());
            }
            Event::Message(Message::Binary(data)) => {
                assert!(!self.streaming, "whole message while streaming");
                assert!(data.len() <= MAX_MESSAGE, "binary of {} bytes", data.len());
                self.echo(MessageKind::Binary, data);
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
                        data: Vec::new(),
                    });
                }
                let message = self.streamed.as_mut().expect("a piece before the first");
                assert_eq!(message.kind, *kind, "kind changed within a message");
                message.data.extend_from_slice(data);
                assert!(
                    message.data.len() <= MAX_MESSAGE,
                    "streamed message of {} bytes",
                    message.data.len()
                );
                if *last {
                    let message = self.streamed.take().expect("checked above");
                    if message.kind == MessageKind::Text {
                        assert!(
                            std::str::from_utf8(&message.data).is_ok(),
                            "invalid streamed text"
                        );
                    }
                    self.echo(message.kind, &message.data);
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
        while let Some((header, payload)) = crate::next_sent_frame(
            &self.wire,
            &mut self.checked,
            role,
            &self.pings,
            &mut self.close_on_wire,
        ) {
            if !matches!(header.opcode, OpCode::Text | OpCode::Binary) {
                assert!(!header.rsv1, "RSV1 on a control frame: {header:?}");
            }
            match header.opcode {
                // Checked by `next_sent_frame`.
                OpCode::Pong | OpCode::Close => {}
                OpCode::Text | OpCode::Binary => {
                    let (kind, message) = self
                        .echoed
                        .pop_front()
                        .unwrap_or_else(|| panic!("{header:?} sent though nothing was echoed"));
                    let expected = match kind {
                        MessageKind::Text => OpCode::Text,
                        MessageKind::Binary => OpCode::Binary,
                    };
                    assert_eq!(header.opcode, expected, "echo of the wrong kind");
                    assert_eq!(
                        header.rsv1,
                        message.len() >= self.threshold,
                        "RSV1 for a message of {} bytes, threshold {}",
                        message.len(),
                        self.threshold
                    );
                    if header.rsv1 {
                        let mut inflated = Vec::new();
                        if let Err(e) =
                            self.peer
                                .decompress(&payload, true, &mut inflated, MAX_MESSAGE * 2)
                        {
                            panic!(
                                "our compressed echo of {} bytes does not inflate: {e:?} \
                                 (payload {payload:02x?})",
                                message.len()
                            );
                        }
                        assert!(
                            inflated == message,
                            "echo of {} bytes inflates to {} different bytes",
                            message.len(),
                            inflated.len()
                        );
                    } else {
                        assert!(payload == message, "uncompressed echo differs");
                    }
                }
                other => panic!("sent {other:?}"),
            }
        }
    }
}
