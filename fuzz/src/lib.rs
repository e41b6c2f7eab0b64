//! The properties the fuzz targets check. Each target in `fuzz_targets/` is
//! three lines that hand the fuzzer's bytes to one `run` function here, in
//! the manner of httparse's targets; what is asserted is written once, here.
//!
//! Inputs are a fixed-size prefix of knobs (read with `arbitrary`: flags,
//! where to cut the rest into reads, limits) followed by the bytes a peer
//! sends, unchanged. An all-zero prefix means "defaults, one read", so a seed
//! is `zeros(knobs_len) ++ wire`: see [`seed`] and `examples/seed.rs`.

use arbitrary::{Arbitrary, Unstructured};
use wsproto::frame::{apply_mask, FrameHeader, OpCode, Parsed, MAX_CONTROL_PAYLOAD};
use wsproto::{CloseCode, CloseFrame, Event, Message, Role};

pub mod connection;
pub mod connection_deflate;
pub mod differential;
pub mod event_ref;
pub mod extensions;
pub mod frame;
pub mod h2;
pub mod handshake;
pub mod inflate;
pub mod prepared;
pub mod tokio_framing;

/// Where to cut the peer's bytes into reads, and how to hand each read in.
#[derive(Arbitrary, Debug, Clone, Copy, Default)]
pub struct Cuts {
    /// Lengths of the reads, cycled; 0 means "all the rest".
    lens: [u8; 4],
    /// Bit `i % 8` set: read `i` goes through `recv_buffer`/`handle_received`
    /// (with a longer buffer than is filled) instead of `handle_read`.
    via_recv_buffer: u8,
}

impl Cuts {
    /// The reads: `(bytes, via_recv_buffer)`, in order, covering `wire`.
    pub fn split<'a>(&self, mut wire: &'a [u8]) -> impl Iterator<Item = (&'a [u8], bool)> + 'a {
        let cuts = *self;
        let mut i = 0;
        std::iter::from_fn(move || {
            if wire.is_empty() {
                return None;
            }
            let len = match cuts.lens[i % 4] {
                0 => wire.len(),
                n => wire.len().min(usize::from(n)),
            };
            let (piece, rest) = wire.split_at(len);
            wire = rest;
            let via = cuts.via_recv_buffer & (1 << (i % 8)) != 0;
            i += 1;
            Some((piece, via))
        })
    }
}

/// Reads the knobs `K` off the front of `data`; the rest is the wire.
pub fn split_input<'a, K: Arbitrary<'a> + Default>(data: &'a [u8]) -> (K, &'a [u8]) {
    let mut u = Unstructured::new(data);
    let knobs = K::arbitrary(&mut u).unwrap_or_default();
    (knobs, u.take_rest())
}

/// How many bytes of knobs `K` takes.
pub fn knobs_len<'a, K: Arbitrary<'a>>() -> usize {
    K::size_hint(0).0
}

/// A seed input: default knobs (all zero bytes), then `wire`.
pub fn seed<'a, K: Arbitrary<'a>>(wire: &[u8]) -> Vec<u8> {
    let mut input = vec![0; knobs_len::<K>()];
    input.extend_from_slice(wire);
    input
}

/// The checks every connection target makes on a control event or on the
/// event that ends a connection. Records ping payloads in `pings`; returns
/// whether `event` ends the connection (nothing may follow it).
pub fn check_control_event(event: &Event, pings: &mut Vec<Vec<u8>>) -> bool {
    match event {
        Event::Message(Message::Ping(data)) => {
            assert!(data.len() <= MAX_CONTROL_PAYLOAD);
            pings.push(data.to_vec());
            false
        }
        Event::Message(Message::Pong(data)) => {
            assert!(data.len() <= MAX_CONTROL_PAYLOAD);
            false
        }
        Event::Message(Message::Close(close)) => {
            if let Some(close) = close {
                assert!(close.code.is_valid_on_wire(), "{close:?}");
                assert!(close.reason.len() <= MAX_CONTROL_PAYLOAD - 2);
            }
            true
        }
        Event::Failed(error) => {
            let code = error.close_code();
            assert!(
                code.is_valid_on_wire() || code == CloseCode::ABNORMAL,
                "{error:?} maps to {code:?}"
            );
            true
        }
        _ => false,
    }
}

/// The next complete frame a connection in `role` wrote at
/// `wire[*checked..]`, unmasked, after the checks every sent frame passes:
/// a valid header, masked exactly when a client, FIN, no RSV2/RSV3, nothing
/// after a close frame; a pong answers a ping in `pings`, a close payload is
/// valid (and sets `close_on_wire`). `None` while no whole frame is there.
pub fn next_sent_frame(
    wire: &[u8],
    checked: &mut usize,
    role: Role,
    pings: &[Vec<u8>],
    close_on_wire: &mut bool,
) -> Option<(FrameHeader, Vec<u8>)> {
    let rest = &wire[*checked..];
    let (header, len) = match FrameHeader::parse(rest) {
        Ok(Parsed::Complete(header, len)) => (header, len),
        Ok(Parsed::Partial(_)) => return None,
        Err(e) => panic!("sent an invalid frame header: {e:?} in {rest:02x?}"),
    };
    let end = len + header.payload_len as usize;
    if rest.len() < end {
        return None;
    }
    let mut payload = rest[len..end].to_vec();
    *checked += end;
    assert!(!*close_on_wire, "{header:?} sent after the close frame");
    assert_eq!(
        header.mask.is_some(),
        role == Role::Client,
        "masked exactly when a client"
    );
    assert!(header.fin && !header.rsv2 && !header.rsv3, "{header:?}");
    if let Some(key) = header.mask {
        apply_mask(&mut payload, key, 0);
    }
    match header.opcode {
        OpCode::Pong => assert!(
            pings.contains(&payload),
            "pong {payload:02x?} answers no ping"
        ),
        OpCode::Close => {
            match CloseFrame::parse_payload(&payload) {
                Ok(Some((code, _))) => assert!(code.is_valid_on_wire(), "sent {code:?}"),
                Ok(None) => {}
                Err(e) => panic!("sent an invalid close payload {payload:02x?}: {e:?}"),
            }
            *close_on_wire = true;
        }
        _ => {}
    }
    Some((header, payload))
}
