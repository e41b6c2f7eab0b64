//! The server handshake's tests: RFC 6455 §4.2.1 checks, §4.2.2 answers,
//! rejections and limits.

use super::*;
use crate::entropy::SeededEntropy;
use crate::extensions::CustomExtension;
use crate::handshake::http::Headers;
use crate::{Event, Message};

const REQUEST: &str = "GET /chat?room=1 HTTP/1.1\r\n\
    Host: server.example.com\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Origin: http://example.com\r\n\
    Sec-WebSocket-Protocol: chat, superchat\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

fn read(request: &str) -> Result<Option<Request>, RequestError> {
    let mut server = ServerHandshake::new(Config::default());
    server.handle_read(request.as_bytes());
    server.poll_request()
}

fn without(header: &str) -> String {
    REQUEST
        .split_inclusive("\r\n")
        .filter(|line| !line.starts_with(header))
        .collect()
}

fn replace(header: &str, line: &str) -> String {
    REQUEST
        .split_inclusive("\r\n")
        .map(|l| if l.starts_with(header) { line } else { l })
        .collect()
}

#[test]
fn server_reads_rfc6455_section_1_3_request() {
    let request = read(REQUEST).unwrap().unwrap();
    assert_eq!(request.method(), "GET");
    assert_eq!(request.target(), "/chat?room=1");
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.query(), Some("room=1"));
    assert_eq!(request.host(), "server.example.com");
    assert_eq!(request.origin(), Some("http://example.com"));
    assert_eq!(request.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(
        request.subprotocols().collect::<Vec<_>>(),
        ["chat", "superchat"]
    );
    assert_eq!(request.extensions().count(), 0);
    assert_eq!(request.headers().len(), 7);
    assert_eq!(request.header("upgrade"), Some(&b"websocket"[..]));
}

#[test]
fn server_answers_rfc6455_section_1_3_accept_key() {
    let mut server = ServerHandshake::new(Config::default());
    server.handle_read(REQUEST.as_bytes());
    let (response, conn) = server
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
    assert_eq!(conn.role(), Role::Server);
}

#[test]
fn server_needs_more_bytes_before_the_blank_line() {
    assert_eq!(read(&REQUEST[..REQUEST.len() - 2]), Ok(None));
}

#[test]
fn server_reads_request_fed_one_byte_at_a_time() {
    let mut server = ServerHandshake::new(Config::default());
    for b in REQUEST.as_bytes() {
        assert_eq!(server.poll_request(), Ok(None));
        server.handle_read(std::slice::from_ref(b));
    }
    assert_eq!(server.poll_request(), read(REQUEST));
}

#[test]
fn server_hands_bytes_after_the_head_to_the_connection() {
    let mut server = ServerHandshake::new(Config::default());
    // RFC 6455 §5.7: a masked text frame "Hello", in the same read.
    let mut input = REQUEST.as_bytes().to_vec();
    input.extend_from_slice(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f]);
    server.handle_read(&input);
    assert!(server.poll_request().unwrap().is_some());
    // And the rest of the frame in a later read, before accepting.
    server.handle_read(&[0x9f, 0x4d, 0x51, 0x58]);
    let (_, mut conn) = server.accept(Accept::new()).unwrap();
    match conn.poll_event() {
        Some(Event::Message(Message::Text(text))) => assert_eq!(&*text, "Hello"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn server_rejects_post_with_405() {
    let err = read(&REQUEST.replacen("GET", "POST", 1)).unwrap_err();
    assert_eq!(err, RequestError::Method("POST".into()));
    assert_eq!(err.status(), 405);
    let response = ServerHandshake::reject_error(&err);
    assert!(response.starts_with(b"HTTP/1.1 405 Method Not Allowed\r\n"));
    assert!(contains(&response, b"\r\nAllow: GET\r\n"));
}

#[test]
fn server_rejects_http_1_0_with_400() {
    let err = read(&REQUEST.replacen("HTTP/1.1", "HTTP/1.0", 1)).unwrap_err();
    assert_eq!(err, RequestError::HttpVersion);
    assert_eq!(err.status(), 400);
}

#[test]
fn server_rejects_http_2_request_line_as_malformed() {
    let err = read(&REQUEST.replacen("HTTP/1.1", "HTTP/2.0", 1)).unwrap_err();
    assert_eq!(err, RequestError::Malformed("invalid HTTP version"));
    assert_eq!(err.status(), 400);
}

#[test]
fn server_rejects_missing_host_with_400() {
    let err = read(&without("Host")).unwrap_err();
    assert_eq!(err, RequestError::MissingHeader("Host"));
    assert_eq!(err.status(), 400);
}

#[test]
fn server_rejects_two_hosts() {
    let twice = REQUEST.replacen("Host: server.example.com\r\n", "Host: a\r\nHost: b\r\n", 1);
    assert_eq!(read(&twice), Err(RequestError::DuplicateHeader("Host")));
}

#[test]
fn server_rejects_missing_upgrade_with_400() {
    let err = read(&without("Upgrade")).unwrap_err();
    assert_eq!(err, RequestError::MissingHeader("Upgrade"));
    assert_eq!(err.status(), 400);
}

#[test]
fn server_rejects_upgrade_to_another_protocol() {
    let err = read(&replace("Upgrade", "Upgrade: h2c\r\n")).unwrap_err();
    assert!(matches!(
        err,
        RequestError::InvalidHeader {
            name: "Upgrade",
            ..
        }
    ));
}

#[test]
fn server_accepts_upgrade_in_any_case() {
    assert!(read(&replace("Upgrade", "Upgrade: WebSocket\r\n"))
        .unwrap()
        .is_some());
}

#[test]
fn server_rejects_missing_connection_with_400() {
    let err = read(&without("Connection")).unwrap_err();
    assert_eq!(err, RequestError::MissingHeader("Connection"));
}

#[test]
fn server_rejects_connection_without_upgrade_token() {
    let err = read(&replace("Connection", "Connection: keep-alive\r\n")).unwrap_err();
    assert!(matches!(
        err,
        RequestError::InvalidHeader {
            name: "Connection",
            ..
        }
    ));
}

#[test]
fn server_accepts_connection_keep_alive_upgrade() {
    let request = replace("Connection", "Connection: keep-alive, Upgrade\r\n");
    assert!(read(&request).unwrap().is_some());
    let request = replace(
        "Connection",
        "connection: keep-alive\r\nConnection: upgrade\r\n",
    );
    assert!(read(&request).unwrap().is_some());
}

#[test]
fn server_rejects_missing_key_with_400() {
    let err = read(&without("Sec-WebSocket-Key")).unwrap_err();
    assert_eq!(err, RequestError::MissingHeader("Sec-WebSocket-Key"));
    assert_eq!(err.status(), 400);
    let response = ServerHandshake::reject_error(&err);
    assert!(response.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
    assert!(contains(&response, b"missing Sec-WebSocket-Key header"));
}

#[test]
fn server_rejects_key_that_is_not_16_bytes() {
    for key in [
        "dGhlIHNhbXBsZSBub25jZQ",
        "dGhlIHNhbXBsZSBub25jZXg=",
        "!!!!!!!!!!!!!!!!!!!!!!==",
        "",
    ] {
        let line = format!("Sec-WebSocket-Key: {key}\r\n");
        let err = read(&replace("Sec-WebSocket-Key", &line)).unwrap_err();
        assert!(
            matches!(
                err,
                RequestError::InvalidHeader {
                    name: "Sec-WebSocket-Key",
                    ..
                }
            ),
            "{key}: {err}"
        );
    }
}

#[test]
fn server_rejects_two_keys() {
    let request = replace(
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    );
    assert_eq!(
        read(&request),
        Err(RequestError::DuplicateHeader("Sec-WebSocket-Key"))
    );
}

#[test]
fn server_rejects_missing_version_with_426() {
    let err = read(&without("Sec-WebSocket-Version")).unwrap_err();
    assert_eq!(err, RequestError::UnsupportedVersion(None));
    assert_eq!(err.status(), 426);
    let response = ServerHandshake::reject_error(&err);
    assert!(response.starts_with(b"HTTP/1.1 426 Upgrade Required\r\n"));
    assert!(contains(&response, b"\r\nSec-WebSocket-Version: 13\r\n"));
    assert!(contains(&response, b"\r\nUpgrade: websocket\r\n"));
}

#[test]
fn server_rejects_other_version_with_426() {
    let err = read(&replace(
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Version: 8\r\n",
    ))
    .unwrap_err();
    assert_eq!(err, RequestError::UnsupportedVersion(Some("8".into())));
    assert_eq!(err.status(), 426);
}

#[test]
fn server_rejects_version_list_with_426() {
    let request = replace("Sec-WebSocket-Version", "Sec-WebSocket-Version: 13, 8\r\n");
    assert_eq!(read(&request).unwrap_err().status(), 426);
}

#[test]
fn server_merges_repeated_subprotocol_lines() {
    let request = replace(
        "Sec-WebSocket-Protocol",
        "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: superchat, v2\r\n",
    );
    let request = read(&request).unwrap().unwrap();
    assert_eq!(
        request.subprotocols().collect::<Vec<_>>(),
        ["chat", "superchat", "v2"]
    );
}

#[test]
fn server_rejects_subprotocol_that_is_not_a_token() {
    let request = replace("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: a/b\r\n");
    let err = read(&request).unwrap_err();
    assert!(matches!(
        err,
        RequestError::InvalidHeader {
            name: "Sec-WebSocket-Protocol",
            ..
        }
    ));
}

#[test]
fn server_lists_extension_offers_line_by_line() {
    let request = REQUEST.replacen(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
         Sec-WebSocket-Extensions: x-foo\r\n\r\n",
        1,
    );
    let request = read(&request).unwrap().unwrap();
    assert_eq!(
        request.extensions().collect::<Vec<_>>(),
        ["permessage-deflate; client_max_window_bits", "x-foo"]
    );
}

#[test]
fn server_rejects_head_over_the_cap_with_431_without_waiting() {
    let mut server = ServerHandshake::new(Config::default().max_handshake_size(100));
    server.handle_read(b"GET / HTTP/1.1\r\nX-Long: ");
    assert_eq!(server.poll_request(), Ok(None));
    server.handle_read(&[b'a'; 100]);
    let err = server.poll_request().unwrap_err();
    assert_eq!(err, RequestError::HeadTooLarge { limit: 100 });
    assert_eq!(err.status(), 431);
    let response = ServerHandshake::reject_error(&err);
    assert!(response.starts_with(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"));
}

#[test]
fn server_scans_a_16_kib_request_fed_byte_by_byte_in_linear_time() {
    let mut request = REQUEST.trim_end_matches("\r\n").to_owned() + "\r\n";
    while request.len() < 16 * 1024 - 64 {
        request.push_str("X-Filler: abcdefghijklmnopqrstuvwxyz0123456789\r\n");
    }
    request.push_str("\r\n");
    let n = request.len();
    let mut server = ServerHandshake::new(Config::default().max_handshake_headers(512));
    for b in request.as_bytes() {
        server.handle_read(std::slice::from_ref(b));
    }
    assert!(server.poll_request().unwrap().is_some());
    // Re-scanning (or re-parsing) on every read would be ~n²/2 = 134M.
    assert!(
        server.reader.scanned <= 2 * n,
        "scanned {} for {n}",
        server.reader.scanned
    );
}

#[test]
fn server_rejects_too_many_headers_with_431() {
    let mut server = ServerHandshake::new(Config::default().max_handshake_headers(6));
    server.handle_read(REQUEST.as_bytes());
    let err = server.poll_request().unwrap_err();
    assert_eq!(err, RequestError::TooManyHeaders { limit: 6 });
    assert_eq!(err.status(), 431);
}

#[test]
fn server_rejects_garbage_as_malformed_with_400() {
    let err = read("\x16\x03\x01\x02\x00\r\n\r\n").unwrap_err();
    assert!(matches!(err, RequestError::Malformed(_)), "{err:?}");
    assert_eq!(err.status(), 400);
}

#[test]
fn server_error_text_escapes_peer_bytes() {
    let err = read("G\u{7f}T / HTTP/1.1\r\n\r\n").unwrap_err();
    // httparse refuses a DEL in the method, so the peer's bytes never reach the error.
    assert!(matches!(err, RequestError::Malformed(_)));
    let err = read(&REQUEST.replacen(
        "GET",
        "X-EVIL-METHOD-ABCDEFGHIJKLMNOPQRSTUVWXYZ-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        1,
    ))
    .unwrap_err();
    let response = ServerHandshake::reject_error(&err);
    assert!(contains(&response, b"..."));
}

#[test]
fn server_drops_bytes_after_a_failed_request() {
    let mut server = ServerHandshake::new(Config::default());
    server.handle_read(b"POST / HTTP/1.1\r\n\r\n");
    server.handle_read(b"more");
    assert_eq!(server.poll_request().unwrap_err().status(), 405);
    assert_eq!(
        server.accept(Accept::new()).unwrap_err(),
        BuildError::NoRequest
    );
}

#[test]
fn accept_before_a_request_is_an_error() {
    let server = ServerHandshake::new(Config::default());
    assert_eq!(
        server.accept(Accept::new()).unwrap_err(),
        BuildError::NoRequest
    );
}

#[test]
fn accept_refuses_a_subprotocol_not_offered() {
    let mut server = ServerHandshake::new(Config::default());
    server.handle_read(REQUEST.as_bytes());
    let err = server
        .accept(Accept::new().subprotocol("mqtt").unwrap())
        .unwrap_err();
    assert_eq!(err, BuildError::SubprotocolNotOffered("mqtt".into()));
}

#[test]
fn accept_refuses_a_custom_extension_when_none_was_offered() {
    let mut server = ServerHandshake::new(Config::default());
    server.handle_read(REQUEST.as_bytes());
    let accept = Accept::new().extension(CustomExtension::new("x-foo").unwrap());
    assert_eq!(
        server.accept(accept).unwrap_err(),
        BuildError::ExtensionNotOffered("x-foo".into())
    );
}

#[test]
fn accept_writes_extensions_and_extra_headers() {
    let mut server =
        ServerHandshake::with_entropy(Config::default(), Box::new(SeededEntropy::new(1)));
    let request = REQUEST.replacen(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: x-foo; a=1\r\n\r\n",
        1,
    );
    server.handle_read(request.as_bytes());
    let accept = Accept::new()
        .extension(
            CustomExtension::new("x-foo")
                .unwrap()
                .param("a", Some("2"))
                .unwrap(),
        )
        .header("Set-Cookie", "a=b")
        .unwrap();
    let (response, conn) = server.accept(accept).unwrap();
    assert!(response.ends_with(b"Sec-WebSocket-Extensions: x-foo; a=2\r\nSet-Cookie: a=b\r\n\r\n"));
    assert_eq!(conn.extensions()[0].to_string(), "x-foo; a=2");
}

#[test]
fn accept_refuses_headers_the_handshake_sets() {
    for name in [
        "Sec-WebSocket-Accept",
        "connection",
        "UPGRADE",
        "Content-Length",
    ] {
        assert!(matches!(
            Accept::new().header(name, "x"),
            Err(BuildError::ReservedHeader { .. })
        ));
    }
    assert!(matches!(
        Accept::new().header("X-A", "b\r\nSet-Cookie: evil"),
        Err(BuildError::InvalidHeaderValue(_))
    ));
    assert!(matches!(
        Accept::new().subprotocol("a b"),
        Err(BuildError::InvalidSubprotocol(_))
    ));
}

#[test]
fn reject_adds_content_length_and_connection_close() {
    let response = ServerHandshake::reject(
        403,
        &[("Content-Type", "text/plain")],
        b"origin not allowed",
    )
    .unwrap();
    assert_eq!(
        &response[..],
        b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\
          Content-Length: 18\r\nConnection: close\r\n\r\norigin not allowed"
    );
}

#[test]
fn rejection_with_a_body_says_text_plain_unless_typed_otherwise() {
    let response = ServerHandshake::reject(401, &[], b"who are you?").unwrap();
    assert!(response
        .starts_with(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain; charset=utf-8\r\n"));
    let json =
        ServerHandshake::reject(403, &[("content-type", "application/json")], b"{}").unwrap();
    let headers = parse_response(&json).0;
    assert_eq!(headers.get_all("Content-Type").count(), 1);
    assert_eq!(headers.get("content-type"), Some(&b"application/json"[..]));
    // No body, no type.
    let empty = ServerHandshake::reject(404, &[], b"").unwrap();
    assert!(parse_response(&empty).0.get("Content-Type").is_none());
    let error = ServerHandshake::reject_error(&RequestError::MissingHeader("Host"));
    let headers = parse_response(&error).0;
    assert_eq!(
        headers.get("Content-Type"),
        Some(&b"text/plain; charset=utf-8"[..])
    );
}

/// The headers and the body length of a complete response.
fn parse_response(response: &Bytes) -> (Headers, usize) {
    let mut parsed = [httparse::EMPTY_HEADER; 8];
    let mut res = httparse::Response::new(&mut parsed);
    let httparse::Status::Complete(n) = res.parse(response).unwrap() else {
        panic!("incomplete response");
    };
    (
        Headers::from_parsed(response, res.headers),
        response.len() - n,
    )
}

#[test]
fn reject_refuses_status_101_and_injected_headers() {
    assert_eq!(
        ServerHandshake::reject(101, &[], b""),
        Err(BuildError::InvalidStatus(101))
    );
    assert!(ServerHandshake::reject(401, &[("WWW-Authenticate", "Basic\r\nX: y")], b"").is_err());
    assert!(matches!(
        ServerHandshake::reject(401, &[("Content-Length", "0")], b""),
        Err(BuildError::ReservedHeader { .. })
    ));
}

#[test]
fn reject_with_an_unnamed_status_keeps_the_space_before_an_empty_reason() {
    let response = ServerHandshake::reject(499, &[], b"").unwrap();
    assert!(response.starts_with(b"HTTP/1.1 499 \r\n"));
}

#[test]
fn every_rejection_has_content_length_and_connection_close() {
    for err in [
        RequestError::HeadTooLarge { limit: 1 },
        RequestError::Method("PUT".into()),
        RequestError::UnsupportedVersion(Some("8".into())),
        RequestError::MissingHeader("Host"),
        RequestError::Timeout,
        RequestError::TooMuchDataAfterHead { limit: 14 },
    ] {
        let response = ServerHandshake::reject_error(&err);
        assert!(response.starts_with(format!("HTTP/1.1 {} ", err.status()).as_bytes()));
        let (headers, body_len) = parse_response(&response);
        assert_eq!(
            headers.get_str("Content-Length"),
            Some(&*body_len.to_string())
        );
        assert!(headers.contains_token("Connection", "close"));
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn server_fails_more_than_a_frame_of_bytes_after_the_head_with_400() {
    let config = Config::default().max_frame_size(1024);
    let limit = 1024 + 14;
    let mut server = ServerHandshake::new(config);
    server.handle_read(REQUEST.as_bytes());
    assert!(server.poll_request().unwrap().is_some());
    // A frame's worth is kept for the connection...
    server.handle_read(&[0u8; 1024]);
    server.handle_read(&[0u8; 14]);
    assert!(server.poll_request().unwrap().is_some());
    // ...one byte more is an error, never silently dropped.
    server.handle_read(&[0u8; 1]);
    let err = server.poll_request().unwrap_err();
    assert_eq!(err, RequestError::TooMuchDataAfterHead { limit });
    assert_eq!(err.status(), 400);
    assert_eq!(
        server.accept(Accept::new()).unwrap_err(),
        BuildError::NoRequest
    );
}

#[test]
fn server_fails_a_single_read_that_overshoots_the_head_by_more_than_a_frame() {
    let mut server = ServerHandshake::new(Config::default().max_frame_size(16));
    let mut input = REQUEST.as_bytes().to_vec();
    input.extend_from_slice(&[0u8; 31]);
    server.handle_read(&input);
    assert_eq!(
        server.poll_request(),
        Err(RequestError::TooMuchDataAfterHead { limit: 30 })
    );
    let mut server = ServerHandshake::new(Config::default().max_frame_size(16));
    input.pop();
    server.handle_read(&input);
    assert!(server.poll_request().unwrap().is_some());
}

#[test]
fn server_reads_its_limits_from_the_config() {
    let config = Config::default()
        .max_handshake_size(64)
        .max_handshake_headers(3);
    assert_eq!(
        (config.max_handshake_size, config.max_handshake_headers),
        (64, 3)
    );
    let mut server = ServerHandshake::new(config.clone());
    server.handle_read(&REQUEST.as_bytes()[..64]);
    assert_eq!(
        server.poll_request(),
        Err(RequestError::HeadTooLarge { limit: 64 })
    );
    let mut server = ServerHandshake::new(config.max_handshake_size(1024));
    server.handle_read(REQUEST.as_bytes());
    assert_eq!(
        server.poll_request(),
        Err(RequestError::TooManyHeaders { limit: 3 })
    );
}

#[cfg(feature = "deflate")]
#[test]
fn accepted_permessage_deflate_turns_the_servers_codec_on() {
    use crate::extensions::{ClientMaxWindowBits, DeflateParams};
    use crate::handshake::DeflateAnswer;

    let request = REQUEST.replacen(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
        1,
    );
    for answer in [DeflateAnswer::Negotiate, {
        DeflateAnswer::Accept(DeflateParams {
            client_max_window_bits: Some(ClientMaxWindowBits::Bits(10)),
            ..DeflateParams::default()
        })
    }] {
        let mut server = ServerHandshake::new(Config::default());
        server.handle_read(request.as_bytes());
        let (response, conn) = server.accept(Accept::new().deflate(answer)).unwrap();
        assert!(contains(
            &response,
            b"\r\nSec-WebSocket-Extensions: permessage-deflate"
        ));
        assert!(conn.deflate().is_some());
    }
    let mut server = ServerHandshake::new(Config::default());
    server.handle_read(request.as_bytes());
    let accept = Accept::new().deflate(DeflateAnswer::Decline);
    let (response, conn) = server.accept(accept).unwrap();
    assert!(!contains(&response, b"Sec-WebSocket-Extensions"));
    assert!(conn.deflate().is_none());
}

/// The request's method and header fields, as an HTTP stack parsed them.
fn as_fields(request: &str) -> (String, Vec<(String, String)>) {
    let mut lines = request.split("\r\n");
    let method = lines.next().unwrap().split(' ').next().unwrap().to_owned();
    let fields = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_owned(), v.trim().to_owned())
        })
        .collect();
    (method, fields)
}

#[test]
fn upgrade_request_on_header_lists_agrees_with_the_byte_handshake() {
    let cases = [
        REQUEST.to_owned(),
        without("Sec-WebSocket-Key"),
        without("Upgrade"),
        without("Host"),
        replace("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8\r\n"),
        replace("Connection", "Connection: keep-alive\r\n"),
        replace("Sec-WebSocket-Key", "Sec-WebSocket-Key: c2hvcnQ=\r\n"),
        REQUEST.replacen("GET", "POST", 1),
    ];
    for case in cases {
        let (method, fields) = as_fields(&case);
        let listed = UpgradeRequest::from_headers(
            &method,
            fields.iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
        );
        match (read(&case), listed) {
            (Ok(Some(request)), Ok(listed)) => {
                assert_eq!(listed.key(), request.key());
                assert_eq!(listed.origin(), request.origin());
                assert_eq!(listed.offers(), request.offers());
                let accept = Accept::new().subprotocol("chat").unwrap();
                let response = listed.accept(&accept, &Config::default().deflate).unwrap();
                let mut server = ServerHandshake::new(Config::default());
                server.handle_read(case.as_bytes());
                server.poll_request().unwrap().unwrap();
                let (bytes, _) = server.accept(accept).unwrap();
                let mut head = String::from("HTTP/1.1 101 Switching Protocols\r\n");
                for (n, v) in &response.fields {
                    head.push_str(&format!("{n}: {v}\r\n"));
                }
                head.push_str("\r\n");
                assert_eq!(head.as_bytes(), &bytes[..], "the same 101");
            }
            (Err(bytes), Err(listed)) => assert_eq!(bytes, listed, "{case}"),
            (bytes, listed) => panic!("{case}: {bytes:?} but {listed:?}"),
        }
    }
}
