//! `event_ref`: [`Connection::poll_event_ref`] lends the same events that
//! [`Connection::poll_event`] hands out.
//!
//! Two connections with the same settings (role, streaming, auto-pong,
//! unmasked frames accepted, permessage-deflate or not, seeded mask keys)
//! get the same reads. One polls with `poll_event` only; the other with
//! `poll_event_ref`, or `poll_event` where a knob bit says so (the two may
//! be mixed call by call). Asserted after every read: the events are equal
//! one by one (payload bytes, kind, `first`/`last`, close frames, errors),
//! the bytes written (pongs, close replies, masked alike from the same
//! seed) are equal, and so are `state()`, `received_amount()` and
//! `buffered_amount()`. The same after `handle_eof`.

use arbitrary::Arbitrary;
use wsproto::entropy::SeededEntropy;
use wsproto::extensions::{DeflateConfig, NegotiatedDeflate};
use wsproto::{
    CloseFrame, Config, Connection, Event, EventRef, Message, MessageKind, Negotiated,
    ProtocolError, Role,
};

use crate::Cuts;

/// The frame size limit.
pub const MAX_FRAME: usize = 4096;
/// The message size limit.
pub const MAX_MESSAGE: usize = 8192;

/// The settings the fuzzer picks. All zero: a server, no deflate, every
/// event lent, one read.
#[derive(Arbitrary, Debug, Clone, Copy, Default)]
pub struct Knobs {
    client: bool,
    streaming: bool,
    no_auto_pong: bool,
    accept_unmasked: bool,
    /// 0: no permessage-deflate; else bit 0 and 1 the no-context-takeover
    /// flags, and `15 - (n >> 2) % 7` both windows.
    deflate: u8,
    /// Bit `i % 8` set: call `i` of the second connection is `poll_event`.
    owned_calls: u8,
    cuts: Cuts,
}

impl Knobs {
    fn role(&self) -> Role {
        if self.client {
            Role::Client
        } else {
            Role::Server
        }
    }

    fn connection(&self) -> Connection {
        let config = Config::default()
            .max_frame_size(MAX_FRAME)
            .max_message_size(MAX_MESSAGE)
            .streaming(self.streaming)
            .auto_pong(!self.no_auto_pong)
            .accept_unmasked_frames(self.accept_unmasked)
            .deflate(DeflateConfig::default().enabled(true));
        let mut negotiated = Negotiated::new();
        if self.deflate != 0 {
            let bits = 15 - (self.deflate >> 2) % 7;
            negotiated = negotiated.deflate(NegotiatedDeflate::new(
                bits,
                self.deflate & 1 != 0,
                bits,
                self.deflate & 2 != 0,
            ));
        }
        let entropy = Box::new(SeededEntropy::new(7));
        Connection::from_parts(self.role(), config, entropy, negotiated)
    }
}

/// An event, owned, whichever way it was polled.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owned {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<CloseFrame>),
    Chunk {
        kind: MessageKind,
        data: Vec<u8>,
        first: bool,
        last: bool,
    },
    Failed(ProtocolError),
}

fn from_event(event: Event) -> Owned {
    match event {
        Event::Message(Message::Text(t)) => Owned::Text(t.as_bytes().to_vec()),
        Event::Message(Message::Binary(b)) => Owned::Binary(b.to_vec()),
        Event::Message(Message::Ping(b)) => Owned::Ping(b.to_vec()),
        Event::Message(Message::Pong(b)) => Owned::Pong(b.to_vec()),
        Event::Message(Message::Close(c)) => Owned::Close(c),
        Event::Chunk {
            kind,
            data,
            first,
            last,
        } => Owned::Chunk {
            kind,
            data: data.to_vec(),
            first,
            last,
        },
        Event::Failed(e) => Owned::Failed(e),
        other => panic!("an event this target does not know: {other:?}"),
    }
}

fn from_ref(event: EventRef<'_>) -> Owned {
    match event {
        EventRef::Text(t) => Owned::Text(t.as_bytes().to_vec()),
        EventRef::Binary(b) => Owned::Binary(b.to_vec()),
        EventRef::Ping(b) => Owned::Ping(b.to_vec()),
        EventRef::Pong(b) => Owned::Pong(b.to_vec()),
        EventRef::Close(c) => Owned::Close(c),
        EventRef::Chunk {
            kind,
            data,
            first,
            last,
        } => Owned::Chunk {
            kind,
            data: data.to_vec(),
            first,
            last,
        },
        EventRef::Failed(e) => Owned::Failed(e),
        other => panic!("an event this target does not know: {other:?}"),
    }
}

/// The two connections and how the second one polls.
struct Pair {
    owned: Connection,
    lent: Connection,
    owned_calls: u8,
    calls: usize,
    events: usize,
}

impl Pair {
    fn poll(&mut self) {
        loop {
            let a = self.owned.poll_event().map(from_event);
            let owned_call = self.owned_calls & (1 << (self.calls % 8)) != 0;
            self.calls += 1;
            let b = if owned_call {
                self.lent.poll_event().map(from_event)
            } else {
                self.lent.poll_event_ref().map(from_ref)
            };
            assert_eq!(a, b, "event {} (lent call: {})", self.events, !owned_call);
            if a.is_none() {
                break;
            }
            self.events += 1;
            assert!(self.events < 1 << 20, "an endless stream of events");
        }
        let written = |conn: &mut Connection| {
            let mut out = Vec::new();
            while let Some(bytes) = conn.poll_transmit() {
                out.extend_from_slice(&bytes);
            }
            out
        };
        assert_eq!(written(&mut self.owned), written(&mut self.lent));
        assert_eq!(self.owned.state(), self.lent.state());
        assert_eq!(self.owned.received_amount(), self.lent.received_amount());
        assert_eq!(self.owned.buffered_amount(), self.lent.buffered_amount());
    }
}

/// The target: knobs, then the peer's bytes.
pub fn run(data: &[u8]) {
    let (knobs, wire) = crate::split_input::<Knobs>(data);
    let mut pair = Pair {
        owned: knobs.connection(),
        lent: knobs.connection(),
        owned_calls: knobs.owned_calls,
        calls: 0,
        events: 0,
    };
    for (piece, via) in knobs.cuts.split(wire) {
        for conn in [&mut pair.owned, &mut pair.lent] {
            if via {
                let buf = conn.recv_buffer(piece.len() + 3);
                buf[..piece.len()].copy_from_slice(piece);
                conn.handle_received(piece.len());
            } else {
                conn.handle_read(piece);
            }
        }
        pair.poll();
    }
    pair.owned.handle_eof();
    pair.lent.handle_eof();
    pair.poll();
    assert!(pair.owned.is_closed() && pair.lent.is_closed());
}
