//! WebSockets through hyper, over HTTP/1.1 upgrades (RFC 6455 §4) and
//! HTTP/2 extended CONNECT (RFC 8441), on loopback: the hyper server helper
//! against our clients, our hyper client against our servers, over
//! HTTP/1.1, h2c and h2 over TLS; refusals (RFC 8441 §5) and the end of a
//! stream (the last paragraphs of §5).
#![cfg(all(feature = "hyper", feature = "deflate"))]

mod support;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wsproto::handshake::{Accept, ClientRequest};
use wsproto::hyper::{self as wshyper, Http, Opening, ServerUpgrade};
use wsproto::Config;
use wsproto::Message;

/// How many WebSockets the server opened, by how.
#[derive(Default)]
struct Seen {
    http1: AtomicUsize,
    h2: AtomicUsize,
    /// The last `sec-websocket-extensions` answered.
    extensions: std::sync::Mutex<Option<String>>,
    /// How the WebSocket at `/observe` ended, as the server saw it.
    ended: std::sync::Mutex<Option<Result<Message, wsproto::tokio::Error>>>,
}

/// An echo server through `wsproto::hyper::upgrade`; `/chat` also selects
/// the subprotocol `chat`, `/drop` drops the stream after one message.
async fn echo_server(tls: Option<Arc<rustls::ServerConfig>>) -> (std::net::SocketAddr, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let counts = seen.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        let seen = counts.clone();
        async move {
            let path = request.uri().path().to_owned();
            let upgrade = match ServerUpgrade::from_request(&mut request) {
                Ok(upgrade) => upgrade,
                Err(rejection) => return Ok::<_, Infallible>(rejection.into_response()),
            };
            match upgrade.opening() {
                Opening::Http1Upgrade => seen.http1.fetch_add(1, Ordering::SeqCst),
                Opening::ExtendedConnect => seen.h2.fetch_add(1, Ordering::SeqCst),
                _ => unreachable!(),
            };
            let mut accept = Accept::new();
            if path == "/chat" {
                accept = accept.subprotocol("chat").unwrap();
            }
            let (response, websocket) = upgrade.accept(&accept, Config::default()).unwrap();
            *seen.extensions.lock().unwrap() = response
                .headers()
                .get("sec-websocket-extensions")
                .map(|v| v.to_str().unwrap().to_owned());
            tokio::spawn(async move {
                let Ok(mut ws) = websocket.await else { return };
                if path == "/observe" {
                    loop {
                        match ws.recv().await {
                            Ok(message @ Message::Binary(_)) => {
                                let _ = ws.send(message).await;
                            }
                            other => {
                                *seen.ended.lock().unwrap() = Some(other);
                                return;
                            }
                        }
                    }
                }
                if path == "/drop" {
                    let _ = ws.recv().await;
                    // RFC 8441 §5: dropped without a close, an abortive close.
                    drop(ws);
                    return;
                }
                support::echo(ws).await;
            });
            Ok(response)
        }
    });
    (support::serve(tls, service).await, seen)
}

async fn hyper_client(
    addr: std::net::SocketAddr,
    http: Http,
    tls: Option<Arc<rustls::ClientConfig>>,
    path: &str,
) -> (wshyper::WebSocket, Opening, hyper::http::response::Parts) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let request = ClientRequest::new(&format!("localhost:{}", addr.port()), path)
        .unwrap()
        .subprotocol("chat")
        .unwrap();
    match tls {
        None => wshyper::client(tcp, http, "http", &request, Config::default())
            .await
            .unwrap(),
        Some(config) => {
            let connector = tokio_rustls::TlsConnector::from(config);
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let tls = connector.connect(name, tcp).await.unwrap();
            let http = Http::from_alpn(tls.get_ref().1.alpn_protocol());
            wshyper::client(tls, http, "https", &request, Config::default())
                .await
                .unwrap()
        }
    }
}

fn assert_deflate(parts: &hyper::http::response::Parts, ws: &wshyper::WebSocket) {
    let answered = parts.headers["sec-websocket-extensions"].to_str().unwrap();
    assert!(answered.starts_with("permessage-deflate"), "{answered}");
    assert!(ws.connection().deflate().is_some());
}

#[tokio::test]
async fn hyper_server_and_our_tokio_client_over_http1() {
    let (addr, seen) = echo_server(None).await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    let request = ClientRequest::new(&addr.to_string(), "/chat")
        .unwrap()
        .subprotocol("chat")
        .unwrap();
    let (mut ws, response) = wsproto::tokio::client(tcp, request, Config::default())
        .await
        .unwrap();
    assert_eq!(response.subprotocol(), Some("chat"));
    assert!(
        ws.connection().deflate().is_some(),
        "permessage-deflate agreed"
    );
    support::exchange(&mut ws).await;
    assert_eq!(seen.http1.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn hyper_client_and_server_over_http1() {
    let (addr, seen) = echo_server(None).await;
    let (mut ws, opening, parts) = hyper_client(addr, Http::Http1, None, "/chat").await;
    assert_eq!(
        (opening, parts.status.as_u16()),
        (Opening::Http1Upgrade, 101)
    );
    assert_eq!(ws.connection().subprotocol(), Some("chat"));
    assert_deflate(&parts, &ws);
    support::exchange(&mut ws).await;
    assert_eq!(
        (
            seen.http1.load(Ordering::SeqCst),
            seen.h2.load(Ordering::SeqCst)
        ),
        (1, 0)
    );
}

#[tokio::test]
async fn hyper_client_and_server_over_h2c_extended_connect() {
    let (addr, seen) = echo_server(None).await;
    let (mut ws, opening, parts) = hyper_client(addr, Http::Http2, None, "/chat").await;
    // RFC 8441 §5: a 2xx, not a 101, and no Sec-WebSocket-Accept.
    assert_eq!(
        (opening, parts.status.as_u16()),
        (Opening::ExtendedConnect, 200)
    );
    assert!(parts.headers.get("sec-websocket-accept").is_none());
    assert_eq!(ws.connection().subprotocol(), Some("chat"));
    assert_deflate(&parts, &ws);
    support::exchange(&mut ws).await;
    assert_eq!(
        (
            seen.http1.load(Ordering::SeqCst),
            seen.h2.load(Ordering::SeqCst)
        ),
        (0, 1)
    );
}

#[tokio::test]
async fn hyper_client_picks_h2_by_alpn_over_tls_and_http1_without_it() {
    let pki = support::pki();
    let (addr, seen) = echo_server(Some(pki.server.clone())).await;
    let (mut ws, opening, parts) =
        hyper_client(addr, Http::Http1, Some(pki.client.clone()), "/").await;
    assert_eq!(opening, Opening::ExtendedConnect, "ALPN chose h2");
    assert_deflate(&parts, &ws);
    support::exchange(&mut ws).await;

    let http1_only = support::client_with_alpn(&pki, &[b"http/1.1"]);
    let (mut ws, opening, _) = hyper_client(addr, Http::Http2, Some(http1_only), "/").await;
    assert_eq!(opening, Opening::Http1Upgrade, "ALPN chose http/1.1");
    support::exchange(&mut ws).await;
    assert_eq!(
        (
            seen.http1.load(Ordering::SeqCst),
            seen.h2.load(Ordering::SeqCst)
        ),
        (1, 1)
    );
    assert!(seen
        .extensions
        .lock()
        .unwrap()
        .as_deref()
        .is_some_and(|e| e.starts_with("permessage-deflate")));
}

#[tokio::test]
async fn hyper_client_over_http1_against_our_tokio_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = wsproto::tokio::accept_with(tcp, Config::default(), |request| {
            Ok(Accept::new().subprotocol(request.subprotocols().next().unwrap())?)
        })
        .await
        .unwrap();
        support::echo(ws).await;
    });
    let (mut ws, opening, parts) = hyper_client(addr, Http::Http1, None, "/").await;
    assert_eq!(opening, Opening::Http1Upgrade);
    assert_eq!(ws.connection().subprotocol(), Some("chat"));
    assert_deflate(&parts, &ws);
    support::exchange(&mut ws).await;
}

#[tokio::test]
async fn hyper_client_refuses_an_h2_server_without_extended_connect() {
    // RFC 8441 §3: no SETTINGS_ENABLE_CONNECT_PROTOCOL, no extended CONNECT.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let service = hyper::service::service_fn(|_req: Request<Incoming>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
        });
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(tcp), service)
            .await;
    });
    let tcp = TcpStream::connect(addr).await.unwrap();
    let request = ClientRequest::new("localhost", "/").unwrap();
    let err = wshyper::client(tcp, Http::Http2, "http", &request, Config::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, wshyper::Error::ExtendedConnectDisabled),
        "{err:?}"
    );
}

/// A raw HTTP/2 client on hyper, for requests our client would never send.
async fn h2_request(
    addr: std::net::SocketAddr,
    request: Request<Empty<Bytes>>,
) -> Response<Incoming> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    sender.ready().await.unwrap();
    sender.send_request(request).await.unwrap()
}

fn connect(protocol: &'static str, version: &'static str) -> Request<Empty<Bytes>> {
    let mut request = Request::builder()
        .method("CONNECT")
        .uri("http://localhost/ws")
        .version(hyper::Version::HTTP_2)
        .header("sec-websocket-version", version)
        .body(Empty::new())
        .unwrap();
    request
        .extensions_mut()
        .insert(hyper::ext::Protocol::from_static(protocol));
    request
}

#[tokio::test]
async fn server_refuses_bad_extended_connects_with_rfc8441_statuses() {
    let (addr, seen) = echo_server(None).await;
    // A :protocol other than websocket: 501 (RFC 8441 §4; RFC 9110 §15.6.2).
    let response = h2_request(addr, connect("connect-udp", "13")).await;
    assert_eq!(response.status(), 501);
    // Another version: 426, naming 13 (RFC 6455 §4.2.2, kept by RFC 8441 §5).
    let response = h2_request(addr, connect("websocket", "8")).await;
    assert_eq!(response.status(), 426);
    assert_eq!(response.headers()["sec-websocket-version"], "13");
    assert!(response.headers().get("upgrade").is_none());
    // A plain GET over HTTP/2: 405, allowing CONNECT.
    let get = Request::builder()
        .uri("http://localhost/ws")
        .version(hyper::Version::HTTP_2)
        .body(Empty::new())
        .unwrap();
    let response = h2_request(addr, get).await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "CONNECT");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(std::str::from_utf8(&body).unwrap().contains("GET"));
    assert_eq!(seen.h2.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn server_answers_a_key_sent_over_h2_with_its_accept() {
    // Some clients (undici) send Sec-WebSocket-Key over HTTP/2 and check
    // the answer; RFC 8441 §5 does not use it, and it is answered anyway.
    let (addr, _) = echo_server(None).await;
    let mut request = connect("websocket", "13");
    request.headers_mut().insert(
        "sec-websocket-key",
        hyper::header::HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="),
    );
    let response = h2_request(addr, request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["sec-websocket-accept"],
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[tokio::test]
async fn http1_server_refuses_a_bad_version_with_426_over_hyper() {
    let (addr, _) = echo_server(None).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tcp.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 426"), "{head}");
    assert!(head.contains("sec-websocket-version: 13"), "{head}");
}

#[tokio::test]
async fn bytes_hyper_read_past_the_101_reach_the_connection_first() {
    // The request and a masked frame in one write: hyper reads both, and
    // hands back what followed the head with the upgraded stream.
    let (addr, _) = echo_server(None).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let mut bytes =
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            .to_vec();
    // RFC 6455 §5.7: a masked text frame "Hello".
    bytes.extend_from_slice(&[
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ]);
    tcp.write_all(&bytes).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let end = loop {
        let n = tcp.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server ended the stream");
        got.extend_from_slice(&buf[..n]);
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            if got.len() >= end + 4 + 7 {
                break end + 4;
            }
        }
    };
    assert!(got.starts_with(b"HTTP/1.1 101"));
    assert_eq!(
        &got[end..end + 7],
        &[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']
    );
}

#[tokio::test]
async fn the_end_of_an_h2_stream_closes_and_a_drop_aborts() {
    // RFC 8441 §5: a clean close ends both directions of the stream...
    let (addr, _) = echo_server(None).await;
    let (mut ws, _, _) = hyper_client(addr, Http::Http2, None, "/").await;
    support::close(&mut ws).await;
    // ...and a stream dropped without a close is an abortive close: the
    // client fails (1006), it never sees a close frame.
    let (mut ws, opening, _) = hyper_client(addr, Http::Http2, None, "/drop").await;
    assert_eq!(opening, Opening::ExtendedConnect);
    ws.send(Message::Text("bye".into())).await.unwrap();
    match ws.recv().await {
        Err(wsproto::tokio::Error::Protocol(e)) => {
            assert_eq!(e.close_code(), wsproto::CloseCode::ABNORMAL, "{e}")
        }
        Err(wsproto::tokio::Error::Io(_)) => {}
        other => panic!("expected an abnormal end, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_that_drops_its_h2_stream_is_an_abnormal_close_for_the_server() {
    // RFC 8441 §5: the stream's end is the TCP connection's. The client
    // drops its stream without a close (hyper ends it and resets it with
    // CANCEL); the server's connection fails with 1006 and never sees a
    // close frame (RFC 6455 §7.1.5).
    let (addr, seen) = echo_server(None).await;
    let (mut ws, opening, _) = hyper_client(addr, Http::Http2, None, "/observe").await;
    assert_eq!(opening, Opening::ExtendedConnect);
    ws.send(Message::Binary(Bytes::from_static(b"ping")))
        .await
        .unwrap();
    assert!(matches!(ws.recv().await.unwrap(), Message::Binary(_)));
    drop(ws);
    let mut ended = None;
    for _ in 0..500 {
        if let Some(end) = seen.ended.lock().unwrap().take() {
            ended = Some(end);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    match ended.expect("the server saw the end") {
        Err(wsproto::tokio::Error::Protocol(e)) => {
            assert_eq!(e.close_code(), wsproto::CloseCode::ABNORMAL, "{e}")
        }
        Err(wsproto::tokio::Error::Io(_)) => {}
        other => panic!("expected an abnormal end, got {other:?}"),
    }
}
