//! The tokio echo server example keeps the library's defaults unless a flag
//! changes them (the interface of its blocking twin), echoes, and drops a
//! client that trickles its request at the handshake timeout.

#![cfg(feature = "tokio")]
#![allow(dead_code)]

#[path = "../examples/tokio_echo_server.rs"]
mod tokio_echo_server;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsproto::Message;

fn args(list: &[&str]) -> impl Iterator<Item = String> {
    list.iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .into_iter()
}

#[test]
fn defaults_are_the_librarys_unless_a_flag_changes_them() {
    let (addr, config) = tokio_echo_server::parse_args(args(&["127.0.0.1:0"])).unwrap();
    assert_eq!(addr, "127.0.0.1:0");
    let defaults = wsproto::Config::default();
    assert_eq!(config.handshake_timeout, defaults.handshake_timeout);
    assert_eq!(config.pong_timeout, defaults.pong_timeout);
    assert_eq!(config.close_timeout, defaults.close_timeout);
    assert_eq!(config.send_timeout, defaults.send_timeout);
    assert_eq!(config.ping_interval, None);
    let (_, config) = tokio_echo_server::parse_args(args(&[
        "--ping-interval",
        "1.5",
        "--pong-timeout",
        "2",
        "--handshake-timeout",
        "0.5",
        "--close-timeout",
        "off",
    ]))
    .unwrap();
    assert_eq!(config.ping_interval, Some(Duration::from_millis(1500)));
    assert_eq!(config.pong_timeout, Some(Duration::from_secs(2)));
    assert_eq!(config.handshake_timeout, Some(Duration::from_millis(500)));
    assert_eq!(config.close_timeout, None);
    assert!(tokio_echo_server::parse_args(args(&["--bogus"])).is_err());
    assert!(tokio_echo_server::parse_args(args(&["--pong-timeout", "soon"])).is_err());
}

#[tokio::test]
async fn echoes_over_loopback() {
    tokio::time::timeout(Duration::from_secs(10), async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            tokio_echo_server::serve(stream, wsproto::Config::default()).await
        });
        let (mut ws, _) = wsproto::tokio::connect(&url).await.unwrap();
        ws.send_text("ping me back").await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap(),
            Message::Text("ping me back".into())
        );
        ws.close(wsproto::CloseCode::NORMAL, "").await.unwrap();
        assert!(matches!(ws.recv().await.unwrap(), Message::Close(_)));
        assert!(matches!(
            server.await.unwrap(),
            Err(wsproto::tokio::Error::Closed)
        ));
    })
    .await
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_client_trickling_its_request_is_dropped_at_the_handshake_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_, config) = tokio_echo_server::parse_args(args(&["--handshake-timeout", "0.2"])).unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        tokio_echo_server::serve(stream, config).await
    });
    let mut slow = TcpStream::connect(addr).await.unwrap();
    // One byte of a request head, then nothing: the server must give up.
    slow.write_all(b"G").await.unwrap();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest).await;
    let result = server.await.unwrap();
    assert!(
        matches!(result, Err(wsproto::tokio::Error::Request(_))),
        "{result:?}"
    );
    assert!(
        rest.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&rest)
    );
}
