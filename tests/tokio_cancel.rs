//! Cancel safety: dropping a `recv()` future, even while a frame is half
//! read, loses nothing; dropping a `send()` future either sent nothing (it
//! was waiting for room) or queued the whole message (it was writing).
//! Both roles, over a transport that returns `Pending` mid-frame.

#![cfg(feature = "tokio")]

mod tokio_support;

use futures::FutureExt;
use tokio_support::{client_frame, Scripted};
use wsproto::tokio::WebSocketStream;
use wsproto::Message;
use wsproto::{Bytes, Config, Role};

/// A frame our end of `role` receives.
fn incoming(role: Role, opcode: u8, payload: &[u8]) -> Vec<u8> {
    match role {
        Role::Server => client_frame(opcode, payload),
        Role::Client => {
            let mut f = vec![0x80 | opcode];
            if payload.len() < 126 {
                f.push(payload.len() as u8);
            } else {
                f.push(126);
                f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            }
            f.extend_from_slice(payload);
            f
        }
    }
}

async fn dropping_recv_mid_frame_loses_nothing(role: Role) {
    let payload: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let frame = incoming(role, 2, &payload);
    let ping = incoming(role, 9, b"p");
    // The frame arrives in four pieces, each after a Pending; a ping and a
    // text follow, the text split inside its header.
    let text = incoming(role, 1, b"after");
    let mut wire = frame.clone();
    wire.extend_from_slice(&ping);
    wire.extend_from_slice(&text);
    let cuts = [1, 700, 2100, frame.len() + 3, frame.len() + ping.len() + 1];
    let mut pieces = Vec::new();
    let mut at = 0;
    for cut in cuts {
        pieces.push(wire[at..cut].to_vec());
        at = cut;
    }
    pieces.push(wire[at..].to_vec());
    let transport = Scripted::new(pieces);
    let written = transport.written.clone();
    let mut ws = WebSocketStream::from_raw(transport, role, Config::default());

    // Poll recv once at a time and drop the future each time it is
    // pending: every piece read is kept.
    let mut messages = Vec::new();
    let mut drops = 0;
    while messages.len() < 3 {
        match ws.recv().now_or_never() {
            Some(message) => messages.push(message.unwrap()),
            None => drops += 1,
        }
        assert!(drops < 100);
    }
    assert!(drops >= 6, "{drops}");
    assert_eq!(messages[0], Message::Binary(Bytes::from(payload)));
    assert_eq!(messages[1], Message::Ping(Bytes::from_static(b"p")));
    assert_eq!(messages[2], Message::Text("after".into()));
    // The pong went out, once.
    let written = written.lock().unwrap();
    match role {
        Role::Server => assert_eq!(&written[..], b"\x8a\x01p"),
        Role::Client => {
            // Masked: FIN + pong, mask bit + length 1, key, payload.
            assert_eq!(written.len(), 2 + 4 + 1);
            assert_eq!(&written[..2], &[0x8a, 0x81]);
        }
    }
}

#[tokio::test]
async fn server_dropping_recv_mid_frame_loses_nothing() {
    dropping_recv_mid_frame_loses_nothing(Role::Server).await;
}

#[tokio::test]
async fn client_dropping_recv_mid_frame_loses_nothing() {
    dropping_recv_mid_frame_loses_nothing(Role::Client).await;
}

async fn dropping_send_means_not_sent_or_sent_whole(role: Role) {
    let transport = Scripted::new(vec![]);
    let written = transport.written.clone();
    let blocked = transport.write_blocked.clone();
    *blocked.lock().unwrap() = true;
    let mut ws = WebSocketStream::from_raw(transport, role, Config::default());
    ws.set_high_water_mark(1000);

    // Room: the message is queued whole, then the future waits for the
    // socket; dropping it leaves the message queued.
    let first = Bytes::from(vec![1u8; 1500]);
    assert!(ws.send_binary(first.clone()).now_or_never().is_none());
    let queued = ws.buffered_amount();
    assert!(queued >= 1500);

    // No room (over the mark): the future waits before queuing; dropping
    // it sends nothing.
    assert!(ws
        .send(Message::Binary(Bytes::from(vec![2u8; 10])))
        .now_or_never()
        .is_none());
    assert_eq!(ws.buffered_amount(), queued);

    *blocked.lock().unwrap() = false;
    ws.flush().await.unwrap();
    let written = written.lock().unwrap();
    // Exactly the first message: header, mask for a client, payload.
    let header = 4 + if role == Role::Client { 4 } else { 0 };
    assert_eq!(written.len(), header + 1500);
    assert_eq!(written[0], 0x82);
    if role == Role::Server {
        assert_eq!(&written[header..], &first[..]);
    }
}

#[tokio::test]
async fn server_dropping_send_means_not_sent_or_sent_whole() {
    dropping_send_means_not_sent_or_sent_whole(Role::Server).await;
}

#[tokio::test]
async fn client_dropping_send_means_not_sent_or_sent_whole() {
    dropping_send_means_not_sent_or_sent_whole(Role::Client).await;
}
