//! The mio example holds 10,000 connections at once on one thread: a sample
//! of them echoes (text, binary, compressed, a message larger than a socket
//! buffer), then every one closes cleanly and the server ends each TCP
//! connection; a malformed request gets its 400.
//!
//! The server runs in a child process (this binary, run again with
//! `WSPROTO_MIO_SERVER` set), so that its 10,000 descriptors and the
//! clients' 10,000 each fit under the soft limit of 20,000. The child exits
//! when its stdin closes, so it never outlives the test.

#![allow(dead_code)]

#[path = "../examples/mio_server.rs"]
mod mio_server;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use wsproto::blocking::{self, WebSocket};
use wsproto::handshake::ClientRequest;
use wsproto::{CloseCode, Config, Message};

const CHILD: &str = "WSPROTO_MIO_SERVER";
const CONNECTIONS: usize = 10_000;

fn main() -> ExitCode {
    if std::env::var_os(CHILD).is_some() {
        return serve();
    }
    let name = "ten_thousand_connections_echo_and_close";
    if std::env::args().any(|a| a == "--list") {
        println!("{name}: test");
        return ExitCode::SUCCESS;
    }
    // libtest's arguments: a filter that names nothing here skips the test.
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    if !name.contains(&filter) {
        println!("running 0 tests");
        return ExitCode::SUCCESS;
    }
    println!("running 1 test");
    ten_thousand_connections_echo_and_close();
    println!("test {name} ... ok");
    println!("\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out");
    ExitCode::SUCCESS
}

/// The child: the example's server on a free port, printing its address.
fn serve() -> ExitCode {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let (_, options) = mio_server::parse_args(std::iter::empty()).unwrap();
    let mut server = mio_server::Server::bind(addr, options).expect("bind");
    println!("listening on ws://{}", server.local_addr());
    std::io::stdout().flush().unwrap();
    std::thread::spawn(|| {
        // The parent holds stdin open; when it goes, so does the server.
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Kills the child if the test panics.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn connect(addr: SocketAddr) -> WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).unwrap();
    let request = ClientRequest::from_url(&format!("ws://{addr}/")).unwrap();
    let (ws, _) = blocking::client(stream, request, Config::default()).expect("handshake");
    ws
}

fn ten_thousand_connections_echo_and_close() {
    let child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the server");
    let mut child = Child(child);
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on ws://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    let pid = child.0.id();
    let rss_before = rss_kib(pid);

    let mut clients: Vec<WebSocket<TcpStream>> = (0..CONNECTIONS).map(|_| connect(addr)).collect();
    let rss_held = rss_kib(pid);
    println!(
        "server RSS: {rss_before} KiB idle, {rss_held} KiB with {CONNECTIONS} open connections \
         ({:.1} KiB each)",
        (rss_held.saturating_sub(rss_before)) as f64 / CONNECTIONS as f64
    );
    // Generous, but fails if a connection held as much as a read buffer of 64 KiB.
    assert!(
        rss_held.saturating_sub(rss_before) < 32 * CONNECTIONS as u64,
        "{rss_before} KiB -> {rss_held} KiB"
    );

    // A sample across the whole range, the first connections included:
    // all of them are open at once.
    for (i, ws) in clients.iter_mut().enumerate().step_by(97) {
        assert!(
            ws.connection().deflate().is_some(),
            "permessage-deflate agreed"
        );
        let text = format!("hello from {i} ").repeat(1 + i % 50);
        ws.send_text(text.as_str()).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Text(text.into()));
        let data: Vec<u8> = (0..i % 3000).map(|b| (b * 7 + i) as u8).collect();
        ws.send_binary(&data[..]).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Binary(data.into()));
    }
    // Larger than the socket buffers: echoed through partial writes.
    let big: Vec<u8> = (0..3 << 20).map(|b: u32| (b % 251) as u8).collect();
    clients[CONNECTIONS / 2].send_binary(&big[..]).unwrap();
    assert_eq!(
        clients[CONNECTIONS / 2].read().unwrap(),
        Message::Binary(big.into())
    );

    // A malformed request on the busy server: a 400, then the end.
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("Sec-WebSocket-Key"), "{answer}");

    // Every one closes; the server answers with the same code and then
    // ends the TCP connection (RFC 6455 §7.1.1).
    for ws in &mut clients {
        ws.close_and_wait(CloseCode::NORMAL, "bye").unwrap();
        let echoed = ws.connection().received_close().expect("a close reply");
        assert_eq!(echoed.code, CloseCode::NORMAL);
        let stream = ws.get_mut();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(
            stream.read(&mut [0u8; 16]).unwrap(),
            0,
            "the server closed the TCP connection"
        );
    }
    drop(clients);

    // Still serving.
    let mut ws = connect(addr);
    ws.send_text("after").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("after".into()));
    ws.close_and_wait(CloseCode::NORMAL, "").unwrap();
}
