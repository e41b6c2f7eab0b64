//! Connection settings: a `Default` struct with setters. Each setter says
//! its default, the memory it allows a peer to make the connection hold,
//! and the RFC clause behind it.

/// Limits and behaviour of a [`Connection`](crate::Connection).
///
/// ```
/// let config = wsproto::Config::default()
///     .max_message_size(1 << 20)
///     .auto_pong(false);
/// assert_eq!(config.get_max_message_size(), 1 << 20);
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) max_frame_size: usize,
    pub(crate) max_message_size: usize,
    pub(crate) auto_pong: bool,
    pub(crate) streaming: bool,
    pub(crate) accept_unmasked_frames: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            auto_pong: true,
            streaming: false,
            accept_unmasked_frames: false,
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
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Answer every ping with a pong carrying the same payload (RFC 6455
    /// §5.5.2, §5.5.3). Default on. Pings are reported as events either way.
    pub fn auto_pong(mut self, on: bool) -> Self {
        self.auto_pong = on;
        self
    }

    /// Hand out data messages piece by piece as their bytes arrive
    /// ([`Event::Chunk`](crate::Event::Chunk)) instead of assembling them.
    /// Default off.
    ///
    /// The connection then holds no more than what one read delivered, and
    /// text is still validated as it arrives, fail-fast.
    pub fn streaming(mut self, on: bool) -> Self {
        self.streaming = on;
        self
    }

    /// Accept unmasked frames from a client (server role only). Default off:
    /// RFC 6455 §5.1 says a server MUST close the connection on an unmasked
    /// frame. Turn it on only for a transport that already guarantees what
    /// masking is for, such as some HTTP/2 or in-process uses.
    pub fn accept_unmasked_frames(mut self, on: bool) -> Self {
        self.accept_unmasked_frames = on;
        self
    }

    /// The frame size limit.
    pub fn get_max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// The message size limit.
    pub fn get_max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Whether pings are answered automatically.
    pub fn get_auto_pong(&self) -> bool {
        self.auto_pong
    }

    /// Whether data messages are handed out piece by piece.
    pub fn get_streaming(&self) -> bool {
        self.streaming
    }
}
