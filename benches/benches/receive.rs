//! Receive one whole message, server role, from in-memory bytes.
//!
//! Input: one message, pre-encoded once as a client sends it (one frame, FIN
//! set, masked with a fixed key). Each iteration feeds those wire bytes to
//! the library and takes the message out; the message is then dropped, so a
//! library that recycles its read buffer may do so. Throughput counts payload
//! bytes. Every library runs with its defaults plus UTF-8 validation of text
//! (on by default everywhere but yawc, where `Options::with_utf8` turns it on).
//!
//! - `wsproto`: `handle_read(&wire)` (copies the wire bytes into the
//!   connection's read buffer), then `poll_event()`, which parses the header,
//!   unmasks in place, validates text and hands out a `Bytes` slice.
//! - `wsproto_recv_buffer`: the same through `recv_buffer(wire.len())`, a
//!   `copy_from_slice` into it (standing in for the socket read), then
//!   `handle_received` and `poll_event()`.
//! - `wsproto_recv_buffer_4k` (small messages only): `recv_buffer(4096)`,
//!   as a reader that asks for a read-sized chunk would; wsproto zero-fills
//!   the chunk, which this variant shows.
//! - `wsproto_prefilled` (1 MiB only): the wire bytes are already in a fresh
//!   connection's read buffer (set up outside the timing); only
//!   `poll_event()` is timed: parse, unmask in place, validate, split. This is
//!   the number to hold against the machine's limits in `baseline`.
//! - `tungstenite`: `WebSocket::from_raw_socket` (server) over a `MemStream`;
//!   per iteration the stream is rewound and `read()` returns the `Message`
//!   (it copies from the stream into its read buffer, as it would from a socket).
//!   With its default 128 KiB `read_buffer_size` it zero-fills up to 128 KiB
//!   of spare buffer before every read; `tungstenite_4k` (small messages
//!   only) sets `read_buffer_size(4096)` to show it without most of that.
//! - `fastwebsockets`: `FragmentCollector` over `WebSocket::after_handshake`
//!   (server) over the same stream type; `read_frame()` driven by a single
//!   poll with a no-op waker (no runtime). `FragmentCollector` is its
//!   whole-message API and validates text.
//! - `tokio-websockets`: `ServerBuilder::serve` over the same stream; one
//!   `Stream::poll_next` with a no-op waker yields the `Message`.
//! - `yawc`: `WebSocket::from_stream` (server, UTF-8 checks on) over the same
//!   stream; `next_frame()` with a no-op waker.
//!
//! - `bare_frame_loop`: not a library but the floor, the work itself: the
//!   wire bytes copied into a reused buffer, the header parsed with
//!   `wsproto::frame`, the payload unmasked in place and (text) validated
//!   with simdutf8, and its length taken from the borrowed slice.
//!
//! Before measuring, each library's output is checked once against the payload.

use std::future::poll_fn;
use std::hint::black_box;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use futures_core::Stream;
use tungstenite::protocol::WebSocketConfig;
use wsproto::frame::{self, FrameHeader, OpCode, Parsed};
use wsproto::{Config, Connection, Event, EventRef, Message, Role};
use wsproto_benches::{
    ascii_text, binary_payload, block_on, masked_frame, multibyte_text, MemStream, MIB,
};

struct Case {
    name: &'static str,
    text: bool,
    payload: Vec<u8>,
    large: bool,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "binary_16MiB",
            text: false,
            payload: binary_payload(16 * MIB),
            large: true,
        },
        Case {
            name: "binary_16B",
            text: false,
            payload: binary_payload(16),
            large: false,
        },
        Case {
            name: "text_128B",
            text: true,
            payload: ascii_text(128).into_bytes(),
            large: false,
        },
        Case {
            name: "binary_1MiB",
            text: false,
            payload: binary_payload(MIB),
            large: true,
        },
        Case {
            name: "text_1MiB_multibyte",
            text: true,
            payload: multibyte_text(MIB).into_bytes(),
            large: true,
        },
    ]
}

/// The payload of a wsproto event, checked to be of the right kind.
fn wsproto_payload(event: Option<Event>, text: bool) -> Vec<u8> {
    match event {
        Some(Event::Message(Message::Binary(data))) if !text => data.to_vec(),
        Some(Event::Message(Message::Text(data))) if text => data.as_bytes().to_vec(),
        other => panic!("unexpected event {other:?}"),
    }
}

fn receive(c: &mut Criterion) {
    for case in cases() {
        let opcode = if case.text {
            OpCode::Text
        } else {
            OpCode::Binary
        };
        let wire = masked_frame(opcode, &case.payload);
        let mut group = c.benchmark_group(format!("receive/{}", case.name));
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

        // wsproto, handle_read.
        {
            let mut conn = Connection::new(Role::Server, Config::default());
            conn.handle_read(&wire);
            assert_eq!(wsproto_payload(conn.poll_event(), case.text), case.payload);
            group.bench_function("wsproto", |b| {
                b.iter(|| {
                    conn.handle_read(black_box(&wire));
                    conn.poll_event()
                })
            });
        }

        // The floor: the work itself, in a hand-written loop over wsproto's
        // frame API with a reused buffer and the payload borrowed.
        {
            let mut buf: Vec<u8> = Vec::with_capacity(wire.len());
            let text = case.text;
            let mut bare = move |wire: &[u8]| -> usize {
                buf.clear();
                buf.extend_from_slice(wire);
                let Ok(Parsed::Complete(header, len)) = FrameHeader::parse(&buf) else {
                    panic!("one whole frame");
                };
                let payload = &mut buf[len..len + header.payload_len as usize];
                if let Some(key) = header.mask {
                    frame::apply_mask(payload, key, 0);
                }
                if text {
                    simdutf8::basic::from_utf8(payload)
                        .expect("valid text")
                        .len()
                } else {
                    payload.len()
                }
            };
            assert_eq!(bare(&wire), case.payload.len());
            group.bench_function("bare_frame_loop", |b| b.iter(|| bare(black_box(&wire))));
        }

        // wsproto, handle_read and the lent event (payload borrowed until the next call).
        {
            let mut conn = Connection::new(Role::Server, Config::default());
            let lent_len = |conn: &mut Connection| match conn.poll_event_ref() {
                Some(EventRef::Binary(data)) => data.len(),
                Some(EventRef::Text(text)) => text.len(),
                other => panic!("unexpected event {other:?}"),
            };
            conn.handle_read(&wire);
            assert_eq!(lent_len(&mut conn), case.payload.len());
            group.bench_function("wsproto_lent", |b| {
                b.iter(|| {
                    conn.handle_read(black_box(&wire));
                    lent_len(&mut conn)
                })
            });
        }

        // wsproto, a large message arriving in 256 KiB reads into recv_buffer.
        if case.large {
            const READ: usize = 256 * 1024;
            let mut conn = Connection::new(Role::Server, Config::default());
            let feed = |conn: &mut Connection| {
                let mut event = None;
                for piece in wire.chunks(READ) {
                    conn.recv_buffer(piece.len())
                        .copy_from_slice(black_box(piece));
                    conn.handle_received(piece.len());
                    if let Some(e) = conn.poll_event() {
                        event = Some(e);
                    }
                }
                event
            };
            assert_eq!(wsproto_payload(feed(&mut conn), case.text), case.payload);
            group.bench_function("wsproto_256k_reads", |b| b.iter(|| feed(&mut conn)));
        }

        // wsproto, recv_buffer + handle_received.
        {
            let mut conn = Connection::new(Role::Server, Config::default());
            let feed = |conn: &mut Connection| {
                conn.recv_buffer(wire.len())
                    .copy_from_slice(black_box(&wire));
                conn.handle_received(wire.len());
            };
            feed(&mut conn);
            assert_eq!(wsproto_payload(conn.poll_event(), case.text), case.payload);
            group.bench_function("wsproto_recv_buffer", |b| {
                b.iter(|| {
                    feed(&mut conn);
                    conn.poll_event()
                })
            });
        }

        // wsproto, recv_buffer with a read-sized chunk.
        if !case.large {
            const CHUNK: usize = 4096;
            let mut conn = Connection::new(Role::Server, Config::default());
            let feed = |conn: &mut Connection| {
                conn.recv_buffer(CHUNK)[..wire.len()].copy_from_slice(black_box(&wire));
                conn.handle_received(wire.len());
            };
            feed(&mut conn);
            assert_eq!(wsproto_payload(conn.poll_event(), case.text), case.payload);
            group.bench_function("wsproto_recv_buffer_4k", |b| {
                b.iter(|| {
                    feed(&mut conn);
                    conn.poll_event()
                })
            });
        }

        // wsproto, only the parsing: the bytes are already buffered.
        if case.large {
            let filled = || {
                let mut conn = Connection::new(Role::Server, Config::default());
                conn.handle_read(&wire);
                conn
            };
            assert_eq!(
                wsproto_payload(filled().poll_event(), case.text),
                case.payload
            );
            group.bench_function("wsproto_prefilled", |b| {
                b.iter_batched(
                    filled,
                    |mut conn| {
                        let event = conn.poll_event();
                        // Dropped after the timing, with the connection.
                        (conn, event)
                    },
                    BatchSize::LargeInput,
                )
            });
        }

        // tungstenite, with its default configuration and with a 4 KiB read buffer.
        for (name, config) in [
            ("tungstenite", None),
            (
                "tungstenite_4k",
                Some(WebSocketConfig::default().read_buffer_size(4096)),
            ),
        ] {
            use tungstenite::protocol::{Role, WebSocket};
            use tungstenite::Message;
            if case.large && config.is_some() {
                continue;
            }
            let stream = MemStream::new(wire.clone());
            let mut ws = WebSocket::from_raw_socket(stream.clone(), Role::Server, config);
            stream.rewind();
            match ws.read().unwrap() {
                Message::Binary(data) if !case.text => assert_eq!(data, case.payload),
                Message::Text(data) if case.text => assert_eq!(data.as_bytes(), case.payload),
                other => panic!("unexpected message {other:?}"),
            }
            group.bench_function(name, |b| {
                b.iter(|| {
                    stream.rewind();
                    ws.read().unwrap()
                })
            });
        }

        // fastwebsockets.
        {
            use fastwebsockets::{FragmentCollector, Role, WebSocket};
            let stream = MemStream::new(wire.clone());
            let mut ws =
                FragmentCollector::new(WebSocket::after_handshake(stream.clone(), Role::Server));
            stream.rewind();
            {
                let frame = block_on(ws.read_frame()).unwrap();
                let expected = if case.text {
                    fastwebsockets::OpCode::Text
                } else {
                    fastwebsockets::OpCode::Binary
                };
                assert_eq!(frame.opcode, expected);
                assert_eq!(&frame.payload[..], &case.payload[..]);
            }
            group.bench_function("fastwebsockets", |b| {
                b.iter(|| {
                    stream.rewind();
                    block_on(ws.read_frame()).unwrap()
                })
            });
        }

        // tokio-websockets.
        {
            let stream = MemStream::new(wire.clone());
            let mut ws = tokio_websockets::ServerBuilder::new().serve(stream.clone());
            let mut next = move || match block_on(poll_fn(|cx| Pin::new(&mut ws).poll_next(cx))) {
                Some(Ok(message)) => message,
                other => panic!("unexpected {other:?}"),
            };
            stream.rewind();
            let message = next();
            assert_eq!(message.is_text(), case.text);
            assert_eq!(&message.as_payload()[..], &case.payload[..]);
            group.bench_function("tokio-websockets", |b| {
                b.iter(|| {
                    stream.rewind();
                    next()
                })
            });
        }

        // yawc.
        {
            use yawc::{Options, Role, WebSocket};
            let stream = MemStream::new(wire.clone());
            let options = Options::default()
                .with_utf8()
                .with_max_payload_read(64 * MIB);
            let mut ws = WebSocket::from_stream(stream.clone(), Role::Server, options).unwrap();
            stream.rewind();
            let frame = block_on(ws.next_frame()).unwrap();
            let expected = if case.text {
                yawc::OpCode::Text
            } else {
                yawc::OpCode::Binary
            };
            assert_eq!(frame.opcode(), expected);
            assert_eq!(frame.payload(), &Bytes::from(case.payload.clone()));
            group.bench_function("yawc", |b| {
                b.iter(|| {
                    stream.rewind();
                    block_on(ws.next_frame()).unwrap()
                })
            });
        }

        group.finish();
    }
}

criterion_group!(benches, receive);
criterion_main!(benches);
