//! Attacks on an echo server over real loopback sockets, shared by the
//! binaries that run them against each adapter's echo server. Every attack
//! has a strict pass condition measured by the process's heap (a counting
//! allocator the binary installs) and by the bytes and frames on the wire,
//! never by how long something took; and each checks that a well-behaved
//! client is served meanwhile.

#![allow(dead_code)]

pub mod attacks;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use wsproto::frame::{apply_mask, FrameHeader, OpCode, Parsed, MAX_HEADER_LEN};

/// Every socket operation of an attacker gives up after this long: the
/// bound on a test that would otherwise hang, not a measure.
pub const LIMIT: Duration = Duration::from_secs(20);

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * 1024;

/// The attacks measure the heap: one at a time.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// How many connections the server under test holds now.
#[derive(Clone, Default)]
pub struct Live(pub Arc<AtomicUsize>);

impl Live {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Waits until the server holds `n` connections, polling; panics at the limit.
    pub fn wait_for(&self, n: usize) {
        let start = std::time::Instant::now();
        while self.get() != n {
            assert!(
                start.elapsed() < LIMIT,
                "the server still holds {} connections, {n} expected",
                self.get()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A guard that counts one live connection while it exists.
pub struct Held(Live);

impl Held {
    pub fn new(live: &Live) -> Self {
        live.0.fetch_add(1, Ordering::SeqCst);
        Self(live.clone())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub fn tcp(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    stream.set_write_timeout(Some(LIMIT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

pub const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// Reads an HTTP response head.
pub fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    head
}

/// A raw client after the opening handshake; `extensions` is sent as the
/// `Sec-WebSocket-Extensions` header when given.
pub fn upgraded(addr: SocketAddr, extensions: Option<&str>) -> (TcpStream, Vec<u8>) {
    let mut stream = tcp(addr);
    let mut request = REQUEST[..REQUEST.len() - 2].to_vec();
    if let Some(ext) = extensions {
        request.extend_from_slice(format!("Sec-WebSocket-Extensions: {ext}\r\n").as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    stream.write_all(&request).unwrap();
    let head = read_head(&mut stream);
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    (stream, head)
}

/// One frame as a client sends it: `b0` is the first byte, masked.
pub fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let opcode = OpCode::from_u8(b0 & 0x0F).unwrap_or(OpCode::Binary);
    let mut header = FrameHeader::new(b0 & 0x80 != 0, opcode, payload.len() as u64);
    header.mask = Some([0x11, 0x22, 0x33, 0x44]);
    let mut raw = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut raw);
    raw[0] = b0;
    let mut out = raw[..n].to_vec();
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], [0x11, 0x22, 0x33, 0x44], 0);
    out
}

/// A header alone, announcing `len` payload bytes (its first byte `b0`).
pub fn header_only(b0: u8, len: u64) -> Vec<u8> {
    let mut out = vec![b0, 0x80 | 127];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[0x11, 0x22, 0x33, 0x44]);
    out
}

/// A frame from the server.
#[derive(Debug, PartialEq, Eq)]
pub struct ServerFrame {
    pub b0: u8,
    pub payload: Vec<u8>,
}

impl ServerFrame {
    pub fn opcode(&self) -> u8 {
        self.b0 & 0x0F
    }

    /// The close code, for a close frame with one.
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode() == 0x8 && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// Reads frames until the server ends the stream (or resets it); returns
/// them, and whether the stream ended (rather than the limit passing).
pub fn read_until_end(stream: &mut TcpStream) -> (Vec<ServerFrame>, bool) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * KIB];
    let ended = loop {
        match stream.read(&mut chunk) {
            Ok(0) => break true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break true,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break false
            }
            Err(e) => panic!("{e}"),
        }
    };
    (parse_frames(&buf), ended)
}

/// Reads exactly one frame from the server.
pub fn read_frame(stream: &mut TcpStream) -> Option<ServerFrame> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match FrameHeader::parse(&buf) {
            Ok(Parsed::Complete(header, _)) => {
                let mut payload = vec![0u8; header.payload_len as usize];
                stream.read_exact(&mut payload).ok()?;
                return Some(ServerFrame {
                    b0: buf[0],
                    payload,
                });
            }
            Ok(Parsed::Partial(_)) => {
                if stream.read(&mut byte).ok()? == 0 {
                    return None;
                }
                buf.push(byte[0]);
            }
            Err(e) => panic!("the server sent a bad frame: {e}"),
        }
    }
}

pub fn parse_frames(mut wire: &[u8]) -> Vec<ServerFrame> {
    let mut frames = Vec::new();
    while let Ok(Parsed::Complete(header, len)) = FrameHeader::parse(wire) {
        let end = len + header.payload_len as usize;
        if wire.len() < end {
            break;
        }
        frames.push(ServerFrame {
            b0: wire[0],
            payload: wire[len..end].to_vec(),
        });
        wire = &wire[end..];
    }
    frames
}

/// A well-behaved client: handshake, one echoed text message, a clean close.
pub fn well_behaved_client_is_served(addr: SocketAddr) {
    let (mut stream, _) = upgraded(addr, None);
    stream.write_all(&frame(0x81, b"still serving?")).unwrap();
    let echo = read_frame(&mut stream).expect("an echo");
    assert_eq!(
        echo,
        ServerFrame {
            b0: 0x81,
            payload: b"still serving?".to_vec()
        }
    );
    stream
        .write_all(&frame(0x88, &1000u16.to_be_bytes()))
        .unwrap();
    let (frames, ended) = read_until_end(&mut stream);
    assert!(ended);
    assert_eq!(frames.last().and_then(ServerFrame::close_code), Some(1000));
}

/// Writes `data` in pieces of `piece` bytes until done or the server stops
/// taking them; returns how many bytes went out.
pub fn write_in_pieces(stream: &mut TcpStream, data: &[u8], piece: usize) -> usize {
    let mut sent = 0;
    for chunk in data.chunks(piece) {
        if stream.write_all(chunk).is_err() {
            break;
        }
        sent += chunk.len();
    }
    sent
}

/// A permessage-deflate payload (RFC 7692 §7.2.1) of `len` zero bytes:
/// raw DEFLATE, sync-flushed, without the final 00 00 ff ff.
#[cfg(feature = "deflate")]
pub fn deflated_zeros(len: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let zeros = vec![0u8; len.min(MIB)];
    let mut c = Compress::new_with_window_bits(Compression::new(9), false, 15);
    let mut out = Vec::new();
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len());
        let before = c.total_in();
        while c.total_in() - before < n as u64 {
            out.reserve(64 * KIB);
            let done = (c.total_in() - before) as usize;
            c.compress_vec(&zeros[done..n], &mut out, FlushCompress::Sync)
                .unwrap();
        }
        left -= n;
    }
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}
