//! A peer cannot make a connection hold more than its memory budget: for
//! arbitrary frames in both roles (lying lengths, fragments, control frames,
//! garbage), fed in reads of at most `READ` bytes with every event consumed,
//! the process's heap between calls never exceeds what it held before the
//! connection started by more than the budget plus a stated constant. This
//! binary holds one test and a counting allocator.

use std::alloc::System;

use cap::Cap;
use proptest::prelude::*;
use wsproto::frame::{apply_mask, FrameHeader, OpCode, MAX_HEADER_LEN};
use wsproto::{Config, Connection, Event, Role};

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

const BUDGET: usize = 64 * 1024;
/// The most one read hands the connection.
const READ: usize = 4096;
/// What the budget does not see: one read in flight, and the allocator's
/// rounding of the buffers the budget counts.
const SLACK: usize = 2 * READ + 4096;

/// One frame as a hostile peer might send it.
#[derive(Debug, Clone)]
struct Frame {
    b0: u8,
    /// The length the header announces.
    announced: u64,
    /// How many payload bytes actually follow.
    sent: usize,
    masked: bool,
}

fn frame() -> impl Strategy<Value = Frame> {
    let len = prop_oneof![
        0u64..200,
        100u64..70_000,
        60_000u64..300_000,
        Just(u64::MAX >> 1),
    ];
    (any::<u8>(), len, any::<bool>(), any::<bool>()).prop_map(|(b0, announced, whole, masked)| {
        let sent = if whole {
            announced.min(300_000) as usize
        } else {
            (announced / 2).min(300_000) as usize
        };
        Frame {
            b0,
            announced,
            sent,
            masked,
        }
    })
}

fn encode(frames: &[Frame]) -> Vec<u8> {
    let mut wire = Vec::new();
    for f in frames {
        let opcode = OpCode::from_u8(f.b0 & 0x0F).unwrap_or(OpCode::Binary);
        let mut header = FrameHeader::new(f.b0 & 0x80 != 0, opcode, f.announced);
        header.mask = f.masked.then_some([1, 2, 3, 4]);
        let mut raw = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut raw);
        raw[0] = f.b0;
        wire.extend_from_slice(&raw[..n]);
        let start = wire.len();
        wire.resize(start + f.sent, b'a');
        if let Some(key) = header.mask {
            apply_mask(&mut wire[start..], key, 0);
        }
    }
    wire
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_peer_input_never_takes_the_heap_past_the_budget(
        frames in proptest::collection::vec(frame(), 1..12),
        client_role in any::<bool>(),
        streaming in any::<bool>(),
        step in 1usize..=READ,
    ) {
        let wire = encode(&frames);
        let role = if client_role { Role::Client } else { Role::Server };
        let config = Config::default()
            .memory_budget(Some(BUDGET))
            .streaming(streaming);
        let base = HEAP.allocated();
        let mut conn = Connection::new(role, config);
        let mut peak = 0;
        for piece in wire.chunks(step) {
            conn.handle_read(piece);
            peak = peak.max(HEAP.allocated() - base);
            while let Some(event) = conn.poll_event() {
                peak = peak.max(HEAP.allocated() - base);
                let failed = matches!(event, Event::Failed(_));
                drop(event);
                if failed {
                    break;
                }
            }
            peak = peak.max(HEAP.allocated() - base);
            prop_assert!(conn.memory_usage() <= BUDGET + SLACK, "{}", conn.memory_usage());
        }
        prop_assert!(peak <= BUDGET + SLACK, "peak {peak} over {BUDGET} + {SLACK}");
    }
}
