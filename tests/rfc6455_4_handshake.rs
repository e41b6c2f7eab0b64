//! RFC 6455 §4: the opening handshake, both roles, through the public API
//! only: a client and a server driven against each other in memory, bytes
//! after the head reaching the connection, split-invariance, limits, and
//! arbitrary input never panicking either parser.

use proptest::prelude::*;
use wsproto::entropy::SeededEntropy;
use wsproto::extensions::CustomExtension;
use wsproto::handshake::{
    accept_key, Accept, ClientHandshake, ClientRequest, Outcome, Request, RequestError, Response,
    ResponseError, ServerHandshake,
};
use wsproto::{Config, Connection, Event, Message, Role};

/// The client's request of RFC 6455 §1.2, with the key of §1.3.
const REQUEST: &str = "GET /chat HTTP/1.1\r\n\
    Host: server.example.com\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Origin: http://example.com\r\n\
    Sec-WebSocket-Protocol: chat, superchat\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// RFC 6455 §5.7: a single-frame masked text message, "Hello".
const MASKED_HELLO: [u8; 11] = [
    0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];

fn client(request: ClientRequest) -> ClientHandshake {
    ClientHandshake::with_entropy(request, Config::default(), Box::new(SeededEntropy::new(1)))
}

fn server() -> ServerHandshake {
    ServerHandshake::with_entropy(Config::default(), Box::new(SeededEntropy::new(2)))
}

fn read_request(chunks: &[&[u8]]) -> Result<Option<Request>, RequestError> {
    let mut server = server();
    for chunk in chunks {
        server.handle_read(chunk);
    }
    server.poll_request()
}

/// The response and connection of an accepted handshake.
fn accepted(outcome: Option<Outcome>) -> (Response, Connection) {
    match outcome {
        Some(Outcome::Accepted(response, conn)) => (response, conn),
        other => panic!("not accepted: {other:?}"),
    }
}

fn text(event: Option<Event>) -> String {
    match event {
        Some(Event::Message(Message::Text(text))) => text.to_string(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// Client request → server → 101 → client, in memory.
fn connect(request: ClientRequest, accept: Accept) -> (Response, Connection, Connection) {
    let mut client = client(request);
    let mut server = server();
    server.handle_read(&client.poll_transmit().expect("a request to send"));
    server.poll_request().unwrap().expect("the whole request");
    let (response, server_conn) = server.accept(accept).unwrap();
    client.handle_read(&response);
    let (response, client_conn) = accepted(client.poll_response().unwrap());
    (response, client_conn, server_conn)
}

#[test]
fn accept_key_matches_rfc6455_section_1_3_example() {
    assert_eq!(
        accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[test]
fn server_answers_rfc6455_section_1_3_request() {
    let mut server = server();
    server.handle_read(REQUEST.as_bytes());
    let request = server.poll_request().unwrap().unwrap();
    assert_eq!(
        request.subprotocols().collect::<Vec<_>>(),
        ["chat", "superchat"]
    );
    let (response, _) = server
        .accept(Accept::new().subprotocol("chat").unwrap())
        .unwrap();
    assert_eq!(
        &response[..],
        b"HTTP/1.1 101 Switching Protocols\r\n\
          Upgrade: websocket\r\n\
          Connection: Upgrade\r\n\
          Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
          Sec-WebSocket-Protocol: chat\r\n\r\n"
    );
}

#[test]
fn client_and_server_handshake_then_exchange_messages() {
    let request = ClientRequest::from_url("ws://localhost:9001/echo?x=1")
        .unwrap()
        .origin("http://localhost")
        .unwrap()
        .subprotocol("v1")
        .unwrap()
        .subprotocol("v2")
        .unwrap()
        .header("Authorization", "Bearer secret")
        .unwrap();
    let mut client = client(request);
    let mut server = server();
    server.handle_read(&client.poll_transmit().unwrap());
    let request = server.poll_request().unwrap().unwrap();
    assert_eq!(request.path(), "/echo");
    assert_eq!(request.query(), Some("x=1"));
    assert_eq!(request.host(), "localhost:9001");
    assert_eq!(request.origin(), Some("http://localhost"));
    assert_eq!(request.header("authorization"), Some(&b"Bearer secret"[..]));
    assert_eq!(request.subprotocols().collect::<Vec<_>>(), ["v1", "v2"]);
    assert_eq!(request.key(), client.key());

    let (response, mut server_conn) = server
        .accept(Accept::new().subprotocol("v2").unwrap())
        .unwrap();
    client.handle_read(&response);
    let (response, mut client_conn) = accepted(client.poll_response().unwrap());
    assert_eq!(response.status(), 101);
    assert_eq!(response.subprotocol(), Some("v2"));
    assert_eq!(client_conn.role(), Role::Client);
    assert_eq!(server_conn.role(), Role::Server);

    client_conn.send_text("ping?").unwrap();
    while let Some(bytes) = client_conn.poll_transmit() {
        // Client frames are masked (RFC 6455 §5.1).
        assert_ne!(bytes[1] & 0x80, 0);
        server_conn.handle_read(&bytes);
    }
    assert_eq!(text(server_conn.poll_event()), "ping?");
    server_conn.send_text("pong!").unwrap();
    while let Some(bytes) = server_conn.poll_transmit() {
        client_conn.handle_read(&bytes);
    }
    assert_eq!(text(client_conn.poll_event()), "pong!");
}

#[test]
fn client_and_server_agree_on_no_subprotocol() {
    let request = ClientRequest::new("example.com", "/").unwrap();
    let (response, _, _) = connect(request, Accept::new());
    assert_eq!(response.subprotocol(), None);
    // permessage-deflate is offered and accepted by default with its feature.
    let expected = cfg!(feature = "deflate").then_some("permessage-deflate");
    assert_eq!(response.extensions(), expected);
}

#[test]
fn custom_extension_answer_reaches_both_connections() {
    let ext = CustomExtension::new("x-trace").unwrap();
    let request = ClientRequest::new("example.com", "/")
        .unwrap()
        .extension(ext.clone());
    let accept = Accept::new().extension(ext.clone().param("id", Some("7")).unwrap());
    let (response, client, server) = connect(request, accept);
    let expected = match cfg!(feature = "deflate") {
        true => "permessage-deflate, x-trace; id=7",
        false => "x-trace; id=7",
    };
    assert_eq!(response.extensions(), Some(expected));
    assert_eq!(client.extensions(), server.extensions());
    assert_eq!(
        client.extensions()[0].params().next(),
        Some(("id", Some("7")))
    );
}

/// The hand-written permessage-deflate answer that used to leave the
/// server's codec off (the client's compressed frames then failed with
/// 1002): a typed answer always turns it on.
#[cfg(feature = "deflate")]
#[test]
fn hand_written_permessage_deflate_answer_enables_the_codec() {
    use wsproto::extensions::DeflateParams;
    use wsproto::handshake::DeflateAnswer;

    let request = ClientRequest::new("example.com", "/").unwrap();
    let accept = Accept::new().deflate(DeflateAnswer::Accept(DeflateParams::default()));
    let (response, mut client, mut server) = connect(request, accept);
    assert_eq!(response.extensions(), Some("permessage-deflate"));
    let message = "compress me, ".repeat(20);
    client.send_text(message.as_str()).unwrap();
    while let Some(bytes) = client.poll_transmit() {
        assert_eq!(bytes[0] & 0x40, 0x40, "RSV1: compressed");
        server.handle_read(&bytes);
    }
    assert_eq!(text(server.poll_event()), message);
}

#[test]
fn server_hands_a_masked_frame_in_the_same_read_to_the_connection() {
    let mut input = REQUEST.as_bytes().to_vec();
    input.extend_from_slice(&MASKED_HELLO);
    let mut server = server();
    server.handle_read(&input);
    server.poll_request().unwrap().unwrap();
    let (_, mut conn) = server.accept(Accept::new()).unwrap();
    assert_eq!(text(conn.poll_event()), "Hello");
}

#[test]
fn client_hands_a_frame_in_the_same_read_to_the_connection() {
    let mut client = client(ClientRequest::new("example.com", "/").unwrap());
    let mut input = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(client.key().as_bytes())
    )
    .into_bytes();
    input.extend_from_slice(&[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
    client.handle_read(&input);
    let (_, mut conn) = accepted(client.poll_response().unwrap());
    assert_eq!(text(conn.poll_event()), "Hello");
}

#[test]
fn request_fed_one_byte_at_a_time_reads_the_same_as_all_at_once() {
    let whole = read_request(&[REQUEST.as_bytes()]);
    let bytes: Vec<&[u8]> = REQUEST.as_bytes().chunks(1).collect();
    assert_eq!(read_request(&bytes), whole);
    assert!(whole.unwrap().is_some());
}

#[test]
fn server_rejects_head_over_the_cap_with_431_without_waiting_for_more() {
    let mut server = server();
    // A head that never ends: 16 KiB and the server must not wait for more.
    server.handle_read(b"GET / HTTP/1.1\r\nX-Filler: ");
    server.handle_read(&vec![b'a'; 16 * 1024]);
    let err = server.poll_request().unwrap_err();
    assert_eq!(err, RequestError::HeadTooLarge { limit: 16 * 1024 });
    assert_eq!(err.status(), 431);
    let response = ServerHandshake::reject_error(&err);
    assert!(response.starts_with(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"));
}

#[test]
fn server_rejects_more_than_64_headers_with_431() {
    let mut request = REQUEST.trim_end_matches("\r\n").to_owned() + "\r\n";
    for i in 0..60 {
        request.push_str(&format!("X-{i}: y\r\n"));
    }
    request.push_str("\r\n");
    let err = read_request(&[request.as_bytes()]).unwrap_err();
    assert_eq!(err, RequestError::TooManyHeaders { limit: 64 });
    assert_eq!(err.status(), 431);
}

#[test]
fn server_accepts_connection_keep_alive_upgrade() {
    let request = REQUEST.replace("Connection: Upgrade", "Connection: keep-alive, Upgrade");
    assert!(read_request(&[request.as_bytes()]).unwrap().is_some());
}

#[test]
fn server_merges_repeated_subprotocol_lines() {
    let request = REQUEST.replace(
        "Sec-WebSocket-Protocol: chat, superchat\r\n",
        "Sec-WebSocket-Protocol: chat\r\nsec-websocket-protocol: superchat\r\n",
    );
    let request = read_request(&[request.as_bytes()]).unwrap().unwrap();
    assert_eq!(
        request.subprotocols().collect::<Vec<_>>(),
        ["chat", "superchat"]
    );
}

#[test]
fn server_rejects_missing_version_with_426_naming_version_13() {
    let request = REQUEST.replace("Sec-WebSocket-Version: 13\r\n", "");
    let err = read_request(&[request.as_bytes()]).unwrap_err();
    assert_eq!(err.status(), 426);
    let response = ServerHandshake::reject_error(&err);
    let response = std::str::from_utf8(&response).unwrap();
    assert!(response.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
    assert!(response.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    assert!(response.contains("\r\nContent-Length: "));
}

#[test]
fn server_rejects_missing_key_with_400_naming_it() {
    let request = REQUEST.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "");
    let err = read_request(&[request.as_bytes()]).unwrap_err();
    let response = ServerHandshake::reject_error(&err);
    let response = std::str::from_utf8(&response).unwrap();
    assert!(response.starts_with("HTTP/1.1 400 Bad Request\r\n"));
    assert!(response.contains("\r\nConnection: close\r\n"));
    assert!(response.ends_with("missing Sec-WebSocket-Key header (RFC 6455 §4)\n"));
}

#[test]
fn application_rejects_an_origin_with_403_and_the_client_sees_it() {
    let request = ClientRequest::new("example.com", "/")
        .unwrap()
        .origin("http://evil.example")
        .unwrap();
    let mut client = client(request);
    let mut server = server();
    server.handle_read(&client.poll_transmit().unwrap());
    let request = server.poll_request().unwrap().unwrap();
    assert_eq!(request.origin(), Some("http://evil.example"));
    let rejection = ServerHandshake::reject(
        403,
        &[("Content-Type", "text/plain")],
        b"origin not allowed",
    )
    .unwrap();
    client.handle_read(&rejection);
    let Ok(Some(Outcome::Rejected(response))) = client.poll_response() else {
        panic!("expected the 403");
    };
    assert_eq!(response.status(), 403);
    assert_eq!(&response.body()[..], b"origin not allowed");
}

#[test]
fn client_refuses_a_response_to_another_key() {
    let mut client = client(ClientRequest::new("example.com", "/").unwrap());
    let mut server = server();
    server.handle_read(REQUEST.as_bytes());
    // The server answers a different request's key.
    let (response, _) = server.accept(Accept::new()).unwrap();
    let _ = client.poll_transmit();
    client.handle_read(&response);
    let err = client.poll_response().expect_err("a mismatch");
    assert_eq!(err, ResponseError::AcceptMismatch);
    assert!(err.to_string().contains("Sec-WebSocket-Accept"));
}

proptest! {
    #[test]
    fn request_split_anywhere_reads_the_same(cuts in proptest::collection::vec(0..REQUEST.len() + MASKED_HELLO.len(), 0..6)) {
        let mut input = REQUEST.as_bytes().to_vec();
        input.extend_from_slice(&MASKED_HELLO);
        let mut cuts = cuts;
        cuts.sort_unstable();
        let mut server = server();
        let mut last = 0;
        for cut in cuts.into_iter().chain([input.len()]) {
            server.handle_read(&input[last..cut]);
            last = cut;
        }
        let request = server.poll_request().unwrap().unwrap();
        prop_assert_eq!(Ok(Some(request)), read_request(&[REQUEST.as_bytes()]));
        let (_, mut conn) = server.accept(Accept::new()).unwrap();
        prop_assert_eq!(text(conn.poll_event()), "Hello");
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_server(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..8)) {
        let config = Config::default().max_handshake_size(512).max_handshake_headers(8);
        let mut server = ServerHandshake::with_entropy(config, Box::new(SeededEntropy::new(2)));
        for chunk in &chunks {
            server.handle_read(chunk);
            if let Err(e) = server.poll_request() {
                let response = ServerHandshake::reject_error(&e);
                prop_assert!(response.starts_with(b"HTTP/1.1 4"));
            }
        }
        let _ = server.accept(Accept::new());
    }

    #[test]
    fn arbitrary_bytes_after_a_request_prefix_never_panic_the_server(
        cut in 0..REQUEST.len(),
        tail in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut server = server();
        server.handle_read(&REQUEST.as_bytes()[..cut]);
        server.handle_read(&tail);
        if let Ok(Some(_)) = server.poll_request() {
            let _ = server.accept(Accept::new());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_client(
        prefix in prop_oneof![Just(&b""[..]), Just(&b"HTTP/1.1 101 Switching Protocols\r\n"[..]), Just(&b"HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\n"[..])],
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..8),
    ) {
        let mut client = client(ClientRequest::new("example.com", "/").unwrap().subprotocol("a").unwrap());
        let _ = client.poll_transmit();
        client.handle_read(prefix);
        for chunk in &chunks {
            client.handle_read(chunk);
            let _ = client.poll_response();
        }
    }

    #[test]
    fn arbitrary_urls_never_panic_the_request_builder(url in "\\PC{0,40}", tail in "[ -~]{0,40}") {
        let _ = ClientRequest::from_url(&url);
        let _ = ClientRequest::from_url(&format!("ws://{tail}"));
        let _ = ClientRequest::new(&tail, &url);
    }
}
