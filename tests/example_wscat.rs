//! The wscat example through its standard input and output (pipes in
//! memory): what a user types goes out, what comes back is printed with the
//! negotiated subprotocol and extensions, close codes with their names;
//! `--listen` prints and echoes.

#![cfg(all(feature = "tokio", feature = "deflate"))]
#![allow(dead_code)]

#[path = "../examples/wscat.rs"]
mod wscat;

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};
use tokio::net::TcpListener;
use wsproto::handshake::{Accept, ClientRequest};
use wsproto::tokio::{self as ws, Rejection};
use wsproto::{CloseCode, Config, Message};

const PATIENCE: Duration = Duration::from_secs(20);

fn args(list: &[&str]) -> wscat::Args {
    wscat::parse_args(list.iter().map(|s| s.to_string())).unwrap()
}

/// wscat running on pipes: its stdin to write to, its stdout to read.
struct Running {
    stdin: Option<DuplexStream>,
    stdout: Lines<BufReader<DuplexStream>>,
    task: tokio::task::JoinHandle<Result<(), String>>,
    seen: Vec<String>,
}

impl Running {
    fn start(args: wscat::Args) -> Self {
        let (stdin, input) = tokio::io::duplex(64 * 1024);
        let (output, stdout) = tokio::io::duplex(64 * 1024);
        let task = tokio::spawn(wscat::run(args, input, output));
        Self {
            stdin: Some(stdin),
            stdout: BufReader::new(stdout).lines(),
            task,
            seen: Vec::new(),
        }
    }

    async fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).await.unwrap();
        stdin.write_all(b"\n").await.unwrap();
    }

    /// Ends its input (Ctrl-D).
    fn end_input(&mut self) {
        self.stdin = None;
    }

    /// Reads output lines until one satisfies `want`; returns it.
    async fn expect(&mut self, want: impl Fn(&str) -> bool) -> String {
        loop {
            let line = tokio::time::timeout(PATIENCE, self.stdout.next_line())
                .await
                .unwrap_or_else(|_| panic!("timed out; output so far: {:#?}", self.seen))
                .unwrap()
                .unwrap_or_else(|| panic!("output ended; it was: {:#?}", self.seen));
            self.seen.push(line.clone());
            if want(&line) {
                return line;
            }
        }
    }

    async fn finish(self) -> Result<(), String> {
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .unwrap()
            .unwrap()
    }
}

/// A server that checks the request, then echoes; closes with 1001
/// "going" when it receives "bye please".
async fn echo_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/debug", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let accepted = ws::accept_with(tcp, Config::default(), |request| {
                    if request.header("x-debug") != Some(&b"yes"[..]) {
                        return Err(Rejection::new(400).body("no X-Debug header"));
                    }
                    match request.subprotocols().any(|p| p == "chat") {
                        true => Ok(Accept::new().subprotocol("chat")?),
                        false => Ok(Accept::new()),
                    }
                })
                .await;
                let Ok(mut socket) = accepted else { return };
                while let Ok(message) = socket.recv().await {
                    let bye = matches!(&message, Message::Text(t) if &**t == "bye please");
                    let echo = matches!(message, Message::Text(_) | Message::Binary(_));
                    if bye {
                        let _ = socket.close(CloseCode::GOING_AWAY, "going").await;
                    } else if echo && socket.send(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (url, task)
}

#[tokio::test]
async fn typed_lines_and_commands_go_out_and_echoes_pongs_and_the_close_are_printed() {
    let (url, _server) = echo_server().await;
    let mut wscat = Running::start(args(&[&url, "-H", "X-Debug: yes", "-s", "chat"]));
    let connected = wscat.expect(|l| l.starts_with("* connected")).await;
    assert!(connected.contains("subprotocol: chat"), "{connected}");
    assert!(
        connected.contains("extensions: permessage-deflate"),
        "{connected}"
    );
    wscat.type_line("hello, server").await;
    wscat.expect(|l| l == "< hello, server").await;
    wscat.type_line("/binary 01 02 ff").await;
    wscat.expect(|l| l == "< [binary, 3 bytes] 0102ff").await;
    wscat.type_line("//not a command").await;
    wscat.expect(|l| l == "< /not a command").await;
    wscat.type_line("/ping abc").await;
    wscat
        .expect(|l| l.starts_with("* pong (3 bytes) after"))
        .await;
    wscat.type_line("/frobnicate").await;
    wscat
        .expect(|l| l.starts_with("* unknown command /frobnicate"))
        .await;
    wscat.end_input();
    let closed = wscat.expect(|l| l.starts_with("* closed")).await;
    assert_eq!(closed, "* closed: sent 1000 NORMAL, received 1000 NORMAL");
    wscat.finish().await.unwrap();
}

#[tokio::test]
async fn a_close_from_the_server_is_shown_with_its_code_name_and_reason() {
    let (url, _server) = echo_server().await;
    let mut wscat = Running::start(args(&[&url, "-H", "X-Debug: yes", "--no-deflate"]));
    let connected = wscat.expect(|l| l.starts_with("* connected")).await;
    assert!(
        connected.ends_with("(subprotocol: none; extensions: none)"),
        "{connected}"
    );
    wscat.type_line("bye please").await;
    let closed = wscat.expect(|l| l.starts_with("* closed")).await;
    assert_eq!(closed, "* closed by the server: 1001 GOING_AWAY \"going\"");
    wscat.finish().await.unwrap();
}

#[tokio::test]
async fn a_refused_handshake_is_an_error_that_names_the_status() {
    let (url, _server) = echo_server().await;
    // No X-Debug header: the server answers 400.
    let wscat = Running::start(args(&[&url]));
    let error = wscat.finish().await.unwrap_err();
    assert!(error.contains("400"), "{error}");
}

#[tokio::test]
async fn keepalive_pings_are_sent_on_the_interval_and_their_pongs_shown() {
    let (url, _server) = echo_server().await;
    let mut wscat = Running::start(args(&[&url, "-H", "X-Debug: yes", "--ping", "0.05"]));
    wscat.expect(|l| l.starts_with("* connected")).await;
    // Two rounds, without typing anything.
    wscat
        .expect(|l| l.starts_with("* pong (5 bytes) after"))
        .await;
    wscat
        .expect(|l| l.starts_with("* pong (5 bytes) after"))
        .await;
    wscat.type_line("/close 4000 done here").await;
    let closed = wscat.expect(|l| l.starts_with("* closed")).await;
    assert_eq!(
        closed,
        "* closed: sent 4000 unregistered \"done here\", received 4000 unregistered"
    );
    wscat.finish().await.unwrap();
}

#[tokio::test]
async fn listen_mode_prints_and_echoes_what_each_client_sends() {
    let mut wscat = Running::start(args(&["--listen", "0", "-s", "chat"]));
    let listening = wscat.expect(|l| l.starts_with("* listening on")).await;
    let url = listening.trim_start_matches("* listening on ").to_owned();
    let request = ClientRequest::from_url(&format!("{url}/x"))
        .unwrap()
        .subprotocol("other")
        .unwrap()
        .subprotocol("chat")
        .unwrap();
    let (mut client, response) = ws::connect_with(request, Config::default()).await.unwrap();
    assert_eq!(response.subprotocol(), Some("chat"));
    let connected = wscat.expect(|l| l.contains("connected")).await;
    assert!(connected.contains("subprotocol: chat"), "{connected}");
    assert!(connected.contains("permessage-deflate"), "{connected}");
    client.send_text("hi there").await.unwrap();
    assert_eq!(
        client.recv().await.unwrap(),
        Message::Text("hi there".into())
    );
    wscat.expect(|l| l == "[1] < hi there").await;
    client.send_binary(vec![0xde, 0xad]).await.unwrap();
    assert_eq!(
        client.recv().await.unwrap(),
        Message::Binary(vec![0xde, 0xad].into())
    );
    wscat.expect(|l| l == "[1] < [binary, 2 bytes] dead").await;
    client.close(CloseCode::NORMAL, "thanks").await.unwrap();
    let closed = wscat.expect(|l| l.contains("closed by the client")).await;
    assert_eq!(closed, "* [1] closed by the client: 1000 NORMAL \"thanks\"");
    wscat.end_input();
    wscat.expect(|l| l == "* input closed; stopping").await;
    wscat.finish().await.unwrap();
}

#[test]
fn the_command_line_is_read_and_mistakes_are_named() {
    let parsed = args(&[
        "wss://example.com/x",
        "-H",
        "Authorization: Bearer t",
        "-s",
        "a",
        "-s",
        "b",
        "--ping",
        "2.5",
        "--no-deflate",
        "-o",
        "https://example.com",
    ]);
    assert_eq!(parsed.url.as_deref(), Some("wss://example.com/x"));
    assert_eq!(
        parsed.headers,
        vec![("Authorization".to_owned(), "Bearer t".to_owned())]
    );
    assert_eq!(parsed.protocols, vec!["a", "b"]);
    assert_eq!(parsed.ping, Some(Duration::from_millis(2500)));
    assert!(parsed.no_deflate);
    assert_eq!(
        args(&["--listen", "9001"]).listen.as_deref(),
        Some("127.0.0.1:9001")
    );
    let error = |list: &[&str]| wscat::parse_args(list.iter().map(|s| s.to_string())).unwrap_err();
    assert!(error(&[]).contains("URL"));
    assert!(error(&["ws://a", "-H", "no colon"]).contains("Name: value"));
    assert!(error(&["ws://a", "--ping", "0"]).contains("positive"));
    assert!(error(&["ws://a", "--listen", "1"]).contains("not both"));
    assert!(error(&["ws://a", "--bogus"]).contains("--bogus"));
    assert_eq!(
        wscat::parse_command("/close 1001 see you"),
        Ok(wscat::Command::Close(
            CloseCode::GOING_AWAY,
            "see you".into()
        ))
    );
    assert!(wscat::parse_command("/binary 0g").is_err());
}

/// wss:// with a CA made here, trusted through `--ca`.
#[cfg(feature = "rustls-ring")]
#[tokio::test]
async fn wss_with_a_ca_given_on_the_command_line() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use std::sync::Arc;
    use wsproto::tokio::tls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use wsproto::tokio::tls::rustls::{self, ServerConfig};
    use wsproto::tokio::tls::TlsAcceptor;

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let ca_file = std::env::temp_dir().join(format!("wscat-ca-{}.pem", std::process::id()));
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone(), ca.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        let mut socket = ws::accept(tls).await.unwrap();
        while let Ok(message) = socket.recv().await {
            if let Message::Text(_) = message {
                socket.send(message).await.unwrap();
            }
        }
    });
    let url = format!("wss://localhost:{port}/");
    let mut wscat = Running::start(args(&[&url, "--ca", ca_file.to_str().unwrap()]));
    wscat
        .expect(|l| l.starts_with("* connected to wss://"))
        .await;
    wscat.type_line("over TLS").await;
    wscat.expect(|l| l == "< over TLS").await;
    wscat.end_input();
    wscat.expect(|l| l.starts_with("* closed: sent 1000")).await;
    wscat.finish().await.unwrap();
    let _ = std::fs::remove_file(ca_file);
}
