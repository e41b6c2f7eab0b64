//! What the loopback benchmark (`benches/loopback.rs`) and its echo server
//! (`src/bin/echo_server.rs`) share: the implementations' names, the opening
//! handshake both sides run, the wire bytes of one echoed message, and the
//! line protocol over the server's stdin and stdout.
//!
//! The server is a child process so that its CPU time, memory and core are
//! its own: the load client reads the child's CPU clock
//! (`clock_getcpuclockid`), and the child reports its resident set and heap
//! when asked.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wsproto::frame::{FrameHeader, OpCode};

/// Every echo server the benchmark runs, in table order.
pub const IMPLS: &[&str] = &[
    "wsproto_tokio",
    "wsproto_minimal",
    "tokio-tungstenite",
    "tokio-websockets",
    "fastwebsockets",
    "fastwebsockets_corked",
    "yawc",
];

/// The request line and headers the load client sends; the key is RFC 6455
/// §1.3's example, so the answer's `Sec-WebSocket-Accept` is known.
pub const REQUEST: &[u8] = b"GET / HTTP/1.1\r\n\
Host: 127.0.0.1\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// The `Sec-WebSocket-Accept` value for [`REQUEST`]'s key (RFC 6455 §1.3).
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The line the server prints once it listens: `port <n>`.
pub const PORT_LINE: &str = "port ";

/// Asked on the server's stdin, answered on its stdout as
/// `memory <rss bytes> <heap bytes>`.
pub const MEMORY_REQUEST: &str = "memory";

/// Connects to the echo server and runs the client side of the opening
/// handshake: sends [`REQUEST`], reads the head of the answer and checks it
/// is a 101 with the right accept key. The server never speaks first after
/// its 101, so nothing past the head is read.
pub async fn connect(port: u16) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    stream.write_all(REQUEST).await?;
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 4096 || stream.read(&mut byte).await? == 0 {
            return Err(io::Error::other("no complete handshake response"));
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    if !head.starts_with("HTTP/1.1 101") || !head.contains(ACCEPT) {
        return Err(io::Error::other(format!("unexpected response: {head}")));
    }
    Ok(stream)
}

/// One binary message as the server sends it back: an unmasked frame.
pub fn server_frame(payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader::new(true, OpCode::Binary, payload.len() as u64);
    let mut wire = vec![0u8; header.encoded_len() + payload.len()];
    let at = header.encode(&mut wire);
    wire[at..].copy_from_slice(payload);
    wire
}

/// The process's resident set in bytes (`VmRSS` in `/proc/self/status`).
pub fn rss_bytes() -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
        .ok_or_else(|| io::Error::other("no VmRSS line"))
}
