//! The chat example over loopback: authentication and Origin checks before
//! accepting, rooms and their broadcast, member lists, the rate limit, slow
//! consumers, shutdown with 1001 (on a signal, too), and several instances
//! sharing rooms through a Redis of the test's own, surviving its loss and
//! the death of one of them.

#![cfg(all(feature = "axum", feature = "deflate"))]
#![allow(dead_code)]

#[path = "../examples/chat/main.rs"]
mod chat;
mod chat_support;

use std::time::Duration;

use chat_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wsproto::handshake::{accept_key, ClientRequest};

fn options() -> chat::Options {
    chat::Options {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..chat::Options::default()
    }
}

fn with_token() -> chat::Options {
    chat::Options {
        token: Some("s3cret".into()),
        allow_origins: vec!["https://chat.example".into()],
        ..options()
    }
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401_and_any_of_three_ways_gets_in() {
    let server = Instance::start(with_token()).await;
    let url = server.url("room=a");
    assert_eq!(refused_status(connect(&url, |r| r).await), 401);
    let wrong = |r: ClientRequest| r.header("Authorization", "Bearer nope").unwrap();
    assert_eq!(refused_status(connect(&url, wrong).await), 401);
    let wrong = |r: ClientRequest| {
        r.subprotocol("chat")
            .unwrap()
            .subprotocol("bearer.nope")
            .unwrap()
    };
    assert_eq!(refused_status(connect(&url, wrong).await), 401);
    assert_eq!(
        refused_status(connect(&server.url("room=a&token=nope"), |r| r).await),
        401
    );

    let (mut by_header, _) = connect(&url, |r| {
        r.header("Authorization", "Bearer s3cret").unwrap()
    })
    .await
    .unwrap();
    assert_eq!(wait_for(&mut by_header, "members").await["room"], "a");
    let (mut by_protocol, response) = connect(&url, |r| {
        r.subprotocol("chat")
            .unwrap()
            .subprotocol("bearer.s3cret")
            .unwrap()
    })
    .await
    .unwrap();
    // The token's entry is never echoed back: `chat` is chosen.
    assert_eq!(response.subprotocol(), Some("chat"));
    wait_for(&mut by_protocol, "members").await;
    let (mut by_query, _) = connect(&server.url("room=a&token=s3cret"), |r| r)
        .await
        .unwrap();
    wait_for(&mut by_query, "members").await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn other_origins_get_403_even_with_a_token_and_no_origin_is_a_client_with_a_token() {
    let server = Instance::start(with_token()).await;
    let url = server.url("room=a&token=s3cret");
    let evil = |r: ClientRequest| r.origin("https://evil.example").unwrap();
    assert_eq!(refused_status(connect(&url, evil).await), 403);
    // Looks like the page's own origin but is not (RFC 6455 §10.2).
    let lookalike = format!("http://{}.evil.example", server.addr);
    assert_eq!(
        refused_status(connect(&url, |r| r.origin(&lookalike).unwrap()).await),
        403
    );
    // The page's own origin, an allowed one, and none at all.
    let own = format!("http://{}", server.addr);
    connect(&url, |r| r.origin(&own).unwrap()).await.unwrap();
    connect(&url, |r| r.origin("https://chat.example").unwrap())
        .await
        .unwrap();
    connect(&url, |r| r).await.unwrap();
    // Without a token, no Origin is no way in.
    assert_eq!(
        refused_status(connect(&server.url("room=a"), |r| r).await),
        401
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_message_reaches_every_other_member_of_its_room_only_as_json_with_the_text_unchanged() {
    let server = Instance::start(options()).await;
    let (mut alice, _) = connect(&server.url("room=a&name=alice"), |r| r)
        .await
        .unwrap();
    let members = wait_for(&mut alice, "members").await;
    assert_eq!(members["members"], serde_json::json!(["alice"]));
    assert_eq!(members["you"], "alice");
    let (mut bob, _) = connect(&server.url("room=a&name=bob"), |r| r)
        .await
        .unwrap();
    assert_eq!(
        wait_for(&mut bob, "members").await["members"],
        serde_json::json!(["alice", "bob"])
    );
    assert_eq!(wait_for(&mut alice, "join").await["name"], "bob");
    let (mut carol, _) = connect(&server.url("room=a&name=carol"), |r| r)
        .await
        .unwrap();
    wait_for(&mut carol, "members").await;
    let (mut other, _) = connect(&server.url("room=b&name=dave"), |r| r)
        .await
        .unwrap();
    wait_for(&mut other, "members").await;

    // Quotes, backslashes, newlines, non-ASCII, and one long enough to be
    // compressed once for everyone.
    let texts = [
        "hello \"world\" \\ ✓ \n line two".to_owned(),
        "long ".repeat(200),
    ];
    for text in &texts {
        alice.send_text(text.as_str()).await.unwrap();
        for member in [&mut bob, &mut carol] {
            let got = wait_for(member, "message").await;
            assert_eq!(got["room"], "a");
            assert_eq!(got["name"], "alice");
            assert_eq!(got["text"].as_str(), Some(text.as_str()));
        }
    }
    // Not to the sender, not to another room: the next thing each sees is
    // what comes after.
    bob.send_text("from bob").await.unwrap();
    let got = wait_for(&mut alice, "message").await;
    assert_eq!(got["text"], "from bob");
    assert_eq!(wait_for(&mut carol, "message").await["text"], "from bob");
    other.send_text("room b only").await.unwrap();
    carol.send_text("marker").await.unwrap();
    assert_eq!(wait_for(&mut alice, "message").await["text"], "marker");

    // Leaving is announced.
    carol.close(wsproto::CloseCode::NORMAL, "").await.unwrap();
    let left = wait_for(&mut alice, "leave").await;
    assert_eq!(left["name"], "carol");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_member_past_the_rate_limit_is_closed_with_1008_and_a_reason() {
    let server = Instance::start(chat::Options {
        rate: 1.0,
        burst: 5.0,
        ..options()
    })
    .await;
    let (mut fast, _) = connect(&server.url("room=r"), |r| r).await.unwrap();
    wait_for(&mut fast, "members").await;
    let (mut peer, _) = connect(&server.url("room=r"), |r| r).await.unwrap();
    wait_for(&mut peer, "members").await;
    for i in 0..50 {
        if fast.send_text(format!("spam {i}")).await.is_err() {
            break;
        }
    }
    let (code, reason) = close_of(&mut fast).await;
    assert_eq!(code, 1008);
    assert!(reason.contains("rate limit"), "{reason}");
    // The burst went through; the rest did not.
    let mut got = 0;
    while let Ok(Ok(message)) = tokio::time::timeout(Duration::from_millis(300), peer.recv()).await
    {
        if let wsproto::Message::Text(text) = message {
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            got += usize::from(value["type"] == "message");
        }
    }
    assert!((5..=7).contains(&got), "{got} messages passed a burst of 5");
    server.shutdown().await.unwrap();
}

/// A member that completes the handshake over a tiny receive buffer and
/// then never reads.
async fn silent_member(server: &Instance) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut tcp = socket.connect(server.addr).await.unwrap();
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let request = format!(
        "GET /ws?room=s&name=slow HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.addr
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains(&accept_key(key.as_bytes())));
    tcp
}

#[tokio::test]
async fn a_member_that_does_not_read_is_closed_with_1013_and_does_not_delay_the_room() {
    let server = Instance::start(chat::Options {
        rate: 1e6,
        burst: 1e6,
        max_buffered: 64 * 1024,
        ..options()
    })
    .await;
    let mut slow = silent_member(&server).await;
    let (mut sender, _) = connect(&server.url("room=s"), |r| r).await.unwrap();
    wait_for(&mut sender, "members").await;
    let (mut reader, _) = connect(&server.url("room=s"), |r| r).await.unwrap();
    wait_for(&mut reader, "members").await;

    // Far more than the slow member's socket buffers and its allowance.
    let count = 400;
    let text = "x".repeat(16 * 1024);
    for i in 0..count {
        sender.send_text(format!("{i} {text}")).await.unwrap();
        // The reader keeps up: every message arrives, in order.
        let got = wait_for(&mut reader, "message").await;
        assert!(got["text"].as_str().unwrap().starts_with(&format!("{i} ")));
    }
    // The silent member was let go: what it finally reads ends with 1013.
    let mut wire = Vec::new();
    let read = tokio::time::timeout(PATIENCE, slow.read_to_end(&mut wire)).await;
    assert!(
        read.is_ok(),
        "the server closed the slow member's connection"
    );
    let mut server_side = wsproto::Connection::new(
        wsproto::Role::Client,
        wsproto::Config::default().max_message_size(1 << 20),
    );
    server_side.handle_read(&wire);
    server_side.handle_eof();
    let mut close = None;
    let mut messages = 0;
    while let Some(event) = server_side.poll_event() {
        match event {
            wsproto::Event::Message(wsproto::Message::Close(frame)) => close = frame,
            wsproto::Event::Message(wsproto::Message::Text(_)) => messages += 1,
            _ => {}
        }
    }
    let close = close.expect("a close frame");
    assert_eq!(close.code, wsproto::CloseCode::TRY_AGAIN_LATER);
    assert!(close.reason.contains("too slow"), "{}", &*close.reason);
    assert!(messages < count, "{messages} of {count} were queued for it");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_closes_every_connection_with_1001() {
    let server = Instance::start(options()).await;
    let mut members = Vec::new();
    for room in ["x", "x", "y"] {
        let (mut socket, _) = connect(&server.url(&format!("room={room}")), |r| r)
            .await
            .unwrap();
        wait_for(&mut socket, "members").await;
        members.push(socket);
    }
    let stopping = tokio::spawn(server.shutdown());
    for socket in &mut members {
        let (code, reason) = close_of(socket).await;
        assert_eq!(code, 1001);
        assert!(reason.contains("shutting down"), "{reason}");
    }
    stopping.await.unwrap().unwrap();
}

/// The child of the signal test: the example's `main`, with its Ctrl-C handler.
const CHILD: &str = "WSPROTO_CHAT_CHILD";

#[test]
fn sigint_closes_every_connection_with_1001_and_exits_0() {
    if std::env::var_os(CHILD).is_some() {
        // Run as the child: the example as a user runs it.
        let code = chat::run_main(["--listen".to_owned(), "127.0.0.1:0".to_owned()].into_iter());
        std::process::exit(if code { 0 } else { 1 });
    }
    let (mut child, addr) = spawn_child(
        "sigint_closes_every_connection_with_1001_and_exits_0",
        CHILD,
        "1",
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (mut socket, _) = connect(&format!("ws://{addr}/ws?room=z"), |r| r)
            .await
            .unwrap();
        wait_for(&mut socket, "members").await;
        signal(&child, "-INT");
        let (code, _) = close_of(&mut socket).await;
        assert_eq!(code, 1001);
    });
    let mut status = None;
    for _ in 0..200 {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let Some(status) = status else {
        let _ = child.kill();
        panic!("the chat did not exit after SIGINT");
    };
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn instances_share_rooms_through_redis_and_survive_its_loss() {
    let mut redis = Redis::start();
    let with_redis = || chat::Options {
        redis: Some(redis.url()),
        ..options()
    };
    let a = Instance::start(with_redis()).await;
    let b = Instance::start(with_redis()).await;
    let (mut on_a, _) = connect(&a.url("room=shared&name=ann"), |r| r)
        .await
        .unwrap();
    wait_for(&mut on_a, "members").await;
    let (mut also_a, _) = connect(&a.url("room=shared&name=art"), |r| r)
        .await
        .unwrap();
    wait_for(&mut also_a, "members").await;
    let (mut on_b, _) = connect(&b.url("room=shared&name=ben"), |r| r)
        .await
        .unwrap();
    wait_for(&mut on_b, "members").await;

    // Until both subscriptions are up, a message may be missed: probe.
    probe_until_delivered(&mut on_a, &mut on_b, "a to b").await;
    probe_until_delivered(&mut on_b, &mut on_a, "b to a").await;
    on_a.send_text("to everyone").await.unwrap();
    assert_eq!(wait_text(&mut on_b, "to everyone").await["name"], "ann");
    assert_eq!(wait_text(&mut also_a, "to everyone").await["name"], "ann");

    // Redis goes away: each instance still serves its own members.
    redis.stop();
    on_a.send_text("while redis is down").await.unwrap();
    assert_eq!(
        wait_text(&mut also_a, "while redis is down").await["room"],
        "shared"
    );
    // It comes back: the instances reconnect by themselves.
    redis.restart();
    probe_until_delivered(&mut on_a, &mut on_b, "a to b again").await;
    probe_until_delivered(&mut on_b, &mut on_a, "b to a again").await;

    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_instance_that_comes_later_learns_who_was_already_in_the_room() {
    let redis = Redis::start();
    let with_redis = || chat::Options {
        redis: Some(redis.url()),
        ..options()
    };
    let a = Instance::start(with_redis()).await;
    let (mut on_a, _) = connect(&a.url("room=early&name=ann"), |r| r).await.unwrap();
    wait_for(&mut on_a, "members").await;
    wait_until_subscribed(&redis.url(), 1).await;

    // Ann joined before `b` existed: no join notice of hers reached it.
    let b = Instance::start(with_redis()).await;
    let (mut on_b, _) = connect(&b.url("room=early&name=ben"), |r| r).await.unwrap();
    let hello = wait_for(&mut on_b, "members").await;
    let mut members: Vec<String> = hello["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect();
    // In the list already, or added by a `present` notice (each read is
    // bounded by `next_json`'s patience).
    while !members.iter().any(|m| m == "ann") {
        let value = next_json(&mut on_b).await;
        assert_ne!(value["type"], "join", "ann did not join now: {value}");
        if value["type"] == "present" {
            assert_eq!(value["room"], "early");
            members.push(value["name"].as_str().unwrap().to_owned());
        }
    }
    members.sort();
    assert_eq!(members, ["ann", "ben"]);
    // And she is there for a member who joins `b` after that.
    let (mut also_b, _) = connect(&b.url("room=early&name=bo"), |r| r).await.unwrap();
    assert_eq!(
        wait_for(&mut also_b, "members").await["members"],
        serde_json::json!(["ann", "ben", "bo"])
    );

    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

/// The child of the next test: an instance with Redis at this URL, in a
/// process of its own, so that it can die without a word.
const DYING_CHILD: &str = "WSPROTO_CHAT_DYING_CHILD";

#[test]
fn the_members_of_an_instance_that_stalls_or_dies_leave_the_lists_of_the_others() {
    if let Some(url) = std::env::var_os(DYING_CHILD) {
        let args = [
            "--listen",
            "127.0.0.1:0",
            "--redis",
            url.to_str().unwrap(),
            "--heartbeat",
            "0.2",
        ];
        let code = chat::run_main(args.iter().map(|a| (*a).to_owned()));
        std::process::exit(if code { 0 } else { 1 });
    }
    let redis = Redis::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (a, b) = runtime.block_on(async {
        let with_redis = || chat::Options {
            redis: Some(redis.url()),
            heartbeat: Duration::from_millis(200),
            ..options()
        };
        (
            Instance::start(with_redis()).await,
            Instance::start(with_redis()).await,
        )
    });
    /// The child is killed however the test ends.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let (child, addr) = spawn_child(
        "the_members_of_an_instance_that_stalls_or_dies_leave_the_lists_of_the_others",
        DYING_CHILD,
        &redis.url(),
    );
    let mut child = Killed(child);
    runtime.block_on(async {
        wait_until_subscribed(&redis.url(), 3).await;
        let (mut on_b, _) = connect(&b.url("room=r&name=ben"), |r| r).await.unwrap();
        wait_for(&mut on_b, "members").await;
        let (mut on_dying, _) = connect(&format!("ws://{addr}/ws?room=r&name=dan"), |r| r)
            .await
            .unwrap();
        wait_for(&mut on_dying, "members").await;
        let (mut on_a, _) = connect(&a.url("room=r&name=ann"), |r| r).await.unwrap();
        let hello = wait_for(&mut on_a, "members").await;
        let mut members: std::collections::BTreeSet<String> = hello["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().to_owned())
            .collect();
        // Listed already, or added by a join or present notice (each read
        // bounded by `next_json`'s patience).
        while members.len() < 3 {
            let value = next_json(&mut on_a).await;
            if matches!(value["type"].as_str(), Some("join" | "present")) {
                members.insert(value["name"].as_str().unwrap().to_owned());
            }
        }
        assert_eq!(Vec::from_iter(members), ["ann", "ben", "dan"]);

        // Dan's instance stalls past three heartbeats: dropped. It resumes:
        // asked alone who it has, and Dan is listed again.
        signal(&child.0, "-STOP");
        for socket in [&mut on_a, &mut on_b] {
            let left = wait_for(socket, "leave").await;
            assert_eq!(left["name"], "dan", "{left}");
        }
        signal(&child.0, "-CONT");
        for socket in [&mut on_a, &mut on_b] {
            let back = wait_for(socket, "present").await;
            assert_eq!(back["name"], "dan", "{back}");
        }

        // Dan's instance dies: no leave notice from it, ever.
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        let left = wait_for(&mut on_a, "leave").await;
        assert_eq!(left["name"], "dan", "{left}");
        let left = wait_for(&mut on_b, "leave").await;
        assert_eq!(left["name"], "dan", "{left}");
        // Well past three heartbeats, Ben's instance, alive, is still listed.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (mut later, _) = connect(&a.url("room=r&name=amy"), |r| r).await.unwrap();
        assert_eq!(
            wait_for(&mut later, "members").await["members"],
            serde_json::json!(["amy", "ann", "ben"])
        );
        a.shutdown().await.unwrap();
        b.shutdown().await.unwrap();
    });
}

/// Sends `child` a signal (`-STOP`, `-CONT`, ...).
fn signal(child: &std::process::Child, which: &str) {
    let status = std::process::Command::new("kill")
        .args([which, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Runs `test` of this binary again as a child process with `var` set to
/// `value` (so that it runs the example instead); returns the child and the
/// address the example printed.
fn spawn_child(test: &str, var: &str, value: &str) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(var, value)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            // libtest's "test NAME ... " may precede it on the line.
            l.split_once("chat: open http://")
                .map(|(_, a)| a.trim_end_matches("/ in a browser").to_owned())
        })
        .expect("the URL to open");
    // Whatever it prints later is read too, so that it never writes into
    // a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}

/// Waits (bounded) until `count` instances listen for presence requests.
async fn wait_until_subscribed(url: &str, count: i64) {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for _ in 0..100 {
        let (_, listening): (String, i64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg("chat:sync")
            .query_async(&mut conn)
            .await
            .unwrap();
        if listening >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {count} instances subscribed to chat:sync");
}

/// Reads until a message with `text` comes.
async fn wait_text(socket: &mut Socket, text: &str) -> serde_json::Value {
    loop {
        let value = wait_for(socket, "message").await;
        if value["text"] == text {
            return value;
        }
    }
}

/// Sends numbered probes from `from` until one reaches `to` (bounded).
async fn probe_until_delivered(from: &mut Socket, to: &mut Socket, label: &str) {
    for i in 0..100 {
        let probe = format!("probe {label} {i}");
        from.send_text(probe.as_str()).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
        while let Ok(Ok(message)) = tokio::time::timeout_at(deadline, to.recv()).await {
            if let wsproto::Message::Text(text) = message {
                let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                if value["text"] == probe {
                    return;
                }
            }
        }
    }
    panic!("no probe {label} was delivered through Redis");
}
