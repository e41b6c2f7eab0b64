//! `prepared_deflate`: one [`PreparedMessage`], compressed once with
//! [`PreparedMessage::with_deflate`], queued on connections that negotiated
//! different permessage-deflate parameters (or none).
//!
//! The knobs pick the message (text or binary, the payload is the rest of
//! the input; text only when it is UTF-8), whether and how it is compressed
//! (window bits 9..=15, level 0..=9), and four server connections: for each,
//! no deflate, or its `NegotiatedDeflate` (our window, our
//! no-context-takeover flag, the threshold), and whether a message compressed
//! by the connection itself goes before and after the prepared one (so the
//! prepared frame sits in a stream that a decompressor with context
//! takeover reads on).
//!
//! Asserted for every connection:
//! - `send_prepared` succeeds; on a client it fails with
//!   `PreparedForServerOnly` and queues nothing;
//! - the prepared frame on the wire is FIN, the message's opcode, unmasked,
//!   with RSV1 exactly when the message was compressed and the connection
//!   agreed no context takeover for its own messages with a window at least
//!   the one the message was compressed with (RFC 7692 §7.2.1: a sender
//!   "MUST NOT use an LZ77 sliding window longer than" agreed); without RSV1
//!   the payload is the message's bytes;
//! - with RSV1, the payload (with the `00 00 ff ff` tail, RFC 7692 §7.2.2)
//!   inflates through raw zlib with exactly the connection's window back to
//!   the message, and does not refer to anything before it;
//! - a client [`Connection`] with the mirrored parameters, given all the
//!   bytes, yields the messages before, the prepared one, and after, in
//!   order and unchanged, and nothing fails.

use arbitrary::Arbitrary;
use flate2::{Decompress, FlushDecompress, Status};
use wsproto::entropy::SeededEntropy;
use wsproto::extensions::{DeflateConfig, NegotiatedDeflate};
use wsproto::frame::OpCode;
use wsproto::{
    Config, Connection, Error, Event, Message, MessageKind, Negotiated, PreparedMessage, Role,
};

/// The message size limit of the receiving client.
pub const MAX_MESSAGE: usize = 1 << 20;

/// One connection's parameters.
#[derive(Arbitrary, Debug, Clone, Copy, Default)]
pub struct Peer {
    /// 0: no permessage-deflate; else `15 - (n - 1) % 7` our window.
    window: u8,
    /// Our no-context-takeover flag (the server's).
    no_context_takeover: bool,
    /// The client's no-context-takeover flag.
    client_no_context_takeover: bool,
    /// Bit 0: a message of our own before the prepared one; bit 1: after.
    around: u8,
    /// The compression threshold of our own messages.
    threshold: u8,
}

/// The settings the fuzzer picks. All zero: a binary message, compressed
/// with 15 bits at level 6 (`level` 0), four connections with 15-bit
/// windows and context takeover (which get it uncompressed).
#[derive(Arbitrary, Debug, Clone, Copy, Default)]
pub struct Knobs {
    text: bool,
    /// Not compressed at all.
    plain: bool,
    /// `15 - n % 7`.
    window: u8,
    /// 0: 6; else `(n - 1) % 10`.
    level: u8,
    peers: [Peer; 4],
}

/// The target: knobs, then the message.
pub fn run(data: &[u8]) {
    let (knobs, payload) = crate::split_input::<Knobs>(data);
    let text = knobs.text && std::str::from_utf8(payload).is_ok();
    let mut message = if text {
        PreparedMessage::text(std::str::from_utf8(payload).expect("checked").to_owned())
    } else {
        PreparedMessage::binary(payload.to_vec())
    };
    assert_eq!(&message.payload()[..], payload);
    let bits = 15 - knobs.window % 7;
    let level = match knobs.level {
        0 => 6,
        n => u32::from(n - 1) % 10,
    };
    if !knobs.plain {
        message = message.with_deflate(bits, level);
    }
    assert_eq!(&message.payload()[..], payload);
    let kind = if text {
        MessageKind::Text
    } else {
        MessageKind::Binary
    };

    let mut client = Connection::new(Role::Client, Config::default());
    assert_eq!(
        client.send_prepared(&message),
        Err(Error::PreparedForServerOnly)
    );
    assert!(client.poll_transmit().is_none());

    for peer in knobs.peers {
        check_peer(
            &message,
            kind,
            payload,
            (!knobs.plain).then_some(bits),
            peer,
        );
    }
}

/// The first message of a connection's own, from the payload.
fn own_message(payload: &[u8], salt: u8) -> Vec<u8> {
    let mut own: Vec<u8> = payload.iter().take(300).map(|b| b ^ salt).collect();
    own.extend_from_slice(b"own message own message");
    own
}

fn check_peer(
    message: &PreparedMessage,
    kind: MessageKind,
    payload: &[u8],
    compressed_bits: Option<u8>,
    peer: Peer,
) {
    let deflate = (peer.window != 0).then(|| {
        NegotiatedDeflate::new(
            15 - (peer.window - 1) % 7,
            peer.no_context_takeover,
            15,
            peer.client_no_context_takeover,
        )
    });
    let config = Config::default().deflate(
        DeflateConfig::default()
            .enabled(true)
            .compression_threshold(usize::from(peer.threshold)),
    );
    let mut negotiated = Negotiated::new();
    if let Some(d) = deflate {
        negotiated = negotiated.deflate(d);
    }
    let mut server = Connection::with_negotiated(Role::Server, config, negotiated);
    let before = own_message(payload, 0x5a);
    let after = own_message(payload, 0xa5);
    let mut expected = Vec::new();
    if peer.around & 1 != 0 {
        server.send_binary(&before).expect("a first message");
        expected.push((MessageKind::Binary, before.clone()));
    }
    let mut wire = Vec::new();
    while let Some(bytes) = server.poll_transmit() {
        wire.extend_from_slice(&bytes);
    }
    let start = wire.len();
    server.send_prepared(message).expect("send_prepared");
    expected.push((kind, payload.to_vec()));
    while let Some(bytes) = server.poll_transmit() {
        wire.extend_from_slice(&bytes);
    }
    // The prepared frame alone.
    let (mut checked, mut close) = (start, false);
    let (header, frame_payload) =
        crate::next_sent_frame(&wire, &mut checked, Role::Server, &[], &mut close)
            .expect("the prepared frame is whole");
    assert_eq!(checked, wire.len(), "one frame for the prepared message");
    let opcode = match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    };
    assert_eq!(header.opcode, opcode);
    let compatible = match (compressed_bits, deflate) {
        (Some(bits), Some(d)) => d.compress_no_context_takeover && bits <= d.compress_window_bits,
        _ => false,
    };
    assert_eq!(header.rsv1, compatible, "{header:?} for {deflate:?}");
    if header.rsv1 {
        let window = deflate.expect("compatible").compress_window_bits;
        assert_eq!(inflate_alone(&frame_payload, window), payload);
    } else {
        assert_eq!(frame_payload, payload);
    }
    if peer.around & 2 != 0 {
        server.send_binary(&after).expect("a last message");
        expected.push((MessageKind::Binary, after.clone()));
        while let Some(bytes) = server.poll_transmit() {
            wire.extend_from_slice(&bytes);
        }
    }

    // The client at the other end reads it all.
    let mut negotiated = Negotiated::new();
    if let Some(d) = deflate {
        negotiated = negotiated.deflate(NegotiatedDeflate::new(
            15,
            d.decompress_no_context_takeover,
            d.compress_window_bits,
            d.compress_no_context_takeover,
        ));
    }
    let config = Config::default()
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE + 64)
        .deflate(DeflateConfig::default().enabled(true));
    let entropy = Box::new(SeededEntropy::new(1));
    let mut reader = Connection::from_parts(Role::Client, config, entropy, negotiated);
    reader.handle_read(&wire);
    let mut got = Vec::new();
    while let Some(event) = reader.poll_event() {
        match event {
            Event::Message(Message::Text(t)) => {
                got.push((MessageKind::Text, t.as_bytes().to_vec()))
            }
            Event::Message(Message::Binary(b)) => got.push((MessageKind::Binary, b.to_vec())),
            other => panic!("the client read {other:?}"),
        }
    }
    assert_eq!(got, expected);
    assert_eq!(reader.received_amount(), 0);
}

/// Inflates one message compressed with no context takeover through raw
/// zlib with a `window`-bit window, from an empty history.
fn inflate_alone(compressed: &[u8], window: u8) -> Vec<u8> {
    let mut input = compressed.to_vec();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut inflate = Decompress::new_with_window_bits(false, window);
    let mut out = Vec::with_capacity(compressed.len() * 4 + 64);
    loop {
        let (consumed, written) = (inflate.total_in() as usize, out.len());
        if out.len() == out.capacity() {
            out.reserve(out.capacity());
        }
        let status = inflate
            .decompress_vec(&input[consumed..], &mut out, FlushDecompress::Sync)
            .unwrap_or_else(|e| panic!("the prepared payload does not inflate: {e}"));
        let now = inflate.total_in() as usize;
        if status == Status::StreamEnd || (now == input.len() && out.len() < out.capacity()) {
            break;
        }
        assert!(
            now > consumed || out.len() > written,
            "inflation stalls at {now} of {} bytes",
            input.len()
        );
        assert!(out.len() <= MAX_MESSAGE * 2, "inflates past the message");
    }
    out
}
