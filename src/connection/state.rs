//! The connection's life, in one place: every state and every transition
//! (RFC 6455 §7), as h11's `_state.py` and quinn-proto's `state.rs` keep
//! theirs. Nothing outside this file changes [`Lifecycle::phase`].
//!
//! ```text
//!            close() / timer              peer's close (echo queued)
//!   Open ───────────────────▶ CloseSent ─────────────────────────────┐
//!     │                                                              ▼
//!     │ peer's close (echo queued)                 ┌──── server ── Closed (clean)
//!     └──────────────────────────────────────────▶ ┤
//!                                                  └──── client ── AwaitingEof ── EOF / close timer ──▶ Closed (clean)
//!
//!   any state but Closed ── protocol error, deadline, EOF without close, fail() ──▶ Closed (failed)
//!   CloseSent ── close timer ──▶ Closed (failed: CloseTimeout)
//! ```
//!
//! A server closes the transport as soon as both close frames crossed; a
//! client waits for the server to do it (§7.1.1: "the underlying TCP
//! connection, in most normal cases, SHOULD be closed first by the server").

use super::{Connection, Role};
use crate::close::{CloseCode, CloseFrame};
use crate::error::ProtocolError;
use crate::utf8::Utf8Bytes;

/// Where the connection is in its life, as [`Connection::state`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// This end sent its close frame and waits for the peer's; what the peer
    /// sends meanwhile is still delivered (RFC 6455 §7.1.2).
    CloseSent,
    /// Both close frames crossed; this client waits for the server to close
    /// the transport (RFC 6455 §7.1.1).
    AwaitingEof,
    /// The connection is over: shut the transport down once the queued bytes
    /// are written ([`Connection::poll_shutdown`]).
    Closed,
}

/// The state, and what the closing handshake recorded on the way.
#[derive(Debug)]
pub(super) struct Lifecycle {
    phase: State,
    /// The close frame this end sent (or queued); `NO_STATUS` for one without a code.
    sent: Option<CloseFrame>,
    /// The close frame the peer sent; `NO_STATUS` for one without a code.
    received: Option<CloseFrame>,
    /// Why the connection failed, if it did.
    failure: Option<ProtocolError>,
    /// The peer closed the transport: nothing more will arrive.
    eof: bool,
    /// [`Connection::poll_shutdown`] has said so.
    shutdown_signalled: bool,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self {
            phase: State::Open,
            sent: None,
            received: None,
            failure: None,
            eof: false,
            shutdown_signalled: false,
        }
    }
}

impl Lifecycle {
    pub(super) fn phase(&self) -> State {
        self.phase
    }

    /// Received bytes are still turned into events.
    pub(super) fn accepts_input(&self) -> bool {
        matches!(self.phase, State::Open | State::CloseSent)
    }

    /// The peer closed the transport.
    pub(super) fn at_eof(&self) -> bool {
        self.eof
    }

    /// A close frame was sent (or queued): no frame may follow it.
    pub(super) fn close_sent(&self) -> bool {
        self.sent.is_some()
    }

    pub(super) fn failure(&self) -> Option<&ProtocolError> {
        self.failure.as_ref()
    }

    pub(super) fn sent(&self) -> Option<&CloseFrame> {
        self.sent.as_ref()
    }

    pub(super) fn received(&self) -> Option<&CloseFrame> {
        self.received.as_ref()
    }

    /// The transport may be shut down once the queued bytes are written.
    pub(super) fn is_closed(&self) -> bool {
        self.phase == State::Closed
    }
}

fn recorded(code: Option<CloseCode>, reason: &str) -> CloseFrame {
    match code {
        Some(code) => CloseFrame::new(code, reason),
        None => CloseFrame::new(CloseCode::NO_STATUS, Utf8Bytes::default()),
    }
}

impl Connection {
    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        self.state.phase()
    }

    /// The close frame this end sent or queued, once it has; a close
    /// without a status code reads as [`CloseCode::NO_STATUS`] (1005).
    pub fn sent_close(&self) -> Option<&CloseFrame> {
        self.state.sent()
    }

    /// The peer's close frame, once it arrived; a close without a status
    /// code reads as [`CloseCode::NO_STATUS`] (1005, RFC 6455 §7.1.5).
    pub fn received_close(&self) -> Option<&CloseFrame> {
        self.state.received()
    }

    /// Why the connection failed, once it has (the same error
    /// [`Event::Failed`](crate::Event::Failed) reported).
    pub fn failure(&self) -> Option<&ProtocolError> {
        self.state.failure()
    }

    /// _The WebSocket Connection Close Code_ (RFC 6455 §7.1.5), once the
    /// connection is closed: the code of the peer's close frame, 1005 if it
    /// had none, or 1006 if the connection ended without one.
    pub fn close_code(&self) -> Option<CloseCode> {
        if let Some(received) = self.state.received() {
            return Some(received.code);
        }
        self.state.is_closed().then_some(CloseCode::ABNORMAL)
    }

    /// Whether the transport may be shut down, once every queued byte is
    /// written (RFC 6455 §7.1.1): the connection failed, the peer closed
    /// the transport, or both close frames crossed and this is the server,
    /// or the close timer expired. [`poll_shutdown`](Self::poll_shutdown)
    /// says when the queue is drained too.
    pub fn is_closed(&self) -> bool {
        self.state.is_closed()
    }

    /// Output: `true` exactly once, when the connection is closed and every
    /// queued byte has been handed out: write what was handed out, then shut
    /// the transport down (a server or a failed connection closes it; a
    /// client that was closed cleanly had its transport closed by the server).
    #[must_use]
    pub fn poll_shutdown(&mut self) -> bool {
        if self.state.shutdown_signalled || !self.state.is_closed() || !self.send.is_empty() {
            return false;
        }
        // Pongs are not sent once a close is out (`on_close_queued` drops them).
        self.state.shutdown_signalled = true;
        true
    }

    // ----- transitions -----

    /// This end's close frame was queued (RFC 6455 §7.1.2).
    pub(super) fn on_close_queued(&mut self, code: Option<CloseCode>, reason: &str) {
        self.state.sent = Some(recorded(code, reason));
        // Nothing answers pings once the close is out (RFC 6455 §5.5.1).
        self.pending_pongs.clear();
        if self.state.phase == State::Open {
            self.state.phase = State::CloseSent;
        }
        self.timers.on_close_sent();
    }

    /// The peer's close frame arrived (RFC 6455 §5.5.1): reply with the same
    /// code unless this end sent its close first, then take no more input.
    pub(super) fn on_close_received(&mut self, close: Option<CloseFrame>) -> Option<CloseFrame> {
        let code = close.as_ref().map(|c| c.code);
        self.state.received = Some(match &close {
            Some(frame) => frame.clone(),
            None => recorded(None, ""),
        });
        if !self.state.close_sent() {
            // RFC 6455 §5.5.1: "the endpoint typically echos the status code it received".
            self.queue_close(code, "");
        }
        self.state.phase = match self.role {
            Role::Server => State::Closed,
            Role::Client if self.state.eof => State::Closed,
            Role::Client => State::AwaitingEof,
        };
        self.drop_input();
        close
    }

    /// _Fail the WebSocket Connection_ (RFC 6455 §7.1.7) because of the
    /// peer, a deadline or the transport: queue a close frame with the
    /// error's code if none was sent, and discard further input.
    pub(super) fn on_failure(&mut self, error: ProtocolError) -> ProtocolError {
        // 1006 is never sent; the peer is gone anyway.
        if !self.state.close_sent() && error.close_code() != CloseCode::ABNORMAL {
            self.queue_close(Some(error.close_code()), "");
        }
        if error == ProtocolError::SendTimeout {
            // The peer takes nothing more: what waits for it is dropped.
            self.send.discard();
            self.pending_pongs.clear();
        }
        self.state.failure = Some(error.clone());
        self.state.phase = State::Closed;
        self.drop_input();
        error
    }

    /// The application fails the connection itself (RFC 6455 §7.1.7): its
    /// close frame is queued if none was sent, and input stops.
    pub(super) fn on_local_failure(&mut self, code: CloseCode, reason: &str) {
        if !self.state.close_sent() {
            self.queue_close(Some(code), reason);
        }
        self.state.phase = State::Closed;
        self.drop_input();
    }

    /// The peer closed the transport. Bytes already received are still
    /// turned into events; [`on_input_exhausted`](Self::on_input_exhausted)
    /// decides what the end means once they are.
    pub(super) fn on_eof(&mut self) {
        self.state.eof = true;
        if self.state.phase == State::AwaitingEof {
            self.state.phase = State::Closed;
        }
    }

    /// Every received byte was turned into events. At the end of the
    /// transport without a close frame, the connection ended abnormally
    /// (RFC 6455 §7.1.5: 1006).
    pub(super) fn on_input_exhausted(&mut self) -> Option<ProtocolError> {
        (self.state.eof && self.state.accepts_input())
            .then(|| self.on_failure(ProtocolError::UnexpectedEof))
    }

    /// The close timer expired: the wait for the peer ends. Without the
    /// peer's close frame the closure was abnormal.
    pub(super) fn on_close_timeout(&mut self) {
        match self.state.phase {
            State::CloseSent => {
                self.pending_event = Some(self.on_failure(ProtocolError::CloseTimeout));
            }
            State::AwaitingEof => self.state.phase = State::Closed,
            State::Open | State::Closed => {}
        }
    }

    fn drop_input(&mut self) {
        self.lent = super::recv::Lent::Nothing;
        self.read.release();
        if let Some(compression) = &mut self.compression {
            compression.drop_inflated();
        }
        self.frame = None;
        self.message = None;
    }
}
