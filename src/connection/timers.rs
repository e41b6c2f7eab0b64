//! Keepalive, idle and close timers, driven by the caller's clock.
//!
//! The connection never reads a clock: time advances only when the caller
//! passes it to [`Connection::handle_timeout`]. Inputs and commands note
//! what happened (something arrived, a data frame crossed, the close went
//! out) without a time; the timers they start or re-arm are dated at the
//! next `handle_timeout`. So that this is exact whichever way the caller
//! drives the timers, [`Connection::poll_timeout`] returns the last time
//! given to `handle_timeout` (already past) while such a note is waiting:
//! a caller that only calls at deadlines (the quinn-proto pattern) then
//! calls at once, and one that calls after every batch of inputs does so
//! anyway. Either way a timer counts from the batch that re-armed it, never
//! from a later one, so it fires within its configured duration of the
//! event that armed it (give or take the caller's own batching).

use std::time::Instant;

use super::Connection;
use crate::close::CloseCode;
use crate::error::ProtocolError;
use crate::frame::OpCode;

/// The deadlines, each `None` while its timer is not running, and what
/// happened since they were last armed.
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
    /// Fail the connection if the bytes queued by `send_mark` are not all
    /// handed out by this time.
    send: Option<Instant>,
    /// The total of bytes ever queued when the send timer was last armed.
    send_mark: u64,
    /// The last time `handle_timeout` was given; `None` before the first
    /// call (no timer runs until then).
    now: Option<Instant>,
    /// Something arrived since the timers last looked.
    received: bool,
    /// A data frame crossed, either way, since the timers last looked.
    data: bool,
    /// The close frame went out and the close timer is not armed yet.
    close_pending: bool,
    /// The close timer expired.
    close_expired: bool,
    /// When something was last received (as the timers saw it).
    last_received: Option<Instant>,
}

/// How long without receiving anything before an emptied large read buffer
/// is given back.
const QUIET: std::time::Duration = std::time::Duration::from_secs(1);

/// The earlier of two deadlines, either of which may be unset.
#[inline]
fn earlier(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Timers {
    #[inline]
    fn earliest(&self) -> Option<Instant> {
        [self.pong, self.idle, self.close, self.send]
            .into_iter()
            .fold(self.keepalive, earlier)
    }

    /// `handle_timeout` has been called: time is known.
    pub(super) fn running(&self) -> bool {
        self.now.is_some()
    }

    pub(super) fn on_received(&mut self) {
        self.received = true;
        // Anything received answers a keepalive ping; that needs no clock.
        self.pong = None;
    }

    pub(super) fn on_data(&mut self) {
        self.data = true;
    }

    pub(super) fn on_close_sent(&mut self) {
        if self.close.is_none() && !self.close_expired {
            self.close_pending = true;
        }
        // The close timer governs from here on.
        self.keepalive = None;
        self.pong = None;
        self.idle = None;
    }
}

impl Connection {
    /// No message is under way and a buffer is kept for the next one: a
    /// large emptied read buffer, or the allocation inflated messages
    /// reuse. Going quiet gives them back.
    fn keeps_spare_buffers(&self) -> bool {
        self.message.is_none()
            && (self.read.is_large_and_empty()
                || self
                    .compression
                    .as_ref()
                    .is_some_and(|c| c.keeps_inflated()))
    }

    /// Gives back what [`keeps_spare_buffers`](Self::keeps_spare_buffers) found.
    fn release_spare_buffers(&mut self) {
        if self.read.is_large_and_empty() {
            self.read.release();
        }
        if let Some(compression) = &mut self.compression {
            if compression.keeps_inflated() {
                compression.drop_inflated();
            }
        }
    }

    /// Output: the next time [`handle_timeout`](Self::handle_timeout) has
    /// work to do, or `None` when no timer runs.
    ///
    /// Timers start on the first `handle_timeout` call. After an input or a
    /// command that re-arms a timer, this is the last time given to
    /// `handle_timeout` (a deadline already past): call it again now, and
    /// the timer is dated from then.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = &self.timers;
        let now = t.now?;
        let config = &self.config;
        let undated = (t.received && config.ping_interval.is_some() && !self.state.close_sent())
            || (t.data && config.idle_timeout.is_some() && !self.state.close_sent())
            || (t.close_pending && config.close_timeout.is_some())
            || (t.send.is_none() && self.buffered_amount() > 0 && config.send_timeout.is_some());
        if undated && !self.is_closed() {
            return Some(now);
        }
        // Buffers kept for the next message are given back once the
        // connection is quiet: a second after the last input, once
        // `handle_timeout` has dated it.
        let release = self.keeps_spare_buffers().then(|| match t.last_received {
            Some(at) if !t.received => at + QUIET,
            _ => now,
        });
        earlier(t.earliest(), release)
    }

    /// Input: the time is now `now`. Fires what is due; does nothing when
    /// called early or twice.
    ///
    /// - keepalive ([`Config::ping_interval`](crate::Config::ping_interval)):
    ///   after the interval without receiving anything, a ping is queued;
    ///   if nothing arrives within the pong timeout, the connection fails
    ///   with 1011 ([`ProtocolError::KeepaliveTimeout`]);
    /// - idle ([`Config::idle_timeout`](crate::Config::idle_timeout)): after
    ///   that long with no data frame in either direction (pings and pongs
    ///   do not count), a close with 1001 is queued;
    /// - close ([`Config::close_timeout`](crate::Config::close_timeout)):
    ///   that long after this end's close frame, [`is_closed`](Self::is_closed)
    ///   becomes true, and [`ProtocolError::CloseTimeout`] reports an
    ///   abnormal closure if the peer's close never came;
    /// - send ([`Config::send_timeout`](crate::Config::send_timeout)): bytes
    ///   queued that long ago and still not handed out fail the connection
    ///   with [`ProtocolError::SendTimeout`]: a peer that stops reading is
    ///   dropped, however slowly it drips.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.arm(now);
        if self.keeps_spare_buffers()
            && self.timers.last_received.is_none_or(|at| at + QUIET <= now)
        {
            self.release_spare_buffers();
        }
        if self.is_closed() {
            self.timers = Timers {
                now: Some(now),
                ..Timers::default()
            };
            return;
        }
        if self.timers.close.is_some_and(|t| t <= now) {
            self.timers.close = None;
            self.timers.close_expired = true;
            self.on_close_timeout();
            return;
        }
        if self.timers.send.is_some_and(|t| t <= now) {
            self.timers.send = None;
            self.pending_event = Some(self.on_failure(ProtocolError::SendTimeout));
            return;
        }
        if self.timers.pong.is_some_and(|t| t <= now) {
            self.timers.pong = None;
            self.pending_event = Some(self.on_failure(ProtocolError::KeepaliveTimeout));
            return;
        }
        if self.timers.keepalive.is_some_and(|t| t <= now) {
            self.timers.keepalive = None;
            if !self.state.close_sent() {
                self.queue_frame(true, OpCode::Ping, (&[][..]).into());
                self.timers.pong = self.config.pong_timeout.map(|d| now + d);
            }
        }
        if self.timers.idle.is_some_and(|t| t <= now) {
            self.timers.idle = None;
            if !self.state.close_sent() {
                self.queue_close(Some(CloseCode::GOING_AWAY), "idle timeout");
                self.arm(now);
            }
        }
    }

    /// Arms the timers that inputs and commands started since the last call.
    fn arm(&mut self, now: Instant) {
        let t = &mut self.timers;
        let first = t.now.is_none();
        t.now = Some(now);
        let closing = self.state.close_sent();
        if t.received {
            t.last_received = Some(now);
        }
        if (first || t.received) && !closing {
            // Anything received is a sign of life (and answers a keepalive ping).
            t.keepalive = self.config.ping_interval.map(|d| now + d);
            t.pong = None;
        }
        if (first || t.data) && !closing {
            t.idle = self.config.idle_timeout.map(|d| now + d);
        }
        t.received = false;
        t.data = false;
        if t.close_pending {
            t.close_pending = false;
            t.close = self.config.close_timeout.map(|d| now + d);
        }
        // Every byte must be handed out within the send timeout of the call
        // that first saw it queued: once all that was queued at the mark has
        // gone, the mark moves to what is queued now.
        // Pongs waiting for a frame boundary count as queued.
        let queued = self.buffered_amount();
        let t = &mut self.timers;
        let queued_total = self.send.sent + queued as u64;
        if queued == 0 {
            t.send = None;
            t.send_mark = queued_total;
        } else if t.send.is_none() || self.send.sent >= t.send_mark {
            t.send_mark = queued_total;
            t.send = self.config.send_timeout.map(|d| now + d);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::connection::{Event, Message, Role};
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
            Some(Event::Failed(ProtocolError::KeepaliveTimeout))
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
        assert_eq!(
            c.poll_event(),
            Some(Event::Message(Message::Pong(crate::Bytes::new())))
        );
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
                Some(Event::Failed(ProtocolError::CloseTimeout))
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
        assert!(matches!(
            c.poll_event(),
            Some(Event::Message(Message::Close(_)))
        ));
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
        assert!(matches!(
            c.poll_event(),
            Some(Event::Message(Message::Close(_)))
        ));
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
        assert_eq!(c.state(), crate::State::CloseSent);
    }
}
