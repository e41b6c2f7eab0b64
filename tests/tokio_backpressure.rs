//! Backpressure: `poll_ready` waits above the high-water mark, a flush is
//! one vectored write, reading stops while the send queue is over its mark,
//! and a blocked writer cannot stall the timers. Both roles.

#![cfg(feature = "tokio")]

mod tokio_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, SinkExt};
use tokio::io::AsyncWriteExt;
use tokio_support::{bounded, client_frame, Scripted};
use wsproto::tokio::{Error, WebSocketStream};
use wsproto::Message;
use wsproto::{Bytes, CloseCode, Config, ProtocolError, Role};

fn message(len: usize) -> Message {
    Message::Binary(Bytes::from(vec![0x5a; len]))
}

async fn poll_ready_waits_above_the_mark(role: Role) {
    let transport = Scripted::new(vec![]);
    let blocked = transport.write_blocked.clone();
    *blocked.lock().unwrap() = true;
    let mut ws = WebSocketStream::from_raw(transport, role, Config::default());
    ws.set_high_water_mark(10_000);
    // Room: the first message is queued at once.
    ws.feed(message(8_000)).await.unwrap();
    // The socket takes nothing, so a flush cannot finish...
    assert!(ws.flush().now_or_never().is_none());
    ws.feed(message(8_000)).await.unwrap();
    assert!(ws.buffered_amount() > 16_000);
    // ... and over the mark, the next send waits for room.
    let mut third = Box::pin(ws.send(message(8_000)));
    assert!(futures::poll!(&mut third).is_pending());
    *blocked.lock().unwrap() = false;
    third.await.unwrap();
    assert_eq!(ws.buffered_amount(), 0);
}

#[tokio::test]
async fn server_poll_ready_is_pending_above_the_high_water_mark() {
    poll_ready_waits_above_the_mark(Role::Server).await;
}

#[tokio::test]
async fn client_poll_ready_is_pending_above_the_high_water_mark() {
    poll_ready_waits_above_the_mark(Role::Client).await;
}

async fn flush_is_one_vectored_write(role: Role) {
    let transport = Scripted::new(vec![]);
    let writes = transport.writes.clone();
    let written = transport.written.clone();
    let mut ws = WebSocketStream::from_raw(transport, role, Config::default());
    for i in 0..20 {
        ws.feed(Message::Text(format!("message {i}").into()))
            .await
            .unwrap();
    }
    ws.feed(message(100_000)).await.unwrap();
    assert_eq!(*writes.lock().unwrap(), 0, "feeding writes nothing");
    ws.flush().await.unwrap();
    // Twenty small frames and a large one (header + shared payload), one
    // write call.
    assert_eq!(*writes.lock().unwrap(), 1);
    let masked = if role == Role::Client { 4 } else { 0 };
    let expected: usize = (0..20)
        .map(|i| 2 + masked + format!("message {i}").len())
        .sum::<usize>()
        + 10
        + masked
        + 100_000;
    assert_eq!(written.lock().unwrap().len(), expected);
}

#[tokio::test]
async fn server_flush_writes_every_queued_frame_in_one_vectored_write() {
    flush_is_one_vectored_write(Role::Server).await;
}

#[tokio::test]
async fn client_flush_writes_every_queued_frame_in_one_vectored_write() {
    flush_is_one_vectored_write(Role::Client).await;
}

/// An echo peer whose counterpart floods it and never reads: the echo's
/// send queue stays near its mark, because it stops reading while the
/// queue is over it, so the flood stalls instead of growing memory.
#[tokio::test(start_paused = true)]
async fn reading_stops_while_the_send_queue_is_over_its_mark() {
    bounded(async {
        let (mut flooder, echo_io) = tokio::io::duplex(64 * 1024);
        let high_water = 16 * 1024;
        let most_buffered = Arc::new(AtomicUsize::new(0));
        let most_memory = Arc::new(AtomicUsize::new(0));
        let (b, m) = (most_buffered.clone(), most_memory.clone());
        let echo = tokio::spawn(async move {
            let mut ws = WebSocketStream::from_raw(echo_io, Role::Server, Config::default());
            ws.set_high_water_mark(high_water);
            loop {
                let message = ws.recv().await?;
                if let Message::Binary(data) = message {
                    ws.send_binary(data).await?;
                }
                b.fetch_max(ws.buffered_amount(), Ordering::Relaxed);
                m.fetch_max(ws.memory_usage(), Ordering::Relaxed);
            }
            #[allow(unreachable_code)]
            Ok::<(), Error>(())
        });
        let frame = client_frame(2, &[1u8; 8 * 1024]);
        let mut sent = 0usize;
        for _ in 0..2_000 {
            // With paused time, the timeout passes only once every task is
            // stuck: the flood has stalled.
            match tokio::time::timeout(Duration::from_secs(1), flooder.write_all(&frame)).await {
                Ok(result) => result.unwrap(),
                Err(_) => break,
            }
            sent += frame.len();
        }
        assert!(
            sent < 1 << 20,
            "the flood never stalled: {sent} bytes taken"
        );
        let buffered = most_buffered.load(Ordering::Relaxed);
        assert!(buffered <= high_water + frame.len(), "{buffered}");
        let memory = most_memory.load(Ordering::Relaxed);
        assert!(memory < 256 * 1024, "{memory}");
        echo.abort();
    })
    .await;
}

/// A peer that stops reading (and sending): the writer is blocked on a
/// full transport, and the pong deadline still fails the connection.
async fn blocked_writer_is_failed_by_the_pong_deadline(role: Role) {
    bounded(async {
        let (_silent, io) = tokio::io::duplex(16 * 1024);
        let config = Config::default()
            .ping_interval(Some(Duration::from_secs(1)))
            .pong_timeout(Some(Duration::from_secs(1)));
        let mut ws = WebSocketStream::from_raw(io, role, config);
        let started = tokio::time::Instant::now();
        let err = loop {
            if let Err(e) = ws.send(message(32 * 1024)).await {
                break e;
            }
        };
        assert!(matches!(err, Error::Closed), "{err:?}");
        assert!(started.elapsed() >= Duration::from_secs(2));
        assert!(started.elapsed() < Duration::from_secs(5));
        match ws.recv().await {
            Err(Error::Protocol(ProtocolError::KeepaliveTimeout)) => {}
            other => panic!("expected the keepalive timeout, got {other:?}"),
        }
        assert!(matches!(ws.recv().await, Err(Error::Closed)));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn server_blocked_writer_is_failed_by_the_pong_deadline() {
    blocked_writer_is_failed_by_the_pong_deadline(Role::Server).await;
}

#[tokio::test(start_paused = true)]
async fn client_blocked_writer_is_failed_by_the_pong_deadline() {
    blocked_writer_is_failed_by_the_pong_deadline(Role::Client).await;
}

/// A close that cannot be written (the peer does not read) is given up
/// after the close timeout, and the transport is let go.
async fn blocked_close_is_ended_by_the_close_deadline(role: Role) {
    bounded(async {
        let (_silent, io) = tokio::io::duplex(16 * 1024);
        let config = Config::default().close_timeout(Some(Duration::from_secs(2)));
        let mut ws = WebSocketStream::from_raw(io, role, config);
        ws.set_high_water_mark(1 << 20);
        ws.send_binary(vec![7u8; 256 * 1024]).now_or_never();
        let started = tokio::time::Instant::now();
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        assert!(started.elapsed() >= Duration::from_secs(2));
        match ws.recv().await {
            Err(Error::Protocol(ProtocolError::CloseTimeout)) => {}
            other => panic!("expected the close timeout, got {other:?}"),
        }
        assert!(matches!(ws.recv().await, Err(Error::Closed)));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn server_blocked_close_is_ended_by_the_close_deadline() {
    blocked_close_is_ended_by_the_close_deadline(Role::Server).await;
}

#[tokio::test(start_paused = true)]
async fn client_blocked_close_is_ended_by_the_close_deadline() {
    blocked_close_is_ended_by_the_close_deadline(Role::Client).await;
}
