//! Send one whole binary message into memory.
//!
//! Each iteration frames one message (masked with a fresh key in the client
//! role, RFC 6455 §5.3) and delivers every byte of it. Throughput counts
//! payload bytes. Before measuring, each library's output is checked once:
//! its length, the mask bit, and (unmasked) the payload.
//!
//! - `wsproto`: `send_binary(&payload[..])` (the payload is copied into the
//!   send queue; a client masks it there), then `poll_transmit()` until
//!   `None`, each chunk passed to `black_box` and dropped. This is the sans-IO
//!   cost: what an adapter pays before its write call.
//! - `wsproto_to_sink`: the same, and each chunk is then copied into the same
//!   in-memory sink (a `Vec`, cleared before each message) the peers write to,
//!   standing in for the socket write. This is the number to compare with
//!   the peers like for like.
//! - `wsproto_lent_to_sink`: the same, but the queue is lent with
//!   `transmit_slices` and released with `advance_transmit` (what the
//!   blocking adapter does): no `Bytes` handed out, no reference counting.
//! - `wsproto_shared`, `wsproto_shared_to_sink` (1 MiB, server): the payload
//!   is passed as a `Bytes` clone, which wsproto queues after its header
//!   without copying; the second then copies both chunks into the sink.
//! - `wsproto_seeded` (client): as `wsproto`, with mask keys from
//!   `SeededEntropy` instead of the OS's CSPRNG, to show what key generation
//!   costs. Never do this on a real network.
//! - `tungstenite`: `WebSocket::from_raw_socket` over a `MemStream`;
//!   `send(Message::Binary(bytes.clone()))` (write + flush into the sink).
//!   Masks with `rand`'s thread-local generator.
//! - `fastwebsockets`: `WebSocket::after_handshake` over the same stream;
//!   `write_frame(Frame::binary(Payload::Borrowed(&payload)))`, polled once
//!   with a no-op waker. It writes small frames with one `write`, large ones
//!   (over 1 KiB) with a vectored write of header and payload; a client copies
//!   the payload to mask it. Masks with `rand`'s thread-local generator.
//! - `tokio-websockets`: `ServerBuilder::serve` / `ClientBuilder::take_over`
//!   over the same stream; `Sink::poll_ready`, `start_send(Message::binary(
//!   bytes.clone()))`, `poll_flush`, polled with a no-op waker. Masks with
//!   `fastrand`.
//! - `yawc`: `WebSocket::from_stream` over the same stream; the same `Sink`
//!   calls with `Frame::binary(bytes.clone())`.
//! - `bare_frame_loop`: not a library but the floor: the header encoded
//!   with `wsproto::frame` and the payload copied (and masked, for a client,
//!   with a fixed key) into a reused buffer, by hand.

use std::future::poll_fn;
use std::hint::black_box;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_sink::Sink;
use wsproto::entropy::SeededEntropy;
use wsproto::frame::{apply_mask, FrameHeader, OpCode, Parsed};
use wsproto::{Config, Connection, Role};
use wsproto_benches::{binary_payload, block_on, MemStream, MIB};

struct Case {
    name: &'static str,
    client: bool,
    len: usize,
}

const CASES: [Case; 4] = [
    Case {
        name: "binary_16B_server",
        client: false,
        len: 16,
    },
    Case {
        name: "binary_128B_client",
        client: true,
        len: 128,
    },
    Case {
        name: "binary_1MiB_server",
        client: false,
        len: MIB,
    },
    Case {
        name: "binary_1MiB_client",
        client: true,
        len: MIB,
    },
];

/// Checks that `wire` is exactly one binary frame carrying `payload`,
/// masked if and only if a client sent it.
fn check_wire(wire: &[u8], payload: &[u8], client: bool, who: &str) {
    let Ok(Parsed::Complete(header, at)) = FrameHeader::parse(wire) else {
        panic!("{who}: no whole header in {} bytes", wire.len());
    };
    assert!(header.fin, "{who}: FIN not set");
    assert_eq!(header.mask.is_some(), client, "{who}: wrong mask bit");
    assert_eq!(wire.len() - at, payload.len(), "{who}: wrong length");
    let mut body = wire[at..].to_vec();
    if let Some(key) = header.mask {
        apply_mask(&mut body, key, 0);
    }
    assert!(body == payload, "{who}: wrong payload");
}

fn drain(conn: &mut Connection) {
    while let Some(chunk) = conn.poll_transmit() {
        black_box(chunk);
    }
}

fn drain_to(conn: &mut Connection, sink: &mut Vec<u8>) {
    sink.clear();
    while let Some(chunk) = conn.poll_transmit() {
        sink.extend_from_slice(&chunk);
    }
}

/// Drains through the lending API (`transmit_slices` + `advance_transmit`),
/// copying the lent slices into the sink as a vectored write would.
fn drain_lent_to(conn: &mut Connection, sink: &mut Vec<u8>) {
    sink.clear();
    loop {
        let mut slices = [std::io::IoSlice::new(&[]); 8];
        let n = conn.transmit_slices(&mut slices);
        if n == 0 {
            return;
        }
        let mut written = 0;
        for slice in &slices[..n] {
            sink.extend_from_slice(slice);
            written += slice.len();
        }
        conn.advance_transmit(written);
    }
}

fn send(c: &mut Criterion) {
    for case in CASES {
        let payload = binary_payload(case.len);
        let shared = Bytes::from(payload.clone());
        let role = if case.client {
            Role::Client
        } else {
            Role::Server
        };
        let large = case.len >= MIB;
        let mut group = c.benchmark_group(format!("send/{}", case.name));
        group.throughput(Throughput::Bytes(case.len as u64));
        if large {
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

        // wsproto, borrowed payload.
        {
            let mut conn = Connection::new(role, Config::default());
            let mut sink = Vec::with_capacity(case.len + 16);
            conn.send_binary(&payload[..]).unwrap();
            drain_to(&mut conn, &mut sink);
            check_wire(&sink, &payload, case.client, "wsproto");
            group.bench_function("wsproto", |b| {
                b.iter(|| {
                    conn.send_binary(black_box(&payload[..])).unwrap();
                    drain(&mut conn);
                })
            });
            group.bench_function("wsproto_to_sink", |b| {
                b.iter(|| {
                    conn.send_binary(black_box(&payload[..])).unwrap();
                    drain_to(&mut conn, &mut sink);
                })
            });
            drain_lent_to(&mut conn, &mut sink);
            conn.send_binary(&payload[..]).unwrap();
            drain_lent_to(&mut conn, &mut sink);
            check_wire(&sink, &payload, case.client, "wsproto_lent_to_sink");
            group.bench_function("wsproto_lent_to_sink", |b| {
                b.iter(|| {
                    conn.send_binary(black_box(&payload[..])).unwrap();
                    drain_lent_to(&mut conn, &mut sink);
                })
            });
        }

        // The floor: the header encoded and the payload copied (masked
        // while copied, for a client) into a reused buffer, by hand.
        {
            let mut sink: Vec<u8> = Vec::with_capacity(case.len + 16);
            let client = case.client;
            let mut bare = move |payload: &[u8]| -> usize {
                sink.clear();
                let mut header = FrameHeader::new(true, OpCode::Binary, payload.len() as u64);
                if client {
                    header.mask = Some([0x37, 0xfa, 0x21, 0x3d]);
                }
                let mut raw = [0u8; 14];
                let n = header.encode(&mut raw);
                sink.extend_from_slice(&raw[..n]);
                let at = sink.len();
                sink.extend_from_slice(payload);
                if let Some(key) = header.mask {
                    apply_mask(&mut sink[at..], key, 0);
                }
                sink.len()
            };
            assert_eq!(
                bare(&payload),
                payload.len()
                    + FrameHeader::new(true, OpCode::Binary, payload.len() as u64).encoded_len()
                    + if client { 4 } else { 0 }
            );
            group.bench_function("bare_frame_loop", |b| b.iter(|| bare(black_box(&payload))));
        }

        // wsproto, shared payload queued without a copy.
        if large && !case.client {
            let mut conn = Connection::new(role, Config::default());
            let mut sink = Vec::with_capacity(case.len + 16);
            conn.send_binary(shared.clone()).unwrap();
            drain_to(&mut conn, &mut sink);
            check_wire(&sink, &payload, case.client, "wsproto_shared");
            group.bench_function("wsproto_shared", |b| {
                b.iter(|| {
                    conn.send_binary(black_box(&shared).clone()).unwrap();
                    drain(&mut conn);
                })
            });
            group.bench_function("wsproto_shared_to_sink", |b| {
                b.iter(|| {
                    conn.send_binary(black_box(&shared).clone()).unwrap();
                    drain_to(&mut conn, &mut sink);
                })
            });
        }

        // wsproto, client role, deterministic mask keys.
        if case.client {
            let mut conn =
                Connection::with_entropy(role, Config::default(), Box::new(SeededEntropy::new(1)));
            group.bench_function("wsproto_seeded", |b| {
                b.iter(|| {
                    conn.send_binary(black_box(&payload[..])).unwrap();
                    drain(&mut conn);
                })
            });
        }

        // tungstenite.
        {
            use tungstenite::protocol::{Role, WebSocket};
            use tungstenite::Message;
            let stream = MemStream::new(Bytes::new());
            stream.reserve_output(case.len + 16);
            let role = if case.client {
                Role::Client
            } else {
                Role::Server
            };
            let mut ws = WebSocket::from_raw_socket(stream.clone(), role, None);
            ws.send(Message::Binary(shared.clone())).unwrap();
            check_wire(&stream.output(), &payload, case.client, "tungstenite");
            group.bench_function("tungstenite", |b| {
                b.iter(|| {
                    stream.clear_output();
                    ws.send(Message::Binary(black_box(&shared).clone()))
                        .unwrap();
                })
            });
        }

        // fastwebsockets.
        {
            use fastwebsockets::{Frame, Payload, Role, WebSocket};
            let stream = MemStream::new(Bytes::new());
            stream.reserve_output(case.len + 16);
            let role = if case.client {
                Role::Client
            } else {
                Role::Server
            };
            let mut ws = WebSocket::after_handshake(stream.clone(), role);
            block_on(ws.write_frame(Frame::binary(Payload::Borrowed(&payload)))).unwrap();
            check_wire(&stream.output(), &payload, case.client, "fastwebsockets");
            group.bench_function("fastwebsockets", |b| {
                b.iter(|| {
                    stream.clear_output();
                    let frame = Frame::binary(Payload::Borrowed(black_box(&payload)));
                    block_on(ws.write_frame(frame)).unwrap();
                })
            });
        }

        // tokio-websockets.
        {
            use tokio_websockets::{ClientBuilder, Message, ServerBuilder};
            let stream = MemStream::new(Bytes::new());
            stream.reserve_output(case.len + 16);
            let mut ws = if case.client {
                ClientBuilder::new().take_over(stream.clone())
            } else {
                ServerBuilder::new().serve(stream.clone())
            };
            let mut send = |data: Bytes| {
                block_on(poll_fn(|cx| Pin::new(&mut ws).poll_ready(cx))).unwrap();
                Pin::new(&mut ws).start_send(Message::binary(data)).unwrap();
                block_on(poll_fn(|cx| Pin::new(&mut ws).poll_flush(cx))).unwrap();
            };
            send(shared.clone());
            check_wire(&stream.output(), &payload, case.client, "tokio-websockets");
            group.bench_function("tokio-websockets", |b| {
                b.iter(|| {
                    stream.clear_output();
                    send(black_box(&shared).clone());
                })
            });
        }

        // yawc.
        {
            use yawc::{Frame, Options, Role, WebSocket};
            let stream = MemStream::new(Bytes::new());
            stream.reserve_output(case.len + 16);
            let role = if case.client {
                Role::Client
            } else {
                Role::Server
            };
            let mut ws = WebSocket::from_stream(stream.clone(), role, Options::default()).unwrap();
            let mut send = |data: Bytes| {
                block_on(poll_fn(|cx| Pin::new(&mut ws).poll_ready(cx))).unwrap();
                Pin::new(&mut ws).start_send(Frame::binary(data)).unwrap();
                block_on(poll_fn(|cx| Pin::new(&mut ws).poll_flush(cx))).unwrap();
            };
            send(shared.clone());
            check_wire(&stream.output(), &payload, case.client, "yawc");
            group.bench_function("yawc", |b| {
                b.iter(|| {
                    stream.clear_output();
                    send(black_box(&shared).clone());
                })
            });
        }

        group.finish();
    }
}

criterion_group!(benches, send);
criterion_main!(benches);
