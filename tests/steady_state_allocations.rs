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

/// Compressed messages, received: once the caller has dropped a payload,
/// the next message inflates into its allocation, so per message only the
/// small shared handle around the payload is allocated, whatever the
/// peer's window and with or without context takeover (resetting the
/// inflater between messages reuses its state).
#[cfg(feature = "deflate")]
fn receiving_compressed_messages_allocates_only_the_payload_for_every_window() {
    use wsproto::extensions::{DeflateConfig, NegotiatedDeflate};
    use wsproto::Negotiated;
    for bits in 9..=15u8 {
        for no_context_takeover in [false, true] {
            // The peer compresses with `bits`, as agreed.
            let mut client = Connection::with_negotiated(
                Role::Client,
                Config::default().deflate(DeflateConfig::default().compression_threshold(0)),
                Negotiated::new().deflate(NegotiatedDeflate::new(
                    bits,
                    no_context_takeover,
                    15,
                    false,
                )),
            );
            client.send_binary(&[7u8; 100][..]).unwrap();
            let mut wire = Vec::new();
            while let Some(chunk) = client.poll_transmit() {
                wire.extend_from_slice(&chunk);
            }
            let mut server = Connection::with_negotiated(
                Role::Server,
                Config::default().deflate(DeflateConfig::default()),
                Negotiated::new().deflate(NegotiatedDeflate::new(
                    15,
                    false,
                    bits,
                    no_context_takeover,
                )),
            );
            let expected = Some(Event::Message(Message::Binary(vec![7u8; 100].into())));
            let mut receive = || {
                server.handle_read(&wire);
                assert_eq!(server.poll_event(), expected);
            };
            for _ in 0..10 {
                receive();
            }
            let region = Region::new(GLOBAL);
            for _ in 0..1000 {
                receive();
            }
            let stats = region.change();
            // The `Bytes` handle's shared count: one allocation of a few
            // dozen bytes per message; never the payload's 100 bytes again,
            // nor a zlib state (about 46 KiB).
            let per_message = stats.bytes_allocated / 1000;
            assert!(
                stats.allocations <= 1000 + 10 && per_message < 64,
                "{bits} bits, no context takeover {no_context_takeover}: {} allocations, \
                 {per_message} bytes per message",
                stats.allocations
            );
        }
    }
}

/// Compressed messages, sent: the compressor's state is reused from
/// message to message, with or without context takeover.
#[cfg(feature = "deflate")]
fn sending_compressed_messages_allocates_nothing_per_message_for_every_window() {
    use wsproto::extensions::{DeflateConfig, NegotiatedDeflate};
    use wsproto::Negotiated;
    for bits in 9..=15u8 {
        for no_context_takeover in [false, true] {
            let mut server = Connection::with_negotiated(
                Role::Server,
                Config::default().deflate(DeflateConfig::default().compression_threshold(0)),
                Negotiated::new().deflate(NegotiatedDeflate::new(
                    bits,
                    no_context_takeover,
                    15,
                    false,
                )),
            );
            let message = [7u8; 100];
            let mut sent = 0;
            let mut send = || {
                server.send_binary(&message[..]).unwrap();
                while let Some(chunk) = server.poll_transmit() {
                    sent += chunk.len();
                }
            };
            for _ in 0..10 {
                send();
            }
            let region = Region::new(GLOBAL);
            for _ in 0..1000 {
                send();
            }
            let stats = region.change();
            assert!(
                stats.allocations + stats.reallocations <= 10,
                "{bits} bits, no context takeover {no_context_takeover}: {} allocations, \
                 {} reallocations for 1,000 messages",
                stats.allocations,
                stats.reallocations
            );
            assert!(sent > 1010 * 2, "every message went out");
        }
    }
}

/// A large message framed into the send buffer (a client masks while it
/// copies) and written out through `transmit_slices`/`advance_transmit`:
/// once all of it is written, the buffer is given back, not kept at the
/// size of the largest message ever sent; small messages then reuse one
/// small buffer.
fn a_send_buffer_written_out_is_given_back_after_a_large_message() {
    let mut client = Connection::new(Role::Client, Config::default());
    let drain = |conn: &mut Connection| loop {
        let written = {
            let mut slices = [std::io::IoSlice::new(&[]); 8];
            let n = conn.transmit_slices(&mut slices);
            slices[..n].iter().map(|s| s.len()).sum::<usize>()
        };
        if written == 0 {
            break;
        }
        // Written in two parts, as a socket might take it.
        conn.advance_transmit(written / 2);
        conn.advance_transmit(written - written / 2);
    };
    client.send_binary(&[1u8; 10][..]).unwrap();
    drain(&mut client);
    let region = Region::new(GLOBAL);
    client.send_binary(&vec![7u8; 512 * 1024][..]).unwrap();
    drain(&mut client);
    for _ in 0..1000 {
        client.send_binary(&[1u8; 10][..]).unwrap();
        drain(&mut client);
    }
    let stats = region.change();
    // Growth by reallocation is counted in `bytes_allocated` too.
    let held = stats.bytes_allocated as isize - stats.bytes_deallocated as isize;
    assert!(
        held < 4096,
        "{held} bytes still held after the large message was written"
    );
    assert!(
        stats.allocations <= 4,
        "{} allocations for 1,001 messages",
        stats.allocations
    );
}

/// The measurements, one after the other in one test: the test harness
/// allocates when a test ends, and the counter is global, so no other test
/// may end while one measures.
#[test]
fn steady_state_allocations() {
    echoing_small_messages_allocates_nothing_per_message();
    a_send_buffer_written_out_is_given_back_after_a_large_message();
    #[cfg(feature = "deflate")]
    receiving_compressed_messages_allocates_only_the_payload_for_every_window();
    #[cfg(feature = "deflate")]
    sending_compressed_messages_allocates_nothing_per_message_for_every_window();
}
