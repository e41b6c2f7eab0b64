//! The blocking echo server example keeps the library's defaults unless a
//! flag changes them, and drops a client that trickles its request at the
//! handshake timeout.

#![cfg(feature = "blocking")]
#![allow(dead_code)]

#[path = "../examples/echo_server.rs"]
mod echo_server;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

fn args(list: &[&str]) -> impl Iterator<Item = String> {
    list.iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .into_iter()
}

#[test]
fn defaults_are_the_librarys_unless_a_flag_changes_them() {
    let (_, config) = echo_server::parse_args(args(&["127.0.0.1:0"])).unwrap();
    let defaults = wsproto::Config::default();
    assert_eq!(config.handshake_timeout, Some(Duration::from_secs(10)));
    assert_eq!(config.handshake_timeout, defaults.handshake_timeout);
    assert_eq!(config.pong_timeout, defaults.pong_timeout);
    assert_eq!(config.close_timeout, defaults.close_timeout);
    assert_eq!(config.send_timeout, defaults.send_timeout);
    assert_eq!(config.ping_interval, None);
    let (_, config) = echo_server::parse_args(args(&[
        "--handshake-timeout",
        "0.5",
        "--close-timeout",
        "off",
    ]))
    .unwrap();
    assert_eq!(config.handshake_timeout, Some(Duration::from_millis(500)));
    assert_eq!(config.close_timeout, None);
}

#[test]
fn a_client_trickling_its_request_is_dropped_at_the_handshake_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (_, config) = echo_server::parse_args(args(&["--handshake-timeout", "0.2"])).unwrap();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        echo_server::serve(stream, config)
    });
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // One byte of a request head, then nothing: the server must give up.
    slow.write_all(b"G").unwrap();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let result = server.join().unwrap();
    assert!(
        matches!(
            result,
            Err(wsproto::blocking::Error::Request(
                wsproto::handshake::RequestError::Timeout
            ))
        ),
        "{result:?}"
    );
    assert!(
        rest.is_empty() || rest.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&rest)
    );
}
