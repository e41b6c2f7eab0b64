//! Chromium against `axum_echo` (the example's own code, served here):
//! headless Chromium loads the test page over `https` and HTTP/2, opens
//! `wss://` to the same origin, and the WebSocket runs over the HTTP/2
//! connection (RFC 8441 extended CONNECT, counted by the server) with
//! permessage-deflate; messages of 0 B to 1 MiB echo exactly, as the page
//! checks and reports.
//!
//! Chromium is driven through the DevTools protocol over its
//! `--remote-debugging-port` WebSocket, with this crate's own client.
//! `Network.webSocketHandshakeResponseReceived` reports status 200 (not
//! 101) over HTTP/2; its `headersText` is HTTP/1.1 text Chromium makes up,
//! so the protocol is read from the server's count and the page's
//! `Network.responseReceived`, not from it.
//!
//! Needs Debian's `chromium`; without it the test says so and passes,
//! unless `WSPROTO_REAL_PEERS=1` (as CI sets), where it fails.
#![cfg(all(feature = "axum", feature = "deflate"))]

mod support;

#[path = "../examples/axum_echo.rs"]
#[allow(dead_code, unreachable_pub)]
mod axum_echo;

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use wsproto::Message;

fn required() -> bool {
    std::env::var("WSPROTO_REAL_PEERS").is_ok_and(|v| v == "1")
}

fn find(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// A DevTools session over our WebSocket client.
struct Devtools {
    ws: wsproto::tokio::WebSocketStream<wsproto::tokio::MaybeTlsStream>,
    next_id: u64,
    events: Vec<Value>,
}

impl Devtools {
    async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.ws
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
        loop {
            let Message::Text(text) = self.ws.recv().await.unwrap() else {
                continue;
            };
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["id"] == json!(id) {
                assert!(value.get("error").is_none(), "{method}: {value}");
                return value["result"].clone();
            }
            self.events.push(value);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_opens_wss_over_http2_with_permessage_deflate() {
    let Some(chromium) = find("chromium").or_else(|| find("chromium-browser")) else {
        assert!(
            !required(),
            "chromium is not installed (apt-get install chromium)"
        );
        eprintln!("skipped: chromium is not installed");
        return;
    };
    let pki = support::pki();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let stats = Arc::new(axum_echo::Stats::default());
    tokio::spawn(axum_echo::serve(
        listener,
        Some(pki.server.clone()),
        axum_echo::router(stats.clone()),
    ));

    let profile =
        std::env::temp_dir().join(format!("wsproto-chromium-{}-{port}", std::process::id()));
    let mut child = Command::new(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        // The test CA's leaf, trusted by its key: the connection is treated
        // as secure, as with a real certificate.
        .arg(format!(
            "--ignore-certificate-errors-spki-list={}",
            pki.spki_sha256
        ))
        .arg("about:blank")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(60));
    let result = match url {
        Ok(url) => tokio::time::timeout(Duration::from_secs(120), drive(&url, port)).await,
        Err(_) => {
            let _ = child.kill();
            panic!("chromium did not open its DevTools port");
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&profile);
    let (report, events) = result.expect("the page finished within two minutes");

    // The page checked every echo.
    assert_eq!(report["ok"], json!(true), "{report}");
    let checked = report["checked"].as_array().unwrap();
    assert_eq!(checked.len(), support::SIZES.len(), "{report}");
    assert_eq!(checked.last().unwrap()["size"], json!(1 << 20));
    assert_eq!(report["closeCode"], json!(1000), "{report}");
    // permessage-deflate, as the browser saw it...
    let extensions = report["extensions"].as_str().unwrap();
    assert!(extensions.starts_with("permessage-deflate"), "{extensions}");
    // ...and the server: one WebSocket, over an extended CONNECT.
    assert_eq!(stats.extended_connect.load(Ordering::SeqCst), 1);
    assert_eq!(stats.http1.load(Ordering::SeqCst), 0);
    assert_eq!(stats.deflate.load(Ordering::SeqCst), 1);
    // The page came over h2, and the WebSocket's handshake was a 200.
    let page = events
        .iter()
        .find(|e| e["method"] == "Network.responseReceived" && e["params"]["type"] == "Document")
        .expect("the page's response");
    assert_eq!(
        page["params"]["response"]["protocol"],
        json!("h2"),
        "{page}"
    );
    let handshake = events
        .iter()
        .find(|e| e["method"] == "Network.webSocketHandshakeResponseReceived")
        .expect("the WebSocket's handshake");
    assert_eq!(
        handshake["params"]["response"]["status"],
        json!(200),
        "{handshake}"
    );
}

/// Opens the page in a new target and runs its test; the report and the
/// Network events seen.
async fn drive(devtools_url: &str, port: u16) -> (Value, Vec<Value>) {
    let (ws, _) = wsproto::tokio::connect(devtools_url).await.unwrap();
    let mut devtools = Devtools {
        ws,
        next_id: 0,
        events: Vec::new(),
    };
    let target = devtools
        .call(None, "Target.createTarget", json!({ "url": "about:blank" }))
        .await;
    let attached = devtools
        .call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        )
        .await;
    let session = attached["sessionId"].as_str().unwrap().to_owned();
    let session = Some(session.as_str());
    devtools.call(session, "Network.enable", json!({})).await;
    devtools.call(session, "Page.enable", json!({})).await;
    let page = format!("https://127.0.0.1:{port}/");
    devtools
        .call(session, "Page.navigate", json!({ "url": page }))
        .await;
    // Wait (bounded) until the page's script is there.
    let mut ready = false;
    for _ in 0..300 {
        let found = devtools
            .call(
                session,
                "Runtime.evaluate",
                json!({ "expression": "typeof window.runTest", "returnByValue": true }),
            )
            .await;
        if found["result"]["value"] == json!("function") {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the test page did not load");
    let run = devtools
        .call(
            session,
            "Runtime.evaluate",
            json!({ "expression": "runTest()", "awaitPromise": true, "returnByValue": true }),
        )
        .await;
    assert!(run.get("exceptionDetails").is_none(), "{run}");
    let report = run["result"]["value"].clone();
    // The events that arrived while the test ran, up to its close.
    let _ = devtools.call(None, "Target.getTargets", json!({})).await;
    (report, devtools.events)
}
