//! `WebSocketStream` as a `Stream` + `Sink` of the core's zero-copy
//! messages, its getters, and how a peer's protocol error ends it. Both
//! roles.

#![cfg(feature = "tokio")]

mod tokio_support;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_support::{bounded, client_frame, pair};
use wsproto::tokio::{Error, WebSocketStream};
use wsproto::Message;
use wsproto::{Bytes, CloseCode, Config, ProtocolError, Role};

/// `Stream`/`Sink` on both ends; the echo sends each received message back
/// as it came, its `Bytes` handed to the send queue.
async fn stream_and_sink_echo<A, B>(mut peer: WebSocketStream<A>, echo: WebSocketStream<B>)
where
    A: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    B: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let echo = tokio::spawn(async move {
        // The read half is a Stream, the write half a Sink.
        let (mut stream, mut sink) = echo.split_with(tokio::io::split);
        let mut n = 0;
        while let Some(message) = stream.next().await {
            if let m @ (Message::Text(_) | Message::Binary(_)) = message.unwrap() {
                sink.send(m).await.unwrap();
                n += 1;
            }
        }
        n
    });
    let payload = Bytes::from(vec![9u8; 70_000]);
    peer.send(Message::Text("one".into())).await.unwrap();
    peer.feed(Message::Binary(payload.clone())).await.unwrap();
    peer.feed(Message::Text("three".into())).await.unwrap();
    peer.flush().await.unwrap();
    assert_eq!(
        peer.next().await.unwrap().unwrap(),
        Message::Text("one".into())
    );
    match peer.next().await.unwrap().unwrap() {
        Message::Binary(b) => assert_eq!(b, payload),
        other => panic!("{other:?}"),
    }
    match peer.next().await.unwrap().unwrap() {
        Message::Text(t) => assert_eq!(t.as_str(), "three"),
        other => panic!("{other:?}"),
    }
    assert_eq!(peer.buffered_amount(), 0);
    assert!(peer.memory_usage() > 0);
    // Sink::close sends a 1000; the stream then ends with the echo's close.
    SinkExt::close(&mut peer).await.unwrap();
    match peer.next().await.unwrap().unwrap() {
        Message::Close(Some(c)) => assert_eq!(c.code, CloseCode::NORMAL),
        other => panic!("{other:?}"),
    }
    assert!(peer.next().await.is_none());
    assert!(peer.next().await.is_none(), "the stream stays ended");
    assert_eq!(echo.await.unwrap(), 3);
}

#[tokio::test]
async fn client_stream_and_sink_against_a_server_echo() {
    bounded(async {
        let (client, server) = pair(Config::default(), Config::default()).await;
        assert_eq!(client.connection().role(), Role::Client);
        assert_eq!(server.connection().role(), Role::Server);
        stream_and_sink_echo(client, server).await;
    })
    .await;
}

#[tokio::test]
async fn server_stream_and_sink_against_a_client_echo() {
    bounded(async {
        let (client, server) = pair(Config::default(), Config::default()).await;
        stream_and_sink_echo(server, client).await;
    })
    .await;
}

/// A peer that breaks the protocol: the stream yields the error, the close
/// frame with its code goes out, and the stream ends.
async fn protocol_error_ends_the_stream(role: Role) {
    bounded(async {
        let (mut raw, io) = tokio::io::duplex(64 * 1024);
        let mut ws = WebSocketStream::from_raw(io, role, Config::default());
        // A text frame with invalid UTF-8, as the peer of `role` sends it.
        let bad = match role {
            Role::Server => client_frame(1, &[0xff, 0xfe]),
            Role::Client => vec![0x81, 0x02, 0xff, 0xfe],
        };
        raw.write_all(&bad).await.unwrap();
        match ws.next().await {
            Some(Err(Error::Protocol(ProtocolError::InvalidUtf8))) => {}
            other => panic!("expected invalid UTF-8, got {other:?}"),
        }
        assert!(ws.next().await.is_none());
        // On the wire: a close frame with 1007 (RFC 6455 §7.4.1), then the end.
        let mut wire = Vec::new();
        raw.read_to_end(&mut wire).await.unwrap();
        assert_eq!(wire[0], 0x88);
        let at = if role == Role::Client { 6 } else { 2 };
        let mut code = [wire[at], wire[at + 1]];
        if role == Role::Client {
            for (i, b) in code.iter_mut().enumerate() {
                *b ^= wire[2 + i];
            }
        }
        assert_eq!(u16::from_be_bytes(code), 1007);
    })
    .await;
}

#[tokio::test]
async fn server_stream_yields_a_protocol_error_then_ends() {
    protocol_error_ends_the_stream(Role::Server).await;
}

#[tokio::test]
async fn client_stream_yields_a_protocol_error_then_ends() {
    protocol_error_ends_the_stream(Role::Client).await;
}

/// A peer that vanishes without a close: an abnormal closure (1006).
#[tokio::test]
async fn peer_that_vanishes_is_an_unexpected_eof() {
    bounded(async {
        let (client, mut server) = pair(Config::default(), Config::default()).await;
        drop(client);
        match server.recv().await {
            Err(Error::Protocol(ProtocolError::UnexpectedEof)) => {}
            other => panic!("{other:?}"),
        }
        assert!(matches!(server.recv().await, Err(Error::Closed)));
        assert!(matches!(server.send_text("late").await, Err(Error::Closed)));
    })
    .await;
}

/// Messages and then a close, in one read: the application answers every
/// message before the close is answered (the write side, which reads
/// ahead to answer pings, does not read past a message not yet read).
async fn messages_before_a_close_are_answered_first(role: Role) {
    bounded(async {
        let (mut raw, io) = tokio::io::duplex(64 * 1024);
        let mut ws = WebSocketStream::from_raw(io, role, Config::default());
        let frame = |opcode: u8, payload: &[u8]| match role {
            Role::Server => client_frame(opcode, payload),
            Role::Client => {
                let mut f = vec![0x80 | opcode, payload.len() as u8];
                f.extend_from_slice(payload);
                f
            }
        };
        let mut burst = frame(9, b"p");
        for text in ["a", "b", "c"] {
            burst.extend_from_slice(&frame(1, text.as_bytes()));
        }
        burst.extend_from_slice(&frame(8, &1000u16.to_be_bytes()));
        raw.write_all(&burst).await.unwrap();
        let mut answered = 0;
        loop {
            match ws.recv().await {
                Ok(Message::Text(t)) => {
                    ws.send_text(t).await.unwrap();
                    answered += 1;
                }
                Ok(Message::Ping(_) | Message::Close(_)) => {}
                Ok(other) => panic!("{other:?}"),
                Err(Error::Closed) => break,
                Err(e) => panic!("{e}"),
            }
            if role == Role::Client && answered == 3 {
                // A client waits for the server to end the transport.
                raw.shutdown().await.unwrap();
            }
        }
        assert_eq!(answered, 3);
        let mut wire = Vec::new();
        raw.read_to_end(&mut wire).await.unwrap();
        // The pong, three echoes, then the close reply, in that order.
        let opcodes: Vec<u8> = frames(&wire, role).iter().map(|f| f.0).collect();
        assert_eq!(opcodes, [10, 1, 1, 1, 8]);
    })
    .await;
}

/// The opcodes and payload lengths of the frames our end wrote.
fn frames(mut wire: &[u8], role: Role) -> Vec<(u8, usize)> {
    let mut out = Vec::new();
    while wire.len() >= 2 {
        let len = (wire[1] & 0x7f) as usize;
        let mask = if role == Role::Client { 4 } else { 0 };
        out.push((wire[0] & 0x0f, len));
        wire = &wire[2 + mask + len..];
    }
    out
}

#[tokio::test]
async fn server_answers_every_message_before_the_close() {
    messages_before_a_close_are_answered_first(Role::Server).await;
}

#[tokio::test]
async fn client_answers_every_message_before_the_close() {
    messages_before_a_close_are_answered_first(Role::Client).await;
}

/// Streaming mode: `recv_event` hands out the pieces of a message as they
/// arrive; `recv` says to use it.
#[tokio::test]
async fn streaming_mode_hands_out_pieces_through_recv_event() {
    bounded(async {
        let (a, b) = tokio::io::duplex(64 * 1024);
        let config = Config::default().streaming(true);
        let mut server = WebSocketStream::from_raw(a, Role::Server, config.clone());
        let mut client = WebSocketStream::from_raw(b, Role::Client, Config::default());
        let payload = vec![3u8; 200_000];
        let sending = tokio::spawn(async move {
            client.send_binary(payload).await.unwrap();
            client
        });
        let mut got = 0;
        let mut pieces = 0;
        loop {
            match server.recv_event().await.unwrap() {
                wsproto::Event::Chunk { data, last, .. } => {
                    got += data.len();
                    pieces += 1;
                    if last {
                        break;
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(got, 200_000);
        assert!(pieces > 1, "{pieces}");
        let mut client = sending.await.unwrap();
        client.send_text("whole?").await.unwrap();
        assert!(matches!(server.recv().await, Err(Error::Streaming)));
    })
    .await;
}
