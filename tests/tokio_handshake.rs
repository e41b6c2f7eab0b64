//! The tokio adapter's opening handshake over 127.0.0.1: connect, accept,
//! the application's decision, rejections with a lingering close, the
//! handshake timeout, and streams upgraded elsewhere.

#![cfg(feature = "tokio")]

mod tokio_support;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_support::{bounded, client_frame, listener};
use wsproto::handshake::{Accept, ClientRequest, RequestError, ResponseError};
use wsproto::tokio::{self as ws, Error, Rejection, WebSocketStream};
use wsproto::Message;
use wsproto::{CloseCode, Config, Role};

#[tokio::test]
async fn connect_and_accept_echo_then_close_cleanly() {
    bounded(async {
        let (listener, url) = listener().await;
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut ws = ws::accept(stream).await.unwrap();
            let mut seen = Vec::new();
            loop {
                match ws.recv().await {
                    Ok(Message::Text(t)) => ws.send_text(t).await.unwrap(),
                    Ok(Message::Binary(b)) => ws.send_binary(b).await.unwrap(),
                    Ok(other) => seen.push(other),
                    Err(Error::Closed) => return seen,
                    Err(e) => panic!("server: {e}"),
                }
            }
        });
        let (mut ws, response) = ws::connect(&format!("{url}/echo?x=1")).await.unwrap();
        assert_eq!(response.status(), 101);
        ws.send_text("hello").await.unwrap();
        assert_eq!(ws.recv().await.unwrap(), Message::Text("hello".into()));
        let big = wsproto::Bytes::from(vec![0xAB; 300_000]);
        ws.send_binary(big.clone()).await.unwrap();
        assert_eq!(ws.recv().await.unwrap(), Message::Binary(big));
        ws.ping(b"are you there").await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap(),
            Message::Pong(wsproto::Bytes::from_static(b"are you there"))
        );
        ws.close(CloseCode::NORMAL, "bye").await.unwrap();
        match ws.recv().await.unwrap() {
            Message::Close(Some(c)) => assert_eq!(c.code, CloseCode::NORMAL),
            other => panic!("expected the close echo, got {other:?}"),
        }
        // The server closes the transport first; then the stream ends.
        assert!(matches!(ws.recv().await, Err(Error::Closed)));
        let seen = server.await.unwrap();
        assert!(
            matches!(&seen[..], [Message::Ping(_), Message::Close(Some(c))] if c.code == CloseCode::NORMAL && c.reason == "bye"),
            "{seen:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn server_closes_first_and_client_sees_the_end() {
    bounded(async {
        let (listener, url) = listener().await;
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut ws = ws::accept(stream).await.unwrap();
            ws.close(CloseCode::GOING_AWAY, "restarting").await.unwrap();
            match ws.recv().await.unwrap() {
                Message::Close(Some(c)) => assert_eq!(c.code, CloseCode::GOING_AWAY),
                other => panic!("{other:?}"),
            }
            assert!(matches!(ws.recv().await, Err(Error::Closed)));
        });
        let (mut ws, _) = ws::connect(&url).await.unwrap();
        match ws.recv().await.unwrap() {
            Message::Close(Some(c)) => assert_eq!(c.reason, "restarting"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(ws.recv().await, Err(Error::Closed)));
        server.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn callback_chooses_subprotocol_and_adds_headers() {
    bounded(async {
        let (listener, url) = listener().await;
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let ws = ws::accept_with(stream, Config::default(), |request| {
                assert_eq!(request.path(), "/chat");
                assert_eq!(request.header("x-token"), Some(b"t1".as_slice()));
                let chosen = request.subprotocols().find(|p| *p == "v2").unwrap();
                Ok(Accept::new()
                    .subprotocol(chosen)?
                    .header("Set-Cookie", "id=1")?)
            })
            .await
            .unwrap();
            assert_eq!(ws.subprotocol(), Some("v2"));
            ws
        });
        let request = ClientRequest::from_url(&format!("{url}/chat"))
            .unwrap()
            .subprotocol("v1")
            .unwrap()
            .subprotocol("v2")
            .unwrap()
            .header("X-Token", "t1")
            .unwrap();
        let (client, response) = ws::connect_with(request, Config::default()).await.unwrap();
        assert_eq!(response.header("set-cookie"), Some(b"id=1".as_slice()));
        assert_eq!(client.subprotocol(), Some("v2"));
        let server = server.await.unwrap();
        // permessage-deflate is offered and accepted by default; both ends
        // report the same agreement, and no extension for the application.
        assert!(client.extensions().is_empty() && server.extensions().is_empty());
        #[cfg(feature = "deflate")]
        {
            // What one end compresses with, the other decompresses with.
            let (c, s) = (client.deflate().unwrap(), server.deflate().unwrap());
            assert_eq!(c.compress_window_bits, s.decompress_window_bits);
            assert_eq!(s.compress_window_bits, c.decompress_window_bits);
        }
    })
    .await;
}

#[tokio::test]
async fn rejection_is_seen_by_the_client_with_status_headers_and_body() {
    bounded(async {
        let (listener, url) = listener().await;
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            ws::accept_with(stream, Config::default(), |request| {
                match request.header("authorization") {
                    Some(b"Bearer secret") => Ok(Accept::new()),
                    _ => Err(Rejection::new(401)
                        .header("WWW-Authenticate", "Bearer")
                        .body("no token")),
                }
            })
            .await
            .map(|_| ())
        });
        let err = ws::connect(&format!("{url}/private")).await.unwrap_err();
        match err {
            Error::Refused(response) => {
                assert_eq!(response.status(), 401);
                assert_eq!(
                    response.header("www-authenticate"),
                    Some(b"Bearer".as_slice())
                );
                assert_eq!(&response.body()[..], b"no token");
            }
            other => panic!("expected a 401, got {other:?}"),
        }
        assert!(matches!(server.await.unwrap(), Err(Error::Rejected(401))));
    })
    .await;
}

/// A client that sends more after its head (here: a frame it should not
/// have sent yet) still reads the whole rejection: the server drains its
/// input before closing instead of resetting the connection.
#[tokio::test]
async fn rejection_lingers_so_a_client_still_sending_reads_the_response() {
    bounded(async {
        let (listener, url) = listener().await;
        let addr = url.trim_start_matches("ws://").to_owned();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            ws::accept_with(stream, Config::default(), |_| {
                Err(Rejection::new(403).body("go away"))
            })
            .await
            .map(|_| ())
        });
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        let mut request = format!(
            "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .into_bytes();
        // 200 KB of frames right behind the head, more than a socket buffer
        // holds unread.
        for _ in 0..50 {
            request.extend_from_slice(&client_frame(2, &[7u8; 4000]));
        }
        let (mut rd, mut wr) = stream.split();
        let (_, response) = tokio::join!(
            async {
                let _ = wr.write_all(&request).await;
            },
            async {
                let mut response = Vec::new();
                let _ = rd.read_to_end(&mut response).await;
                response
            }
        );
        let text = String::from_utf8_lossy(&response);
        assert!(text.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\ngo away"), "{text}");
        assert!(matches!(server.await.unwrap(), Err(Error::Rejected(403))));
    })
    .await;
}

#[tokio::test]
async fn malformed_request_is_answered_with_its_status() {
    bounded(async {
        let (listener, url) = listener().await;
        let addr = url.trim_start_matches("ws://").to_owned();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            ws::accept(stream).await.map(|_| ())
        });
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(
                format!(
                    "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let text = String::from_utf8_lossy(&response);
        assert!(text.starts_with("HTTP/1.1 426 "), "{text}");
        assert!(text.contains("Sec-WebSocket-Version: 13\r\n"), "{text}");
        assert!(matches!(
            server.await.unwrap(),
            Err(Error::Request(RequestError::UnsupportedVersion(_)))
        ));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn server_handshake_timeout_answers_408_and_gives_up() {
    bounded(async {
        let (listener, url) = listener().await;
        let addr = url.trim_start_matches("ws://").to_owned();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let config = Config::default().handshake_timeout(Some(Duration::from_secs(5)));
            let started = tokio::time::Instant::now();
            let result = ws::accept_with(stream, config, |_| Ok(Accept::new())).await;
            (result.map(|_| ()), started.elapsed())
        });
        // A slowloris: half a head, then nothing.
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        assert!(response.starts_with(b"HTTP/1.1 408 "));
        let (result, elapsed) = server.await.unwrap();
        assert!(matches!(result, Err(Error::Request(RequestError::Timeout))));
        assert!(elapsed >= Duration::from_secs(5));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn client_handshake_timeout_when_the_server_never_answers() {
    bounded(async {
        let (listener, url) = listener().await;
        let server = tokio::spawn(async move {
            // Accepts the TCP connection, reads the request, never answers.
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            while stream.read(&mut buf).await.unwrap_or(0) > 0 {}
        });
        let config = Config::default().handshake_timeout(Some(Duration::from_secs(3)));
        let request = ClientRequest::from_url(&url).unwrap();
        let started = tokio::time::Instant::now();
        let err = ws::connect_with(request, config).await.unwrap_err();
        assert!(
            matches!(err, Error::Response(ResponseError::Timeout)),
            "{err:?}"
        );
        assert!(started.elapsed() >= Duration::from_secs(3));
        server.abort();
    })
    .await;
}

/// A stream upgraded elsewhere, with bytes already read past its handshake:
/// `from_partially_read` hands them to the connection first.
#[tokio::test]
async fn from_raw_and_from_partially_read_serve_streams_upgraded_elsewhere() {
    bounded(async {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        // What an HTTP server had already read: one whole frame and half
        // of the next.
        let mut early = client_frame(1, b"first");
        let second = client_frame(1, b"second");
        early.extend_from_slice(&second[..4]);
        let rest = second[4..].to_vec();
        let mut server = WebSocketStream::from_partially_read(
            server_io,
            &early,
            Role::Server,
            Config::default(),
        );
        let mut client = WebSocketStream::from_raw(client_io, Role::Client, Config::default());
        client.get_mut().write_all(&rest).await.unwrap();
        assert_eq!(server.recv().await.unwrap(), Message::Text("first".into()));
        assert_eq!(server.recv().await.unwrap(), Message::Text("second".into()));
        server.send_text("back").await.unwrap();
        assert_eq!(client.recv().await.unwrap(), Message::Text("back".into()));
    })
    .await;
}
