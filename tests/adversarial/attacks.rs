//! The attacks of the adversarial suite, written once: each binary runs
//! them against its adapter's echo server (see `mod.rs` for how each is
//! judged).

use std::io::{Read, Write};
use std::net::SocketAddr;

use super::*;

/// The server under attack, and the binary's counting allocator.
pub struct Target {
    /// The adapter's name, for what is printed.
    pub name: &'static str,
    /// Starts the echo server with these flags on a free port; returns its
    /// address and its count of live connections.
    pub server: fn(&[&str]) -> (SocketAddr, Live),
    /// Bytes the process holds on the heap now.
    pub heap: fn() -> usize,
    /// The most it has held.
    pub peak: fn() -> usize,
}

pub fn slowloris_connections_are_dropped_at_the_handshake_timeout(t: &Target) {
    let _serial = serial();
    let (addr, live) = (t.server)(&["--handshake-timeout", "0.3"]);
    let mut slow: Vec<_> = (0..50).map(|_| tcp(addr)).collect();
    for s in &mut slow {
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    }
    well_behaved_client_is_served(addr);
    // Every trickler is cut off while its head is still unfinished.
    for mut s in slow {
        let mut trickled = 0;
        let cut = loop {
            if s.write_all(b"X-Slow: 1\r\n").is_err() {
                break true;
            }
            trickled += 1;
            let mut byte = [0u8; 256];
            s.set_read_timeout(Some(std::time::Duration::from_millis(20)))
                .unwrap();
            match s.read(&mut byte) {
                Ok(0) | Err(_) if trickled > 1000 => break false,
                Ok(0) => break true,
                Ok(_) => break true, // a 408 answer, then the end
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
                Err(_) => {}
            }
        };
        assert!(cut, "a trickling client was never dropped");
    }
    live.wait_for(0);
}

pub fn header_floods_are_answered_431_whole_or_in_pieces(t: &Target) {
    let _serial = serial();
    let (addr, live) = (t.server)(&[]);
    let floods: Vec<Vec<u8>> = vec![
        // 1 MiB of one header line.
        [
            b"GET / HTTP/1.1\r\nX: ".as_slice(),
            &vec![b'a'; MIB],
            b"\r\n\r\n",
        ]
        .concat(),
        // 10,000 header lines.
        [
            b"GET / HTTP/1.1\r\n".as_slice(),
            &b"A: b\r\n".repeat(10_000),
            b"\r\n",
        ]
        .concat(),
    ];
    let before = (t.heap)();
    for flood in &floods {
        for piece in [flood.len(), 1000] {
            let mut s = tcp(addr);
            let sent = write_in_pieces(&mut s, flood, piece);
            let head = read_head(&mut s);
            assert!(
                head.starts_with(b"HTTP/1.1 431"),
                "{}",
                String::from_utf8_lossy(&head)
            );
            // The server stopped at its 16 KiB limit; what it took of the
            // flood is bounded by that plus what the socket buffers held.
            assert!(sent <= flood.len());
        }
    }
    // Nothing of the floods is kept.
    live.wait_for(0);
    assert!(
        (t.heap)() < before + 256 * KIB,
        "{} bytes more",
        (t.heap)() - before
    );
    well_behaved_client_is_served(addr);
}

pub fn malformed_requests_get_their_precise_status(t: &Target) {
    let _serial = serial();
    let (addr, live) = (t.server)(&[]);
    let cases: &[(&[u8], &str, &str)] = &[
        (b"POST / HTTP/1.1\r\nHost: x\r\n\r\n", "405", ""),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            "400",
            "Upgrade",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
            "426",
            "Sec-WebSocket-Version: 13",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n",
            "400",
            "Sec-WebSocket-Key",
        ),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\x00\x01\r\n\r\n", "400", ""),
    ];
    for (request, status, names) in cases {
        let mut s = tcp(addr);
        s.write_all(request).unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with(&format!("HTTP/1.1 {status}")), "{text}");
        assert!(text.contains(names), "{text} should name {names}");
    }
    live.wait_for(0);
    well_behaved_client_is_served(addr);
}

pub fn lying_lengths_are_closed_at_once_without_allocating_for_them(t: &Target) {
    let _serial = serial();
    let (addr, live) = (t.server)(&[]);
    let before = (t.heap)();
    for (header, code) in [
        (header_only(0x82, 1 << 63), 1002),         // the top bit set
        (header_only(0x82, 1 << 62), 1009),         // 4 EiB
        (header_only(0x82, 17 * MIB as u64), 1009), // over the 16 MiB limit
    ] {
        let (mut s, _) = upgraded(addr, None);
        s.write_all(&header).unwrap();
        let (frames, ended) = read_until_end(&mut s);
        assert!(ended);
        assert_eq!(frames.last().and_then(ServerFrame::close_code), Some(code));
        assert!(
            (t.heap)() < before + MIB,
            "an allocation sized from a header"
        );
    }
    // Under the limit, but the bytes never come: nothing is allocated ahead of them.
    let (mut s, _) = upgraded(addr, None);
    s.write_all(&header_only(0x82, 15 * MIB as u64)).unwrap();
    s.write_all(&[0u8; 100]).unwrap();
    well_behaved_client_is_served(addr);
    assert!(
        (t.heap)() < before + MIB,
        "{} bytes more",
        (t.heap)() - before
    );
    drop(s);
    live.wait_for(0);
}

pub fn a_million_tiny_fragments_take_linear_time_and_constant_memory(t: &Target) {
    let _serial = serial();
    let (addr, live) = (t.server)(&[]);
    let n = 1_000_000;
    // One-byte fragments: the message is n bytes.
    let mut wire = frame(0x01, b"a");
    let one = frame(0x00, b"a");
    let empty = frame(0x00, b"");
    for _ in 1..n - 1 {
        wire.extend_from_slice(&one);
    }
    wire.extend_from_slice(&frame(0x80, b"a"));
    // Empty continuations: the message is two bytes.
    let mut empties = frame(0x01, b"x");
    for _ in 0..n {
        empties.extend_from_slice(&empty);
    }
    empties.extend_from_slice(&frame(0x80, b"y"));
    let before = (t.heap)();
    let (mut s, _) = upgraded(addr, None);
    let mut reader = s.try_clone().unwrap();
    let echo = std::thread::spawn(move || (read_frame(&mut reader), read_frame(&mut reader)));
    s.write_all(&wire).unwrap();
    s.write_all(&empties).unwrap();
    let (first, second) = echo.join().unwrap();
    assert_eq!(first.map(|f| f.payload.len()), Some(n));
    assert_eq!(second.map(|f| f.payload), Some(b"xy".to_vec()));
    // The joined message and the echo are held, nothing per fragment.
    let during = (t.heap)().saturating_sub(before);
    assert!(during < 8 * MIB, "{during} bytes for a {n}-byte message");
    well_behaved_client_is_served(addr);
    drop(s);
    live.wait_for(0);
}

pub fn a_ping_flood_from_a_peer_that_never_reads_is_bounded_and_failed(t: &Target) {
    let _serial = serial();
    let (addr, live) = (t.server)(&["--send-timeout", "0.3"]);
    let before = (t.heap)();
    let (mut s, _) = upgraded(addr, None);
    let ping = frame(0x89, &[b'p'; 125]);
    let burst = ping.repeat(512);
    let mut sent = 0usize;
    // Until the server drops the connection; it never reads a pong.
    while sent < 1 << 30 && s.write_all(&burst).is_ok() {
        sent += burst.len();
        assert!((t.heap)() < before + 4 * MIB, "the flood grew the heap");
    }
    live.wait_for(0);
    well_behaved_client_is_served(addr);
}

pub fn deflate_bombs_are_stopped_at_the_limit(t: &Target) {
    let _serial = serial();
    let (addr, live) = (t.server)(&[]);
    let bomb = deflated_zeros(1 << 30);
    assert!(bomb.len() < 2 * MIB);
    let before = (t.heap)();
    // In one frame, and across a thousand fragments.
    let one = {
        let mut f = frame(0x82, &bomb);
        f[0] |= 0x40; // RSV1: compressed
        f
    };
    let mut pieces = Vec::new();
    let step = bomb.len().div_ceil(1000);
    for (i, chunk) in bomb.chunks(step).enumerate() {
        let last = (i + 1) * step >= bomb.len();
        let b0 = match (i, last) {
            (0, _) => 0x42 | if last { 0x80 } else { 0 },
            (_, true) => 0x80,
            _ => 0x00,
        };
        pieces.extend_from_slice(&frame(b0, chunk));
    }
    for wire in [one, pieces] {
        let (mut s, head) = upgraded(addr, Some("permessage-deflate"));
        assert!(String::from_utf8_lossy(&head).contains("permessage-deflate"));
        let _ = s.write_all(&wire);
        let (frames, ended) = read_until_end(&mut s);
        assert!(ended);
        assert_eq!(frames.last().and_then(ServerFrame::close_code), Some(1009));
        // The message limit (64 MiB) in inflated bytes, and no more.
        assert!(
            (t.peak)() < before + 2 * wire.len() + 130 * MIB,
            "peak {} MiB",
            ((t.peak)() - before) / MIB
        );
    }
    live.wait_for(0);
    well_behaved_client_is_served(addr);
}

pub fn silent_and_half_open_peers_are_dropped_by_their_deadlines(t: &Target) {
    let _serial = serial();
    let (addr, live) = (t.server)(&["--close-timeout", "0.3", "--send-timeout", "0.3"]);
    // A peer that sends its close, then never reads or closes: the server
    // answers and ends the transport (RFC 6455 §7.1.1).
    let (mut closer, _) = upgraded(addr, None);
    closer
        .write_all(&frame(0x88, &1000u16.to_be_bytes()))
        .unwrap();
    // A half-open peer: it sends, never reads; its receive window fills
    // with the echoes.
    let (mut half_open, _) = upgraded(addr, None);
    let big = frame(0x82, &vec![7u8; MIB]);
    let mut sent = 0;
    while sent < 256 && half_open.write_all(&big).is_ok() {
        sent += 1;
    }
    live.wait_for(0);
    let (frames, ended) = read_until_end(&mut closer);
    assert!(ended);
    assert_eq!(frames.last().and_then(ServerFrame::close_code), Some(1000));
    well_behaved_client_is_served(addr);
}

pub fn two_thousand_idle_connections_are_held_and_their_memory_returned(t: &Target) {
    let _serial = serial();
    let (addr, live) = (t.server)(&[]);
    let before = (t.heap)();
    let idle: Vec<_> = (0..2000).map(|_| upgraded(addr, None).0).collect();
    live.wait_for(2000);
    let per_connection = ((t.heap)() - before) / 2000;
    well_behaved_client_is_served(addr);
    drop(idle);
    live.wait_for(0);
    // The server's threads or tasks free the rest as they end, just after.
    let start = std::time::Instant::now();
    while (t.heap)() >= before + 64 * KIB && start.elapsed() < LIMIT {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let after = (t.heap)();
    assert!(
        after < before + 64 * KIB,
        "{} bytes not returned ({per_connection} B a connection while held)",
        after.saturating_sub(before)
    );
    println!(
        "{} echo server: {per_connection} B of heap per idle connection",
        t.name
    );
}
