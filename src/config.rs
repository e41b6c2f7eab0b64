//! Connection settings: a `Default` struct with setters. Each setter says
//! its default, the memory it allows a peer to make the connection hold,
//! and the RFC clause behind it.

use std::time::Duration;

use crate::extensions::DeflateConfig;
use crate::pool::MemoryPool;

/// Limits and behaviour of a [`Connection`](crate::Connection) and of the
/// opening handshakes.
///
/// Set with the builder methods, which document each default and the memory
/// it lets a peer make the connection hold; read the public fields of the
/// same names. (A `#[non_exhaustive]` struct: build it from
/// `Config::default()`.)
///
/// ```
/// let config = wsproto::Config::default()
///     .max_message_size(1 << 20)
///     .auto_pong(false);
/// assert_eq!(config.max_message_size, 1 << 20);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The frame size limit ([`Config::max_frame_size`]).
    pub max_frame_size: usize,
    /// The message size limit ([`Config::max_message_size`]).
    pub max_message_size: usize,
    /// Whether pings are answered automatically ([`Config::auto_pong`]).
    pub auto_pong: bool,
    /// Whether data messages are handed out piece by piece ([`Config::streaming`]).
    pub streaming: bool,
    /// Whether a server accepts unmasked frames ([`Config::accept_unmasked_frames`]).
    pub accept_unmasked_frames: bool,
    /// The send queue limit ([`Config::max_send_queue`]).
    pub max_send_queue: usize,
    /// The memory budget ([`Config::memory_budget`]).
    pub memory_budget: Option<usize>,
    /// The pool shared with other connections ([`Config::memory_pool`]).
    pub memory_pool: Option<MemoryPool>,
    /// The keepalive interval ([`Config::ping_interval`]).
    pub ping_interval: Option<Duration>,
    /// The wait for an answer to a keepalive ping ([`Config::pong_timeout`]).
    pub pong_timeout: Option<Duration>,
    /// The idle timeout ([`Config::idle_timeout`]).
    pub idle_timeout: Option<Duration>,
    /// The closing handshake's time limit ([`Config::close_timeout`]).
    pub close_timeout: Option<Duration>,
    /// How long queued bytes may wait for the peer to take them ([`Config::send_timeout`]).
    pub send_timeout: Option<Duration>,
    /// The opening handshake's time limit ([`Config::handshake_timeout`]).
    pub handshake_timeout: Option<Duration>,
    /// The opening handshake's head size limit ([`Config::max_handshake_size`]).
    pub max_handshake_size: usize,
    /// The opening handshake's header count limit ([`Config::max_handshake_headers`]).
    pub max_handshake_headers: usize,
    /// The permessage-deflate settings ([`Config::deflate`]).
    pub deflate: DeflateConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            auto_pong: true,
            streaming: false,
            accept_unmasked_frames: false,
            max_send_queue: 64 << 20,
            memory_budget: None,
            memory_pool: None,
            ping_interval: None,
            pong_timeout: Some(Duration::from_secs(20)),
            idle_timeout: None,
            close_timeout: Some(Duration::from_secs(10)),
            send_timeout: Some(Duration::from_secs(30)),
            handshake_timeout: Some(Duration::from_secs(10)),
            max_handshake_size: 16 * 1024,
            max_handshake_headers: 64,
            deflate: DeflateConfig::default(),
        }
    }
}

impl Config {
    /// The largest payload one frame may announce. Default 16 MiB.
    ///
    /// A frame over it fails the connection with close code 1009 as soon as
    /// its header arrives, before any of its payload is buffered. Without
    /// streaming, a peer can make the connection buffer up to this much for
    /// one frame.
    #[must_use]
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// The largest message, summed over its fragments. Default 64 MiB.
    ///
    /// A message that grows past it fails the connection with close code
    /// 1009 (RFC 6455 §7.4.1) as soon as a frame header shows it would. This
    /// bounds the reassembly buffer; in streaming mode it still bounds the
    /// size of each message.
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Answer every ping with a pong carrying the same payload (RFC 6455
    /// §5.5.2, §5.5.3). Default on. Pings are reported as events either way.
    #[must_use]
    pub fn auto_pong(mut self, on: bool) -> Self {
        self.auto_pong = on;
        self
    }

    /// Hand out data messages piece by piece as their bytes arrive
    /// ([`Event::Chunk`](crate::Event::Chunk)) instead of assembling them.
    /// Default off.
    ///
    /// The connection then holds no more of a message than what one read
    /// delivered (for a compressed message: what that read inflates to,
    /// which can be up to [`max_message_size`](Self::max_message_size) in
    /// one piece), and text is still validated as it arrives, fail-fast.
    #[must_use]
    pub fn streaming(mut self, on: bool) -> Self {
        self.streaming = on;
        self
    }

    /// Accept unmasked frames from a client (server role only). Default off:
    /// RFC 6455 §5.1 says a server MUST close the connection on an unmasked
    /// frame. Turn it on only for a transport that already guarantees what
    /// masking is for, such as some HTTP/2 or in-process uses.
    #[must_use]
    pub fn accept_unmasked_frames(mut self, on: bool) -> Self {
        self.accept_unmasked_frames = on;
        self
    }

    /// The most bytes the send queue may hold. Default 64 MiB.
    ///
    /// A send that would take [`buffered_amount`](crate::Connection::buffered_amount)
    /// past it returns [`Error::SendQueueFull`](crate::Error::SendQueueFull)
    /// instead of growing the queue (an unbounded send buffer was
    /// RUSTSEC-2020-0043). Pongs to a ping flood never grow the queue: only
    /// the most recent ping is answered (RFC 6455 §5.5.3).
    #[must_use]
    pub fn max_send_queue(mut self, bytes: usize) -> Self {
        self.max_send_queue = bytes;
        self
    }

    /// An overall bound on what the connection holds, as
    /// [`memory_usage`](crate::Connection::memory_usage) counts it: read
    /// buffer, reassembly, send queue, pending pongs, compression state.
    /// Default none. Payloads already handed out are not counted.
    ///
    /// Received data that would cross it fails the connection with close
    /// code 1009 (a compressed message may inflate to no more than the
    /// budget); a send that would cross it returns
    /// [`Error::SendQueueFull`](crate::Error::SendQueueFull).
    #[must_use]
    pub fn memory_budget(mut self, bytes: Option<usize>) -> Self {
        self.memory_budget = bytes;
        self
    }

    /// A pool of memory shared with other connections: this connection's
    /// buffers (read buffer, reassembly, inflated output, send queue) draw
    /// from it, in chunks, and a buffer that would pass it fails the
    /// connection with 1009 on receive or returns
    /// [`Error::SendQueueFull`](crate::Error::SendQueueFull) on send. Default
    /// none. See [`MemoryPool`].
    #[must_use]
    pub fn memory_pool(mut self, pool: Option<MemoryPool>) -> Self {
        self.memory_pool = pool;
        self
    }

    /// Send a ping after this long without receiving anything. Default off.
    ///
    /// Any received byte counts as a sign of life. After the ping, the
    /// [`pong_timeout`](Self::pong_timeout) runs. Timers run only when the
    /// caller drives them with [`handle_timeout`](crate::Connection::handle_timeout).
    #[must_use]
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval;
        self
    }

    /// How long to wait, after a keepalive ping, for anything from the peer.
    /// Default 20 s; `None` never gives up. On expiry the connection fails
    /// with close code 1011 and
    /// [`ProtocolError::KeepaliveTimeout`](crate::ProtocolError::KeepaliveTimeout).
    #[must_use]
    pub fn pong_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pong_timeout = timeout;
        self
    }

    /// Close the connection (code 1001, reason "idle timeout") after this
    /// long without a data frame (text, binary or continuation) in either
    /// direction. Default off. Pings and pongs do not count: with keepalive
    /// on they would otherwise keep a connection from ever idling.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// After sending a close frame, how long to wait for the peer's close
    /// (and, for a client, for the server to close the transport). Default
    /// 10 s. On expiry [`is_closed`](crate::Connection::is_closed) becomes
    /// true and, if the peer's close never came,
    /// [`ProtocolError::CloseTimeout`](crate::ProtocolError::CloseTimeout)
    /// reports an abnormal closure (1006). `None` waits forever.
    #[must_use]
    pub fn close_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// How long a queued byte may wait to be handed out to the transport.
    /// Default 30 s; `None` waits forever. On expiry the connection fails
    /// with [`ProtocolError::SendTimeout`](crate::ProtocolError::SendTimeout)
    /// and drops its queue: a peer that stops reading (its receive window
    /// shut, a ping flood it never reads the answers to) cannot hold the
    /// connection and its queued data, however slowly it takes bytes, since
    /// the deadline is per byte queued, not per write. The adapters write
    /// with this deadline.
    #[must_use]
    pub fn send_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// How long the opening handshake may take, from the first
    /// `handle_timeout` call of a [`ClientHandshake`](crate::handshake::ClientHandshake)
    /// or [`ServerHandshake`](crate::handshake::ServerHandshake) until the
    /// response or request head is complete. Default 10 s; `None` waits
    /// forever. On expiry the handshake fails with
    /// [`RequestError::Timeout`](crate::handshake::RequestError::Timeout) or
    /// [`ResponseError::Timeout`](crate::handshake::ResponseError::Timeout).
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The largest HTTP head the opening handshake reads from the peer (the
    /// request for a server, the response for a client), in bytes, from the
    /// request or status line to the blank line that ends it, inclusive.
    /// Default 16 KiB.
    ///
    /// A head that has not ended within this many bytes fails as soon as the
    /// bytes are there, without waiting for more; a server answers 431
    /// (RFC 6585 §5). A handshake buffers at most this much plus one read,
    /// and then at most a frame ([`max_frame_size`](Self::max_frame_size)
    /// plus 14 bytes) after the head until the connection is handed over.
    #[must_use]
    pub fn max_handshake_size(mut self, bytes: usize) -> Self {
        self.max_handshake_size = bytes;
        self
    }

    /// The most header lines the peer's handshake head may have. Default 64.
    ///
    /// More fails the handshake; a server answers 431 (RFC 6585 §5).
    /// Parsing allocates an array of this many entries (32 bytes each on
    /// 64-bit targets) once, when the head is complete.
    #[must_use]
    pub fn max_handshake_headers(mut self, count: usize) -> Self {
        self.max_handshake_headers = count;
        self
    }

    /// permessage-deflate (RFC 7692): whether the handshakes offer and
    /// accept it, with what parameters, and which messages are compressed.
    /// Default: on with the `deflate` feature, 15-bit windows, context
    /// takeover, messages of 32 bytes and more compressed; see
    /// [`DeflateConfig`] for each setting and the memory it costs.
    #[must_use]
    pub fn deflate(mut self, deflate: DeflateConfig) -> Self {
        self.deflate = deflate;
        self
    }
}
