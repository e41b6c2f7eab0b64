//! The axum extractor in a real router, served by hyper over HTTP/1.1 and
//! h2c: `any(handler)` takes both the HTTP/1.1 `GET` upgrade and the
//! HTTP/2 extended CONNECT (RFC 8441), subprotocols are chosen with
//! `protocols`, permessage-deflate is negotiated by default, the `Config`
//! given is the one the connection runs, and bad requests get the right
//! refusal.
#![cfg(all(feature = "axum", feature = "deflate"))]

mod support;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wsproto::axum::WebSocketUpgrade;
use wsproto::handshake::ClientRequest;
use wsproto::hyper::{self as wshyper, Http, Opening};
use wsproto::Config;
use wsproto::Message;

/// What the handler saw for each WebSocket.
type Log = Arc<Mutex<Vec<(Opening, Option<String>, usize)>>>;

async fn handler(State(log): State<Log>, ws: WebSocketUpgrade) -> Response {
    let opening = ws.opening();
    let ws = ws
        .protocols(["superchat", "chat"])
        .config(Config::default().max_message_size(1 << 21));
    let selected = ws.selected_protocol().map(str::to_owned);
    ws.on_upgrade(move |ws| async move {
        let limit = ws.connection().config().max_message_size;
        log.lock().unwrap().push((opening, selected, limit));
        support::echo(ws).await;
    })
}

async fn app() -> (std::net::SocketAddr, Log) {
    let log = Log::default();
    let router = Router::new()
        .route("/ws", any(handler))
        .with_state(log.clone());
    let service = hyper_util::service::TowerToHyperService::new(router);
    (support::serve(None, service).await, log)
}

async fn open(addr: std::net::SocketAddr, http: Http) -> wshyper::WebSocket {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let request = ClientRequest::new("localhost", "/ws")
        .unwrap()
        .subprotocol("chat")
        .unwrap();
    let (ws, opening, parts) = wshyper::client(tcp, http, "http", &request, Config::default())
        .await
        .unwrap();
    let expected = match http {
        Http::Http1 => (Opening::Http1Upgrade, 101),
        _ => (Opening::ExtendedConnect, 200),
    };
    assert_eq!((opening, parts.status.as_u16()), expected);
    assert_eq!(parts.headers["sec-websocket-protocol"], "chat");
    let extensions = parts.headers["sec-websocket-extensions"].to_str().unwrap();
    assert!(extensions.starts_with("permessage-deflate"), "{extensions}");
    ws
}

#[tokio::test]
async fn axum_extractor_upgrades_http1_get_with_deflate_and_a_subprotocol() {
    let (addr, log) = app().await;
    let mut ws = open(addr, Http::Http1).await;
    assert!(ws.connection().deflate().is_some());
    support::exchange(&mut ws).await;
    let seen = log.lock().unwrap().clone();
    assert_eq!(
        seen,
        [(Opening::Http1Upgrade, Some("chat".to_owned()), 1 << 21)]
    );
}

#[tokio::test]
async fn axum_extractor_accepts_http2_extended_connect_on_the_same_route() {
    let (addr, log) = app().await;
    let mut ws = open(addr, Http::Http2).await;
    assert!(ws.connection().deflate().is_some());
    support::exchange(&mut ws).await;
    let seen = log.lock().unwrap().clone();
    assert_eq!(
        seen,
        [(Opening::ExtendedConnect, Some("chat".to_owned()), 1 << 21)]
    );
}

#[tokio::test]
async fn axum_config_limits_apply_to_the_connection() {
    // The handler's limit is 2 MiB: a 3 MiB message is refused with 1009.
    let (addr, _) = app().await;
    let mut ws = open(addr, Http::Http2).await;
    ws.send(Message::Binary(vec![0u8; 3 << 20].into()))
        .await
        .unwrap();
    match ws.recv().await.unwrap() {
        Message::Close(Some(frame)) => assert_eq!(frame.code, wsproto::CloseCode::MESSAGE_TOO_BIG),
        other => panic!("expected a close with 1009, got {other:?}"),
    }
}

async fn raw_http1(addr: std::net::SocketAddr, request: &str) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tcp.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase()
}

#[tokio::test]
async fn axum_extractor_refuses_bad_requests_with_the_handshake_statuses() {
    let (addr, log) = app().await;
    // Not an upgrade at all: 400, naming the missing header.
    let response = raw_http1(addr, "GET /ws HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert!(response.starts_with("http/1.1 400"), "{response}");
    assert!(response.contains("missing upgrade header"), "{response}");
    // POST over HTTP/1.1: 405, allowing GET.
    let response = raw_http1(
        addr,
        "POST /ws HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("http/1.1 405"), "{response}");
    assert!(response.contains("allow: get"), "{response}");
    // Another version: 426 naming 13.
    let response = raw_http1(
        addr,
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("http/1.1 426"), "{response}");
    assert!(response.contains("sec-websocket-version: 13"), "{response}");
    assert!(log.lock().unwrap().is_empty());
}

#[tokio::test]
async fn axum_on_failed_upgrade_is_called_when_hyper_cannot_upgrade() {
    // An HTTP/1.1 connection served without upgrades: the 101 goes out,
    // the stream never comes, the callback hears why.
    let failed = Arc::new(Mutex::new(None::<String>));
    let seen = failed.clone();
    let router = Router::new().route(
        "/ws",
        any(move |ws: WebSocketUpgrade| {
            let seen = seen.clone();
            async move {
                ws.on_failed_upgrade(move |e: wshyper::Error| {
                    *seen.lock().unwrap() = Some(e.to_string())
                })
                .on_upgrade(|_| async {})
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let service = hyper_util::service::TowerToHyperService::new(router);
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(tcp), service)
            .await;
    });
    let response = raw_http1(
        addr,
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("http/1.1 101"), "{response}");
    for _ in 0..200 {
        if failed.lock().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        failed.lock().unwrap().is_some(),
        "on_failed_upgrade was called"
    );
}
