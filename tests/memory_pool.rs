//! A memory pool shared by many connections bounds them together: sixteen
//! connections, each receiving a compressed message of about 60 KiB that
//! inflates to 60 MiB, in parallel, never take the process past the pool
//! plus a stated constant per connection; without the pool they would hold
//! close to a gigabyte. This binary holds one test and a counting allocator.

#![cfg(feature = "deflate")]

use std::alloc::System;
use std::sync::Arc;

use cap::Cap;
use flate2::{Compress, Compression, FlushCompress};
use wsproto::extensions::NegotiatedDeflate;
use wsproto::frame::{apply_mask, FrameHeader, OpCode, MAX_HEADER_LEN};
use wsproto::{Config, Connection, Event, MemoryPool, Negotiated, ProtocolError, Role};

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

const MIB: usize = 1 << 20;
const CONNECTIONS: usize = 16;
const POOL: usize = 32 * MIB;
/// Per connection, what the pool does not cover: the connection itself, its
/// inflater's state (about 50 KiB with zlib-rs), growth slack of the
/// inflated buffer beyond what was covered, and the thread.
const PER_CONNECTION: usize = 2 * MIB;

/// A client's compressed message (RFC 7692 §7.2.1): `len` zero bytes,
/// raw DEFLATE with a sync flush and the final 00 00 ff ff removed.
fn compressed_frame(len: usize) -> Vec<u8> {
    let zeros = vec![0u8; len];
    let mut c = Compress::new_with_window_bits(Compression::new(9), false, 15);
    let mut payload = Vec::with_capacity(len / 500 + 1024);
    c.compress_vec(&zeros, &mut payload, FlushCompress::Sync)
        .unwrap();
    while c.total_in() < len as u64 {
        payload.reserve(64 * 1024);
        let consumed = c.total_in() as usize;
        c.compress_vec(&zeros[consumed..], &mut payload, FlushCompress::Sync)
            .unwrap();
    }
    assert!(payload.ends_with(&[0, 0, 0xff, 0xff]));
    payload.truncate(payload.len() - 4);
    let mut header = FrameHeader::new(true, OpCode::Binary, payload.len() as u64);
    header.rsv1 = true;
    header.mask = Some([1, 2, 3, 4]);
    let mut raw = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut raw);
    let mut wire = raw[..n].to_vec();
    wire.extend_from_slice(&payload);
    apply_mask(&mut wire[n..], [1, 2, 3, 4], 0);
    wire
}

fn negotiated() -> NegotiatedDeflate {
    NegotiatedDeflate::new(15, false, 15, false)
}

#[test]
fn connections_sharing_a_pool_never_take_the_process_past_it() {
    let wire = Arc::new(compressed_frame(60 * MIB));
    assert!(wire.len() < 128 * 1024, "{} bytes on the wire", wire.len());
    let pool = MemoryPool::new(POOL);
    let baseline = HEAP.allocated();
    let threads: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let wire = wire.clone();
            let config = Config::default().memory_pool(Some(pool.clone()));
            std::thread::spawn(move || {
                let negotiated = Negotiated::new().deflate(negotiated());
                let mut server = Connection::with_negotiated(Role::Server, config, negotiated);
                let mut events = Vec::new();
                for piece in wire.chunks(16 * 1024) {
                    server.handle_read(piece);
                    while let Some(event) = server.poll_event() {
                        events.push(match event {
                            Event::Failed(e) => Err(e),
                            other => Ok(format!("{other:?}").len()),
                        });
                    }
                }
                events
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let peak = HEAP.max_allocated() - baseline;
    let allowed = POOL + CONNECTIONS * PER_CONNECTION;
    assert!(
        peak <= allowed,
        "peak {} MiB over the baseline, allowed {} MiB",
        peak / MIB,
        allowed / MIB
    );
    // 60 MiB never fits in a 32 MiB pool: every connection failed with 1009.
    for events in &results {
        assert_eq!(
            events.last(),
            Some(&Err(ProtocolError::MemoryPoolExhausted { limit: POOL })),
            "{events:?}"
        );
        assert_eq!(
            ProtocolError::MemoryPoolExhausted { limit: POOL }
                .close_code()
                .0,
            1009
        );
    }
    assert_eq!(pool.used(), 0, "every connection gave its share back");
}
