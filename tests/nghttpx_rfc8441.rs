//! A third-party HTTP/2 WebSocket server on the other side of our client:
//! `nghttpx` (nghttp2's proxy) in front of a Python `websockets` echo
//! server. nghttpx takes RFC 8441 extended CONNECTs on its HTTP/2 frontend
//! (h2c, and h2 over TLS) and turns them into HTTP/1.1 upgrades to the
//! backend; our hyper client must open the WebSocket over HTTP/2, agree
//! permessage-deflate with `websockets` through it, echo 0 B to 1 MiB and
//! close cleanly.
//!
//! Needs `nghttpx` (Debian's `nghttp2-proxy`) and Python's `websockets`
//! (`$WSPROTO_PYTHON`, else `python3`; `.ci/http-peers` installs both);
//! without them the test says so and passes, unless
//! `WSPROTO_REAL_PEERS=1` (as CI sets), where it fails.
#![cfg(all(feature = "hyper", feature = "deflate"))]

mod support;

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::net::TcpStream;
use wsproto::handshake::ClientRequest;
use wsproto::hyper::{self as wshyper, Http, Opening};
use wsproto::Config;

fn required() -> bool {
    std::env::var("WSPROTO_REAL_PEERS").is_ok_and(|v| v == "1")
}

fn have(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Kills the child when dropped.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port free a moment ago, for nghttpx, which takes no port 0.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for(addr: SocketAddr) {
    for _ in 0..200 {
        if TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on {addr}");
}

#[tokio::test]
async fn our_client_through_nghttpx_to_python_websockets_over_h2c_h2_and_http1() {
    let python = std::env::var("WSPROTO_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    if !have("nghttpx", &["--version"])
        || !have(&python, &["-c", "import websockets.asyncio.server"])
    {
        assert!(
            !required(),
            "nghttpx (apt-get install nghttp2-proxy) or python3 websockets (pip install websockets) is missing"
        );
        eprintln!("skipped: nghttpx or python3 websockets is missing");
        return;
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/peers/websockets_echo.py"
    );
    let mut python = Command::new(&python)
        .arg(script)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(python.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _python = Reaper(python);
    let backend: u16 = line.trim().parse().expect("the echo server's port");

    let pki = support::pki();
    let dir =
        std::env::temp_dir().join(format!("wsproto-nghttpx-{}-{backend}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::File::create(&cert)
        .unwrap()
        .write_all(pki.cert_pem.as_bytes())
        .unwrap();
    std::fs::File::create(&key)
        .unwrap()
        .write_all(pki.key_pem.as_bytes())
        .unwrap();
    let (h2c, h2) = (free_port(), free_port());
    let nghttpx = Command::new("nghttpx")
        .arg("--conf=/dev/null")
        .arg(format!("--frontend=127.0.0.1,{h2c};no-tls"))
        .arg(format!("--frontend=127.0.0.1,{h2}"))
        .arg(format!("--backend=127.0.0.1,{backend}"))
        .args([
            "--workers=1",
            "--no-ocsp",
            "--log-level=WARN",
            "--errorlog-file=/dev/stderr",
        ])
        .arg(format!("--pid-file={}", dir.join("pid").display()))
        .arg(&key)
        .arg(&cert)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let _nghttpx = Reaper(nghttpx);
    let h2c: SocketAddr = ([127, 0, 0, 1], h2c).into();
    let h2: SocketAddr = ([127, 0, 0, 1], h2).into();
    wait_for(h2c).await;
    wait_for(h2).await;

    let request = ClientRequest::new("localhost", "/").unwrap();
    // h2c with prior knowledge: extended CONNECT, answered 200.
    let tcp = TcpStream::connect(h2c).await.unwrap();
    let (mut ws, opening, parts) =
        wshyper::client(tcp, Http::Http2, "http", &request, Config::default())
            .await
            .unwrap();
    assert_eq!(
        (opening, parts.status.as_u16()),
        (Opening::ExtendedConnect, 200)
    );
    assert!(
        ws.connection().deflate().is_some(),
        "permessage-deflate through nghttpx: {parts:?}"
    );
    support::exchange(&mut ws).await;

    // h2 over TLS, chosen by ALPN.
    let tcp = TcpStream::connect(h2).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(pki.client.clone())
        .connect(name, tcp)
        .await
        .unwrap();
    let http = Http::from_alpn(tls.get_ref().1.alpn_protocol());
    assert_eq!(http, Http::Http2);
    let (mut ws, opening, _) = wshyper::client(tls, http, "https", &request, Config::default())
        .await
        .unwrap();
    assert_eq!(opening, Opening::ExtendedConnect);
    assert!(ws.connection().deflate().is_some());
    support::exchange(&mut ws).await;

    // HTTP/1.1 through the same proxy: an upgrade, answered 101.
    let tcp = TcpStream::connect(h2c).await.unwrap();
    let (mut ws, opening, parts) =
        wshyper::client(tcp, Http::Http1, "http", &request, Config::default())
            .await
            .unwrap();
    assert_eq!(
        (opening, parts.status.as_u16()),
        (Opening::Http1Upgrade, 101)
    );
    support::exchange(&mut ws).await;
    let _ = std::fs::remove_dir_all(&dir);
}
