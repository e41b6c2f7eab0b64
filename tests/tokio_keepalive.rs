//! Pongs and timers never wait for the application: a peer that only
//! writes, or only reads, still answers pings; the keepalive, idle and
//! close timers fire while any side is polled. Both roles; paused time.

#![cfg(feature = "tokio")]

mod tokio_support;

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_support::{bounded, pair};
use wsproto::tokio::{Error, WebSocketStream};
use wsproto::Message;
use wsproto::{CloseCode, Config, ProtocolError};

/// How long the peers run.
const RUN: Duration = Duration::from_secs(10);
/// The strict peer pings this often, and fails the test if a pong takes
/// longer than [`PONG_DEADLINE`].
const PING_EVERY: Duration = Duration::from_millis(300);
const PONG_DEADLINE: Duration = Duration::from_secs(1);

/// A short keepalive, on the strict peer.
fn keepalive() -> Config {
    Config::default()
        .ping_interval(Some(Duration::from_secs(1)))
        .pong_timeout(Some(Duration::from_secs(1)))
}

#[derive(Debug, Default)]
struct Seen {
    pings: u32,
    pongs: u32,
    data: u32,
    keepalive_pongs: u32,
}

/// Pings every [`PING_EVERY`] with a numbered payload and insists on each
/// pong within [`PONG_DEADLINE`]; reads everything meanwhile.
async fn strict_pinger<S>(ws: &mut WebSocketStream<S>, run: Duration) -> Seen
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut seen = Seen::default();
    let end = Instant::now() + run;
    let mut tick = tokio::time::interval(PING_EVERY);
    let mut outstanding: Option<(u8, Instant)> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let now = Instant::now();
                if now >= end {
                    return seen;
                }
                match outstanding {
                    Some((n, sent)) => assert!(
                        now - sent < PONG_DEADLINE,
                        "ping {n} unanswered after {:?}", now - sent
                    ),
                    None => {
                        seen.pings += 1;
                        let n = seen.pings as u8;
                        ws.ping(&[n]).await.unwrap();
                        outstanding = Some((n, now));
                    }
                }
            }
            message = ws.recv() => match message {
                Ok(Message::Pong(p)) if p.is_empty() => seen.keepalive_pongs += 1,
                Ok(Message::Pong(p)) => {
                    let (n, _) = outstanding.take().expect("a pong for no ping");
                    assert_eq!(&p[..], &[n]);
                    seen.pongs += 1;
                }
                Ok(Message::Text(_) | Message::Binary(_)) => seen.data += 1,
                Ok(other) => panic!("strict peer got {other:?}"),
                Err(e) => panic!("strict peer failed: {e}"),
            }
        }
    }
}

/// Sends a message every 200 ms and never reads.
async fn write_only<S>(ws: &mut WebSocketStream<S>, run: Duration) -> u32
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let end = Instant::now() + run;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut sent = 0;
    while Instant::now() < end {
        tick.tick().await;
        ws.send_text("tick").await.unwrap();
        sent += 1;
    }
    sent
}

/// Only reads, and never sends anything of its own.
async fn read_only<S>(ws: &mut WebSocketStream<S>, run: Duration) -> Vec<Message>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut got = Vec::new();
    let _ = tokio::time::timeout(run, async {
        loop {
            got.push(ws.recv().await.unwrap());
        }
    })
    .await;
    got
}

/// Ends both peers with a clean close handshake.
async fn close_both<A, B>(a: &mut WebSocketStream<A>, b: &mut WebSocketStream<B>)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    a.close(CloseCode::NORMAL, "done").await.unwrap();
    tokio::join!(drain(a), drain(b));
}

/// Reads until the connection is over.
async fn drain<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) {
    loop {
        match ws.recv().await {
            Ok(_) => {}
            Err(Error::Closed) => return,
            Err(e) => panic!("{e}"),
        }
    }
}

/// The write-only peer answers every ping of the strict one. With
/// `unread`, the strict peer first sends that many messages the writer
/// does not read: its write path reads past them (keeping them) to answer
/// the pings, and a later `recv` hands them out first, in order, then the
/// pings.
async fn write_only_peer_stays_connected<W, S>(
    mut writer: WebSocketStream<W>,
    mut strict: WebSocketStream<S>,
    unread: usize,
) where
    W: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    for i in 0..unread {
        strict.send_text(format!("unread {i}")).await.unwrap();
    }
    let (sent, seen) = tokio::join!(
        write_only(&mut writer, RUN),
        strict_pinger(&mut strict, RUN + Duration::from_millis(100))
    );
    // Every ping was answered by a peer that never called recv.
    assert!(seen.pings >= 20, "{seen:?}");
    assert!(seen.pongs + 1 >= seen.pings, "{seen:?}");
    assert_eq!(seen.data, sent, "{seen:?}");
    for i in 0..unread {
        match writer.recv().await.unwrap() {
            Message::Text(t) => assert_eq!(t, format!("unread {i}").as_str()),
            other => panic!("message {i}: {other:?}"),
        }
    }
    if unread > 0 {
        match writer.recv().await.unwrap() {
            Message::Ping(p) => assert_eq!(&p[..], &[1]),
            other => panic!("the first ping after the messages: {other:?}"),
        }
    }
    close_both(&mut writer, &mut strict).await;
}

#[tokio::test(start_paused = true)]
async fn client_that_only_writes_answers_a_strict_servers_pings() {
    bounded(async {
        let (client, server) = pair(Config::default(), keepalive()).await;
        write_only_peer_stays_connected(client, server, 0).await;
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn server_that_only_writes_answers_a_strict_clients_pings() {
    bounded(async {
        let (client, server) = pair(keepalive(), Config::default()).await;
        write_only_peer_stays_connected(server, client, 0).await;
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn client_that_only_writes_answers_pings_behind_unread_messages() {
    bounded(async {
        let (client, server) = pair(Config::default(), keepalive()).await;
        write_only_peer_stays_connected(client, server, 5).await;
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn server_that_only_writes_answers_pings_behind_unread_messages() {
    bounded(async {
        let (client, server) = pair(keepalive(), Config::default()).await;
        write_only_peer_stays_connected(server, client, 5).await;
    })
    .await;
}

async fn read_only_peer_gets_its_pongs_written<R, S>(
    mut reader: WebSocketStream<R>,
    mut strict: WebSocketStream<S>,
) where
    R: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (got, seen) = tokio::join!(
        read_only(&mut reader, RUN),
        strict_pinger(&mut strict, RUN - Duration::from_millis(100))
    );
    assert!(seen.pings >= 20, "{seen:?}");
    assert!(seen.pongs + 1 >= seen.pings, "{seen:?}");
    // The reader saw every ping (answered before it was handed out).
    let pings = got.iter().filter(|m| matches!(m, Message::Ping(_))).count();
    assert_eq!(pings as u32, seen.pings, "{got:?}");
    close_both(&mut strict, &mut reader).await;
}

#[tokio::test(start_paused = true)]
async fn client_that_only_reads_gets_its_pongs_written() {
    bounded(async {
        let (client, server) = pair(Config::default(), keepalive()).await;
        read_only_peer_gets_its_pongs_written(client, server).await;
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn server_that_only_reads_gets_its_pongs_written() {
    bounded(async {
        let (client, server) = pair(keepalive(), Config::default()).await;
        read_only_peer_gets_its_pongs_written(server, client).await;
    })
    .await;
}

/// The core's own keepalive, on a peer that only reads: its pings go out
/// and the other side, which also only reads, answers them.
async fn keepalive_runs_on_a_reader_alone<A, B>(
    mut pinger: WebSocketStream<A>,
    mut other: WebSocketStream<B>,
) where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let (a, b) = tokio::join!(read_only(&mut pinger, RUN), read_only(&mut other, RUN));
    // One ping a second of silence, each answered within the pong timeout.
    let pongs = a
        .iter()
        .filter(|m| matches!(m, Message::Pong(p) if p.is_empty()))
        .count();
    let pings = b
        .iter()
        .filter(|m| matches!(m, Message::Ping(p) if p.is_empty()))
        .count();
    assert!(pongs >= 8, "{a:?}");
    assert!(pings >= pongs, "{b:?}");
    close_both(&mut pinger, &mut other).await;
}

#[tokio::test(start_paused = true)]
async fn server_keepalive_pings_go_out_and_are_answered_by_reading_peers() {
    bounded(async {
        let (client, server) = pair(Config::default(), keepalive()).await;
        keepalive_runs_on_a_reader_alone(server, client).await;
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn client_keepalive_pings_go_out_and_are_answered_by_reading_peers() {
    bounded(async {
        let (client, server) = pair(keepalive(), Config::default()).await;
        keepalive_runs_on_a_reader_alone(client, server).await;
    })
    .await;
}

/// A peer that is never polled does not answer: the pong deadline fails
/// the connection with 1011, which the silent peer finds when it wakes up.
async fn pong_deadline_fails_a_silent_peer<A, B>(
    mut strict: WebSocketStream<A>,
    mut silent: WebSocketStream<B>,
) where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let started = Instant::now();
    match strict.recv().await {
        Err(Error::Protocol(ProtocolError::KeepaliveTimeout)) => {}
        other => panic!("expected the keepalive timeout, got {other:?}"),
    }
    // Ping after 1 s of silence, then 1 s for the pong.
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(matches!(strict.recv().await, Err(Error::Closed)));
    assert!(matches!(silent.recv().await.unwrap(), Message::Ping(_)));
    match silent.recv().await.unwrap() {
        Message::Close(Some(c)) => assert_eq!(c.code, CloseCode::INTERNAL_ERROR),
        other => panic!("expected a close with 1011, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn server_pong_deadline_fails_a_silent_client_with_1011() {
    bounded(async {
        let (client, server) = pair(Config::default(), keepalive()).await;
        pong_deadline_fails_a_silent_peer(server, client).await;
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn client_pong_deadline_fails_a_silent_server_with_1011() {
    bounded(async {
        let (client, server) = pair(keepalive(), Config::default()).await;
        pong_deadline_fails_a_silent_peer(client, server).await;
    })
    .await;
}

async fn idle_timeout_closes_with_1001<A, B>(
    mut idle: WebSocketStream<A>,
    mut other: WebSocketStream<B>,
) where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let started = Instant::now();
    let (a, b) = tokio::join!(idle.recv(), other.recv());
    assert!(started.elapsed() >= Duration::from_secs(2));
    for got in [a, b] {
        match got.unwrap() {
            Message::Close(Some(c)) => assert_eq!(c.code, CloseCode::GOING_AWAY),
            other => panic!("expected a close with 1001, got {other:?}"),
        }
    }
    let (a, b) = tokio::join!(idle.recv(), other.recv());
    assert!(matches!(a, Err(Error::Closed)) && matches!(b, Err(Error::Closed)));
}

#[tokio::test(start_paused = true)]
async fn server_idle_timeout_closes_with_1001() {
    bounded(async {
        let idle = Config::default().idle_timeout(Some(Duration::from_secs(2)));
        let (client, server) = pair(Config::default(), idle).await;
        idle_timeout_closes_with_1001(server, client).await;
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn client_idle_timeout_closes_with_1001() {
    bounded(async {
        let idle = Config::default().idle_timeout(Some(Duration::from_secs(2)));
        let (client, server) = pair(idle, Config::default()).await;
        idle_timeout_closes_with_1001(client, server).await;
    })
    .await;
}

async fn close_timeout_gives_up<A, B>(mut closer: WebSocketStream<A>, silent: WebSocketStream<B>)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let started = Instant::now();
    closer.close(CloseCode::NORMAL, "").await.unwrap();
    match closer.recv().await {
        Err(Error::Protocol(ProtocolError::CloseTimeout)) => {}
        other => panic!("expected the close timeout, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(matches!(closer.recv().await, Err(Error::Closed)));
    drop(silent);
}

#[tokio::test(start_paused = true)]
async fn server_close_timeout_gives_up_on_a_client_that_never_answers() {
    bounded(async {
        let config = Config::default().close_timeout(Some(Duration::from_secs(2)));
        let (client, server) = pair(Config::default(), config).await;
        close_timeout_gives_up(server, client).await;
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn client_close_timeout_gives_up_on_a_server_that_never_answers() {
    bounded(async {
        let config = Config::default().close_timeout(Some(Duration::from_secs(2)));
        let (client, server) = pair(config, Config::default()).await;
        close_timeout_gives_up(client, server).await;
    })
    .await;
}

/// A peer that only sends still echoes the other side's close: its next
/// send writes the echo and then fails with `Closed`, and the closer's
/// handshake completes without the sender ever calling `recv`.
async fn write_only_peer_echoes_a_close<W, C>(
    mut writer: WebSocketStream<W>,
    mut closer: WebSocketStream<C>,
) where
    W: AsyncRead + AsyncWrite + Unpin,
    C: AsyncRead + AsyncWrite + Unpin,
{
    closer.close(CloseCode::GOING_AWAY, "bye").await.unwrap();
    let sending = async {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            match writer.send_text("tick").await {
                Ok(()) => {}
                Err(Error::Closed) => return,
                Err(e) => panic!("{e}"),
            }
        }
    };
    let closing = async {
        let mut ticks = 0;
        loop {
            match closer.recv().await.unwrap() {
                Message::Text(_) => ticks += 1,
                Message::Close(Some(c)) => {
                    assert_eq!(c.code, CloseCode::GOING_AWAY);
                    return ticks;
                }
                other => panic!("{other:?}"),
            }
        }
    };
    let ((), _) = tokio::join!(sending, closing);
    assert!(matches!(closer.recv().await, Err(Error::Closed)));
    // What the writer's read side finds: the close, then the end.
    loop {
        match writer.recv().await {
            Ok(Message::Close(Some(c))) => assert_eq!(c.reason, "bye"),
            Ok(other) => panic!("{other:?}"),
            Err(Error::Closed) => break,
            Err(e) => panic!("{e}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn client_that_only_writes_echoes_the_servers_close() {
    bounded(async {
        let (client, server) = pair(Config::default(), Config::default()).await;
        write_only_peer_echoes_a_close(client, server).await;
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn server_that_only_writes_echoes_the_clients_close() {
    bounded(async {
        let (client, server) = pair(Config::default(), Config::default()).await;
        write_only_peer_echoes_a_close(server, client).await;
    })
    .await;
}
