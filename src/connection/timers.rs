//! Keepalive, idle and close timers, driven by the caller's clock.
//!
//! The connection never reads a clock. Time advances only when the caller
//! passes it to [`Connection::handle_timeout`]; inputs and commands merely
//! note that something happened, and the next `handle_timeout` arms or
//! re-arms the timers from the time it is given. Callers that use no timers
//! never pass a time at all.

use std::time::Instant;

use super::Connection;
use crate::error::ProtocolError;
use crate::frame::{CloseCode, OpCode};

/// The deadlines, each `None` while its timer is not running.
#[derive(Debug, Default)]
pub(super) struct Timers {
    /// Send a keepalive ping at this time.
    keepalive: Option<Instant>,
    /// Fail the connection if nothing arrives by this time.
    pong: Option<Instant>,
    /// Close the connection if no data frame crosses by this time.
    idle: Option<Instant>,
    /// Give up on the close handshake at this time.
    close: Option<Instant>,
    /// `handle_timeout` was called at least once.
    started: bool,
}

impl Timers {
    fn earliest(&self) -> Option<Instant> {
        [self.keepalive, self.pong, self.idle, self.close]
            .into_iter()
            .flatten()
            .min()
    }
}

impl Connection {
    /// Output: the next time [`handle_timeout`](Self::handle_timeout) has
    /// work to do, or `None` when no timer runs.
    ///
    /// Timers start on the first `handle_timeout` call; after that, call it
    /// again after each batch of inputs and commands (it arms the timers
    /// they started) and whenever this deadline passes.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.earliest()
    }

    /// Input: the time is now `now`. Fires what is due; does nothing when
    /// called early or twice.
    ///
    /// - keepalive ([`Config::ping_interval`](crate::Config::ping_interval)):
    ///   after the interval without receiving anything, a ping is queued;
    ///   if nothing arrives within the pong timeout, the connection fails
    ///   with 1011 ([`ProtocolError::KeepaliveTimeout`]);
    /// - idle ([`Config::idle_timeout`](crate::Config::idle_timeout)): after
    ///   that long with no data frame in either direction, a close with 1001
    ///   is queued;
    /// - close ([`Config::close_timeout`](crate::Config::close_timeout)):
    ///   that long after this end's close frame, [`is_closed`](Self::is_closed)
    ///   becomes true, and [`ProtocolError::CloseTimeout`] reports an
    ///   abnormal closure if the peer's close never came.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.arm(now);
        if self.is_closed() {
            self.timers = Timers {
                started: true,
                ..Timers::default()
            };
            return;
        }
        if self.timers.close.is_some_and(|t| t <= now) {
            self.timers.close = None;
            self.close_timed_out = true;
            if !self.close_received {
                self.pending_event = Some(self.fail(ProtocolError::CloseTimeout));
            }
            return;
        }
        if self.timers.pong.is_some_and(|t| t <= now) {
            self.timers.pong = None;
            self.pending_event = Some(self.fail(ProtocolError::KeepaliveTimeout));
            return;
        }
        if self.timers.keepalive.is_some_and(|t| t <= now) {
            self.timers.keepalive = None;
            if !self.close_sent {
                self.queue_frame(true, OpCode::Ping, (&[][..]).into());
                self.timers.pong = self.config.pong_timeout.map(|d| now + d);
            }
        }
        if self.timers.idle.is_some_and(|t| t <= now) {
            self.timers.idle = None;
            if !self.close_sent {
                self.queue_close(Some(CloseCode::GOING_AWAY), "idle timeout");
                self.arm(now);
            }
        }
    }

    /// Arms the timers that inputs and commands started since the last call.
    fn arm(&mut self, now: Instant) {
        let first = !self.timers.started;
        self.timers.started = true;
        if first || self.rx_activity {
            // Anything received is a sign of life (and answers a keepalive ping).
            self.timers.keepalive = self.config.ping_interval.map(|d| now + d);
            self.timers.pong = None;
        }
        if first || self.data_activity {
            self.timers.idle = self.config.idle_timeout.map(|d| now + d);
        }
        self.rx_activity = false;
        self.data_activity = false;
        if self.close_sent && self.timers.close.is_none() && !self.close_timed_out {
            self.timers.close = self.config.close_timeout.map(|d| now + d);
        }
        if self.close_sent {
            // The close timer governs from here on.
            self.timers.keepalive = None;
            self.timers.pong = None;
            self.timers.idle = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::connection::{Event, Role};
    use crate::entropy::SeededEntropy;
    use crate::Config;

    const SEC: Duration = Duration::from_secs(1);

    fn conn(role: Role, config: Config) -> Connection {
        Connection::with_entropy(role, config, Box::new(SeededEntropy::new(3)))
    }

    fn sent(conn: &mut Connection) -> Vec<u8> {
        std::iter::from_fn(|| conn.poll_transmit())
            .flat_map(|b| b.to_vec())
            .collect()
    }

    /// The opcodes of the frames a server sent (unmasked, short payloads).
    fn opcodes(mut wire: &[u8]) -> Vec<u8> {
        let mut ops = Vec::new();
        while wire.len() >= 2 {
            ops.push(wire[0] & 0x0F);
            wire = &wire[2 + usize::from(wire[1] & 0x7F)..];
        }
        ops
    }

    fn keepalive() -> Config {
        Config::default()
            .ping_interval(Some(SEC))
            .pong_timeout(Some(SEC))
            .close_timeout(Some(SEC))
    }

    #[test]
    fn no_timer_runs_without_configuration_or_a_first_call() {
        let mut c = conn(Role::Server, Config::default().close_timeout(None));
        assert_eq!(c.poll_timeout(), None);
        c.handle_timeout(Instant::now());
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn keepalive_pings_after_the_interval_and_fails_with_1011_after_the_pong_timeout() {
        let t0 = Instant::now();
        let mut c = conn(Role::Server, keepalive());
        c.handle_timeout(t0);
        assert_eq!(c.poll_timeout(), Some(t0 + SEC));
        c.handle_timeout(t0 + SEC / 2);
        assert_eq!(sent(&mut c), b"", "called early: nothing fires");
        c.handle_timeout(t0 + SEC);
        assert_eq!(sent(&mut c), [0x89, 0x00], "an empty ping");
        c.handle_timeout(t0 + SEC);
        assert_eq!(sent(&mut c), b"", "called twice: nothing more");
        assert_eq!(c.poll_timeout(), Some(t0 + 2 * SEC));
        c.handle_timeout(t0 + 2 * SEC);
        assert_eq!(
            c.poll_event(),
            Some(Event::ProtocolError(ProtocolError::KeepaliveTimeout))
        );
        assert_eq!(sent(&mut c), [0x88, 0x02, 0x03, 0xF3], "close 1011");
        assert!(c.is_closed());
        c.handle_timeout(t0 + 3 * SEC);
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn anything_received_re_arms_the_keepalive_and_answers_the_ping() {
        let t0 = Instant::now();
        let mut c = conn(Role::Server, keepalive());
        c.handle_timeout(t0);
        c.handle_timeout(t0 + SEC);
        assert_eq!(opcodes(&sent(&mut c)), [0x9]);
        // A masked pong arrives before the deadline.
        c.handle_read(&[0x8A, 0x80, 1, 2, 3, 4]);
        assert_eq!(c.poll_event(), Some(Event::Pong(crate::Bytes::new())));
        c.handle_timeout(t0 + SEC + SEC / 2);
        assert_eq!(c.poll_timeout(), Some(t0 + 2 * SEC + SEC / 2));
        c.handle_timeout(t0 + 2 * SEC);
        assert!(!c.is_closed());
        assert_eq!(c.poll_event(), None);
    }

    #[test]
    fn close_timeout_reports_an_abnormal_closure_when_the_peer_never_answers() {
        for role in [Role::Server, Role::Client] {
            let t0 = Instant::now();
            let mut c = conn(role, keepalive());
            c.handle_timeout(t0);
            c.close(CloseCode::NORMAL, "").unwrap();
            let _ = sent(&mut c);
            c.handle_timeout(t0 + SEC / 4);
            assert_eq!(
                c.poll_timeout(),
                Some(t0 + SEC / 4 + SEC),
                "no keepalive while closing"
            );
            assert!(!c.is_closed());
            c.handle_timeout(t0 + SEC / 4 + SEC);
            assert!(c.is_closed(), "{role:?}");
            assert_eq!(
                c.poll_event(),
                Some(Event::ProtocolError(ProtocolError::CloseTimeout))
            );
            assert_eq!(
                ProtocolError::CloseTimeout.close_code(),
                CloseCode::ABNORMAL
            );
            assert_eq!(sent(&mut c), b"", "1006 is never sent");
        }
    }

    #[test]
    fn client_close_timeout_ends_the_wait_for_the_server_to_close_the_transport() {
        let t0 = Instant::now();
        let mut c = conn(Role::Client, keepalive());
        c.handle_timeout(t0);
        c.close(CloseCode::NORMAL, "").unwrap();
        c.handle_timeout(t0);
        c.handle_read(&[0x88, 0x02, 0x03, 0xE8]);
        assert!(matches!(c.poll_event(), Some(Event::Close(_))));
        assert!(!c.is_closed(), "waits for the server to close first");
        c.handle_timeout(t0 + SEC);
        assert!(c.is_closed());
        assert_eq!(c.poll_event(), None, "the handshake itself was clean");
    }

    #[test]
    fn close_handshake_completed_in_time_stops_the_close_timer() {
        let t0 = Instant::now();
        let mut c = conn(Role::Server, keepalive());
        c.handle_timeout(t0);
        c.close(CloseCode::NORMAL, "").unwrap();
        c.handle_timeout(t0);
        c.handle_read(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]);
        assert!(matches!(c.poll_event(), Some(Event::Close(_))));
        c.handle_timeout(t0 + SEC / 2);
        assert!(c.is_closed());
        assert_eq!(c.poll_timeout(), None);
        c.handle_timeout(t0 + 5 * SEC);
        assert_eq!(c.poll_event(), None);
    }

    #[test]
    fn idle_timeout_closes_with_1001_and_data_re_arms_it() {
        let t0 = Instant::now();
        let config = Config::default()
            .idle_timeout(Some(2 * SEC))
            .close_timeout(None);
        let mut c = conn(Role::Server, config);
        c.handle_timeout(t0);
        c.send_text("still here").unwrap();
        let _ = sent(&mut c);
        c.handle_timeout(t0 + SEC);
        c.handle_timeout(t0 + 2 * SEC);
        assert_eq!(sent(&mut c), b"", "re-armed by the send at t0 + 1 s");
        c.handle_timeout(t0 + 3 * SEC);
        let out = sent(&mut c);
        assert_eq!(&out[..4], &[0x88, 14, 0x03, 0xE9]);
        assert!(c.is_close_sent());
    }
}
