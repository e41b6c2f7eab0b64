//! Receive one compressed message (permessage-deflate, RFC 7692), server
//! role, from in-memory bytes: wsproto only, since the peers negotiate and
//! configure compression differently.
//!
//! Input: one message as a wsproto client sends it with permessage-deflate
//! on (15-bit windows, context takeover, level 6): one frame, RSV1 and FIN
//! set, masked. It is the client's first message, so it refers to nothing
//! before it and is valid again after any number of earlier messages; each
//! iteration feeds the same wire bytes to the same server connection, whose
//! decompressor keeps its window from message to message, as a long-lived
//! connection's does. Throughput counts inflated bytes.
//!
//! - `wsproto`: `handle_read(&wire)` in one piece, then `poll_event()`.
//! - `wsproto_64k_reads` (1 MiB only): the wire fed in 64 KiB reads, each
//!   followed by `poll_event()` until it returns nothing, as a reader with a
//!   64 KiB buffer would; the frame is inflated piece by piece.
//! - `wsproto_streaming_64k_reads` (1 MiB only): the same with
//!   `Config::streaming`, so every read's inflated bytes are handed out as a
//!   `Chunk`.
//!
//! Before measuring, the output is checked once against the message.
//!
//! The `inflate_stream` groups receive a stream of 256 different JSON-like
//! messages (about 1 KiB or 64 KiB each) from a wsproto client compressing
//! at level 1 or 6, with context takeover (each message may refer to the
//! ones before it, as on a long-lived connection) or without. Each
//! iteration is a fresh server connection fed the whole stream in 64 KiB
//! reads (the connection's cost is one in 256 messages). Throughput counts
//! inflated bytes.
//!
//! - `wsproto`: `handle_read` of each read, `poll_event()` until nothing.
//! - `raw_flate2`: the same compressed payloads, taken out of their frames
//!   beforehand, inflated by flate2 (zlib-rs, the backend wsproto uses)
//!   with the same window, `0x00 0x00 0xff 0xff` appended (RFC 7692
//!   §7.2.2) and reset per message without context takeover, into one
//!   reused buffer: the cost of the inflation alone, the floor.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flate2::{Decompress, FlushDecompress, Status};
use wsproto::entropy::SeededEntropy;
use wsproto::extensions::{DeflateConfig, NegotiatedDeflate};
use wsproto::frame::{FrameHeader, Parsed};
use wsproto::{Config, Connection, Event, Message, Negotiated, Role};
use wsproto_benches::{ascii_text, binary_payload, KIB, MIB};

struct Case {
    name: &'static str,
    text: bool,
    payload: Vec<u8>,
    large: bool,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "text_128B",
            text: true,
            payload: ascii_text(128).into_bytes(),
            large: false,
        },
        Case {
            name: "text_16KiB",
            text: true,
            payload: ascii_text(16 * KIB).into_bytes(),
            large: false,
        },
        Case {
            name: "text_1MiB",
            text: true,
            payload: ascii_text(MIB).into_bytes(),
            large: true,
        },
        Case {
            name: "binary_1MiB",
            text: false,
            payload: binary_payload(MIB),
            large: true,
        },
    ]
}

fn negotiated() -> NegotiatedDeflate {
    NegotiatedDeflate::new(15, false, 15, false)
}

fn connection(role: Role, config: Config) -> Connection {
    let config = config.deflate(DeflateConfig::default().compression_threshold(0));
    let negotiated = Negotiated::new().deflate(negotiated());
    Connection::from_parts(role, config, Box::new(SeededEntropy::new(7)), negotiated)
}

/// The wire bytes of `payload` as the first message of a compressing client.
fn compressed_wire(payload: &[u8], text: bool) -> Vec<u8> {
    let mut client = connection(Role::Client, Config::default());
    if text {
        client
            .send_text(std::str::from_utf8(payload).unwrap())
            .unwrap();
    } else {
        client.send_binary(payload).unwrap();
    }
    let wire: Vec<u8> = std::iter::from_fn(|| client.poll_transmit())
        .flat_map(|b| b.to_vec())
        .collect();
    assert!(wire[0] & 0x40 != 0, "RSV1: the message is compressed");
    wire
}

/// Feeds `wire` in `read`-byte pieces and returns the message's bytes.
fn receive(conn: &mut Connection, wire: &[u8], read: usize) -> usize {
    let mut len = 0;
    for piece in wire.chunks(read) {
        conn.handle_read(black_box(piece));
        while let Some(event) = conn.poll_event() {
            len += match event {
                Event::Message(Message::Text(t)) => t.len(),
                Event::Message(Message::Binary(b)) => b.len(),
                Event::Chunk { data, .. } => data.len(),
                other => panic!("unexpected event {other:?}"),
            };
        }
    }
    len
}

fn inflate(c: &mut Criterion) {
    for case in cases() {
        let wire = compressed_wire(&case.payload, case.text);
        let mut group = c.benchmark_group(format!("inflate/{}", case.name));
        group.throughput(Throughput::Bytes(case.payload.len() as u64));
        if case.large {
            group
                .sample_size(30)
                .measurement_time(Duration::from_secs(3))
                .warm_up_time(Duration::from_secs(1));
        } else {
            group
                .sample_size(50)
                .measurement_time(Duration::from_secs(2))
                .warm_up_time(Duration::from_secs(1));
        }
        let mut variants = vec![("wsproto", Config::default(), wire.len())];
        if case.large {
            variants.push(("wsproto_64k_reads", Config::default(), 64 * KIB));
            variants.push((
                "wsproto_streaming_64k_reads",
                Config::default().streaming(true),
                64 * KIB,
            ));
        }
        for (name, config, read) in variants {
            let streaming = config.streaming;
            let mut conn = connection(Role::Server, config);
            // Checked once: the same bytes, twice in a row (the window carries over).
            for _ in 0..2 {
                if streaming {
                    assert_eq!(receive(&mut conn, &wire, read), case.payload.len());
                } else {
                    conn.handle_read(&wire);
                    let got = match conn.poll_event() {
                        Some(Event::Message(Message::Text(t))) => t.as_bytes().to_vec(),
                        Some(Event::Message(Message::Binary(b))) => b.to_vec(),
                        other => panic!("unexpected event {other:?}"),
                    };
                    assert_eq!(got, case.payload);
                }
            }
            group.bench_function(name, |b| b.iter(|| receive(&mut conn, &wire, read)));
        }
        group.finish();
    }
}

/// `count` different JSON-like messages of about `size` bytes each: arrays
/// of records whose fields repeat (as in real traffic) with values that
/// vary, from a fixed seed.
fn json_messages(count: usize, size: usize) -> Vec<String> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    const ACTIONS: [&str; 5] = ["create", "update", "delete", "move", "share"];
    (0..count)
        .map(|_| {
            let mut out = String::from("[");
            while out.len() < size {
                let r = next();
                if out.len() > 1 {
                    out.push(',');
                }
                out.push_str(&format!(
                    r#"{{"id":{},"user":"user{}","action":"{}","ts":{},"score":{}.{:03},"tags":["t{}","t{}"],"ok":{}}}"#,
                    r % 1_000_000,
                    (r >> 20) % 5_000,
                    ACTIONS[(r >> 33) as usize % ACTIONS.len()],
                    1_700_000_000_000u64 + (r >> 24) % 100_000_000,
                    (r >> 40) % 100,
                    (r >> 8) % 1000,
                    (r >> 48) % 50,
                    (r >> 52) % 50,
                    r & 1 == 0,
                ));
            }
            out.push(']');
            out
        })
        .collect()
}

/// The wire bytes of `messages` from a compressing client, and each
/// message's compressed payload (unmasked, without its frame header).
fn compressed_stream(messages: &[String], level: u32, takeover: bool) -> (Vec<u8>, Vec<Vec<u8>>) {
    let config = Config::default().deflate(
        DeflateConfig::default()
            .compression_threshold(0)
            .level(level),
    );
    let negotiated = Negotiated::new().deflate(NegotiatedDeflate::new(15, !takeover, 15, false));
    let mut client = Connection::from_parts(
        Role::Client,
        config,
        Box::new(SeededEntropy::new(7)),
        negotiated,
    );
    let mut wire = Vec::new();
    for message in messages {
        client.send_text(message).unwrap();
        while let Some(bytes) = client.poll_transmit() {
            wire.extend_from_slice(&bytes);
        }
    }
    let mut payloads = Vec::new();
    let mut at = 0;
    while at < wire.len() {
        let Ok(Parsed::Complete(header, len)) = FrameHeader::parse(&wire[at..]) else {
            panic!("a whole frame");
        };
        assert!(
            header.rsv1 && header.fin,
            "one compressed frame per message"
        );
        let key = header.mask.expect("a client masks");
        let start = at + len;
        let end = start + header.payload_len as usize;
        let payload = wire[start..end]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ key[i % 4])
            .collect();
        payloads.push(payload);
        at = end;
    }
    assert_eq!(payloads.len(), messages.len());
    (wire, payloads)
}

/// A server connection that takes what the client above negotiated.
fn stream_server(takeover: bool) -> Connection {
    let config = Config::default()
        .max_message_size(1 << 20)
        .deflate(DeflateConfig::default());
    let negotiated = Negotiated::new().deflate(NegotiatedDeflate::new(15, false, 15, !takeover));
    Connection::from_parts(
        Role::Server,
        config,
        Box::new(SeededEntropy::new(9)),
        negotiated,
    )
}

/// Feeds the whole stream to a fresh server; returns the inflated bytes.
fn receive_stream(wire: &[u8], takeover: bool) -> usize {
    let mut conn = stream_server(takeover);
    let mut len = 0;
    for piece in wire.chunks(64 * KIB) {
        conn.handle_read(black_box(piece));
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Message(Message::Text(t)) => len += t.len(),
                other => panic!("unexpected event {other:?}"),
            }
        }
    }
    len
}

/// Inflates the payloads with flate2 alone into one reused buffer; returns
/// the inflated bytes.
fn raw_inflate(payloads: &[Vec<u8>], takeover: bool, out: &mut Vec<u8>) -> usize {
    let mut inflater = Decompress::new_with_window_bits(false, 15);
    let mut total = 0;
    for payload in payloads {
        if !takeover {
            inflater.reset(false);
        }
        out.clear();
        for input in [&payload[..], &[0x00, 0x00, 0xff, 0xff][..]] {
            let mut input = input;
            loop {
                if out.len() == out.capacity() {
                    out.reserve(64 * KIB);
                }
                let (before_in, before_out) = (inflater.total_in(), out.len());
                let status = inflater
                    .decompress_vec(input, out, FlushDecompress::Sync)
                    .expect("valid deflate");
                input = &input[(inflater.total_in() - before_in) as usize..];
                let stalled = out.len() == before_out && input.is_empty();
                if matches!(status, Status::StreamEnd) || stalled {
                    break;
                }
            }
        }
        total += out.len();
    }
    total
}

fn inflate_stream(c: &mut Criterion) {
    for (size_name, size) in [("1KiB", KIB), ("64KiB", 64 * KIB)] {
        let messages = json_messages(256, size);
        let bytes: usize = messages.iter().map(String::len).sum();
        for level in [1, 6] {
            for takeover in [true, false] {
                let (wire, payloads) = compressed_stream(&messages, level, takeover);
                let mode = if takeover { "takeover" } else { "no_takeover" };
                let mut group = c.benchmark_group(format!(
                    "inflate_stream/json_{size_name}_level{level}_{mode}"
                ));
                group
                    .throughput(Throughput::Bytes(bytes as u64))
                    .sample_size(20)
                    .measurement_time(Duration::from_secs(3))
                    .warm_up_time(Duration::from_secs(1));
                // Checked once: every message comes back whole, both ways.
                assert_eq!(receive_stream(&wire, takeover), bytes);
                let mut out = Vec::with_capacity(size + KIB);
                assert_eq!(raw_inflate(&payloads, takeover, &mut out), bytes);
                group.bench_function("wsproto", |b| b.iter(|| receive_stream(&wire, takeover)));
                group.bench_function("raw_flate2", |b| {
                    b.iter(|| raw_inflate(black_box(&payloads), takeover, &mut out))
                });
                group.finish();
            }
        }
    }
}

criterion_group!(benches, inflate, inflate_stream);
criterion_main!(benches);
