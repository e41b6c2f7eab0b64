//! The send side has a one-step path for the commonest message (a whole
//! text or binary message with a 7- or 16-bit length, not compressed, with
//! room in the queue) beside the general one (state checks, room, the
//! compression decision, framing). Whatever the application sends, in any
//! order, and however much of the queue it writes out in between, both must
//! give the same results, the same queued amount and the same bytes on the
//! wire. A memory budget too large to matter turns the one-step path off,
//! so a connection with one is the reference.

use bytes::Bytes;
use proptest::prelude::*;
use wsproto::entropy::SeededEntropy;
use wsproto::{Config, Connection, MessageKind, Negotiated, Role};

/// How a payload reaches the connection.
#[derive(Debug, Clone, Copy)]
enum Form {
    Slice,
    Shared,
    Owned,
}

#[derive(Debug, Clone)]
enum Command {
    Text {
        len: usize,
        form: Form,
    },
    Binary {
        len: usize,
        form: Form,
    },
    Fragment {
        kind: MessageKind,
        len: usize,
        last: bool,
    },
    Ping(usize),
    Close,
    /// Writes out this many bytes of the queue (all of it if it holds fewer).
    Transmit(usize),
}

fn form() -> impl Strategy<Value = Form> {
    prop_oneof![Just(Form::Slice), Just(Form::Shared), Just(Form::Owned)]
}

fn len() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => 0usize..=130,
        2 => 120usize..1100,
        1 => 65_530usize..65_540,
    ]
}

fn command() -> impl Strategy<Value = Command> {
    let kind = prop_oneof![Just(MessageKind::Text), Just(MessageKind::Binary)];
    prop_oneof![
        4 => (len(), form()).prop_map(|(len, form)| Command::Text { len, form }),
        4 => (len(), form()).prop_map(|(len, form)| Command::Binary { len, form }),
        1 => (kind, len(), any::<bool>())
            .prop_map(|(kind, len, last)| Command::Fragment { kind, len, last }),
        1 => (0usize..130).prop_map(Command::Ping),
        1 => Just(Command::Close),
        2 => prop_oneof![0usize..64, 0usize..200_000].prop_map(Command::Transmit),
    ]
}

fn text(len: usize) -> String {
    // Multi-byte characters, cut back to a character boundary.
    let mut s: String = "aé€😀".chars().cycle().take(len).collect();
    while s.len() > len {
        s.pop();
    }
    s
}

fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 151 + 7) as u8).collect()
}

fn run(conn: &mut Connection, command: &Command, wire: &mut Vec<u8>) -> String {
    let result = match command {
        Command::Text { len, form } => {
            let s = text(*len);
            match form {
                Form::Slice => conn.send_text(s.as_str()),
                Form::Shared => conn.send_text(wsproto::Utf8Bytes::from(s)),
                Form::Owned => conn.send_text(s),
            }
        }
        Command::Binary { len, form } => {
            let b = binary(*len);
            match form {
                Form::Slice => conn.send_binary(&b[..]),
                Form::Shared => conn.send_binary(Bytes::from(b)),
                Form::Owned => conn.send_binary(b),
            }
        }
        Command::Fragment { kind, len, last } => {
            let data = match kind {
                MessageKind::Text => text(*len).into_bytes(),
                MessageKind::Binary => binary(*len),
            };
            conn.send_fragment(*kind, &data[..], *last)
        }
        Command::Ping(len) => conn.ping(&binary(*len)),
        Command::Close => conn.close(wsproto::CloseCode::NORMAL, "bye"),
        Command::Transmit(mut n) => {
            while n > 0 {
                let mut slices = [std::io::IoSlice::new(&[]); 8];
                let k = conn.transmit_slices(&mut slices);
                if k == 0 {
                    break;
                }
                let mut taken = 0;
                for s in &slices[..k] {
                    let part = s.len().min(n - taken);
                    wire.extend_from_slice(&s[..part]);
                    taken += part;
                    if taken == n {
                        break;
                    }
                }
                conn.advance_transmit(taken);
                n -= taken;
            }
            Ok(())
        }
    };
    format!("{result:?} queued {}", conn.buffered_amount())
}

fn connection(role: Role, config: Config, deflate: Option<usize>) -> Connection {
    let (config, negotiated) = with_deflate(config, deflate);
    Connection::from_parts(role, config, Box::new(SeededEntropy::new(11)), negotiated)
}

/// permessage-deflate agreed, compressing messages from `threshold` bytes.
#[cfg(feature = "deflate")]
fn with_deflate(config: Config, threshold: Option<usize>) -> (Config, Negotiated) {
    use wsproto::extensions::{DeflateConfig, NegotiatedDeflate};
    match threshold {
        Some(threshold) => (
            config.deflate(DeflateConfig::default().compression_threshold(threshold)),
            Negotiated::new().deflate(NegotiatedDeflate::new(15, false, 15, false)),
        ),
        None => (config, Negotiated::new()),
    }
}

/// Without the `deflate` feature nothing is compressed.
#[cfg(not(feature = "deflate"))]
fn with_deflate(config: Config, _threshold: Option<usize>) -> (Config, Negotiated) {
    (config, Negotiated::new())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn both_send_paths_frame_alike(
        commands in prop::collection::vec(command(), 1..40),
        client in any::<bool>(),
        queue_limit in prop_oneof![Just(64usize << 20), 100usize..300_000],
        deflate in prop_oneof![Just(None), Just(Some(0usize)), Just(Some(200)), Just(Some(5_000))],
    ) {
        let role = if client { Role::Client } else { Role::Server };
        let config = Config::default().max_send_queue(queue_limit);
        let mut fast = connection(role, config.clone(), deflate);
        let mut general = connection(role, config.memory_budget(Some(1 << 50)), deflate);
        let (mut fast_wire, mut general_wire) = (Vec::new(), Vec::new());
        for (i, command) in commands.iter().enumerate() {
            let a = run(&mut fast, command, &mut fast_wire);
            let b = run(&mut general, command, &mut general_wire);
            prop_assert_eq!(a, b, "command {}: {:?}", i, command);
        }
        let drain = Command::Transmit(usize::MAX);
        run(&mut fast, &drain, &mut fast_wire);
        run(&mut general, &drain, &mut general_wire);
        prop_assert_eq!(fast_wire.len(), general_wire.len());
        prop_assert!(fast_wire == general_wire, "the bytes on the wire differ");
        prop_assert_eq!(fast.state(), general.state());
    }
}
