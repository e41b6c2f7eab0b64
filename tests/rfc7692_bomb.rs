//! RFC 7692 §8.1 warns about messages that inflate to far more than they
//! take on the wire. This binary holds one test and a counting allocator: a
//! frame of about a megabyte that would inflate to 1 GiB never makes the
//! process hold more than the message limit plus a small constant.

#![cfg(feature = "deflate")]

use std::alloc::System;

use cap::Cap;
use wsproto::deflate::Compressor;
use wsproto::extensions::NegotiatedDeflate;
use wsproto::frame::{apply_mask, FrameHeader, OpCode, MAX_HEADER_LEN};
use wsproto::{Config, Connection, Event, Negotiated, ProtocolError, Role};

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

const MIB: usize = 1 << 20;

fn negotiated() -> NegotiatedDeflate {
    NegotiatedDeflate::new(15, false, 15, false)
}

/// The payload of one compressed message of 1 GiB of zeros. After the first
/// MiB, every further MiB compresses to the same bytes (back-references into
/// a window of zeros), so the bomb is built without compressing 1 GiB.
fn bomb() -> Vec<u8> {
    let zeros = vec![0u8; MIB];
    let mut compressor = Compressor::new(&negotiated(), 9);
    let mut first = Vec::new();
    compressor.compress(&zeros, &mut first);
    let mut next = Vec::new();
    compressor.compress(&zeros, &mut next);
    // Each piece lost its sync flush's 00 00 ff ff; between pieces it goes
    // back (the receiver appends the last one, RFC 7692 §7.2.2).
    let mut payload = first;
    for _ in 1..1024 {
        payload.extend_from_slice(&wsproto::deflate::TAIL);
        payload.extend_from_slice(&next);
    }
    payload
}

#[test]
fn a_frame_that_would_inflate_to_1_gib_is_stopped_at_the_limit() {
    let limit = 16 * MIB;
    let payload = bomb();
    assert!(
        payload.len() < 2 * MIB,
        "the bomb is small: {} bytes",
        payload.len()
    );

    // A client's frame: masked, RSV1 set, one frame for the whole message.
    let mut header = FrameHeader::new(true, OpCode::Binary, payload.len() as u64);
    header.rsv1 = true;
    header.mask = Some([1, 2, 3, 4]);
    let mut raw = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut raw);
    let mut wire = raw[..n].to_vec();
    wire.extend_from_slice(&payload);
    apply_mask(&mut wire[n..], [1, 2, 3, 4], 0);
    drop(payload);

    let config = Config::default().max_message_size(limit);
    let mut server = Connection::with_negotiated(
        Role::Server,
        config,
        Negotiated::new().deflate(negotiated()),
    );
    let baseline = HEAP.allocated();
    // Everything held so far stays: the wire bytes, the connection's state.
    let allowed = baseline + wire.len() + limit + MIB;
    assert!(
        HEAP.max_allocated() <= allowed,
        "before: {}",
        HEAP.max_allocated()
    );

    for piece in wire.chunks(64 * 1024) {
        server.handle_read(piece);
        while let Some(event) = server.poll_event() {
            assert_eq!(
                event,
                Event::Failed(ProtocolError::MessageTooLarge {
                    size: limit as u64 + 1,
                    limit
                })
            );
        }
        assert!(
            HEAP.max_allocated() <= allowed,
            "peak {} bytes, allowed {} (limit {} + wire {} + 1 MiB over a baseline of {})",
            HEAP.max_allocated(),
            allowed,
            limit,
            wire.len(),
            baseline
        );
    }
    assert!(server.is_closed());
    let close: Vec<u8> = std::iter::from_fn(|| server.poll_transmit())
        .flat_map(|b| b.to_vec())
        .collect();
    assert_eq!(close, [0x88, 0x02, 0x03, 0xF1], "close 1009");
}
