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

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wsproto::entropy::SeededEntropy;
use wsproto::extensions::{DeflateConfig, NegotiatedDeflate};
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

criterion_group!(benches, inflate);
criterion_main!(benches);
