//! In steady state, a connection allocates nothing per message beyond what
//! the payload itself needs: payloads are slices of the read buffer and
//! frames to send are packed into a reused buffer. This binary counts every
//! allocation with an instrumented global allocator.

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use wsproto::frame::{apply_mask, FrameHeader, OpCode, MAX_HEADER_LEN};
use wsproto::{Config, Connection, Event, Message, Role};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// A masked client frame carrying `payload`.
fn client_frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut header = FrameHeader::new(true, opcode, payload.len() as u64);
    header.mask = Some([9, 8, 7, 6]);
    let mut raw = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut raw);
    let mut wire = raw[..n].to_vec();
    wire.extend_from_slice(payload);
    apply_mask(&mut wire[n..], [9, 8, 7, 6], 0);
    wire
}

/// One echo round on a server: a text and a binary message in, both echoed out.
fn round(server: &mut Connection, wire: &[u8], out: &mut usize) {
    server.handle_read(wire);
    while let Some(event) = server.poll_event() {
        match event {
            Event::Message(Message::Text(text)) => server.send_text(&*text).unwrap(),
            Event::Message(Message::Binary(data)) => server.send_binary(&data[..]).unwrap(),
            other => panic!("unexpected {other:?}"),
        }
    }
    while let Some(chunk) = server.poll_transmit() {
        *out += chunk.len();
    }
}

#[test]
fn echoing_small_messages_allocates_nothing_per_message() {
    let config =
        Config::default().deflate(wsproto::extensions::DeflateConfig::default().enabled(false));
    let mut server = Connection::new(Role::Server, config);
    let mut wire = client_frame(OpCode::Text, b"hello, steady state");
    wire.extend(client_frame(OpCode::Binary, &[7u8; 100]));
    let mut out = 0;
    for _ in 0..100 {
        round(&mut server, &wire, &mut out);
    }
    let region = Region::new(GLOBAL);
    for _ in 0..10_000 {
        round(&mut server, &wire, &mut out);
    }
    let stats = region.change();
    assert_eq!(out, 10_100 * (2 + 19 + 2 + 100), "every byte went out");
    // 20,000 messages in, 20,000 out: a handful of allocations at most, none per message.
    assert!(
        stats.allocations + stats.reallocations <= 10,
        "{} allocations and {} reallocations for 20,000 messages",
        stats.allocations,
        stats.reallocations
    );
}
