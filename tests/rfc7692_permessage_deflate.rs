//! RFC 7692, permessage-deflate, through the public API: the §7.2.3 byte
//! examples on real connections, negotiation through the handshakes in both
//! roles, and our client against our server for every parameter combination.

#![cfg(feature = "deflate")]

use wsproto::entropy::SeededEntropy;
use wsproto::extensions::{DeflateConfig, NegotiatedDeflate};
use wsproto::handshake::{Accept, ClientHandshake, ClientRequest, Outcome, ServerHandshake};
use wsproto::{
    Bytes, Config, Connection, Event, Message, MessageKind, Negotiated, ProtocolError, Role,
};

/// Both sides as negotiated by the RFC's examples: 15-bit windows, context takeover.
fn takeover() -> NegotiatedDeflate {
    NegotiatedDeflate::new(15, false, 15, false)
}

/// A connection with permessage-deflate on, compressing every message.
fn deflating(role: Role, negotiated: NegotiatedDeflate) -> Connection {
    let deflate = DeflateConfig::default().compression_threshold(0);
    let config = Config::default().deflate(deflate);
    Connection::with_negotiated(role, config, Negotiated::new().deflate(negotiated))
}

fn sent(conn: &mut Connection) -> Vec<u8> {
    std::iter::from_fn(|| conn.poll_transmit())
        .flat_map(|b| b.to_vec())
        .collect()
}

fn events(conn: &mut Connection, wire: &[u8]) -> Vec<Event> {
    conn.handle_read(wire);
    std::iter::from_fn(|| conn.poll_event()).collect()
}

// ----- RFC 7692 §7.2.3: the examples, byte for byte -----

#[test]
fn rfc7692_7_2_3_1_hello_sent_and_received() {
    let wire = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let mut server = deflating(Role::Server, takeover());
    server.send_text("Hello").unwrap();
    assert_eq!(sent(&mut server), wire);
    let mut client = deflating(Role::Client, takeover());
    assert_eq!(
        events(&mut client, &wire),
        [Event::Message(Message::Text("Hello".into()))]
    );
}

#[test]
fn rfc7692_7_2_3_1_fragmented_hello_is_received() {
    let wire = [
        0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00,
    ];
    let mut client = deflating(Role::Client, takeover());
    assert_eq!(
        events(&mut client, &wire),
        [Event::Message(Message::Text("Hello".into()))]
    );
}

#[test]
fn rfc7692_7_2_3_2_shared_window_in_both_directions() {
    let first = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let second = [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00];
    let mut server = deflating(Role::Server, takeover());
    server.send_text("Hello").unwrap();
    server.send_text("Hello").unwrap();
    assert_eq!(sent(&mut server), [&first[..], &second[..]].concat());
    let mut client = deflating(Role::Client, takeover());
    assert_eq!(
        events(&mut client, &[&first[..], &second[..]].concat()),
        [
            Event::Message(Message::Text("Hello".into())),
            Event::Message(Message::Text("Hello".into()))
        ]
    );
}

#[test]
fn rfc7692_7_2_3_2_no_context_takeover_repeats_the_first_bytes() {
    let negotiated = NegotiatedDeflate::new(15, true, 15, false);
    let mut server = deflating(Role::Server, negotiated);
    server.send_text("Hello").unwrap();
    server.send_text("Hello").unwrap();
    let frame = [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(sent(&mut server), [&frame[..], &frame[..]].concat());
}

#[test]
fn rfc7692_7_2_3_3_no_compression_block_is_received() {
    let wire = [
        0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    let mut client = deflating(Role::Client, takeover());
    assert_eq!(
        events(&mut client, &wire),
        [Event::Message(Message::Text("Hello".into()))]
    );
}

#[test]
fn rfc7692_7_2_3_4_bfinal_block_is_received() {
    let wire = [0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    let mut client = deflating(Role::Client, takeover());
    assert_eq!(
        events(&mut client, &wire),
        [Event::Message(Message::Text("Hello".into()))]
    );
}

#[test]
fn rfc7692_7_2_3_5_two_deflate_blocks_in_one_message() {
    let wire = [
        0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
    ];
    let mut client = deflating(Role::Client, takeover());
    assert_eq!(
        events(&mut client, &wire),
        [Event::Message(Message::Text("Hello".into()))]
    );
}

#[test]
fn rfc7692_7_2_3_6_empty_message() {
    let mut client = deflating(Role::Client, takeover());
    assert_eq!(
        events(&mut client, &[0xc2, 0x01, 0x00]),
        [Event::Message(Message::Binary(Bytes::new()))]
    );
    let mut client = deflating(Role::Client, takeover());
    assert_eq!(
        events(&mut client, &[0xc2, 0x00]),
        [Event::Message(Message::Binary(Bytes::new()))]
    );
}

// ----- RFC 7692 §6: RSV1 -----

#[test]
fn rsv1_without_permessage_deflate_fails_with_1002() {
    let mut client = Connection::new(Role::Client, Config::default());
    let evs = events(
        &mut client,
        &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
    );
    assert_eq!(evs, [Event::Failed(ProtocolError::ReservedBit(1))]);
}

#[test]
fn rsv1_on_a_continuation_frame_fails_with_1002() {
    let mut client = deflating(Role::Client, takeover());
    let evs = events(
        &mut client,
        &[
            0x41, 0x03, 0xf2, 0x48, 0xcd, 0xc0, 0x04, 0xc9, 0xc9, 0x07, 0x00,
        ],
    );
    assert_eq!(evs, [Event::Failed(ProtocolError::ReservedBit(1))]);
}

#[test]
fn rsv1_on_a_control_frame_fails_with_1002() {
    let mut client = deflating(Role::Client, takeover());
    let evs = events(&mut client, &[0xc9, 0x00]);
    assert_eq!(evs, [Event::Failed(ProtocolError::ReservedBit(1))]);
}

#[test]
fn corrupt_compressed_data_fails_with_1007() {
    let mut client = deflating(Role::Client, takeover());
    let evs = events(&mut client, &[0xc2, 0x03, 0xff, 0xff, 0xff]);
    assert_eq!(evs, [Event::Failed(ProtocolError::InvalidCompressedData)]);
    assert_eq!(ProtocolError::InvalidCompressedData.close_code().0, 1007);
}

#[test]
fn compressed_text_that_inflates_to_invalid_utf8_fails_with_1007() {
    let mut server = deflating(Role::Server, takeover());
    server.send_binary(&[b'a', 0xff, b'b'][..]).unwrap();
    let mut wire = sent(&mut server);
    wire[0] = 0xc1; // the same payload, now claimed to be text
    let mut client = deflating(Role::Client, takeover());
    assert_eq!(
        events(&mut client, &wire),
        [Event::Failed(ProtocolError::InvalidUtf8)]
    );
}

#[test]
fn small_messages_and_chosen_messages_go_uncompressed() {
    let config = Config::default().deflate(DeflateConfig::default().compression_threshold(16));
    let mut conn =
        Connection::with_negotiated(Role::Server, config, Negotiated::new().deflate(takeover()));
    conn.send_text("tiny").unwrap();
    assert_eq!(
        sent(&mut conn),
        b"\x81\x04tiny",
        "below the threshold: RSV1 clear"
    );
    conn.send_uncompressed(MessageKind::Text, "a message long enough to compress")
        .unwrap();
    assert_eq!(sent(&mut conn)[0], 0x81);
    conn.send_text("a message long enough to compress").unwrap();
    assert_eq!(sent(&mut conn)[0], 0xc1);
}

#[test]
fn message_limit_counts_inflated_bytes() {
    // 100 KiB of zeros compress to a few hundred bytes.
    let mut server = deflating(Role::Server, takeover());
    server.send_binary(vec![0u8; 100 * 1024]).unwrap();
    let wire = sent(&mut server);
    assert!(wire.len() < 1024);
    let mut client = Connection::with_negotiated(
        Role::Client,
        Config::default().max_message_size(64 * 1024),
        Negotiated::new().deflate(takeover()),
    );
    let evs = events(&mut client, &wire);
    assert!(
        matches!(
            evs[..],
            [Event::Failed(ProtocolError::MessageTooLarge {
                limit: 65536,
                ..
            })]
        ),
        "{evs:?}"
    );
    assert_eq!(
        sent(&mut client)[..2],
        [0x88, 0x82],
        "a masked close with 1009 follows"
    );
}

#[test]
fn streaming_hands_out_inflated_data_with_the_same_cap() {
    let mut server = deflating(Role::Server, takeover());
    // Text-like bytes from a small generator: compressible, but not to nothing.
    let mut state = 1u32;
    let message: Vec<u8> = (0..200_000)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            b"etaoin shrdlu"[(state >> 16) as usize % 13]
        })
        .collect();
    server.send_binary(message.clone()).unwrap();
    let wire = sent(&mut server);
    let mut client = Connection::with_negotiated(
        Role::Client,
        Config::default().streaming(true),
        Negotiated::new().deflate(takeover()),
    );
    let mut got = Vec::new();
    let mut chunks = 0;
    for piece in wire.chunks(4096) {
        for event in events(&mut client, piece) {
            let Event::Chunk { data, last, .. } = event else {
                panic!("{event:?}")
            };
            got.extend_from_slice(&data);
            chunks += 1;
            assert_eq!(last, got.len() == message.len());
        }
    }
    assert_eq!(got, message);
    assert!(chunks > 1, "handed out as it arrived");

    let mut capped = Connection::with_negotiated(
        Role::Client,
        Config::default().streaming(true).max_message_size(100_000),
        Negotiated::new().deflate(takeover()),
    );
    let evs = events(&mut capped, &wire);
    assert!(matches!(
        evs.last(),
        Some(Event::Failed(ProtocolError::MessageTooLarge { .. }))
    ));
}

// ----- negotiation through the handshakes -----

/// Runs both handshakes in memory; returns the client and server connections.
fn handshake(client: DeflateConfig, server: DeflateConfig) -> (Connection, Connection) {
    let request = ClientRequest::from_url("ws://localhost/").unwrap();
    let client_config = Config::default().deflate(client);
    let mut c =
        ClientHandshake::with_entropy(request, client_config, Box::new(SeededEntropy::new(1)));
    let mut s = ServerHandshake::new(Config::default().deflate(server));
    s.handle_read(&c.poll_transmit().unwrap());
    s.poll_request().unwrap().unwrap();
    let (response, server_conn) = s.accept(Accept::new()).unwrap();
    c.handle_read(&response);
    let Some(Outcome::Accepted(_, client_conn)) = c.poll_response().unwrap() else {
        panic!("not accepted");
    };
    (client_conn, server_conn)
}

#[test]
fn default_handshake_negotiates_permessage_deflate_in_both_roles() {
    let (client, server) = handshake(DeflateConfig::default(), DeflateConfig::default());
    let (c, s) = (
        client.deflate().copied().unwrap(),
        server.deflate().copied().unwrap(),
    );
    assert_eq!(c.compress_window_bits, s.decompress_window_bits);
    assert_eq!(s.compress_window_bits, c.decompress_window_bits);
}

#[test]
fn server_with_deflate_off_answers_without_the_extension() {
    let (client, server) = handshake(
        DeflateConfig::default(),
        DeflateConfig::default().enabled(false),
    );
    assert_eq!(client.deflate(), None);
    assert_eq!(server.deflate(), None);
}

#[test]
fn malformed_offer_is_a_400() {
    let mut s = ServerHandshake::new(Config::default());
    s.handle_read(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
          Sec-WebSocket-Extensions: permessage-deflate; =\r\n\r\n",
    );
    let err = s.poll_request().unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(
        err.to_string().contains("Sec-WebSocket-Extensions"),
        "{err}"
    );
}

/// Every combination of the four parameters, on both sides: our client
/// against our server, messages both ways, compressed, several times (so
/// context takeover is exercised).
#[test]
fn our_client_against_our_server_for_every_combination() {
    let bits = 9u8..=15;
    let mut combinations = 0;
    for server_bits in bits.clone() {
        for client_bits in bits.clone() {
            for server_nct in [false, true] {
                for client_nct in [false, true] {
                    let config = DeflateConfig::default()
                        .server_max_window_bits(server_bits)
                        .client_max_window_bits(client_bits)
                        .server_no_context_takeover(server_nct)
                        .client_no_context_takeover(client_nct)
                        .compression_threshold(0);
                    for (client_config, server_config) in [
                        (
                            config.clone(),
                            DeflateConfig::default().compression_threshold(0),
                        ),
                        (
                            DeflateConfig::default().compression_threshold(0),
                            config.clone(),
                        ),
                        (config.clone(), config.clone()),
                    ] {
                        let (mut client, mut server) = handshake(client_config, server_config);
                        let c = *client.deflate().expect("negotiated");
                        let s = *server.deflate().expect("negotiated");
                        assert_eq!(
                            c.compress_window_bits,
                            s.decompress_window_bits.max(9).min(c.compress_window_bits)
                        );
                        assert!(s.compress_window_bits <= c.decompress_window_bits.max(9));
                        exchange(&mut client, &mut server);
                        combinations += 1;
                    }
                }
            }
        }
    }
    assert_eq!(combinations, 7 * 7 * 2 * 2 * 3);
}

fn exchange(client: &mut Connection, server: &mut Connection) {
    for round in 0..3 {
        let text = format!(
            "round {round}: {}",
            "the same words again and again ".repeat(20)
        );
        client.send_text(text.as_str()).unwrap();
        let wire = sent(client);
        assert_eq!(wire[0] & 0x40, 0x40, "compressed");
        assert_eq!(
            events(server, &wire),
            [Event::Message(Message::Text(text.as_str().into()))]
        );
        server.send_binary(text.clone().into_bytes()).unwrap();
        let wire = sent(server);
        assert_eq!(wire[0] & 0x40, 0x40, "compressed");
        assert_eq!(
            events(client, &wire),
            [Event::Message(Message::Binary(Bytes::from(text)))]
        );
    }
}

// ----- prepared messages -----

#[test]
fn prepared_message_is_compressed_once_for_no_context_takeover_connections() {
    use wsproto::PreparedMessage;
    let text = "broadcast to everyone, compressed once ".repeat(50);
    let message = PreparedMessage::text(text.as_str()).with_deflate(15, 6);
    let independent = NegotiatedDeflate::new(15, true, 15, false);
    let mut frames = Vec::new();
    for _ in 0..3 {
        let mut server = deflating(Role::Server, independent);
        server.send_prepared(&message).unwrap();
        let chunks: Vec<Bytes> = std::iter::from_fn(|| server.poll_transmit()).collect();
        assert_eq!(chunks[0][0], 0xc1, "RSV1: compressed");
        let mut client = deflating(Role::Client, NegotiatedDeflate::new(15, false, 15, true));
        let wire: Vec<u8> = chunks.iter().flat_map(|c| c.to_vec()).collect();
        assert_eq!(
            events(&mut client, &wire),
            [Event::Message(Message::Text(text.as_str().into()))]
        );
        frames.push(chunks);
    }
    assert_eq!(
        frames[0][0].as_ptr(),
        frames[1][0].as_ptr(),
        "one compressed frame, shared"
    );
    assert_eq!(frames[1][0].as_ptr(), frames[2][0].as_ptr());

    // With context takeover, or a smaller window than it was compressed
    // with, the same message goes out uncompressed.
    for negotiated in [takeover(), NegotiatedDeflate::new(10, true, 15, false)] {
        let mut server = deflating(Role::Server, negotiated);
        server.send_prepared(&message).unwrap();
        let first = server.poll_transmit().unwrap();
        assert_eq!(first[0], 0x81, "RSV1 clear: {negotiated:?}");
    }
}

#[test]
fn memory_budget_caps_what_a_message_inflates_to() {
    let mut server = deflating(Role::Server, takeover());
    server.send_binary(vec![0u8; 100 * 1024]).unwrap();
    let wire = sent(&mut server);
    let config = Config::default().memory_budget(Some(32 * 1024));
    let mut client =
        Connection::with_negotiated(Role::Client, config, Negotiated::new().deflate(takeover()));
    let evs = events(&mut client, &wire);
    assert!(
        matches!(
            evs[..],
            [Event::Failed(ProtocolError::MessageTooLarge {
                limit: 32768,
                ..
            })]
        ),
        "{evs:?}"
    );
}

// ----- the allocation inflated messages reuse -----

/// A message as a compressing client sends it: `len` bytes of text that
/// compress (a counter's digits) marked with `seed`.
fn text_of(len: usize, seed: usize) -> String {
    let mut text = format!("{seed}:");
    let mut i = 0;
    while text.len() < len {
        text.push_str(&format!("{} ", i * 7 + seed));
        i += 1;
    }
    text.truncate(len.max(text.find(':').unwrap() + 1));
    text
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// A payload the caller still holds is never written over by the
    /// messages after it, whichever of them it keeps, drops or borrows
    /// (`poll_event_ref`), small or past the 64 KiB kept from message to
    /// message, with or without context takeover.
    #[test]
    fn payloads_held_by_the_caller_are_never_overwritten(
        msgs in proptest::collection::vec(
            (
                proptest::prop_oneof![0usize..300, 300usize..5000, 60_000usize..70_000],
                0u8..3,
            ),
            1..24,
        ),
        no_context_takeover: bool,
    ) {
        let negotiated = NegotiatedDeflate::new(15, no_context_takeover, 15, no_context_takeover);
        let mut client = deflating(Role::Client, negotiated);
        let mut server = deflating(Role::Server, negotiated);
        let mut held = Vec::new();
        for (i, (len, how)) in msgs.iter().enumerate() {
            let text = text_of(*len, i);
            client.send_text(&text).unwrap();
            let wire = sent(&mut client);
            assert_ne!(wire[0] & 0x40, 0, "compressed");
            server.handle_read(&wire);
            match how {
                // Kept.
                0 => match server.poll_event() {
                    Some(Event::Message(Message::Text(got))) => held.push((got, text)),
                    other => panic!("{other:?}"),
                },
                // Dropped at once.
                1 => match server.poll_event() {
                    Some(Event::Message(Message::Text(got))) => proptest::prop_assert_eq!(&*got, &text),
                    other => panic!("{other:?}"),
                },
                // Borrowed.
                _ => match server.poll_event_ref() {
                    Some(wsproto::EventRef::Text(got)) => proptest::prop_assert_eq!(got, &text),
                    other => panic!("{other:?}"),
                },
            }
            proptest::prop_assert_eq!(server.poll_event(), None);
        }
        for (got, text) in held {
            proptest::prop_assert_eq!(&*got, &text);
        }
    }
}

#[test]
fn memory_usage_counts_the_allocation_kept_for_the_next_message_until_the_connection_is_quiet() {
    let mut client = deflating(Role::Client, takeover());
    let mut server = deflating(Role::Server, takeover());
    let start = std::time::Instant::now();
    server.handle_timeout(start);
    let mut receive = |server: &mut Connection, seed| {
        client.send_text(text_of(20_000, seed)).unwrap();
        let wire = sent(&mut client);
        assert!(matches!(
            &events(server, &wire)[..],
            [Event::Message(Message::Text(t))] if t.len() == 20_000
        ));
    };
    receive(&mut server, 1);
    let kept = server.memory_usage();
    // First the input is dated (the deadline is the last time given,
    // already past), then a second of quiet gives the allocation back.
    assert_eq!(server.poll_timeout(), Some(start));
    server.handle_timeout(start);
    assert_eq!(server.memory_usage(), kept, "kept while not quiet");
    let deadline = server.poll_timeout().expect("a deadline to give it back");
    assert_eq!(deadline, start + std::time::Duration::from_secs(1));
    server.handle_timeout(deadline);
    let quiet = server.memory_usage();
    assert!(
        kept >= quiet + 20_000,
        "kept {kept} bytes, {quiet} once quiet"
    );
    assert_eq!(server.poll_timeout(), None, "nothing left to give back");
    // The next message allocates again, and its allocation is counted.
    receive(&mut server, 2);
    assert!(server.memory_usage() >= quiet + 20_000);
}

#[test]
fn with_a_memory_budget_no_allocation_is_kept_between_messages() {
    let mut client = deflating(Role::Client, takeover());
    let config = Config::default()
        .deflate(DeflateConfig::default())
        .memory_budget(Some(1 << 20));
    let mut server =
        Connection::with_negotiated(Role::Server, config, Negotiated::new().deflate(takeover()));
    let mut usage = Vec::new();
    for seed in 0..3 {
        client.send_text(text_of(20_000, seed)).unwrap();
        let wire = sent(&mut client);
        assert_eq!(events(&mut server, &wire).len(), 1);
        usage.push(server.memory_usage());
    }
    // What remains is the zlib state and the window copy (at most 32 KiB),
    // the same after each message: no 20 KB output buffer.
    assert_eq!(usage[1], usage[2], "{usage:?}");
    let without = {
        let mut client = deflating(Role::Client, takeover());
        let mut server = deflating(Role::Server, takeover());
        for seed in 0..3 {
            client.send_text(text_of(20_000, seed)).unwrap();
            let wire = sent(&mut client);
            assert_eq!(events(&mut server, &wire).len(), 1);
        }
        server.memory_usage()
    };
    assert!(without >= usage[2] + 20_000, "{without} against {usage:?}");
}

// ----- RFC 7692 §7.2.2, §7.2.3.4: the LZ77 window across BFINAL blocks -----

/// How a [`BfinalPeer`] ends a compressed message.
#[derive(Clone, Copy, Debug)]
enum End {
    /// A block with BFINAL set (zlib's `Z_FINISH`), as in §7.2.3.4.
    Final,
    /// The same plus the `0x00` §7.2.3.4 appends.
    FinalAndZero,
    /// A sync flush without its tail (§7.2.1).
    Sync,
}

/// A client that may end messages with a BFINAL block and keeps its LZ77
/// window all the same (context takeover, RFC 7692 §7.2.1): after
/// `Z_FINISH` it resets zlib and hands it the last `2^w` bytes with
/// `deflateSetDictionary`. Frames are masked, RSV1 on the first.
struct BfinalPeer {
    deflate: flate2::Compress,
    bits: u8,
    history: Vec<u8>,
}

impl BfinalPeer {
    fn new(bits: u8) -> Self {
        Self {
            deflate: flate2::Compress::new_with_window_bits(
                flate2::Compression::new(6),
                false,
                bits,
            ),
            bits,
            history: Vec::new(),
        }
    }

    fn payload(&mut self, message: &[u8], end: End) -> Vec<u8> {
        use flate2::FlushCompress;
        let flush = match end {
            End::Sync => FlushCompress::Sync,
            End::Final | End::FinalAndZero => FlushCompress::Finish,
        };
        let mut out = Vec::new();
        let mut input = message;
        loop {
            out.reserve(input.len() + 64);
            let before = self.deflate.total_in();
            let status = self.deflate.compress_vec(input, &mut out, flush).unwrap();
            input = &input[(self.deflate.total_in() - before) as usize..];
            let done = match end {
                End::Sync => input.is_empty() && out.len() < out.capacity(),
                End::Final | End::FinalAndZero => status == flate2::Status::StreamEnd,
            };
            if done {
                break;
            }
        }
        self.history.extend_from_slice(message);
        let keep = self.history.len().saturating_sub(1 << self.bits);
        self.history.drain(..keep);
        match end {
            // zlib emits nothing for a sync flush right after another one
            // with no input between (an empty message after a flushed one):
            // the message is then an empty stored block's first byte, which
            // the receiver's 00 00 ff ff completes (RFC 7692 §7.2.3.6).
            End::Sync if out.len() < 4 => out = vec![0x00],
            End::Sync => out.truncate(out.len() - 4),
            End::Final | End::FinalAndZero => {
                self.deflate.reset();
                if !self.history.is_empty() {
                    self.deflate.set_dictionary(&self.history).unwrap();
                }
                if matches!(end, End::FinalAndZero) {
                    out.push(0x00);
                }
            }
        }
        out
    }

    /// The frames of one binary message, its payload cut into `frames`
    /// frames of about equal size.
    fn message(&mut self, message: &[u8], end: End, frames: usize) -> Vec<u8> {
        use wsproto::frame::{apply_mask, FrameHeader, OpCode};
        let payload = self.payload(message, end);
        let size = payload.len().div_ceil(frames.max(1)).max(1);
        let pieces: Vec<&[u8]> = if payload.is_empty() {
            vec![&[]]
        } else {
            payload.chunks(size).collect()
        };
        let mut wire = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            let opcode = if i == 0 {
                OpCode::Binary
            } else {
                OpCode::Continuation
            };
            let mut header = FrameHeader::new(i + 1 == pieces.len(), opcode, piece.len() as u64);
            header.rsv1 = i == 0;
            header.mask = Some([0x11, 0x22, 0x33, u8::try_from(i % 256).unwrap()]);
            let mut frame = vec![0; header.encoded_len() + piece.len()];
            let at = header.encode(&mut frame);
            frame[at..].copy_from_slice(piece);
            apply_mask(&mut frame[at..], header.mask.unwrap(), 0);
            wire.extend_from_slice(&frame);
        }
        wire
    }
}

/// A server whose peer compresses with `bits`, with context takeover.
fn server_for_peer_bits(bits: u8, config: Config) -> Connection {
    let negotiated = NegotiatedDeflate::new(15, false, bits, false);
    Connection::with_negotiated(Role::Server, config, Negotiated::new().deflate(negotiated))
}

/// Bytes that do not compress: only a back-reference shortens them.
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// A, a one-byte B, then C = the start of A, each ended with BFINAL: the
/// wire and the messages. C is a single back-reference across B into A.
fn a_b_c(bits: u8, end: End, frames: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    // Within reach of the peer's window (zlib reaches back 2^w - 262).
    let a = noise((1 << bits) - 300, u32::from(bits));
    let messages = vec![a.clone(), b"X".to_vec(), a[..100].to_vec()];
    let mut peer = BfinalPeer::new(bits);
    let mut wire = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let frame = peer.message(m, end, frames);
        if i == 2 {
            assert!(
                frame.len() < 40,
                "C refers back into A: {} bytes",
                frame.len()
            );
        }
        wire.extend(frame);
    }
    (wire, messages)
}

fn binaries(messages: &[Vec<u8>]) -> Vec<Event> {
    messages
        .iter()
        .map(|m| Event::Message(Message::Binary(Bytes::from(m.clone()))))
        .collect()
}

/// Joins streamed pieces back into whole messages.
fn joined(events: Vec<Event>) -> Vec<Event> {
    let mut out = Vec::new();
    let mut current: Option<(MessageKind, Vec<u8>)> = None;
    for event in events {
        match event {
            Event::Chunk {
                kind,
                data,
                first,
                last,
            } => {
                assert_eq!(first, current.is_none());
                current
                    .get_or_insert((kind, Vec::new()))
                    .1
                    .extend_from_slice(&data);
                if last {
                    let (kind, bytes) = current.take().unwrap();
                    out.push(match kind {
                        MessageKind::Text => Event::Message(Message::Text(
                            String::from_utf8(bytes).unwrap().as_str().into(),
                        )),
                        MessageKind::Binary => Event::Message(Message::Binary(Bytes::from(bytes))),
                    });
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn events_in_pieces(conn: &mut Connection, wire: &[u8], cuts: &[usize]) -> Vec<Event> {
    let mut all = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&wire.len())) {
        let cut = cut.clamp(start, wire.len());
        all.extend(events(conn, &wire[start..cut]));
        start = cut;
    }
    all
}

#[test]
fn bfinal_message_keeps_window_for_the_next_message() {
    // Node's ws fails C with 1007, Python's websockets delivers it empty.
    for bits in 9..=15 {
        for end in [End::Final, End::FinalAndZero] {
            let (wire, messages) = a_b_c(bits, end, 1);
            let mut server = server_for_peer_bits(bits, Config::default());
            assert_eq!(
                events(&mut server, &wire),
                binaries(&messages),
                "{bits} bits, {end:?}"
            );
        }
    }
}

#[test]
fn bfinal_messages_in_several_frames_keep_window_for_the_next_message() {
    for bits in [9, 12, 15] {
        let (wire, messages) = a_b_c(bits, End::FinalAndZero, 3);
        let mut server = server_for_peer_bits(bits, Config::default());
        assert_eq!(
            events(&mut server, &wire),
            binaries(&messages),
            "{bits} bits"
        );
    }
}

#[test]
fn bfinal_frames_split_across_reads_at_every_point_keep_the_window() {
    for bits in [9, 15] {
        let (wire, messages) = a_b_c(bits, End::FinalAndZero, 1);
        for at in 0..=wire.len() {
            let mut server = server_for_peer_bits(bits, Config::default());
            assert_eq!(
                events_in_pieces(&mut server, &wire, &[at]),
                binaries(&messages),
                "{bits} bits, split at {at}"
            );
        }
    }
}

#[test]
fn streaming_bfinal_frames_split_at_every_point_keep_the_window() {
    for bits in [9, 15] {
        let (wire, messages) = a_b_c(bits, End::Final, 1);
        for at in 0..=wire.len() {
            let mut server = server_for_peer_bits(bits, Config::default().streaming(true));
            assert_eq!(
                joined(events_in_pieces(&mut server, &wire, &[at])),
                binaries(&messages),
                "{bits} bits, split at {at}"
            );
        }
    }
}

#[test]
fn streaming_keeps_the_window_for_every_window_size_read_by_read() {
    // Small reads: every message is inflated in several pieces.
    for bits in 9..=15 {
        let (wire, messages) = a_b_c(bits, End::FinalAndZero, 2);
        let mut server = server_for_peer_bits(bits, Config::default().streaming(true));
        let cuts: Vec<usize> = (1..wire.len()).step_by(97).collect();
        assert_eq!(
            joined(events_in_pieces(&mut server, &wire, &cuts)),
            binaries(&messages),
            "{bits} bits"
        );
    }
}

#[test]
fn window_kept_across_bfinal_is_counted_in_memory_usage() {
    let (wire, _) = a_b_c(15, End::Final, 1);
    let mut server = server_for_peer_bits(15, Config::default());
    events(&mut server, &[]);
    let before = server.memory_usage();
    assert_eq!(events(&mut server, &wire).len(), 3);
    let after = server.memory_usage();
    // The inflater's state (46 KiB) and a window copy of at most 32 KiB.
    assert!(after > before, "{before} -> {after}");
    assert!(
        after - before <= 46 * 1024 + (32 << 10) + 4096,
        "{before} -> {after}"
    );
}

#[test]
fn message_too_large_reports_the_size_inflated_so_far() {
    let mut server = Connection::with_negotiated(
        Role::Server,
        Config::default().max_message_size(1000),
        Negotiated::new().deflate(takeover()),
    );
    let mut peer = BfinalPeer::new(15);
    let wire = peer.message(&[b'a'; 5000], End::Sync, 1);
    let evs = events(&mut server, &wire);
    assert_eq!(
        evs.last(),
        Some(&Event::Failed(ProtocolError::MessageTooLarge {
            size: 1001,
            limit: 1000
        }))
    );
}

#[test]
#[should_panic(expected = "compress_window_bits must be in 9..=15, got 8")]
fn with_negotiated_refuses_a_compressor_window_no_negotiation_gives() {
    let mut negotiated = takeover();
    negotiated.compress_window_bits = 8;
    let _ = Connection::with_negotiated(
        Role::Server,
        Config::default(),
        Negotiated::new().deflate(negotiated),
    );
}

#[test]
#[should_panic(expected = "decompress_window_bits must be in 8..=15, got 16")]
fn with_negotiated_refuses_a_peer_window_over_15_bits() {
    let mut negotiated = takeover();
    negotiated.decompress_window_bits = 16;
    let _ = Connection::with_negotiated(
        Role::Server,
        Config::default(),
        Negotiated::new().deflate(negotiated),
    );
}

// ----- the same compressed bytes split anywhere give the same events -----

mod split_anywhere {
    use super::*;
    use proptest::prelude::*;

    /// One message as the test sends it.
    #[derive(Debug, Clone)]
    enum Msg {
        Text(String),
        Binary(Vec<u8>),
        Ping(Vec<u8>),
        Fragmented(Vec<String>),
    }

    fn msg() -> impl Strategy<Value = Msg> {
        prop_oneof![
            // Compressible text, with multibyte characters to cut inside.
            "(the |same |words |é|€|😀|x){0,60}".prop_map(Msg::Text),
            proptest::collection::vec(prop_oneof![Just(0u8), Just(7), any::<u8>()], 0..600)
                .prop_map(Msg::Binary),
            proptest::collection::vec(any::<u8>(), 0..126).prop_map(Msg::Ping),
            proptest::collection::vec("(ab|é|c){0,12}", 1..4).prop_map(Msg::Fragmented),
        ]
    }

    fn send(conn: &mut Connection, m: &Msg) {
        match m {
            Msg::Text(t) => conn.send_text(t.as_str()).unwrap(),
            Msg::Binary(b) => conn.send_binary(b.clone()).unwrap(),
            Msg::Ping(p) => conn.ping(p).unwrap(),
            Msg::Fragmented(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    conn.send_fragment(MessageKind::Text, part.as_str(), i + 1 == parts.len())
                        .unwrap();
                }
            }
        }
    }

    fn expected(m: &Msg) -> Event {
        match m {
            Msg::Text(t) => Event::Message(Message::Text(t.as_str().into())),
            Msg::Binary(b) => Event::Message(Message::Binary(Bytes::from(b.clone()))),
            Msg::Ping(p) => Event::Message(Message::Ping(Bytes::from(p.clone()))),
            Msg::Fragmented(parts) => Event::Message(Message::Text(parts.concat().as_str().into())),
        }
    }

    /// A client and a server that negotiated permessage-deflate through
    /// the handshakes, compressing every message; the client's wire for
    /// `msgs`, and a fresh server with the server's agreed parameters.
    struct Setup {
        wire: Vec<u8>,
        negotiated: NegotiatedDeflate,
        deflate: DeflateConfig,
    }

    fn setup(msgs: &[Msg], no_context_takeover: bool, bits: u8) -> Setup {
        let deflate = DeflateConfig::default()
            .compression_threshold(0)
            .client_no_context_takeover(no_context_takeover)
            .client_max_window_bits(bits);
        let (mut client, server) = handshake(deflate.clone(), deflate.clone());
        let negotiated = *server.deflate().expect("negotiated");
        assert_eq!(
            negotiated.decompress_no_context_takeover,
            no_context_takeover
        );
        assert_eq!(negotiated.decompress_window_bits, bits);
        for m in msgs {
            send(&mut client, m);
        }
        Setup {
            wire: sent(&mut client),
            negotiated,
            deflate,
        }
    }

    impl Setup {
        fn server(&self, config: Config) -> Connection {
            Connection::with_negotiated(
                Role::Server,
                config.deflate(self.deflate.clone()),
                Negotiated::new().deflate(self.negotiated),
            )
        }
    }

    fn cut_points(cuts: Vec<prop::sample::Index>, len: usize) -> Vec<usize> {
        let mut at: Vec<usize> = cuts.into_iter().map(|i| i.index(len + 1)).collect();
        at.sort_unstable();
        at
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn compressed_bytes_split_anywhere_give_the_same_events(
            msgs in proptest::collection::vec(msg(), 1..6),
            no_context_takeover: bool,
            bits in 9u8..=15,
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        ) {
            let s = setup(&msgs, no_context_takeover, bits);
            let want: Vec<Event> = msgs.iter().map(expected).collect();
            let whole = events_in_pieces(&mut s.server(Config::default()), &s.wire, &[]);
            prop_assert_eq!(&whole, &want);
            let at = cut_points(cuts, s.wire.len());
            let split = events_in_pieces(&mut s.server(Config::default()), &s.wire, &at);
            prop_assert_eq!(&split, &whole);
            let every: Vec<usize> = (1..s.wire.len()).collect();
            let bytewise = events_in_pieces(&mut s.server(Config::default()), &s.wire, &every);
            prop_assert_eq!(&bytewise, &whole);
        }

        #[test]
        fn compressed_streaming_pieces_join_to_the_same_messages(
            msgs in proptest::collection::vec(msg(), 1..6),
            no_context_takeover: bool,
            bits in 9u8..=15,
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        ) {
            let s = setup(&msgs, no_context_takeover, bits);
            let want: Vec<Event> = msgs.iter().map(expected).collect();
            let at = cut_points(cuts, s.wire.len());
            let streaming = Config::default().streaming(true);
            let split = joined(events_in_pieces(&mut s.server(streaming.clone()), &s.wire, &at));
            prop_assert_eq!(&split, &want);
            let every: Vec<usize> = (1..s.wire.len()).collect();
            let bytewise = joined(events_in_pieces(&mut s.server(streaming), &s.wire, &every));
            prop_assert_eq!(&bytewise, &want);
        }

        /// The same with a peer that ends messages with BFINAL, syncs, or
        /// mixes both, in one or more frames (RFC 7692 §7.2.1 allows each).
        #[test]
        fn bfinal_peer_bytes_split_anywhere_give_the_same_messages(
            msgs in proptest::collection::vec(
                (
                    prop_oneof![
                        proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..400),
                        "(abc|abd|x){0,80}".prop_map(String::into_bytes),
                    ],
                    prop_oneof![Just(End::Final), Just(End::FinalAndZero), Just(End::Sync)],
                    1usize..4,
                ),
                1..8,
            ),
            bits in 9u8..=15,
            streaming: bool,
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        ) {
            let mut peer = BfinalPeer::new(bits);
            let mut wire = Vec::new();
            for (m, end, frames) in &msgs {
                wire.extend(peer.message(m, *end, *frames));
            }
            let want: Vec<Event> = msgs.iter().map(|(m, _, _)| Event::Message(Message::Binary(Bytes::from(m.clone())))).collect();
            let config = Config::default().streaming(streaming);
            let at = cut_points(cuts, wire.len());
            let split = joined(events_in_pieces(&mut server_for_peer_bits(bits, config.clone()), &wire, &at));
            prop_assert_eq!(&split, &want);
            let every: Vec<usize> = (1..wire.len()).collect();
            let bytewise = joined(events_in_pieces(&mut server_for_peer_bits(bits, config), &wire, &every));
            prop_assert_eq!(&bytewise, &want);
        }
    }
}
