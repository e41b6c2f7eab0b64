//! The client handshake's tests: the request, and the checks of RFC 6455
//! §4.1 on the answer.

use super::*;
use crate::entropy::SeededEntropy;
use crate::extensions::{CustomExtension, DeflateConfig};
use crate::handshake::accept_key;
use crate::{Event, Message};

/// A client handshake that offers no extension unless the request does.
fn handshake(request: ClientRequest) -> ClientHandshake {
    let config = Config::default().deflate(DeflateConfig::default().enabled(false));
    ClientHandshake::with_entropy(request, config, Box::new(SeededEntropy::new(7)))
}

/// A valid 101 for `client`, with `extra` header lines.
fn response_for(client: &ClientHandshake, extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_key(client.key().as_bytes())
    )
}

fn respond(mut client: ClientHandshake, response: &str) -> Result<Option<Outcome>, ResponseError> {
    client.handle_read(response.as_bytes());
    client.poll_response()
}

/// The response and connection of an accepted handshake.
fn accepted(outcome: Option<Outcome>) -> (Response, Connection) {
    match outcome {
        Some(Outcome::Accepted(response, conn)) => (response, conn),
        other => panic!("not accepted: {other:?}"),
    }
}

fn check(request: ClientRequest, extra: &str) -> Result<Response, ResponseError> {
    let client = handshake(request);
    let response = response_for(&client, extra);
    respond(client, &response).map(|r| accepted(r).0)
}

fn plain() -> ClientRequest {
    ClientRequest::from_url("ws://example.com/chat").unwrap()
}

#[test]
fn client_request_is_byte_exact_with_seeded_entropy() {
    let request = ClientRequest::from_url("ws://example.com:8080/chat?x=1")
        .unwrap()
        .origin("http://example.com")
        .unwrap()
        .subprotocol("chat")
        .unwrap()
        .subprotocol("superchat")
        .unwrap()
        .extension(
            CustomExtension::new("x-foo")
                .unwrap()
                .param("bar", None)
                .unwrap(),
        )
        .header("Authorization", "Bearer abc")
        .unwrap();
    let mut client = handshake(request);
    let mut nonce = [0u8; 16];
    SeededEntropy::new(7).fill(&mut nonce);
    assert_eq!(client.key(), BASE64.encode(nonce));
    let expected = format!(
        "GET /chat?x=1 HTTP/1.1\r\n\
         Host: example.com:8080\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Key: {}\r\n\
         Sec-WebSocket-Version: 13\r\n\
         Origin: http://example.com\r\n\
         Sec-WebSocket-Protocol: chat, superchat\r\n\
         Sec-WebSocket-Extensions: x-foo; bar\r\n\
         Authorization: Bearer abc\r\n\r\n",
        client.key()
    );
    assert_eq!(client.poll_transmit().unwrap(), expected.as_bytes());
    assert_eq!(client.poll_transmit(), None);
}

#[test]
fn client_key_is_base64_of_16_bytes() {
    let client = ClientHandshake::new(plain(), Config::default());
    assert_eq!(BASE64.decode(client.key()).unwrap().len(), 16);
}

#[test]
fn client_accepts_valid_101() {
    let response = check(plain(), "").unwrap();
    assert_eq!(response.status(), 101);
    assert_eq!(response.reason(), "Switching Protocols");
    assert_eq!(response.subprotocol(), None);
    assert_eq!(response.extensions(), None);
    assert!(response.body().is_empty());
}

#[test]
fn client_hands_a_client_connection_the_bytes_after_the_head() {
    let mut client = handshake(plain());
    let mut input = response_for(&client, "").into_bytes();
    input.extend_from_slice(&[0x81, 0x05, b'H', b'e']);
    client.handle_read(&input);
    client.handle_read(b"llo");
    let (_, mut conn) = accepted(client.poll_response().unwrap());
    assert_eq!(conn.role(), Role::Client);
    match conn.poll_event() {
        Some(Event::Message(Message::Text(text))) => assert_eq!(&*text, "Hello"),
        other => panic!("unexpected {other:?}"),
    }
    // Handed over once.
    assert!(client.poll_response().unwrap().is_none());
}

#[test]
fn client_reports_other_status_as_rejected_with_headers_and_body() {
    let client = handshake(plain());
    let outcome = respond(
        client,
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nno entry!trailing",
    )
    .unwrap();
    let Some(Outcome::Rejected(response)) = outcome else {
        panic!("unexpected {outcome:?}");
    };
    assert_eq!(response.status(), 403);
    assert_eq!(response.reason(), "Forbidden");
    assert_eq!(response.header("content-type"), Some(&b"text/plain"[..]));
    assert_eq!(&response.body()[..], b"no entry!");
}

#[test]
fn client_hands_a_rejection_over_once() {
    let mut client = handshake(plain());
    client.handle_read(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n\r\n");
    assert!(matches!(
        client.poll_response(),
        Ok(Some(Outcome::Rejected(_)))
    ));
    client.handle_read(b"more");
    assert!(matches!(client.poll_response(), Ok(None)));
}

#[test]
fn client_names_missing_upgrade_header() {
    let client = handshake(plain());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(client.key().as_bytes())
    );
    let err = respond(client, &response).unwrap_err();
    assert_eq!(err, ResponseError::MissingHeader("Upgrade"));
    assert!(err.to_string().contains("Upgrade"));
}

#[test]
fn client_names_wrong_upgrade_header() {
    let client = handshake(plain());
    let response = response_for(&client, "").replace("Upgrade: websocket", "Upgrade: h2c");
    let err = respond(client, &response).unwrap_err();
    assert!(matches!(
        err,
        ResponseError::InvalidHeader {
            name: "Upgrade",
            ..
        }
    ));
}

#[test]
fn client_accepts_upgrade_in_any_case() {
    let client = handshake(plain());
    let response = response_for(&client, "").replace("Upgrade: websocket", "upgrade: WebSocket");
    assert!(respond(client, &response).unwrap().is_some());
}

#[test]
fn client_names_connection_without_upgrade_token() {
    let client = handshake(plain());
    let response = response_for(&client, "").replace("Connection: Upgrade", "Connection: close");
    let err = respond(client, &response).unwrap_err();
    assert!(matches!(
        err,
        ResponseError::InvalidHeader {
            name: "Connection",
            ..
        }
    ));
    let client = handshake(plain());
    let response = response_for(&client, "").replace("Connection: Upgrade\r\n", "");
    assert_eq!(
        respond(client, &response).unwrap_err(),
        ResponseError::MissingHeader("Connection")
    );
}

#[test]
fn client_accepts_connection_keep_alive_upgrade() {
    let client = handshake(plain());
    let response =
        response_for(&client, "").replace("Connection: Upgrade", "Connection: keep-alive, upgrade");
    assert!(respond(client, &response).unwrap().is_some());
}

#[test]
fn client_names_wrong_accept_header() {
    let client = handshake(plain());
    let response = response_for(&client, "").replace(
        &accept_key(client.key().as_bytes()),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    );
    let err = respond(client, &response).unwrap_err();
    assert_eq!(err, ResponseError::AcceptMismatch);
    assert!(err.to_string().contains("Sec-WebSocket-Accept"));
}

#[test]
fn client_names_missing_accept_header() {
    let client = handshake(plain());
    let response =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    assert_eq!(
        respond(client, response).unwrap_err(),
        ResponseError::MissingHeader("Sec-WebSocket-Accept")
    );
}

#[test]
fn client_rejects_two_accept_headers() {
    let client = handshake(plain());
    let accept = accept_key(client.key().as_bytes());
    let response = response_for(&client, &format!("Sec-WebSocket-Accept: {accept}\r\n"));
    assert_eq!(
        respond(client, &response).unwrap_err(),
        ResponseError::DuplicateHeader("Sec-WebSocket-Accept")
    );
}

#[test]
fn client_exposes_the_chosen_subprotocol() {
    let request = plain()
        .subprotocol("chat")
        .unwrap()
        .subprotocol("superchat")
        .unwrap();
    let response = check(request, "Sec-WebSocket-Protocol: superchat\r\n").unwrap();
    assert_eq!(response.subprotocol(), Some("superchat"));
}

#[test]
fn client_names_subprotocol_not_offered() {
    let request = plain().subprotocol("chat").unwrap();
    let err = check(request, "Sec-WebSocket-Protocol: mqtt\r\n").unwrap_err();
    assert_eq!(err, ResponseError::UnofferedSubprotocol("mqtt".into()));
    assert!(err.to_string().contains("Sec-WebSocket-Protocol"));
    let err = check(plain(), "Sec-WebSocket-Protocol: chat\r\n").unwrap_err();
    assert_eq!(err, ResponseError::UnofferedSubprotocol("chat".into()));
}

#[test]
fn client_rejects_a_list_of_subprotocols_in_the_response() {
    let request = plain().subprotocol("a").unwrap().subprotocol("b").unwrap();
    let err = check(request.clone(), "Sec-WebSocket-Protocol: a, b\r\n").unwrap_err();
    assert!(matches!(err, ResponseError::UnofferedSubprotocol(_)));
    let err = check(
        request,
        "Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b\r\n",
    )
    .unwrap_err();
    assert_eq!(
        err,
        ResponseError::DuplicateHeader("Sec-WebSocket-Protocol")
    );
}

#[test]
fn client_names_extensions_when_none_were_offered() {
    let err = check(plain(), "Sec-WebSocket-Extensions: permessage-deflate\r\n").unwrap_err();
    assert_eq!(
        err,
        ResponseError::UnofferedExtension("permessage-deflate".into())
    );
    assert!(err.to_string().contains("Sec-WebSocket-Extensions"));
}

#[test]
fn client_exposes_the_extension_answer_when_it_offered_some() {
    let request = plain().extension(CustomExtension::new("x-foo").unwrap());
    let client = handshake(request);
    let response = response_for(&client, "Sec-WebSocket-Extensions: x-foo; a=1\r\n");
    let (response, conn) = accepted(respond(client, &response).unwrap());
    assert_eq!(response.extensions(), Some("x-foo; a=1"));
    assert_eq!(conn.extensions()[0].to_string(), "x-foo; a=1");
}

#[test]
fn client_with_custom_offers_fails_an_answer_naming_another_extension() {
    // RFC 6455 §4.1, response check 5, with custom offers too.
    let request = plain().extension(CustomExtension::new("x-mine").unwrap());
    let err = check(request, "Sec-WebSocket-Extensions: x-other\r\n").unwrap_err();
    assert_eq!(err, ResponseError::UnofferedExtension("x-other".into()));
}

#[cfg(feature = "deflate")]
#[test]
fn client_with_custom_offers_still_offers_and_runs_permessage_deflate() {
    let request = plain().extension(CustomExtension::new("x-mine").unwrap());
    let mut client =
        ClientHandshake::with_entropy(request, Config::default(), Box::new(SeededEntropy::new(7)));
    let sent = client.poll_transmit().unwrap();
    let sent = String::from_utf8_lossy(&sent);
    assert!(sent.contains(
        "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, permessage-deflate, x-mine\r\n"
    ));
    let response = response_for(
        &client,
        "Sec-WebSocket-Extensions: permessage-deflate, x-mine\r\n",
    );
    let (_, conn) = accepted(respond(client, &response).unwrap());
    assert!(conn.deflate().is_some());
    assert_eq!(conn.extensions()[0].name(), "x-mine");
}

#[test]
fn client_fails_more_than_a_frame_of_bytes_after_the_101() {
    let config = Config::default()
        .deflate(DeflateConfig::default().enabled(false))
        .max_frame_size(100);
    let mut client =
        ClientHandshake::with_entropy(plain(), config, Box::new(SeededEntropy::new(7)));
    let response = response_for(&client, "");
    client.handle_read(response.as_bytes());
    client.handle_read(&[0x81; 114]);
    client.handle_read(&[0x81; 1]);
    assert_eq!(
        client.poll_response().unwrap_err(),
        ResponseError::TooMuchDataAfterHead { limit: 114 }
    );
}

#[test]
fn client_rejects_http_1_0_101() {
    let client = handshake(plain());
    let response = response_for(&client, "").replace("HTTP/1.1", "HTTP/1.0");
    assert_eq!(
        respond(client, &response).unwrap_err(),
        ResponseError::HttpVersion
    );
}

#[test]
fn client_rejects_head_over_the_cap_without_waiting() {
    let config = Config::default().max_handshake_size(64);
    let mut client =
        ClientHandshake::with_entropy(plain(), config, Box::new(SeededEntropy::new(7)));
    client.handle_read(&[b'x'; 63]);
    assert!(matches!(client.poll_response(), Ok(None)));
    client.handle_read(b"x");
    assert_eq!(
        client.poll_response().err(),
        Some(ResponseError::HeadTooLarge { limit: 64 })
    );
}

#[test]
fn client_reads_response_fed_one_byte_at_a_time() {
    let mut client = handshake(plain().subprotocol("chat").unwrap());
    let response = response_for(&client, "Sec-WebSocket-Protocol: chat\r\n");
    for b in response.as_bytes() {
        assert_eq!(client.poll_response().unwrap().map(|_| ()), None);
        client.handle_read(std::slice::from_ref(b));
    }
    let (response, conn) = accepted(client.poll_response().unwrap());
    assert_eq!(response.subprotocol(), Some("chat"));
    assert_eq!(conn.subprotocol(), Some("chat"));
}
