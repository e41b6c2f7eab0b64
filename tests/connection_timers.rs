//! Keepalive, idle and close timers between two real connections on a
//! virtual clock, under both ways of driving them: a caller that calls
//! `handle_timeout` after every batch of inputs, and one that calls it only
//! when `poll_timeout`'s deadline comes (the quinn-proto pattern). Every
//! timer must fire within its configured duration of the event that armed
//! it, under both.

mod common;

use std::time::Duration;

use common::{Clocked, Drive, Side};
use wsproto::{CloseCode, Config, Event, Message, ProtocolError, State};

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);
const PING: u8 = 0x9;
const CLOSE: u8 = 0x8;

fn quiet() -> Config {
    Config::default().close_timeout(None)
}

#[test]
fn keepalive_pings_one_interval_after_the_last_thing_received() {
    for drive in [Drive::EveryBatch, Drive::DeadlinesOnly] {
        let server = quiet().ping_interval(Some(SEC)).pong_timeout(Some(SEC / 2));
        let mut pair = Clocked::new(quiet(), server, drive);
        pair.run_until(10 * SEC);
        // Each ping is answered at once, so each next one comes exactly one
        // interval later.
        let pings = pair.sent_at(Side::Server, PING);
        let expected: Vec<Duration> = (1..=10).map(|i| i * SEC).collect();
        assert_eq!(pings, expected, "{drive:?}");
        assert_eq!(pair.server.state(), State::Open, "{drive:?}");
    }
}

#[test]
fn keepalive_waits_an_interval_after_data_from_the_peer() {
    for drive in [Drive::EveryBatch, Drive::DeadlinesOnly] {
        let server = quiet().ping_interval(Some(SEC)).pong_timeout(None);
        let mut pair = Clocked::new(quiet(), server, drive);
        pair.run_until(SEC / 2);
        pair.client.send_text("sign of life").unwrap();
        pair.settle();
        pair.run_until(3 * SEC);
        // The message at 0.5 s re-armed the keepalive: the first ping at
        // 1.5 s, the next one interval after its pong.
        let pings = pair.sent_at(Side::Server, PING);
        assert_eq!(pings, [1500 * MS, 2500 * MS], "{drive:?}");
    }
}

#[test]
fn unanswered_keepalive_fails_with_1011_at_the_pong_deadline() {
    for drive in [Drive::EveryBatch, Drive::DeadlinesOnly] {
        let server = quiet().ping_interval(Some(SEC)).pong_timeout(Some(SEC / 2));
        let mut pair = Clocked::new(quiet(), server, drive);
        pair.client_reads = false; // the peer is gone: nothing answers
        pair.run_until(5 * SEC);
        let (at, _) = pair
            .first_event(Side::Server, |e| {
                matches!(e, Event::Failed(ProtocolError::KeepaliveTimeout))
            })
            .expect("the keepalive failed the connection");
        assert_eq!(at, 1500 * MS, "{drive:?}");
        assert_eq!(pair.sent_at(Side::Server, CLOSE), [1500 * MS], "{drive:?}");
        assert!(pair.server.is_closed());
    }
}

#[test]
fn idle_timeout_counts_from_the_last_data_frame() {
    for drive in [Drive::EveryBatch, Drive::DeadlinesOnly] {
        let server = quiet().idle_timeout(Some(2 * SEC));
        let mut pair = Clocked::new(quiet(), server, drive);
        for at in [500 * MS, 1000 * MS] {
            pair.run_until(at);
            pair.client.send_text("still here").unwrap();
            pair.settle();
        }
        pair.run_until(5 * SEC);
        // The last data frame crossed at 1 s: the server closes at 3 s.
        assert_eq!(pair.sent_at(Side::Server, CLOSE), [3 * SEC], "{drive:?}");
        let (at, event) = pair
            .first_event(Side::Client, |e| {
                matches!(e, Event::Message(Message::Close(_)))
            })
            .unwrap();
        assert_eq!(at, 3 * SEC);
        let Event::Message(Message::Close(Some(close))) = event else {
            panic!("{event:?}")
        };
        assert_eq!(close.code, CloseCode::GOING_AWAY);
    }
}

#[test]
fn idle_timeout_is_not_kept_off_by_keepalive_pings() {
    for drive in [Drive::EveryBatch, Drive::DeadlinesOnly] {
        let server = quiet()
            .idle_timeout(Some(3 * SEC))
            .ping_interval(Some(SEC))
            .pong_timeout(Some(SEC / 2));
        let mut pair = Clocked::new(quiet(), server, drive);
        pair.run_until(10 * SEC);
        assert_eq!(pair.sent_at(Side::Server, CLOSE), [3 * SEC], "{drive:?}");
    }
}

#[test]
fn close_timeout_counts_from_the_close_call() {
    for drive in [Drive::EveryBatch, Drive::DeadlinesOnly] {
        let client = Config::default().close_timeout(Some(2 * SEC));
        let mut pair = Clocked::new(client, quiet(), drive);
        pair.run_until(SEC);
        pair.server_reads = false; // the server never answers
        pair.client.close(CloseCode::NORMAL, "bye").unwrap();
        pair.settle();
        assert_eq!(pair.client.state(), State::CloseSent);
        pair.run_until(5 * SEC);
        let (at, _) = pair
            .first_event(Side::Client, |e| {
                matches!(e, Event::Failed(ProtocolError::CloseTimeout))
            })
            .expect("the close timer fired");
        assert_eq!(at, 3 * SEC, "{drive:?}");
        assert!(pair.client.is_closed());
        assert_eq!(pair.client.close_code(), Some(CloseCode::ABNORMAL));
    }
}

#[test]
fn client_close_timeout_ends_the_wait_for_the_servers_eof() {
    for drive in [Drive::EveryBatch, Drive::DeadlinesOnly] {
        let client = Config::default().close_timeout(Some(2 * SEC));
        let mut pair = Clocked::new(client, quiet(), drive);
        pair.client.close(CloseCode::NORMAL, "").unwrap();
        pair.run_until(SEC);
        // Both close frames crossed; the server never ends the transport.
        assert_eq!(pair.client.state(), State::AwaitingEof);
        assert!(pair.server.is_closed());
        pair.run_until(5 * SEC);
        assert_eq!(pair.client.state(), State::Closed, "{drive:?}");
        assert_eq!(
            pair.client.failure(),
            None,
            "the handshake itself was clean"
        );
        assert_eq!(pair.client.close_code(), Some(CloseCode::NORMAL));
    }
}

#[test]
fn a_peer_that_takes_bytes_one_at_a_time_is_failed_at_the_send_deadline() {
    use std::io::IoSlice;
    use wsproto::{Connection, Role};
    let mut conn = Connection::new(Role::Server, quiet().send_timeout(Some(5 * SEC)));
    let t0 = std::time::Instant::now();
    conn.handle_timeout(t0);
    conn.send_binary(vec![0u8; 100]).unwrap();
    assert_eq!(
        conn.poll_timeout(),
        Some(t0),
        "the send timer is due to be armed"
    );
    conn.handle_timeout(t0);
    assert_eq!(conn.poll_timeout(), Some(t0 + 5 * SEC));
    // The transport takes one byte a second: progress, but not within the deadline.
    for i in 1..5 {
        let mut slices = [IoSlice::new(&[]); 4];
        let n = conn.transmit_slices(&mut slices);
        assert!(n > 0);
        conn.advance_transmit(1);
        conn.handle_timeout(t0 + i * SEC);
        assert!(!conn.is_closed(), "{i} s");
    }
    conn.handle_timeout(t0 + 5 * SEC);
    assert_eq!(
        conn.poll_event(),
        Some(Event::Failed(ProtocolError::SendTimeout))
    );
    assert!(conn.is_closed());
    assert_eq!(conn.buffered_amount(), 0, "the queue is dropped");
    assert!(conn.poll_shutdown());
}

#[test]
fn a_peer_that_keeps_up_is_never_failed_by_the_send_timer() {
    for drive in [Drive::EveryBatch, Drive::DeadlinesOnly] {
        let server = quiet().send_timeout(Some(SEC));
        let mut pair = Clocked::new(quiet(), server, drive);
        for i in 1..20 {
            pair.run_until(i * 300 * MS);
            pair.server.send_text("tick").unwrap();
            pair.settle();
        }
        pair.run_until(10 * SEC);
        assert_eq!(pair.server.state(), State::Open, "{drive:?}");
    }
}
