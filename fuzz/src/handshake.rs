//! `handshake_server`, `handshake_client`: a peer's bytes as the request or
//! response head, cut anywhere, then as the connection's first frames.
//!
//! Server: a valid request is accepted (with the first offered subprotocol,
//! and permessage-deflate as the knobs' configuration negotiates it) and the
//! 101 must be a well-formed HTTP response carrying the right
//! `Sec-WebSocket-Accept`, whose extension answer names permessage-deflate
//! exactly when the connection runs the codec; an
//! invalid one is answered with `reject_error`, which must be a well-formed
//! response with the error's status, a correct `Content-Length` and a body
//! free of control characters (no peer bytes echoed raw). `poll_request`
//! gives the same answer each time.
//!
//! Client: a request to `ws://localhost/chat` offering the subprotocol `chat`
//! and permessage-deflate as the knobs' configuration says, with a key from a
//! fixed seed (so a seed corpus can hold a valid 101). An accepted response
//! is a 101 that chose `chat` or nothing, and whose connection runs
//! permessage-deflate only if its extension answer names it. A rejected one
//! is not a 101, and its body is at most the head size limit.
//!
//! Either way the `Connection` handed over is then driven by
//! [`connection::Driver`](crate::connection::Driver) with the bytes that
//! follow, under the same assertions as the connection targets.

use wsproto::entropy::SeededEntropy;
use wsproto::handshake::{
    accept_key, Accept, ClientHandshake, ClientRequest, Outcome, Request, RequestError,
    ServerHandshake,
};
use wsproto::Connection;

use crate::connection::{Driver, Knobs};

/// The seed of the client's `Sec-WebSocket-Key`.
pub const CLIENT_SEED: u64 = 0x5eed;

/// The server target: knobs, then the client's bytes.
pub fn run_server(data: &[u8]) {
    let (knobs, wire) = crate::split_input::<Knobs>(data);
    let mut handshake = Some(ServerHandshake::new(knobs.config()));
    let mut driver = None;
    for (piece, via) in knobs.cuts().split(wire) {
        if let Some(driver) = &mut driver {
            Driver::feed(driver, piece, via);
            continue;
        }
        let mut server = handshake.take().expect("still reading");
        server.handle_read(piece);
        match server.poll_request() {
            Ok(None) => handshake = Some(server),
            Ok(Some(request)) => {
                assert_eq!(server.poll_request(), Ok(Some(request.clone())));
                driver = Some(Driver::new(accept(server, &request)));
            }
            Err(error) => {
                assert_eq!(server.poll_request(), Err(error.clone()));
                check_rejection(&error);
                return;
            }
        }
    }
    if let Some(driver) = driver {
        driver.finish();
    }
}

/// Accepts a valid request and checks the 101.
fn accept(server: ServerHandshake, request: &Request) -> Connection {
    let mut answer = Accept::new();
    if let Some(chosen) = request.subprotocols().next() {
        // An offered "subprotocol" need not be a token; then choose none.
        answer = answer.clone().subprotocol(chosen).unwrap_or(answer);
    }
    let (response, conn) = server.accept(answer).expect("a valid request is accepted");
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut parsed = httparse::Response::new(&mut headers);
    let len = match parsed.parse(&response) {
        Ok(httparse::Status::Complete(len)) => len,
        other => panic!("101 is not HTTP: {other:?} in {response:?}"),
    };
    assert_eq!(len, response.len(), "the 101 has no body");
    assert_eq!(parsed.code, Some(101));
    let accept = parsed
        .headers
        .iter()
        .find(|h| h.name == "Sec-WebSocket-Accept")
        .expect("Sec-WebSocket-Accept");
    assert_eq!(
        accept.value,
        accept_key(request.key().as_bytes()).as_bytes()
    );
    let answered_deflate = parsed
        .headers
        .iter()
        .find(|h| h.name == "Sec-WebSocket-Extensions")
        .is_some_and(|h| h.value.starts_with(b"permessage-deflate"));
    assert_eq!(answered_deflate, conn.deflate().is_some(), "{response:?}");
    conn
}

/// `reject_error` writes a well-formed response that echoes nothing raw.
fn check_rejection(error: &RequestError) {
    let response = ServerHandshake::reject_error(error);
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut parsed = httparse::Response::new(&mut headers);
    let len = match parsed.parse(&response) {
        Ok(httparse::Status::Complete(len)) => len,
        other => panic!("rejection is not HTTP: {other:?} in {response:?}"),
    };
    assert_eq!(parsed.code, Some(error.status()));
    let content_length = parsed
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("Content-Length"))
        .map(|h| {
            std::str::from_utf8(h.value)
                .unwrap()
                .parse::<usize>()
                .unwrap()
        });
    let body = &response[len..];
    assert_eq!(content_length, Some(body.len()));
    let text = std::str::from_utf8(body).expect("the body is UTF-8");
    let text = text
        .strip_suffix('\n')
        .expect("the body ends with a newline");
    assert!(
        !text.chars().any(char::is_control),
        "raw control character in {text:?}"
    );
}

/// The client target: knobs, then the server's bytes.
pub fn run_client(data: &[u8]) {
    let (knobs, wire) = crate::split_input::<Knobs>(data);
    let request = ClientRequest::from_url("ws://localhost/chat")
        .and_then(|r| r.subprotocol("chat"))
        .expect("a valid request");
    let config = knobs.config();
    let max_body = config.max_handshake_size;
    let entropy = Box::new(SeededEntropy::new(CLIENT_SEED));
    let mut client = ClientHandshake::with_entropy(request, config, entropy);
    assert!(client.poll_transmit().is_some());
    let mut driver = None;
    for (piece, via) in knobs.cuts().split(wire) {
        if let Some(driver) = &mut driver {
            Driver::feed(driver, piece, via);
            continue;
        }
        client.handle_read(piece);
        match client.poll_response() {
            Ok(None) => {}
            Ok(Some(Outcome::Accepted(response, conn))) => {
                assert_eq!(response.status(), 101);
                assert!(matches!(response.subprotocol(), None | Some("chat")));
                assert_eq!(conn.subprotocol(), response.subprotocol());
                let answered_deflate = response
                    .extensions()
                    .is_some_and(|e| e.contains("permessage-deflate"));
                assert!(answered_deflate || conn.deflate().is_none());
                assert!(
                    matches!(client.poll_response(), Ok(None)),
                    "handed over once"
                );
                driver = Some(Driver::new(conn));
            }
            Ok(Some(Outcome::Rejected(response))) => {
                assert_ne!(response.status(), 101);
                assert!(response.body().len() <= max_body);
                assert!(
                    matches!(client.poll_response(), Ok(None)),
                    "handed over once"
                );
                return;
            }
            Err(error) => {
                assert_eq!(client.poll_response().err(), Some(error.clone()));
                return;
            }
        }
    }
    if let Some(driver) = driver {
        driver.finish();
    }
}
