//! Reconnection with backoff (RFC 6455 §7.2.3): scripted servers over
//! in-memory streams under paused time, with seeded jitter, and one server
//! over real sockets that goes down and comes back.
#![cfg(feature = "tokio")]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio::io::DuplexStream;
use tokio::time::Instant;
use wsproto::entropy::SeededEntropy;
use wsproto::handshake::ClientRequest;
use wsproto::tokio::reconnect::{self, Backoff, Reconnect};
use wsproto::tokio::{Error, Rejection};
use wsproto::Message;
use wsproto::{CloseCode, Config};

/// What the server does on one attempt.
#[derive(Debug, Clone)]
enum Attempt {
    /// Nobody listens: connection refused.
    Refuse,
    /// The handshake is answered with this status (and `Retry-After`).
    Status(u16, Option<&'static str>),
    /// Accepted; after `after`, closed with `close` (or dropped: no close
    /// frame at all).
    Accept { after: Duration, close: Option<u16> },
    /// Accepted; the first message must be `subscribe`, answered with
    /// `subscribed`, then closed with `close`.
    ExpectSubscribe { close: u16 },
}

fn accept(after_ms: u64, close: Option<u16>) -> Attempt {
    Attempt::Accept {
        after: Duration::from_millis(after_ms),
        close,
    }
}

/// When each attempt was made.
type Log = Arc<Mutex<Vec<Instant>>>;

/// A `Reconnect` over in-memory streams that plays `script`, one entry per
/// attempt (an attempt past its end fails the test).
fn scripted(script: Vec<Attempt>, log: Log) -> Reconnect<DuplexStream> {
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    Reconnect::new(move || {
        let script = script.clone();
        let log = log.clone();
        async move {
            log.lock().unwrap().push(Instant::now());
            let attempt = script
                .lock()
                .unwrap()
                .pop_front()
                .expect("an attempt past the end of the script");
            if let Attempt::Refuse = attempt {
                return Err(Error::Io(std::io::ErrorKind::ConnectionRefused.into()));
            }
            let (client, server) = tokio::io::duplex(4096);
            tokio::spawn(serve(server, attempt));
            let request = ClientRequest::new("test.invalid", "/").unwrap();
            wsproto::tokio::client(client, request, Config::default()).await
        }
    })
}

async fn serve(stream: DuplexStream, attempt: Attempt) {
    match attempt {
        Attempt::Refuse => {}
        Attempt::Status(status, retry_after) => {
            let _ = wsproto::tokio::accept_with(stream, Config::default(), |_| {
                let rejection = Rejection::new(status);
                Err(match retry_after {
                    Some(value) => rejection.header("Retry-After", value),
                    None => rejection,
                })
            })
            .await;
        }
        Attempt::Accept { after, close } => {
            let mut ws = wsproto::tokio::accept(stream).await.unwrap();
            tokio::time::sleep(after).await;
            if let Some(code) = close {
                ws.close(CloseCode::from(code), "").await.unwrap();
                while !matches!(ws.recv().await, Ok(Message::Close(_)) | Err(_)) {}
            }
        }
        Attempt::ExpectSubscribe { close } => {
            let mut ws = wsproto::tokio::accept(stream).await.unwrap();
            assert_eq!(ws.recv().await.unwrap(), Message::Text("subscribe".into()));
            ws.send_text("subscribed").await.unwrap();
            ws.close(CloseCode::from(close), "").await.unwrap();
            while !matches!(ws.recv().await, Ok(Message::Close(_)) | Err(_)) {}
        }
    }
}

/// What a run of the stream came to.
#[derive(Debug, Default)]
struct Run {
    /// Per connection handed out: `retries()` at that moment, and the
    /// messages read before it ended.
    sessions: Vec<(u32, Vec<Message>)>,
    /// The error the stream ended with, if it yielded one.
    error: Option<Error>,
}

/// Reads every connection until it ends, until the stream ends.
async fn run<S>(mut connections: Reconnect<S>) -> Run
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut run = Run::default();
    while let Some(item) = connections.next().await {
        match item {
            Ok(mut session) => {
                let mut messages = Vec::new();
                loop {
                    match session.recv().await {
                        Ok(message @ Message::Close(_)) => {
                            messages.push(message);
                            break;
                        }
                        Ok(message) => messages.push(message),
                        Err(_) => break,
                    }
                }
                run.sessions.push((connections.retries(), messages));
            }
            Err(e) => run.error = Some(e),
        }
        assert!(run.sessions.len() < 100, "the script should have ended it");
    }
    run
}

fn delays(log: &Log) -> Vec<Duration> {
    let log = log.lock().unwrap();
    log.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Six refusals with at most five retries, with jitter from `seed`.
async fn refused_run(seed: u64) -> (Run, Vec<Duration>) {
    let log = Log::default();
    let connections = scripted(vec![Attempt::Refuse; 6], log.clone())
        .backoff(Backoff::new().max_retries(Some(5)))
        .entropy(SeededEntropy::new(seed));
    let run = run(connections).await;
    (run, delays(&log))
}

#[tokio::test(start_paused = true)]
async fn refused_attempts_back_off_with_full_jitter_the_first_within_5_s() {
    let (run, delays) = refused_run(7).await;
    // One attempt and five retries, then the last error is handed out.
    assert_eq!(delays.len(), 5);
    assert!(run.sessions.is_empty());
    assert!(
        matches!(&run.error, Some(Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused),
        "{:?}",
        run.error
    );
    let backoff = Backoff::new();
    // RFC 6455 §7.2.3: a random 0–5 s before the first retry; then up to
    // 10, 20, 40, 60 s.
    assert!(delays[0] <= Duration::from_secs(5), "{delays:?}");
    for (retry, delay) in delays.iter().enumerate() {
        assert!(*delay <= backoff.bound(retry as u32), "{delays:?}");
    }
    // Jitter, not a fixed schedule.
    assert!(delays.windows(2).any(|w| w[0] != w[1]), "{delays:?}");
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_gives_the_same_delays_and_another_seed_others() {
    let (_, first) = refused_run(7).await;
    let (_, again) = refused_run(7).await;
    let (_, other) = refused_run(8).await;
    assert_eq!(first, again);
    assert_ne!(first, other);
}

#[tokio::test(start_paused = true)]
async fn a_503_is_retried_after_its_retry_after_and_a_403_ends_the_stream() {
    let log = Log::default();
    let script = vec![Attempt::Status(503, Some("30")), Attempt::Status(403, None)];
    let run = run(scripted(script, log.clone()).entropy(SeededEntropy::new(1))).await;
    // The jitter is at most 5 s; the server asked for 30.
    assert_eq!(delays(&log), vec![Duration::from_secs(30)]);
    match run.error {
        Some(Error::Refused(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn server_errors_500_502_504_are_retried_other_statuses_are_not() {
    for status in [500, 502, 504] {
        let log = Log::default();
        let script = vec![Attempt::Status(status, None), Attempt::Status(401, None)];
        let run = run(scripted(script, log.clone())).await;
        assert_eq!(log.lock().unwrap().len(), 2, "{status}");
        assert!(run.error.is_some());
    }
    for status in [301, 400, 404, 429, 501] {
        let log = Log::default();
        let run = run(scripted(vec![Attempt::Status(status, None)], log.clone())).await;
        assert_eq!(log.lock().unwrap().len(), 1, "{status}");
        assert!(
            matches!(&run.error, Some(Error::Refused(r)) if r.status() == status),
            "{status}: {:?}",
            run.error
        );
    }
}

#[tokio::test(start_paused = true)]
async fn closes_1001_1006_1011_to_1014_reconnect_and_1008_ends_the_stream() {
    let log = Log::default();
    let script = vec![
        accept(1_000, Some(1001)),
        // Dropped without a close frame: 1006 on this end.
        accept(1_000, None),
        accept(1_000, Some(1011)),
        accept(1_000, Some(1012)),
        accept(1_000, Some(1013)),
        accept(1_000, Some(1014)),
        accept(1_000, Some(1008)),
    ];
    let run = run(scripted(script, log.clone())).await;
    assert_eq!(run.sessions.len(), 7);
    // A policy close is not an error of the stream: it just ends.
    assert!(run.error.is_none());
    let closes: Vec<_> = run
        .sessions
        .iter()
        .map(|(_, messages)| messages.last().cloned())
        .collect();
    assert!(matches!(&closes[0], Some(Message::Close(Some(f))) if f.code == CloseCode::GOING_AWAY));
    assert!(!matches!(&closes[1], Some(Message::Close(_))));
}

#[tokio::test(start_paused = true)]
async fn protocol_closes_1002_1003_1007_end_the_stream() {
    for code in [1002, 1003, 1007] {
        let log = Log::default();
        let run = run(scripted(vec![accept(0, Some(code))], log.clone())).await;
        assert_eq!(run.sessions.len(), 1, "{code}");
        assert_eq!(log.lock().unwrap().len(), 1, "{code}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_server_that_closes_at_once_is_backed_off_until_a_connection_stays_up() {
    let log = Log::default();
    let mut script = vec![accept(0, Some(1001)); 4];
    // Up for 20 s, more than the 10 s minimum uptime: the count starts again.
    script.push(accept(20_000, Some(1001)));
    script.push(accept(0, Some(1008)));
    let connections = scripted(script, log.clone()).entropy(SeededEntropy::new(3));
    let run = run(connections).await;
    let retries: Vec<u32> = run.sessions.iter().map(|(r, _)| *r).collect();
    assert_eq!(retries, vec![0, 1, 2, 3, 4, 1]);
    // The last wait was a first retry again: within 5 s of the long
    // connection's end.
    let log = log.lock().unwrap();
    let waited = log[5] - log[4] - Duration::from_secs(20);
    assert!(waited <= Duration::from_secs(5), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn on_connect_runs_before_every_connection_is_handed_out() {
    let log = Log::default();
    let script = vec![
        Attempt::ExpectSubscribe { close: 1012 },
        Attempt::ExpectSubscribe { close: 1008 },
    ];
    let hooked = Arc::new(AtomicUsize::new(0));
    let counter = hooked.clone();
    let connections = scripted(script, log.clone()).on_connect(move |mut ws| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            ws.send_text("subscribe").await?;
            Ok(ws)
        }
    });
    let run = run(connections).await;
    assert_eq!(hooked.load(Ordering::SeqCst), 2);
    assert_eq!(run.sessions.len(), 2);
    for (_, messages) in &run.sessions {
        assert_eq!(messages[0], Message::Text("subscribed".into()));
    }
}

#[tokio::test(start_paused = true)]
async fn an_on_connect_error_counts_as_a_failed_attempt() {
    let log = Log::default();
    let script = vec![accept(60_000, None), accept(0, Some(1008))];
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let connections = scripted(script, log.clone()).on_connect(move |ws| {
        let first = counter.fetch_add(1, Ordering::SeqCst) == 0;
        async move {
            match first {
                true => Err(Error::Closed),
                false => Ok(ws),
            }
        }
    });
    let run = run(connections).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // Only the second connection was handed out, after one retry.
    assert_eq!(run.sessions.len(), 1);
    assert_eq!(run.sessions[0].0, 1);
    assert!(run.error.is_none());
}

#[tokio::test]
async fn reconnects_over_real_sockets_when_the_server_comes_back_with_fresh_tokens() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let mut tokens = Vec::new();
        let mut listener = Some(listener);
        for (round, close) in [(1, CloseCode::GOING_AWAY), (2, CloseCode::POLICY_VIOLATION)] {
            let current = match listener.take() {
                Some(l) => l,
                None => tokio::net::TcpListener::bind(addr).await.unwrap(),
            };
            let (tcp, _) = current.accept().await.unwrap();
            // Down: nobody listens until the next round binds again.
            drop(current);
            let token = Arc::new(Mutex::new(None));
            let seen = token.clone();
            let mut ws = wsproto::tokio::accept_with(tcp, Config::default(), move |request| {
                *seen.lock().unwrap() = request.header("authorization").map(<[u8]>::to_vec);
                Ok(wsproto::handshake::Accept::new())
            })
            .await
            .unwrap();
            tokens.push(token.lock().unwrap().take().unwrap());
            ws.send_text(format!("hello {round}")).await.unwrap();
            ws.close(close, "").await.unwrap();
            while !matches!(ws.recv().await, Ok(Message::Close(_)) | Err(_)) {}
            drop(ws);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokens
    });
    let counter = Arc::new(AtomicUsize::new(0));
    let connections = reconnect::connect_with(
        move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                ClientRequest::new(&addr.to_string(), "/")?
                    .header("authorization", &format!("Bearer token-{n}"))
                    .map_err(Error::from)
            }
        },
        Config::default(),
    )
    .backoff(
        Backoff::new()
            .first_delay(Duration::from_millis(20))
            .max_delay(Duration::from_millis(50))
            .max_retries(Some(1_000)),
    );
    let run = run(connections).await;
    assert!(run.error.is_none(), "{:?}", run.error);
    let texts: Vec<_> = run.sessions.iter().map(|(_, m)| m[0].clone()).collect();
    assert_eq!(
        texts,
        vec![
            Message::Text("hello 1".into()),
            Message::Text("hello 2".into())
        ]
    );
    let tokens = server.await.unwrap();
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0], tokens[1], "each attempt asks for a fresh token");
}

/// A session split into halves: the read half, in a task of its own, notes
/// the close code as the session does. A policy close (1008) read there
/// ends the stream; were it not noted, dropping the half would count as an
/// abnormal end (1006) and the stream would try again.
#[tokio::test(start_paused = true)]
async fn a_split_sessions_read_half_notes_the_close_for_the_next_attempt() {
    let log = Log::default();
    let mut connections = scripted(
        vec![accept(1_000, Some(1011)), accept(1_000, Some(1008))],
        log.clone(),
    );
    let mut closes = Vec::new();
    while let Some(item) = connections.next().await {
        let session = item.unwrap();
        let (mut read, mut write) = session.split_with(wsproto::tokio::WebSocketStream::split);
        let reader = tokio::spawn(async move {
            match read.recv().await {
                Ok(Message::Close(frame)) => frame.map(|f| f.code),
                other => panic!("{other:?}"),
            }
        });
        write.send_text("hello").await.unwrap();
        closes.push(reader.await.unwrap());
        assert!(closes.len() <= 2, "the policy close should have ended it");
    }
    assert_eq!(
        closes,
        [Some(CloseCode::from(1011)), Some(CloseCode::from(1008))]
    );
    assert_eq!(log.lock().unwrap().len(), 2);
}
