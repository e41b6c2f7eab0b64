//! The chat page in a real browser: Chromium, headless, driven over the
//! DevTools protocol by our own blocking client. Two pages join a room on
//! one instance and a third on a second instance (rooms shared through a
//! Redis of the test's own); each page's message appears on the others; a
//! page from another origin is refused; a screenshot of the page is written
//! to `target/tmp/chat-browser.png`.
//!
//! Needs `chromium` (or the browser named by `CHROMIUM`) and `redis-server`
//! on the PATH: `.ci/run` installs both. Without them the test fails.

#![cfg(all(feature = "axum", feature = "deflate"))]
#![allow(dead_code)]

#[path = "../examples/chat/main.rs"]
mod chat;
mod chat_support;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use chat_support::{Instance, Redis};
use serde_json::{json, Value};
use wsproto::blocking::{self, WebSocket};
use wsproto::Message;

const PATIENCE: Duration = Duration::from_secs(30);

/// A headless Chromium and a DevTools connection to it.
struct Chromium {
    child: Child,
    devtools: WebSocket<TcpStream>,
    next_id: u64,
    profile: std::path::PathBuf,
}

impl Chromium {
    fn launch() -> Self {
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
        let profile =
            std::env::temp_dir().join(format!("wsproto-chat-chromium-{}", std::process::id()));
        let mut child = Command::new(&binary)
            .args([
                "--headless=new",
                // Root in CI: Chromium's sandbox needs a user namespace.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
                "--window-size=1000,640",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{binary} must be installed (apt-get install chromium): {e}")
            });
        // Chromium names its DevTools endpoint on stderr; the rest is drained
        // so that it never blocks on a full pipe.
        let stderr = child.stderr.take().unwrap();
        let (found, endpoint) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = found.send(url.trim().to_owned());
                }
            }
        });
        let url = endpoint
            .recv_timeout(PATIENCE)
            .expect("Chromium printed its DevTools endpoint");
        let (mut devtools, _) = blocking::connect(&url).expect("DevTools connection");
        devtools.set_read_timeout(Some(PATIENCE));
        Self {
            child,
            devtools,
            next_id: 1,
            profile,
        }
    }

    /// Calls a DevTools method and returns its result (events in between
    /// are skipped).
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut request = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            request["sessionId"] = json!(session);
        }
        self.devtools
            .send_text(request.to_string().as_str())
            .expect("a DevTools request");
        loop {
            let message = self.devtools.read().expect("a DevTools answer");
            let Message::Text(text) = message else {
                continue;
            };
            let answer: Value = serde_json::from_str(&text).expect("DevTools JSON");
            if answer["id"] == json!(id) {
                if let Some(error) = answer.get("error") {
                    panic!("{method}: {error}");
                }
                return answer["result"].clone();
            }
        }
    }

    /// Opens a page at `url`; returns its session.
    fn open(&mut self, url: &str) -> String {
        let target = self.call(None, "Target.createTarget", json!({"url": url}));
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        attached["sessionId"].as_str().unwrap().to_owned()
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its value.
    fn eval(&mut self, session: &str, expression: &str) -> Value {
        let result = self.call(
            Some(session),
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(details) = result.get("exceptionDetails") {
            panic!("{expression}: {details}");
        }
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` until it is true (bounded).
    fn wait_until(&mut self, session: &str, expression: &str) {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if self.eval(session, expression) == json!(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let state = self.eval(
            session,
            "JSON.stringify({status: chat.status, messages: chat.messages, members: chat.members})",
        );
        panic!("never true: {expression}; page state: {state}");
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A JavaScript string literal.
fn js(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

#[test]
fn pages_on_two_instances_chat_through_redis_and_another_origin_is_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let redis = Redis::start();
    let options = || chat::Options {
        listen: "127.0.0.1:0".parse().unwrap(),
        redis: Some(redis.url()),
        token: Some("letmein".into()),
        ..chat::Options::default()
    };
    let (a, b) = runtime.block_on(async {
        (
            Instance::start(options()).await,
            Instance::start(options()).await,
        )
    });
    let mut chromium = Chromium::launch();
    let page = |addr: std::net::SocketAddr, name: &str| {
        format!("http://{addr}/?room=lobby&name={name}&token=letmein")
    };
    let ann = chromium.open(&page(a.addr, "ann"));
    let bob = chromium.open(&page(a.addr, "bob"));
    let cyd = chromium.open(&page(b.addr, "cyd"));
    for session in [&ann, &bob, &cyd] {
        chromium.wait_until(session, "!!window.chat && chat.status.startsWith('in ')");
    }
    // The two pages on the same instance see each other in the member list.
    chromium.wait_until(
        &ann,
        "chat.members.includes('ann') && chat.members.includes('bob')",
    );

    // The instances' Redis subscriptions may come up after the pages joined:
    // probe across until one message gets through each way.
    for (from, to) in [(&cyd, &ann), (&ann, &cyd)] {
        let mut delivered = false;
        for i in 0..40 {
            let probe = format!("probe {i}");
            chromium.eval(from, &format!("chat.send({})", js(&probe)));
            let deadline = Instant::now() + Duration::from_millis(500);
            while Instant::now() < deadline && !delivered {
                delivered = chromium.eval(
                    to,
                    &format!(
                        "chat.messages.some(m => !m.mine && m.text === {})",
                        js(&probe)
                    ),
                ) == json!(true);
                std::thread::sleep(Duration::from_millis(50));
            }
            if delivered {
                break;
            }
        }
        assert!(delivered, "no probe crossed between the instances");
    }

    // Each page's message appears on the two others, text unchanged.
    let pages = [("ann", &ann), ("bob", &bob), ("cyd", &cyd)];
    for (name, sender) in pages {
        let text = format!("hello from {name}: <b>not bold</b> ✓");
        assert_eq!(
            chromium.eval(sender, &format!("chat.send({})", js(&text))),
            json!(true)
        );
        for (other, receiver) in pages {
            if other == name {
                continue;
            }
            chromium.wait_until(
                receiver,
                &format!(
                    "chat.messages.some(m => !m.mine && m.name === {} && m.text === {} && m.room === 'lobby')",
                    js(name),
                    js(&text)
                ),
            );
        }
    }
    // Rendered as text, not as markup.
    assert_eq!(
        chromium.eval(&ann, "document.querySelectorAll('#log b').length"),
        json!(0)
    );
    assert!(chromium
        .eval(&ann, "document.getElementById('log').innerText")
        .as_str()
        .unwrap()
        .contains("hello from cyd: <b>not bold</b> ✓"));

    // A page of another origin (instance B's) may not open a WebSocket on
    // instance A, even with the token; A's own page may.
    let attempt = format!(
        "new Promise(done => {{ const ws = new WebSocket('ws://{}/ws?room=lobby&token=letmein'); \
         ws.onopen = () => {{ ws.close(); done('open'); }}; ws.onerror = () => done('refused'); }})",
        a.addr
    );
    assert_eq!(chromium.eval(&cyd, &attempt), json!("refused"));
    assert_eq!(chromium.eval(&bob, &attempt), json!("open"));

    // The screenshot: the page after the conversation.
    let shot = chromium.call(
        Some(&ann),
        "Page.captureScreenshot",
        json!({"format": "png"}),
    );
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("chat-browser.png");
    std::fs::write(&path, &png).unwrap();
    println!("screenshot: {} ({} bytes)", path.display(), png.len());

    drop(chromium);
    runtime.block_on(async {
        a.shutdown().await.unwrap();
        b.shutdown().await.unwrap();
    });
}
