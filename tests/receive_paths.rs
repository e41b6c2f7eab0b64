//! The receive side has a one-step path for the commonest frame (a whole,
//! uncompressed text or binary message with a 7- or 16-bit length, fully
//! buffered) beside the general one (header parse, state checks, frame and
//! message bookkeeping). Whatever a peer sends, split into reads anywhere,
//! both must give the same events, the same failure and the same bytes to
//! send. A memory budget too large to matter turns the one-step path off,
//! so a connection with one is the reference.

use proptest::prelude::*;
use wsproto::frame::{apply_mask, FrameHeader, OpCode, MAX_HEADER_LEN};
use wsproto::{Config, Connection, Event, EventRef, Role};

/// One frame as a peer, well-behaved or not, might send it.
#[derive(Debug, Clone)]
struct Frame {
    b0: u8,
    len: usize,
    masked: bool,
    /// Non-minimal length encoding: a 16-bit length for a short payload.
    long_form: bool,
    /// Payload byte pattern: ASCII, multi-byte UTF-8 or arbitrary.
    fill: u8,
}

fn frame() -> impl Strategy<Value = Frame> {
    let b0 = prop_oneof![
        4 => prop_oneof![Just(0x81u8), Just(0x82)],
        1 => Just(0x01u8),
        1 => Just(0x80u8),
        1 => Just(0x89u8),
        1 => Just(0x88u8),
        1 => any::<u8>(),
    ];
    let len = prop_oneof![0usize..=130, 120usize..300, 65_530usize..65_540];
    (
        b0,
        len,
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.1),
        0u8..3,
    )
        .prop_map(|(b0, len, masked, long_form, fill)| Frame {
            b0,
            len,
            masked,
            long_form,
            fill,
        })
}

fn payload(f: &Frame) -> Vec<u8> {
    match f.fill {
        0 => b"ascii text ".iter().copied().cycle().take(f.len).collect(),
        1 => "é€😀".bytes().cycle().take(f.len).collect(),
        _ => (0..f.len).map(|i| (i * 151 + 7) as u8).collect(),
    }
}

fn encode(frames: &[Frame]) -> Vec<u8> {
    let mut wire = Vec::new();
    for f in frames {
        let mut header = [0u8; MAX_HEADER_LEN];
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let len = if f.long_form && f.len < 126 {
            header[0] = f.b0;
            header[1] = 126;
            header[2..4].copy_from_slice(&(f.len as u16).to_be_bytes());
            let mut n = 4;
            if f.masked {
                header[1] |= 0x80;
                header[4..8].copy_from_slice(&key);
                n = 8;
            }
            n
        } else {
            let opcode = OpCode::from_u8(f.b0 & 0x0F).unwrap_or(OpCode::Binary);
            let mut h = FrameHeader::new(f.b0 & 0x80 != 0, opcode, f.len as u64);
            h.mask = f.masked.then_some(key);
            let n = h.encode(&mut header);
            // The first byte as given, reserved opcodes and RSV bits included.
            header[0] = f.b0;
            n
        };
        wire.extend_from_slice(&header[..len]);
        let mut body = payload(f);
        if f.masked {
            apply_mask(&mut body, key, 0);
        }
        wire.extend_from_slice(&body);
    }
    wire
}

/// Everything observable: each event, then the state at the end.
///
/// `eof`: the transport ends after the last byte; `by_ref`: events are
/// taken lent (`poll_event_ref`) instead of owned.
fn run(
    role: Role,
    config: Config,
    wire: &[u8],
    cuts: &[usize],
    eof: bool,
    by_ref: bool,
) -> Vec<String> {
    let mut conn = Connection::new(role, config);
    let mut seen = Vec::new();
    let mut at = 0;
    let mut ends: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    ends.push(wire.len());
    ends.sort_unstable();
    for end in ends {
        conn.handle_read(&wire[at..end]);
        at = end;
        drain(&mut conn, role, by_ref, &mut seen);
    }
    if eof {
        conn.handle_eof();
        seen.push("eof".into());
        drain(&mut conn, role, by_ref, &mut seen);
    }
    seen.push(format!(
        "state {:?} close {:?} failure {:?} buffered {}",
        conn.state(),
        conn.close_code(),
        conn.failure(),
        conn.buffered_amount()
    ));
    seen
}

/// Takes every event the connection has now, and what it queued to send.
fn drain(conn: &mut Connection, role: Role, by_ref: bool, seen: &mut Vec<String>) {
    loop {
        let (text, failed) = if by_ref {
            match conn.poll_event_ref() {
                Some(event) => (format!("{event:?}"), matches!(event, EventRef::Failed(_))),
                None => break,
            }
        } else {
            match conn.poll_event() {
                Some(event) => (format!("{event:?}"), matches!(event, Event::Failed(_))),
                None => break,
            }
        };
        seen.push(text);
        if failed {
            break;
        }
    }
    // A server's frames carry no mask, so its bytes are deterministic.
    if role == Role::Server {
        while let Some(out) = conn.poll_transmit() {
            seen.push(format!("out {out:?}"));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_one_step_path_and_the_general_path_give_the_same_events(
        frames in prop::collection::vec(frame(), 1..12),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
        server in any::<bool>(),
        small_limits in any::<bool>(),
        unmasked_ok in any::<bool>(),
        eof in any::<bool>(),
        by_ref in any::<bool>(),
        keep in any::<usize>(),
    ) {
        let role = if server { Role::Server } else { Role::Client };
        let mut config = Config::default().accept_unmasked_frames(unmasked_ok);
        if small_limits {
            config = config.max_frame_size(100).max_message_size(200);
        }
        let mut wire = encode(&frames);
        if eof {
            // The transport may end anywhere, mid-frame too.
            wire.truncate(keep % (wire.len() + 1));
        }
        let fast = run(role, config.clone(), &wire, &cuts, eof, by_ref);
        let general = run(
            role,
            config.memory_budget(Some(usize::MAX / 2)),
            &wire,
            &cuts,
            eof,
            by_ref,
        );
        prop_assert_eq!(fast, general);
    }
}
