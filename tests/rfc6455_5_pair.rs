//! RFC 6455 §5 and §7 end to end: a client and a server `Connection` talking
//! to each other in memory.

mod common;

use common::{drain, events_for_pieces, Pair};
use proptest::prelude::*;
use wsproto::entropy::SeededEntropy;
use wsproto::{
    Bytes, CloseCode, CloseFrame, Config, Connection, Event, Message, MessageKind, Role,
};

#[test]
fn messages_cross_in_both_directions() {
    let mut pair = Pair::new();
    pair.client.send_text("hello").unwrap();
    pair.client.send_binary(&[1u8, 2, 3][..]).unwrap();
    pair.server.send_text("größer").unwrap();
    pair.pump();
    assert_eq!(
        pair.server_events,
        vec![
            Event::Message(Message::Text("hello".into())),
            Event::Message(Message::Binary(Bytes::from_static(&[1, 2, 3])))
        ]
    );
    assert_eq!(
        pair.client_events,
        vec![Event::Message(Message::Text("größer".into()))]
    );
}

#[test]
fn rfc6455_7_1_close_handshake_started_by_the_client() {
    let mut pair = Pair::new();
    pair.client.close(CloseCode::NORMAL, "done").unwrap();
    pair.pump();
    let close = CloseFrame::new(CloseCode::NORMAL, "done");
    assert_eq!(
        pair.server_events,
        vec![Event::Message(Message::Close(Some(close)))]
    );
    assert_eq!(
        pair.client_events,
        vec![Event::Message(Message::Close(Some(CloseFrame::new(
            CloseCode::NORMAL,
            ""
        ))))]
    );
    assert!(
        pair.server.is_closed(),
        "the server closes the transport first"
    );
    assert!(!pair.client.is_closed());
    pair.server_closes_transport();
    assert!(pair.client.is_closed());
    assert_eq!(
        pair.client_events.len(),
        1,
        "a clean close reports no error"
    );
}

#[test]
fn rfc6455_7_1_close_handshake_started_by_the_server() {
    let mut pair = Pair::new();
    pair.server.close(CloseCode::GOING_AWAY, "restart").unwrap();
    pair.pump();
    assert!(
        matches!(&pair.client_events[..], [Event::Message(Message::Close(Some(c)))] if c.code == CloseCode::GOING_AWAY)
    );
    assert!(
        matches!(&pair.server_events[..], [Event::Message(Message::Close(Some(c)))] if c.code == CloseCode::GOING_AWAY)
    );
    assert!(pair.server.is_closed());
}

#[test]
fn fragmented_messages_with_interleaved_pings_cross() {
    let mut pair = Pair::new();
    pair.client
        .send_fragment(MessageKind::Binary, &b"ab"[..], false)
        .unwrap();
    pair.client.ping(b"p").unwrap();
    pair.client
        .send_fragment(MessageKind::Binary, &b"cd"[..], true)
        .unwrap();
    pair.pump();
    assert_eq!(
        pair.server_events,
        vec![
            Event::Message(Message::Ping(Bytes::from_static(b"p"))),
            Event::Message(Message::Binary(Bytes::from_static(b"abcd")))
        ]
    );
    assert_eq!(
        pair.client_events,
        vec![Event::Message(Message::Pong(Bytes::from_static(b"p")))]
    );
}

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
        ".{0,40}".prop_map(Msg::Text),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Msg::Binary),
        proptest::collection::vec(any::<u8>(), 0..126).prop_map(Msg::Ping),
        proptest::collection::vec(".{0,8}", 1..4).prop_map(Msg::Fragmented),
    ]
}

fn send(conn: &mut Connection, m: &Msg) {
    match m {
        Msg::Text(t) => conn.send_text(t.as_str()).unwrap(),
        Msg::Binary(b) => conn.send_binary(b).unwrap(),
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

/// The bytes a seeded client sends for `msgs`.
fn client_wire(msgs: &[Msg]) -> Vec<u8> {
    let mut client = Connection::with_entropy(
        Role::Client,
        Config::default(),
        Box::new(SeededEntropy::new(9)),
    );
    for m in msgs {
        send(&mut client, m);
    }
    drain(&mut client)
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(msgs in proptest::collection::vec(msg(), 0..8)) {
        let wire = client_wire(&msgs);
        let events = events_for_pieces(Connection::new(Role::Server, Config::default()), &wire, &[]);
        let want: Vec<Event> = msgs.iter().map(expected).collect();
        prop_assert_eq!(events, want);
    }

    #[test]
    fn the_same_bytes_split_anywhere_give_the_same_events(
        msgs in proptest::collection::vec(msg(), 1..6),
        mut cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let wire = client_wire(&msgs);
        let whole = events_for_pieces(Connection::new(Role::Server, Config::default()), &wire, &[]);
        let mut cut_at: Vec<usize> = cuts.drain(..).map(|i| i.index(wire.len() + 1)).collect();
        cut_at.sort_unstable();
        let split = events_for_pieces(Connection::new(Role::Server, Config::default()), &wire, &cut_at);
        prop_assert_eq!(&split, &whole);
        let byte_by_byte: Vec<usize> = (1..wire.len()).collect();
        let bytewise = events_for_pieces(Connection::new(Role::Server, Config::default()), &wire, &byte_by_byte);
        prop_assert_eq!(&bytewise, &whole);
    }

    #[test]
    fn streaming_pieces_join_to_the_same_messages(
        msgs in proptest::collection::vec(msg(), 1..6),
        mut cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let wire = client_wire(&msgs);
        let mut cut_at: Vec<usize> = cuts.drain(..).map(|i| i.index(wire.len() + 1)).collect();
        cut_at.sort_unstable();
        let conn = Connection::new(Role::Server, Config::default().streaming(true));
        let mut joined = Vec::new();
        let mut current: Option<(MessageKind, Vec<u8>)> = None;
        for event in events_for_pieces(conn, &wire, &cut_at) {
            match event {
                Event::Chunk { kind, data, first, last } => {
                    prop_assert_eq!(first, current.is_none());
                    current.get_or_insert((kind, Vec::new())).1.extend_from_slice(&data);
                    if last {
                        let (kind, bytes) = current.take().unwrap();
                        joined.push(match kind {
                            MessageKind::Text => Event::Message(Message::Text(String::from_utf8(bytes).unwrap().into())),
                            MessageKind::Binary => Event::Message(Message::Binary(Bytes::from(bytes))),
                        });
                    }
                }
                other => joined.push(other),
            }
        }
        let want: Vec<Event> = msgs.iter().map(expected).collect();
        prop_assert_eq!(joined, want);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_within_limits(
        bytes in proptest::collection::vec(any::<u8>(), 0..2000),
        mut cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        client_role in any::<bool>(),
    ) {
        let role = if client_role { Role::Client } else { Role::Server };
        let config = Config::default().max_frame_size(256).max_message_size(512);
        let mut cut_at: Vec<usize> = cuts.drain(..).map(|i| i.index(bytes.len() + 1)).collect();
        cut_at.sort_unstable();
        let events = events_for_pieces(Connection::new(role, config), &bytes, &cut_at);
        for event in &events {
            match event {
                Event::Message(Message::Text(t)) => prop_assert!(t.len() <= 512),
                Event::Message(Message::Binary(b)) => prop_assert!(b.len() <= 512),
                _ => {}
            }
        }
        // Once an error or a close is reported, nothing follows it.
        if let Some(pos) = events.iter().position(|e| matches!(e, Event::Failed(_) | Event::Message(Message::Close(_)))) {
            prop_assert_eq!(pos, events.len() - 1);
        }
    }
}

/// An owned event, rebuilt from a lent one.
fn owned(event: wsproto::EventRef<'_>) -> Event {
    use wsproto::{EventRef, Utf8Bytes};
    match event {
        EventRef::Text(t) => Event::Message(Message::Text(Utf8Bytes::from(t))),
        EventRef::Binary(b) => Event::Message(Message::Binary(Bytes::copy_from_slice(b))),
        EventRef::Ping(p) => Event::Message(Message::Ping(Bytes::copy_from_slice(p))),
        EventRef::Pong(p) => Event::Message(Message::Pong(Bytes::copy_from_slice(p))),
        EventRef::Close(c) => Event::Message(Message::Close(c)),
        EventRef::Chunk {
            kind,
            data,
            first,
            last,
        } => Event::Chunk {
            kind,
            data: Bytes::copy_from_slice(data),
            first,
            last,
        },
        EventRef::Failed(e) => Event::Failed(e),
        other => panic!("an event this test does not know: {other:?}"),
    }
}

proptest! {
    #[test]
    fn lent_events_are_the_owned_events(
        msgs in proptest::collection::vec(msg(), 1..6),
        garbage in proptest::collection::vec(any::<u8>(), 0..16),
        mut cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        streaming in any::<bool>(),
    ) {
        let mut wire = client_wire(&msgs);
        wire.extend_from_slice(&garbage);
        let mut cut_at: Vec<usize> = cuts.drain(..).map(|i| i.index(wire.len() + 1)).collect();
        cut_at.sort_unstable();
        let config = Config::default().streaming(streaming);
        let owned_events = events_for_pieces(Connection::new(Role::Server, config.clone()), &wire, &cut_at);
        let mut conn = Connection::new(Role::Server, config);
        let mut lent_events = Vec::new();
        let mut start = 0;
        for &cut in cut_at.iter().chain(std::iter::once(&wire.len())) {
            conn.handle_read(&wire[start..cut]);
            while let Some(event) = conn.poll_event_ref() {
                lent_events.push(owned(event));
            }
            start = cut;
        }
        prop_assert_eq!(lent_events, owned_events);
    }
}
