//! RFC 7692, permessage-deflate, through the public API: the §7.2.3 byte
//! examples on real connections, negotiation through the handshakes in both
//! roles, and our client against our server for every parameter combination.

#![cfg(feature = "deflate")]

use wsproto::entropy::SeededEntropy;
use wsproto::extensions::{DeflateConfig, NegotiatedDeflate};
use wsproto::handshake::{Accept, ClientHandshake, ClientRequest, ServerHandshake};
use wsproto::{Bytes, Config, Connection, Event, Message, MessageKind, ProtocolError, Role};

/// Both sides as negotiated by the RFC's examples: 15-bit windows, context takeover.
fn takeover() -> NegotiatedDeflate {
    NegotiatedDeflate {
        compress_window_bits: 15,
        compress_no_context_takeover: false,
        decompress_window_bits: 15,
        decompress_no_context_takeover: false,
    }
}

/// A connection with permessage-deflate on, compressing every message.
fn deflating(role: Role, negotiated: NegotiatedDeflate) -> Connection {
    let deflate = DeflateConfig::default().compression_threshold(0);
    let mut conn =
        Connection::with_entropy(role, Config::default(), Box::new(SeededEntropy::new(5)));
    conn.enable_deflate(negotiated, &deflate);
    conn
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
    let negotiated = NegotiatedDeflate {
        compress_no_context_takeover: true,
        ..takeover()
    };
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
    let mut conn = Connection::new(Role::Server, Config::default());
    conn.enable_deflate(
        takeover(),
        &DeflateConfig::default().compression_threshold(16),
    );
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
    let mut client = Connection::new(Role::Client, Config::default().max_message_size(64 * 1024));
    client.enable_deflate(takeover(), &DeflateConfig::default());
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
    let mut client = Connection::new(Role::Client, Config::default().streaming(true));
    client.enable_deflate(takeover(), &DeflateConfig::default());
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

    let mut capped = Connection::new(
        Role::Client,
        Config::default().streaming(true).max_message_size(100_000),
    );
    capped.enable_deflate(takeover(), &DeflateConfig::default());
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
    let (_, client_conn) = c.poll_response().unwrap().unwrap();
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
    assert_eq!(err.status(), Some(400));
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
    let independent = NegotiatedDeflate {
        compress_no_context_takeover: true,
        ..takeover()
    };
    let mut frames = Vec::new();
    for _ in 0..3 {
        let mut server = deflating(Role::Server, independent);
        server.send_prepared(&message).unwrap();
        let chunks: Vec<Bytes> = std::iter::from_fn(|| server.poll_transmit()).collect();
        assert_eq!(chunks[0][0], 0xc1, "RSV1: compressed");
        let mut client = deflating(
            Role::Client,
            NegotiatedDeflate {
                decompress_no_context_takeover: true,
                ..takeover()
            },
        );
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
    for negotiated in [
        takeover(),
        NegotiatedDeflate {
            compress_no_context_takeover: true,
            compress_window_bits: 10,
            ..takeover()
        },
    ] {
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
    let mut client = Connection::new(Role::Client, config);
    client.enable_deflate(takeover(), &DeflateConfig::default());
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
