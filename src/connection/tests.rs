//! The RFC 6455 rules the connection enforces, one test each.

use super::*;
use crate::close::CloseCode;
use crate::close::CloseFrame;
use crate::entropy::SeededEntropy;
use crate::error::Error;
use crate::frame::{apply_mask, FrameHeader, OpCode, MAX_HEADER_LEN};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// One frame on the wire: `b0` is the first byte (FIN, RSV, opcode).
fn wire(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let opcode = OpCode::from_u8(b0 & 0x0F).unwrap_or(OpCode::Binary);
    let mut header = FrameHeader::new(b0 & 0x80 != 0, opcode, payload.len() as u64);
    header.mask = mask;
    let mut raw = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut raw);
    raw[0] = b0;
    let mut out = raw[..n].to_vec();
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
    out
}

/// A frame as a client sends it (masked).
fn from_client(b0: u8, payload: &[u8]) -> Vec<u8> {
    wire(b0, payload, Some(KEY))
}

fn server() -> Connection {
    Connection::new(Role::Server, Config::default())
}

fn client() -> Connection {
    Connection::with_entropy(
        Role::Client,
        Config::default(),
        Box::new(SeededEntropy::new(1)),
    )
}

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

fn transmitted(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = conn.poll_transmit() {
        out.extend_from_slice(&chunk);
    }
    out
}

/// Feeds `bytes` to a server and returns the protocol error and the close frame it queued.
fn server_fails_on(bytes: &[u8]) -> (ProtocolError, Vec<u8>) {
    let mut conn = server();
    conn.handle_read(bytes);
    let evs = events(&mut conn);
    let Some(Event::Failed(e)) = evs.last().cloned() else {
        panic!("expected a protocol error, got {evs:?}");
    };
    assert!(conn.is_closed());
    (e, transmitted(&mut conn))
}

fn close_frame(code: u16) -> Vec<u8> {
    wire(0x88, &code.to_be_bytes(), None)
}

// ----- RFC 6455 §5.1: masking -----

#[test]
fn server_rejects_unmasked_frame_with_1002() {
    let (e, out) = server_fails_on(&wire(0x82, b"abc", None));
    assert_eq!(e, ProtocolError::UnmaskedFrame);
    assert_eq!(out, close_frame(1002));
}

#[test]
fn client_rejects_masked_frame_with_1002() {
    let mut conn = client();
    conn.handle_read(&from_client(0x82, b"abc"));
    assert_eq!(
        conn.poll_event(),
        Some(Event::Failed(ProtocolError::MaskedFrame))
    );
    let out = transmitted(&mut conn);
    // The client's close frame is masked: opcode, then mask bit and length 2.
    assert_eq!(&out[..2], &[0x88, 0x82]);
    let mut payload = out[6..8].to_vec();
    apply_mask(&mut payload, out[2..6].try_into().unwrap(), 0);
    assert_eq!(payload, 1002u16.to_be_bytes());
}

#[test]
fn server_accepts_unmasked_frames_when_configured() {
    let mut conn = Connection::new(Role::Server, Config::default().accept_unmasked_frames(true));
    conn.handle_read(&wire(0x82, b"abc", None));
    assert_eq!(
        conn.poll_event(),
        Some(Event::Message(Message::Binary(Bytes::from_static(b"abc"))))
    );
}

#[test]
fn client_frames_are_masked_and_server_frames_are_not() {
    let mut c = client();
    c.send_binary(b"hello").unwrap();
    let out = transmitted(&mut c);
    assert_eq!(out[1] & 0x80, 0x80);
    assert_ne!(&out[6..], b"hello");
    let mut s = server();
    s.send_binary(b"hello").unwrap();
    assert_eq!(transmitted(&mut s), wire(0x82, b"hello", None));
}

// ----- RFC 6455 §5.2: header fields -----

#[test]
fn rsv_bits_without_an_extension_fail_with_1002() {
    for (b0, bit) in [(0xC2, 1), (0xA2, 2), (0x92, 3)] {
        let (e, out) = server_fails_on(&from_client(b0, b"x"));
        assert_eq!(e, ProtocolError::ReservedBit(bit));
        assert_eq!(out, close_frame(1002));
    }
}

#[test]
fn reserved_opcode_fails_with_1002() {
    let (e, out) = server_fails_on(&from_client(0x83, b""));
    assert_eq!(e, ProtocolError::ReservedOpcode(3));
    assert_eq!(out, close_frame(1002));
}

#[test]
fn length_with_top_bit_set_fails_with_1002() {
    let (e, _) = server_fails_on(&[0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(e, ProtocolError::LengthTopBitSet);
}

// ----- RFC 6455 §5.4: fragmentation -----

#[test]
fn fragments_are_joined_with_control_frames_between_them() {
    let mut conn = server();
    let mut bytes = from_client(0x01, b"Hel");
    bytes.extend(from_client(0x89, b"p"));
    bytes.extend(from_client(0x00, b"lo, "));
    bytes.extend(from_client(0x80, "wörld".as_bytes()));
    conn.handle_read(&bytes);
    assert_eq!(
        events(&mut conn),
        vec![
            Event::Message(Message::Ping(Bytes::from_static(b"p"))),
            Event::Message(Message::Text("Hello, wörld".into()))
        ]
    );
    assert_eq!(transmitted(&mut conn), wire(0x8A, b"p", None));
}

#[test]
fn continuation_without_a_message_fails_with_1002() {
    let (e, _) = server_fails_on(&from_client(0x80, b"x"));
    assert_eq!(e, ProtocolError::UnexpectedContinuation);
}

#[test]
fn new_data_frame_inside_a_fragmented_message_fails_with_1002() {
    let mut bytes = from_client(0x01, b"a");
    bytes.extend(from_client(0x81, b"b"));
    let (e, out) = server_fails_on(&bytes);
    assert_eq!(e, ProtocolError::ExpectedContinuation);
    assert_eq!(out, close_frame(1002));
}

// ----- RFC 6455 §5.5: control frames -----

#[test]
fn control_frame_over_125_bytes_fails_with_1002() {
    let (e, _) = server_fails_on(&from_client(0x89, &[0; 126]));
    assert_eq!(e, ProtocolError::ControlFrameTooLong(126));
}

#[test]
fn fragmented_control_frame_fails_with_1002() {
    let (e, _) = server_fails_on(&from_client(0x09, b""));
    assert_eq!(e, ProtocolError::FragmentedControlFrame);
}

#[test]
fn ping_is_answered_with_the_same_payload() {
    let mut conn = server();
    conn.handle_read(&from_client(0x89, b"are you there"));
    assert_eq!(
        events(&mut conn),
        vec![Event::Message(Message::Ping(Bytes::from_static(
            b"are you there"
        )))]
    );
    assert_eq!(transmitted(&mut conn), wire(0x8A, b"are you there", None));
}

#[test]
fn auto_pong_can_be_turned_off() {
    let mut conn = Connection::new(Role::Server, Config::default().auto_pong(false));
    conn.handle_read(&from_client(0x89, b"x"));
    assert_eq!(
        events(&mut conn),
        vec![Event::Message(Message::Ping(Bytes::from_static(b"x")))]
    );
    assert_eq!(conn.poll_transmit(), None);
}

#[test]
fn pong_is_reported() {
    let mut conn = server();
    conn.handle_read(&from_client(0x8A, b"beat"));
    assert_eq!(
        events(&mut conn),
        vec![Event::Message(Message::Pong(Bytes::from_static(b"beat")))]
    );
}

#[test]
fn caller_control_payload_over_125_bytes_is_an_error() {
    let mut conn = server();
    assert_eq!(conn.ping(&[0; 126]), Err(Error::ControlPayloadTooLong(126)));
    assert_eq!(
        conn.close(CloseCode::NORMAL, &"x".repeat(124)),
        Err(Error::ControlPayloadTooLong(126))
    );
}

// ----- RFC 6455 §8.1: UTF-8 -----

#[test]
fn invalid_utf8_text_fails_with_1007() {
    let (e, out) = server_fails_on(&from_client(0x81, &[b'a', 0xff, b'b']));
    assert_eq!(e, ProtocolError::InvalidUtf8);
    assert_eq!(out, close_frame(1007));
}

#[test]
fn invalid_utf8_fails_before_the_frame_is_complete() {
    let mut conn = server();
    let bytes = from_client(0x81, &[b'a', b'b', 0xff, b'c', b'd', b'e']);
    // Only the header and the first three payload bytes have arrived.
    conn.handle_read(&bytes[..6 + 3]);
    assert_eq!(
        conn.poll_event(),
        Some(Event::Failed(ProtocolError::InvalidUtf8))
    );
}

#[test]
fn invalid_utf8_fails_in_the_first_fragment_of_a_message() {
    let mut conn = server();
    conn.handle_read(&from_client(0x01, &[0xce, 0xba, 0xed, 0xa0, 0x80]));
    assert_eq!(
        conn.poll_event(),
        Some(Event::Failed(ProtocolError::InvalidUtf8))
    );
}

#[test]
fn code_point_split_across_fragments_is_valid() {
    let euro = "€".as_bytes();
    let mut conn = server();
    let mut bytes = from_client(0x01, &euro[..1]);
    bytes.extend(from_client(0x00, &euro[1..2]));
    bytes.extend(from_client(0x80, &euro[2..]));
    conn.handle_read(&bytes);
    assert_eq!(
        events(&mut conn),
        vec![Event::Message(Message::Text("€".into()))]
    );
}

#[test]
fn incomplete_code_point_at_the_end_of_a_message_fails_with_1007() {
    let mut bytes = from_client(0x01, b"a");
    bytes.extend(from_client(0x80, &"€".as_bytes()[..2]));
    let (e, _) = server_fails_on(&bytes);
    assert_eq!(e, ProtocolError::InvalidUtf8);
}

// ----- RFC 6455 §5.5.1, §7: closing -----

#[test]
fn close_is_echoed_once_and_nothing_further_is_delivered() {
    let mut conn = server();
    let mut bytes = from_client(0x88, &[0x03, 0xE8, b'b', b'y', b'e']);
    bytes.extend(from_client(0x81, b"after"));
    conn.handle_read(&bytes);
    conn.handle_read(&from_client(0x81, b"later still"));
    let close = CloseFrame::new(CloseCode::NORMAL, "bye");
    assert_eq!(
        events(&mut conn),
        vec![Event::Message(Message::Close(Some(close)))]
    );
    assert_eq!(transmitted(&mut conn), close_frame(1000));
    assert!(conn.is_closed(), "the server closes the transport first");
    assert_eq!(conn.send_text("x"), Err(Error::AlreadyClosing));
}

#[test]
fn empty_close_is_echoed_empty() {
    let mut conn = server();
    conn.handle_read(&from_client(0x88, b""));
    assert_eq!(
        events(&mut conn),
        vec![Event::Message(Message::Close(None))]
    );
    assert_eq!(transmitted(&mut conn), wire(0x88, b"", None));
}

#[test]
fn close_with_invalid_codes_fails_with_1002() {
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        let (e, out) = server_fails_on(&from_client(0x88, &code.to_be_bytes()));
        assert_eq!(e, ProtocolError::InvalidCloseCode(code));
        assert_eq!(out, close_frame(1002));
    }
}

#[test]
fn close_with_one_byte_payload_fails_with_1002() {
    let (e, _) = server_fails_on(&from_client(0x88, &[0x03]));
    assert_eq!(e, ProtocolError::InvalidClosePayload);
}

#[test]
fn close_reason_that_is_not_utf8_fails_with_1007() {
    let (e, out) = server_fails_on(&from_client(0x88, &[0x03, 0xE8, 0xff]));
    assert_eq!(e, ProtocolError::InvalidCloseReason);
    assert_eq!(out, close_frame(1007));
}

#[test]
fn no_data_frame_after_close_is_sent() {
    let mut conn = server();
    conn.close(CloseCode::GOING_AWAY, "").unwrap();
    assert_eq!(conn.send_binary(b"x"), Err(Error::AlreadyClosing));
    assert_eq!(conn.ping(b""), Err(Error::AlreadyClosing));
    assert_eq!(
        conn.close(CloseCode::NORMAL, ""),
        Err(Error::AlreadyClosing)
    );
    assert_eq!(transmitted(&mut conn), close_frame(1001));
}

#[test]
fn caller_cannot_send_reserved_close_codes() {
    let mut conn = server();
    for code in [1005u16, 1006, 1015, 999, 5000] {
        assert_eq!(
            conn.close(CloseCode(code), ""),
            Err(Error::InvalidCloseCode(code))
        );
    }
}

#[test]
fn messages_still_arrive_after_this_end_sent_close() {
    let mut conn = server();
    conn.close(CloseCode::NORMAL, "").unwrap();
    let _ = transmitted(&mut conn);
    let mut bytes = from_client(0x82, b"late");
    bytes.extend(from_client(0x88, &1000u16.to_be_bytes()));
    conn.handle_read(&bytes);
    let close = CloseFrame::new(CloseCode::NORMAL, "");
    assert_eq!(
        events(&mut conn),
        vec![
            Event::Message(Message::Binary(Bytes::from_static(b"late"))),
            Event::Message(Message::Close(Some(close)))
        ]
    );
    // The close was answered by ours already: nothing more is sent.
    assert_eq!(conn.poll_transmit(), None);
    assert!(conn.is_closed());
}

#[test]
fn client_waits_for_the_server_to_close_the_transport() {
    let mut conn = client();
    conn.close(CloseCode::NORMAL, "").unwrap();
    conn.handle_read(&close_frame(1000));
    assert!(matches!(
        conn.poll_event(),
        Some(Event::Message(Message::Close(_)))
    ));
    assert!(
        !conn.is_closed(),
        "RFC 6455 §7.1.1: the server closes first"
    );
    conn.handle_eof();
    assert_eq!(conn.poll_event(), None);
    assert!(conn.is_closed());
}

#[test]
fn eof_without_close_is_an_abnormal_closure_after_buffered_events() {
    let mut conn = server();
    let mut bytes = from_client(0x82, b"kept");
    bytes.extend(&from_client(0x82, b"cut off")[..4]);
    conn.handle_read(&bytes);
    conn.handle_eof();
    assert_eq!(
        events(&mut conn),
        vec![
            Event::Message(Message::Binary(Bytes::from_static(b"kept"))),
            Event::Failed(ProtocolError::UnexpectedEof)
        ]
    );
    assert_eq!(
        ProtocolError::UnexpectedEof.close_code(),
        CloseCode::ABNORMAL
    );
    // 1006 is never put on the wire.
    assert_eq!(conn.poll_transmit(), None);
}

// ----- limits -----

#[test]
fn frame_over_the_limit_fails_with_1009_before_its_payload_arrives() {
    let mut conn = Connection::new(Role::Server, Config::default().max_frame_size(100));
    conn.handle_read(&from_client(0x82, &[0; 101])[..8]);
    assert_eq!(
        conn.poll_event(),
        Some(Event::Failed(ProtocolError::FrameTooLarge {
            size: 101,
            limit: 100
        }))
    );
    assert_eq!(transmitted(&mut conn), close_frame(1009));
}

#[test]
fn fragmented_message_over_the_limit_fails_with_1009() {
    let mut conn = Connection::new(Role::Server, Config::default().max_message_size(10));
    let mut bytes = from_client(0x02, &[0; 6]);
    bytes.extend(from_client(0x80, &[0; 6]));
    conn.handle_read(&bytes);
    assert_eq!(
        conn.poll_event(),
        Some(Event::Failed(ProtocolError::MessageTooLarge {
            size: 12,
            limit: 10
        }))
    );
    assert_eq!(transmitted(&mut conn), close_frame(1009));
}

// ----- streaming -----

#[test]
fn streaming_hands_out_data_as_it_arrives() {
    let mut conn = Connection::new(Role::Server, Config::default().streaming(true));
    let mut bytes = from_client(0x01, "grü".as_bytes());
    bytes.extend(from_client(0x80, "ße".as_bytes()));
    // The header and two payload bytes of the first frame.
    conn.handle_read(&bytes[..8]);
    assert_eq!(
        events(&mut conn),
        vec![Event::Chunk {
            kind: MessageKind::Text,
            data: Bytes::from_static(b"gr"),
            first: true,
            last: false
        }]
    );
    conn.handle_read(&bytes[8..]);
    let rest: Vec<u8> = events(&mut conn)
        .into_iter()
        .flat_map(|e| match e {
            Event::Chunk {
                data, first: false, ..
            } => data.to_vec(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(rest, "üße".as_bytes());
    assert_eq!(conn.received_amount(), 0);
}

#[test]
fn streaming_fails_fast_on_invalid_utf8() {
    let mut conn = Connection::new(Role::Server, Config::default().streaming(true));
    let bytes = from_client(0x81, &[b'o', b'k', 0xC0, b'x']);
    conn.handle_read(&bytes[..9]);
    assert_eq!(
        conn.poll_event(),
        Some(Event::Failed(ProtocolError::InvalidUtf8))
    );
}

#[test]
fn streaming_empty_message_is_one_last_chunk() {
    let mut conn = Connection::new(Role::Server, Config::default().streaming(true));
    conn.handle_read(&from_client(0x82, b""));
    assert_eq!(
        events(&mut conn),
        vec![Event::Chunk {
            kind: MessageKind::Binary,
            data: Bytes::new(),
            first: true,
            last: true
        }]
    );
}

// ----- buffers -----

#[test]
fn payload_is_a_slice_of_the_read_buffer() {
    let mut conn = server();
    let bytes = from_client(0x82, &[7; 300]);
    let buf = conn.recv_buffer(bytes.len());
    buf.copy_from_slice(&bytes);
    let start = buf.as_ptr() as usize;
    conn.handle_received(bytes.len());
    let Some(Event::Message(Message::Binary(data))) = conn.poll_event() else {
        panic!()
    };
    assert_eq!(
        data.as_ptr() as usize,
        start + 8,
        "unmasked in place, not copied"
    );
    assert_eq!(&data[..], &[7; 300][..]);
}

#[test]
fn unfilled_recv_buffer_is_not_taken_as_data() {
    let mut conn = server();
    let _ = conn.recv_buffer(64);
    conn.handle_read(&from_client(0x82, b"x"));
    assert_eq!(
        conn.poll_event(),
        Some(Event::Message(Message::Binary(Bytes::from_static(b"x"))))
    );
}

#[test]
fn large_shared_payload_is_queued_without_copying() {
    let mut conn = server();
    let payload = Bytes::from(vec![1u8; 4096]);
    conn.send_binary(payload.clone()).unwrap();
    assert_eq!(conn.buffered_amount(), 4 + 4096);
    let header = conn.poll_transmit().unwrap();
    assert_eq!(&header[..], &[0x82, 126, 0x10, 0x00]);
    let body = conn.poll_transmit().unwrap();
    assert_eq!(body.as_ptr(), payload.as_ptr());
    assert_eq!(conn.buffered_amount(), 0);
}

#[test]
fn fragmented_send_uses_continuation_frames() {
    let mut conn = server();
    conn.send_fragment(MessageKind::Text, "Hel", false).unwrap();
    conn.ping(b"").unwrap();
    assert!(conn.send_text("no").is_err(), "a message is in progress");
    assert!(conn
        .send_fragment(MessageKind::Binary, b"x", false)
        .is_err());
    conn.send_fragment(MessageKind::Text, "lo", true).unwrap();
    let mut expected = wire(0x01, b"Hel", None);
    expected.extend(wire(0x89, b"", None));
    expected.extend(wire(0x80, b"lo", None));
    assert_eq!(transmitted(&mut conn), expected);
}

#[test]
fn seeded_client_output_is_repeatable() {
    let (mut a, mut b) = (client(), client());
    a.send_text("same").unwrap();
    b.send_text("same").unwrap();
    assert_eq!(transmitted(&mut a), transmitted(&mut b));
}

// ----- memory: what the limits see -----

#[test]
fn frame_that_arrived_whole_and_fits_the_budget_is_accepted() {
    // Budget B: a frame whose payload P arrived with its header costs the
    // base state plus P once, not twice.
    let budget = 16 * 1024;
    let mut conn = Connection::new(Role::Server, Config::default().memory_budget(Some(budget)));
    let payload = vec![5u8; 9 * 1024];
    conn.handle_read(&from_client(0x82, &payload));
    assert!(conn.memory_usage() < budget);
    assert_eq!(
        conn.poll_event(),
        Some(Event::Message(Message::Binary(Bytes::from(payload))))
    );
}

#[test]
fn control_payloads_are_owned_and_hold_no_read_buffer() {
    let mut conn = server();
    let mut wire = from_client(0x82, &[1; 60_000]);
    wire.extend(from_client(0x89, b"ping!"));
    wire.extend(from_client(0x8A, b"pong!"));
    conn.handle_read(&wire);
    let Some(Event::Message(Message::Binary(big))) = conn.poll_event() else {
        panic!()
    };
    drop(big);
    let Some(Event::Message(Message::Ping(ping))) = conn.poll_event() else {
        panic!()
    };
    let Some(Event::Message(Message::Pong(pong))) = conn.poll_event() else {
        panic!()
    };
    // Copies, not slices of the 60 kB read allocation.
    assert!(ping.is_unique() && pong.is_unique());
    let start = wire.as_ptr() as usize;
    assert!(!(start..start + wire.len()).contains(&(ping.as_ptr() as usize)));
    assert_eq!((&ping[..], &pong[..]), (&b"ping!"[..], &b"pong!"[..]));
    // The pending pong is held inline, and counted.
    assert_eq!(conn.buffered_amount(), 2 + 5);
    assert!(conn.memory_usage() < 4096, "{}", conn.memory_usage());
}

#[test]
fn client_pending_pong_counts_its_mask_key() {
    let mut conn = client();
    conn.handle_read(&wire(0x89, b"abc", None));
    let _ = events(&mut conn);
    assert_eq!(conn.buffered_amount(), 6 + 3);
    assert_eq!(transmitted(&mut conn).len(), 6 + 3);
}

#[test]
fn poll_event_between_recv_buffer_and_handle_received_loses_nothing() {
    let mut conn = server();
    let first = from_client(0x81, b"one");
    let second = from_client(0x81, b"two");
    conn.handle_read(&first);
    conn.recv_buffer(64)[..second.len()].copy_from_slice(&second);
    // The application polls before it reports the read.
    assert_eq!(
        conn.poll_event(),
        Some(Event::Message(Message::Text("one".into())))
    );
    assert_eq!(conn.poll_event(), None);
    conn.handle_received(second.len());
    assert_eq!(
        conn.poll_event(),
        Some(Event::Message(Message::Text("two".into())))
    );
}

// ----- the caller's text -----

#[test]
fn invalid_text_from_the_caller_is_an_error_and_queues_nothing() {
    let mut conn = server();
    assert_eq!(
        conn.send_uncompressed(MessageKind::Text, &b"\xff"[..]),
        Err(Error::InvalidUtf8)
    );
    assert_eq!(
        conn.send_fragment(MessageKind::Text, &b"ok \xc0"[..], false),
        Err(Error::InvalidUtf8)
    );
    assert_eq!(conn.buffered_amount(), 0);
    // A code point may straddle fragments; the last must finish it.
    conn.send_fragment(MessageKind::Text, &b"\xe2\x82"[..], false)
        .unwrap();
    assert_eq!(
        conn.send_fragment(MessageKind::Text, &b""[..], true),
        Err(Error::InvalidUtf8)
    );
    conn.send_fragment(MessageKind::Text, &b"\xac"[..], true)
        .unwrap();
    conn.send_uncompressed(MessageKind::Binary, &b"\xff"[..])
        .unwrap();
    let mut peer = client();
    peer.handle_read(&transmitted(&mut conn));
    assert_eq!(
        events(&mut peer),
        [
            Event::Message(Message::Text("€".into())),
            Event::Message(Message::Binary(Bytes::from_static(b"\xff")))
        ]
    );
}

#[test]
fn fragments_out_of_sequence_are_typed_errors() {
    let mut conn = server();
    conn.send_fragment(MessageKind::Binary, &b"a"[..], false)
        .unwrap();
    assert_eq!(
        conn.send_text("whole"),
        Err(Error::FragmentedMessageInProgress(MessageKind::Binary))
    );
    assert_eq!(
        conn.send_fragment(MessageKind::Text, &b"b"[..], true),
        Err(Error::FragmentKindMismatch {
            started: MessageKind::Binary,
            given: MessageKind::Text
        })
    );
}

// ----- RFC 6455 §7: the closing handshake, more cases -----

#[test]
fn pings_after_this_end_sent_close_get_no_pong() {
    let mut conn = server();
    conn.close(CloseCode::NORMAL, "").unwrap();
    let _ = transmitted(&mut conn);
    conn.handle_read(&from_client(0x89, b"late"));
    assert_eq!(
        events(&mut conn),
        [Event::Message(Message::Ping(Bytes::from_static(b"late")))]
    );
    assert_eq!(conn.buffered_amount(), 0);
    assert_eq!(transmitted(&mut conn), b"");
}

#[test]
fn close_in_the_middle_of_a_fragmented_message_ends_it_undelivered() {
    let mut conn = server();
    let mut bytes = from_client(0x01, b"half a");
    bytes.extend(from_client(0x88, &1000u16.to_be_bytes()));
    bytes.extend(from_client(0x80, b" message"));
    conn.handle_read(&bytes);
    assert_eq!(
        events(&mut conn),
        [Event::Message(Message::Close(Some(CloseFrame::new(
            CloseCode::NORMAL,
            ""
        ))))]
    );
    assert_eq!(transmitted(&mut conn), close_frame(1000));
    assert!(conn.is_closed());
}

#[test]
fn registered_and_private_codes_are_accepted_and_echoed() {
    for code in [1012u16, 1013, 1014, 3000, 4999] {
        let mut conn = server();
        conn.handle_read(&from_client(0x88, &code.to_be_bytes()));
        assert_eq!(
            events(&mut conn),
            [Event::Message(Message::Close(Some(CloseFrame::new(
                CloseCode(code),
                ""
            ))))],
            "{code}"
        );
        assert_eq!(transmitted(&mut conn), close_frame(code), "{code}");
        assert_eq!(conn.close_code(), Some(CloseCode(code)));
    }
}

#[test]
fn close_without_status_is_an_empty_close_frame() {
    let mut conn = server();
    conn.close_without_status().unwrap();
    assert_eq!(transmitted(&mut conn), [0x88, 0x00]);
    assert_eq!(conn.sent_close().unwrap().code, CloseCode::NO_STATUS);
    assert_eq!(conn.close_without_status(), Err(Error::AlreadyClosing));
}

#[test]
fn fail_queues_its_close_stops_input_and_closes() {
    let mut conn = server();
    conn.fail(CloseCode::POLICY_VIOLATION, "not allowed")
        .unwrap();
    assert!(conn.is_closed());
    assert_eq!(conn.state(), State::Closed);
    conn.handle_read(&from_client(0x81, b"ignored"));
    assert_eq!(conn.poll_event(), None, "input stops at once");
    let out = transmitted(&mut conn);
    assert_eq!(&out[..4], &[0x88, 13, 0x03, 0xF0]);
    assert_eq!(&out[4..], b"not allowed");
    assert!(conn.poll_shutdown());
    assert!(!conn.poll_shutdown(), "said once");
    assert_eq!(
        conn.fail(CloseCode::POLICY_VIOLATION, ""),
        Err(Error::AlreadyClosing)
    );
    assert_eq!(
        server().fail(CloseCode::ABNORMAL, ""),
        Err(Error::InvalidCloseCode(1006))
    );
}

#[test]
fn poll_shutdown_waits_for_the_queue_and_the_close_handshake() {
    let mut conn = server();
    conn.send_text("bye soon").unwrap();
    conn.close(CloseCode::NORMAL, "").unwrap();
    assert!(!conn.poll_shutdown(), "the peer's close has not come");
    conn.handle_read(&from_client(0x88, &1000u16.to_be_bytes()));
    let _ = events(&mut conn);
    assert!(conn.is_closed());
    assert!(!conn.poll_shutdown(), "bytes are still queued");
    let _ = transmitted(&mut conn);
    assert!(conn.poll_shutdown());
}

#[test]
fn close_records_are_kept_after_the_events_were_consumed() {
    let mut conn = client();
    conn.handle_read(&wire(0x88, b"\x03\xe9going", None));
    let _ = events(&mut conn);
    assert_eq!(
        conn.received_close(),
        Some(&CloseFrame::new(CloseCode::GOING_AWAY, "going"))
    );
    assert_eq!(conn.sent_close().unwrap().code, CloseCode::GOING_AWAY);
    assert_eq!(conn.state(), State::AwaitingEof);
    conn.handle_eof();
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.failure(), None);
    assert_eq!(conn.close_code(), Some(CloseCode::GOING_AWAY));
}

#[test]
fn eof_without_close_reports_1006_in_close_code() {
    let mut conn = server();
    conn.handle_eof();
    assert_eq!(
        conn.poll_event(),
        Some(Event::Failed(ProtocolError::UnexpectedEof))
    );
    assert_eq!(conn.close_code(), Some(CloseCode::ABNORMAL));
    assert_eq!(transmitted(&mut conn), b"", "1006 is never sent");
}

#[test]
fn send_takes_every_kind_of_message() {
    let mut conn = server();
    for message in [
        Message::Text("t".into()),
        Message::Binary(Bytes::from_static(b"b")),
        Message::Ping(Bytes::from_static(b"p")),
        Message::Pong(Bytes::from_static(b"q")),
        Message::Close(None),
    ] {
        conn.send(message).unwrap();
    }
    assert_eq!(
        transmitted(&mut conn),
        b"\x81\x01t\x82\x01b\x89\x01p\x8a\x01q\x88\x00"
    );
}

#[test]
#[should_panic(expected = "payload length over 2^63 - 1")]
fn encoding_a_length_with_the_top_bit_set_panics() {
    let header = FrameHeader::new(true, OpCode::Binary, 1 << 63);
    header.encode(&mut [0; MAX_HEADER_LEN]);
}

#[test]
fn close_is_next_announces_a_close_frame_before_and_while_it_arrives() {
    let mut client = Connection::new(Role::Client, Config::default());
    assert!(!client.close_is_next(), "nothing received");
    // A text message, then a close frame whose payload is still to come.
    client.handle_read(b"\x81\x02hi\x88\x02\x03");
    assert!(!client.close_is_next(), "the text comes first");
    assert!(matches!(
        client.poll_event(),
        Some(Event::Message(Message::Text(_)))
    ));
    assert!(client.close_is_next(), "the close frame's first byte is in");
    assert_eq!(client.poll_event(), None, "its payload is not");
    assert!(
        client.close_is_next(),
        "its header is parsed, the payload awaited"
    );
    client.handle_read(b"\xe8");
    assert!(client.close_is_next());
    assert!(matches!(
        client.poll_event(),
        Some(Event::Message(Message::Close(_)))
    ));
    assert!(!client.close_is_next(), "nothing is read after the close");
    // A ping is not a close.
    let mut pinged = Connection::new(Role::Client, Config::default());
    pinged.handle_read(b"\x89\x00");
    assert!(!pinged.close_is_next());
}

#[test]
fn a_drained_send_buffer_is_reused_from_its_front() {
    // Small frames are packed into one buffer; once it is all written, the
    // next frame goes to its front, in the same allocation.
    let mut conn = server();
    let mut front = None;
    for round in 0..1000u32 {
        conn.send_binary(&round.to_be_bytes()).unwrap();
        let (at, len) = {
            let mut slices = [std::io::IoSlice::new(&[]); 4];
            assert_eq!(conn.transmit_slices(&mut slices), 1);
            assert_eq!(&slices[0][2..], &round.to_be_bytes());
            (slices[0].as_ptr() as usize, slices[0].len())
        };
        assert_eq!(*front.get_or_insert(at), at, "round {round}");
        conn.advance_transmit(len);
        assert_eq!(conn.buffered_amount(), 0);
    }
}
