//! The blocking adapter over real sockets on 127.0.0.1.

#![cfg(feature = "blocking")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use wsproto::blocking::{self, Error, Rejection};
use wsproto::handshake::{Accept, ClientRequest, RequestError};
use wsproto::Message;
use wsproto::{Bytes, CloseCode, Config, ProtocolError};

/// Every socket read in these tests gives up after this long.
const LIMIT: Duration = Duration::from_secs(10);

fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// Accepts one connection and echoes data messages until the close.
fn echo_once(listener: TcpListener) -> thread::JoinHandle<Result<Vec<Message>, Error>> {
    thread::spawn(move || {
        let (stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(LIMIT))?;
        let mut ws = blocking::accept(stream)?;
        let mut seen = Vec::new();
        loop {
            match ws.read() {
                Ok(Message::Text(t)) => ws.send_text(t)?,
                Ok(Message::Binary(b)) => ws.send_binary(b)?,
                Ok(other) => seen.push(other),
                Err(Error::Closed) => return Ok(seen),
                Err(e) => return Err(e),
            }
        }
    })
}

#[test]
fn echo_and_clean_close_over_loopback() {
    let (listener, url) = listener();
    let server = echo_once(listener);
    let (mut ws, response) = blocking::connect(&format!("{url}/echo?x=1")).unwrap();
    assert_eq!(response.status(), 101);
    ws.send_text("hello").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("hello".into()));
    let big = Bytes::from(vec![0xAB; 300_000]);
    ws.send_binary(big.clone()).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Binary(big));
    ws.ping(b"are you there").unwrap();
    assert_eq!(
        ws.read().unwrap(),
        Message::Pong(Bytes::from_static(b"are you there"))
    );
    ws.close_and_wait(CloseCode::NORMAL, "bye").unwrap();
    let seen = server.join().unwrap().unwrap();
    assert!(
        matches!(&seen[..], [Message::Ping(_), Message::Close(Some(c))] if c.code == CloseCode::NORMAL && c.reason == "bye")
    );
}

#[test]
fn application_rejects_a_request_with_its_own_status() {
    let (listener, url) = listener();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        blocking::accept_with(stream, Config::default(), |request| {
            assert_eq!(request.path(), "/private");
            match request.header("authorization") {
                Some(b"Bearer secret") => Ok(Accept::new()),
                _ => Err(Rejection::new(401)
                    .header("WWW-Authenticate", "Bearer")
                    .body("no token")),
            }
        })
        .map(|_| ())
    });
    let err = blocking::connect(&format!("{url}/private")).unwrap_err();
    let Error::Refused(response) = err else {
        panic!("expected a 401, got {err:?}");
    };
    assert_eq!(response.status(), 401);
    assert_eq!(response.header("www-authenticate"), Some(&b"Bearer"[..]));
    assert!(matches!(server.join().unwrap(), Err(Error::Rejected(401))));
}

#[test]
fn subprotocol_and_extra_headers_reach_the_server() {
    let (listener, url) = listener();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let ws = blocking::accept_with(stream, Config::default(), |request| {
            assert_eq!(request.header("cookie"), Some(&b"session=1"[..]));
            assert_eq!(request.origin(), Some("http://example.com"));
            assert_eq!(
                request.subprotocols().collect::<Vec<_>>(),
                ["v2.chat", "chat"]
            );
            Ok(Accept::new().subprotocol("chat")?)
        });
        ws.map(|_| ())
    });
    let request = ClientRequest::from_url(&format!("{url}/"))
        .unwrap()
        .origin("http://example.com")
        .unwrap()
        .subprotocol("v2.chat")
        .unwrap()
        .subprotocol("chat")
        .unwrap()
        .header("Cookie", "session=1")
        .unwrap();
    let (_ws, response) = blocking::connect_with(request, Config::default()).unwrap();
    assert_eq!(response.subprotocol(), Some("chat"));
    server.join().unwrap().unwrap();
}

/// Sends `request` on a raw socket and returns the whole response.
fn raw_exchange(url_listener: TcpListener, request: &'static [u8]) -> (String, Result<(), Error>) {
    let addr = url_listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = url_listener.accept().unwrap();
        blocking::accept(stream).map(|_| ())
    });
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    stream.write_all(request).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    // The server lingers until we close.
    drop(stream);
    (response, server.join().unwrap())
}

#[test]
fn malformed_request_gets_400_naming_the_problem() {
    let (listener, _) = listener();
    let (response, result) = raw_exchange(
        listener,
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
    assert!(response.contains("Sec-WebSocket-Key"), "{response}");
    assert!(matches!(
        result,
        Err(Error::Request(RequestError::MissingHeader(_)))
    ));
}

#[test]
fn wrong_version_gets_426_with_the_supported_version() {
    let (listener, _) = listener();
    let (response, _) = raw_exchange(
        listener,
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    );
    assert!(response.starts_with("HTTP/1.1 426 "), "{response}");
    assert!(
        response.contains("Sec-WebSocket-Version: 13\r\n"),
        "{response}"
    );
}

/// A peer that completes the handshake by hand and then says nothing.
fn silent_client(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    stream
}

#[test]
fn keepalive_pings_a_silent_peer_then_fails_with_1011_and_drops_it() {
    let (listener, _) = listener();
    let addr = listener.local_addr().unwrap();
    let ms = Duration::from_millis;
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let config = Config::default()
            .ping_interval(Some(ms(200)))
            .pong_timeout(Some(ms(200)))
            .close_timeout(Some(ms(200)));
        let mut ws = blocking::accept_with(stream, config, |_| Ok(Accept::new())).unwrap();
        let result = ws.read();
        drop(ws);
        result
    });
    let mut peer = silent_client(addr);
    let mut wire = Vec::new();
    peer.read_to_end(&mut wire).unwrap();
    // In this order: a ping with no payload, then a close with 1011, then
    // the end of the stream. (The durations are pinned on a virtual clock
    // in the core's tests.)
    assert_eq!(wire, [0x89, 0x00, 0x88, 0x02, 0x03, 0xF3]);
    assert!(matches!(
        server.join().unwrap(),
        Err(Error::Protocol(ProtocolError::KeepaliveTimeout))
    ));
}

#[test]
fn close_timeout_gives_up_on_a_peer_that_never_answers_the_close() {
    let (listener, _) = listener();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let config = Config::default().close_timeout(Some(Duration::from_millis(300)));
        let mut ws = blocking::accept_with(stream, config, |_| Ok(Accept::new())).unwrap();
        ws.close_and_wait(CloseCode::NORMAL, "")
    });
    let mut peer = silent_client(addr);
    // The peer reads the close and never answers: the server gives up and
    // ends the transport.
    let mut wire = Vec::new();
    peer.read_to_end(&mut wire).unwrap();
    assert_eq!(wire, [0x88, 0x02, 0x03, 0xE8]);
    let result = server.join().unwrap();
    assert!(
        matches!(result, Err(Error::Protocol(ProtocolError::CloseTimeout))),
        "{result:?}"
    );
}

#[test]
fn handshake_timeout_drops_a_peer_that_sends_half_a_request() {
    let (listener, _) = listener();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let config = Config::default().handshake_timeout(Some(Duration::from_millis(200)));
        blocking::accept_with(stream, config, |_| Ok(Accept::new())).map(|_| ())
    });
    let mut peer = TcpStream::connect(addr).unwrap();
    peer.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    assert!(matches!(
        server.join().unwrap(),
        Err(Error::Request(RequestError::Timeout))
    ));
}

#[test]
fn user_read_timeout_returns_without_losing_data() {
    let (listener, url) = listener();
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = blocking::accept(stream).unwrap();
        // Nothing is sent until the client's read has timed out.
        wait.recv().unwrap();
        ws.send_text("late").unwrap();
        ws.close_and_wait(CloseCode::NORMAL, "")
    });
    let (mut ws, _) = blocking::connect(&url).unwrap();
    ws.set_read_timeout(Some(Duration::from_millis(20)));
    match ws.read() {
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    go.send(()).unwrap();
    let mut reads = 0;
    let text = loop {
        match ws.read() {
            Ok(Message::Text(t)) => break t,
            Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("unexpected {other:?}"),
        }
        reads += 1;
        assert!(reads < 500, "the message never came");
    };
    assert_eq!(text, "late", "nothing was lost to the timeout");
    ws.set_read_timeout(None);
    assert!(matches!(ws.read(), Ok(Message::Close(_))));
    assert!(matches!(ws.read(), Err(Error::Closed)));
    server.join().unwrap().unwrap();
}

/// A client that keeps sending after its request head (a large body, say)
/// while the server rejects it. The server must not close with those bytes
/// unread: the kernel would answer with a reset, which on loopback arrives
/// after the response and ends the read with `ECONNRESET` instead of the
/// end of the stream (and on a real network can destroy the response in
/// the client's buffer). With the lingering close the response is followed
/// by a clean end of stream, whichever rejection path answered.
#[test]
fn rejection_reaches_a_client_still_sending_and_ends_with_fin_not_reset() {
    for app_rejects in [true, false] {
        let (listener, _) = listener();
        let addr = listener.local_addr().unwrap();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let server = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let result = blocking::accept_with(stream, Config::default(), |_| {
                Err(Rejection::new(403).body("go away"))
            });
            // The stream is closed by now.
            done_tx.send(()).unwrap();
            result.map(|_| ())
        });
        let mut peer = TcpStream::connect(addr).unwrap();
        peer.set_read_timeout(Some(LIMIT)).unwrap();
        let version = if app_rejects { "13" } else { "8" };
        let head = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}\r\n\r\n"
        );
        peer.write_all(head.as_bytes()).unwrap();
        // Far more than the server reads with the head, less than it drains.
        let _ = peer.write_all(&vec![0x5a; 256 * 1024]);
        let _ = peer.shutdown(std::net::Shutdown::Write);
        // Read only once the server has closed: any reset has happened.
        done_rx.recv().unwrap();
        let mut response = Vec::new();
        let read = peer.read_to_end(&mut response);
        let response = String::from_utf8_lossy(&response);
        assert!(read.is_ok(), "{read:?} after {response:?}");
        if app_rejects {
            assert!(
                response.starts_with("HTTP/1.1 403 Forbidden\r\n"),
                "{response}"
            );
            assert!(response.ends_with("\r\n\r\ngo away"), "{response}");
            assert!(matches!(server.join().unwrap(), Err(Error::Rejected(403))));
        } else {
            assert!(response.starts_with("HTTP/1.1 426 "), "{response}");
            assert!(response.ends_with("(RFC 6455 §4.4)\n"), "{response}");
            assert!(matches!(
                server.join().unwrap(),
                Err(Error::Request(RequestError::UnsupportedVersion(_)))
            ));
        }
    }
}

/// Runs `server` on a thread and waits for its result at most `LIMIT`: a
/// server stuck for good fails the test instead of hanging it.
fn within_limit<T: Send + 'static>(server: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(server());
    });
    result
        .recv_timeout(LIMIT)
        .expect("the server was still stuck after the limit")
}

#[test]
fn a_peer_that_stops_reading_cannot_pin_a_sending_server() {
    let (listener, _) = listener();
    let addr = listener.local_addr().unwrap();
    let peer = thread::spawn(move || {
        // Connects, then never reads: its receive window fills and shuts.
        let stream = silent_client(addr);
        thread::sleep(LIMIT);
        drop(stream);
    });
    let result = within_limit(move || {
        let (stream, _) = listener.accept().unwrap();
        let config = Config::default().send_timeout(Some(Duration::from_millis(300)));
        let mut ws = blocking::accept_with(stream, config, |_| Ok(Accept::new())).unwrap();
        let big = Bytes::from(vec![7u8; 4 << 20]);
        // Bounded: the window holds a few MiB at most.
        for _ in 0..64 {
            ws.send_binary(big.clone())?;
        }
        Ok::<_, Error>(())
    });
    assert!(
        matches!(result, Err(Error::Protocol(ProtocolError::SendTimeout))),
        "{result:?}"
    );
    drop(peer);
}

#[test]
fn a_ping_flood_from_a_peer_that_never_reads_cannot_pin_the_server() {
    let (listener, _) = listener();
    let addr = listener.local_addr().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flooding = stop.clone();
    let peer = thread::spawn(move || {
        let mut stream = silent_client(addr);
        // A masked ping with 125 bytes of payload, sent until the server is gone.
        let mut ping = vec![0x89, 0x80 | 125, 0, 0, 0, 0];
        ping.extend([b'p'; 125]);
        let burst: Vec<u8> = ping
            .iter()
            .copied()
            .cycle()
            .take(ping.len() * 256)
            .collect();
        for _ in 0..100_000 {
            if flooding.load(std::sync::atomic::Ordering::Relaxed)
                || stream.write_all(&burst).is_err()
            {
                break;
            }
        }
    });
    let result = within_limit(move || {
        let (stream, _) = listener.accept().unwrap();
        let config = Config::default().send_timeout(Some(Duration::from_millis(300)));
        let mut ws = blocking::accept_with(stream, config, |_| Ok(Accept::new())).unwrap();
        loop {
            match ws.read() {
                Ok(Message::Ping(_)) => {}
                other => return other.map(|_| ()),
            }
        }
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(
        matches!(result, Err(Error::Protocol(ProtocolError::SendTimeout))),
        "{result:?}"
    );
    peer.join().unwrap();
}
