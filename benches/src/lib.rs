//! Helpers shared by the benchmarks: the inputs (payloads and their masked
//! wire encoding), an in-memory stream the peers read from and write to, and a
//! no-op executor for the async peers.
//!
//! The same [`MemStream`] drives every peer, so what differs between two
//! measurements of one workload is the library, not the harness:
//!
//! - reading copies the pre-encoded wire bytes into the library's own buffer,
//!   as a socket read would; wsproto's `handle_read` makes the same copy;
//! - writing appends to a `Vec` that the benchmark clears (keeping its
//!   capacity) before each message, as a socket write would copy out.
//!
//! The stream never blocks: a read with nothing left returns `WouldBlock` /
//! `Pending`, which [`block_on`] turns into a panic, so a benchmark that
//! asks a peer for more than one message per iteration fails loudly instead
//! of measuring a stall.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wsproto::frame::{apply_mask, FrameHeader, OpCode};

pub mod loopback;

/// One KiB.
pub const KIB: usize = 1024;
/// One MiB.
pub const MIB: usize = 1024 * 1024;

/// The masking key every pre-encoded client frame uses. Its value does not
/// change the work; it is fixed so the inputs are byte-exact between runs.
pub const MASK_KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// `len` bytes of binary payload (a repeating non-trivial pattern).
pub fn binary_payload(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 7)) as u8)
        .collect()
}

/// `len` bytes of ASCII text that looks like a small JSON message.
pub fn ascii_text(len: usize) -> String {
    const PATTERN: &str = r#"{"type":"update","id":12345,"price":"101.25","qty":7,"side":"buy","ts":1700000000123,"venue":"X"}"#;
    PATTERN.chars().cycle().take(len).collect()
}

/// Exactly `len` bytes of text that mixes 2-, 3- and 4-byte UTF-8 sequences
/// (and spaces), padded with ASCII to the exact length.
pub fn multibyte_text(len: usize) -> String {
    // Bytes per char: é 2, € 3, 😀 4, ' ' 1, ж 2, 中 3, 𝄞 4, ü 2, ひ 3, 🚀 4.
    const PATTERN: [char; 10] = ['é', '€', '😀', ' ', 'ж', '中', '𝄞', 'ü', 'ひ', '🚀'];
    let mut text = String::with_capacity(len);
    for c in PATTERN.iter().cycle() {
        if text.len() + c.len_utf8() > len {
            break;
        }
        text.push(*c);
    }
    while text.len() < len {
        text.push('a');
    }
    text
}

/// One whole message (FIN set) as a client sends it: masked with [`MASK_KEY`].
pub fn masked_frame(opcode: OpCode, payload: &[u8]) -> Bytes {
    let mut header = FrameHeader::new(true, opcode, payload.len() as u64);
    header.mask = Some(MASK_KEY);
    let mut wire = vec![0u8; header.encoded_len() + payload.len()];
    let at = header.encode(&mut wire);
    wire[at..].copy_from_slice(payload);
    apply_mask(&mut wire[at..], MASK_KEY, 0);
    Bytes::from(wire)
}

#[derive(Debug, Default)]
struct MemInner {
    input: Bytes,
    pos: usize,
    output: Vec<u8>,
}

/// An in-memory duplex stream: reads come from one fixed input that
/// [`rewind`](Self::rewind) makes available again, writes go to a `Vec`.
///
/// Cloning gives another handle to the same stream, so a benchmark keeps one
/// to rewind the input and clear the output while the peer owns the other.
#[derive(Debug, Clone, Default)]
pub struct MemStream {
    inner: Rc<RefCell<MemInner>>,
}

impl MemStream {
    /// A stream whose input is `input`, not yet rewound: call
    /// [`rewind`](Self::rewind) before each message.
    pub fn new(input: Bytes) -> Self {
        let len = input.len();
        let stream = Self {
            inner: Rc::new(RefCell::new(MemInner {
                input,
                pos: len,
                output: Vec::new(),
            })),
        };
        stream.reserve_output(len);
        stream
    }

    /// Makes the whole input readable again.
    pub fn rewind(&self) {
        self.inner.borrow_mut().pos = 0;
    }

    /// Input bytes not yet read.
    pub fn unread(&self) -> usize {
        let inner = self.inner.borrow();
        inner.input.len() - inner.pos
    }

    /// Forgets what was written, keeping the capacity.
    pub fn clear_output(&self) {
        self.inner.borrow_mut().output.clear();
    }

    /// Makes room for `additional` written bytes up front, so that a
    /// benchmark does not measure the sink's first growth.
    pub fn reserve_output(&self, additional: usize) {
        self.inner.borrow_mut().output.reserve(additional);
    }

    /// A copy of what was written.
    pub fn output(&self) -> Vec<u8> {
        self.inner.borrow().output.clone()
    }

    fn read_into(&self, dst: &mut [u8]) -> usize {
        let mut inner = self.inner.borrow_mut();
        let pos = inner.pos;
        let n = dst.len().min(inner.input.len() - pos);
        dst[..n].copy_from_slice(&inner.input[pos..pos + n]);
        inner.pos += n;
        n
    }

    fn write_from(&self, src: &[u8]) {
        self.inner.borrow_mut().output.extend_from_slice(src);
    }
}

impl io::Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.unread() == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(self.read_into(buf))
    }
}

impl io::Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_from(buf);
        Ok(buf.len())
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let mut n = 0;
        for buf in bufs {
            self.write_from(buf);
            n += buf.len();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for MemStream {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.unread() == 0 {
            return Poll::Pending;
        }
        let n = self.read_into(buf.initialize_unfilled());
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for MemStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_from(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut n = 0;
        for buf in bufs {
            self.write_from(buf);
            n += buf.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs a future that never waits (everything it touches is in memory) to
/// completion with a single poll and a no-op waker: the cheapest executor
/// there is, so the async peers pay for nothing but their own code.
///
/// # Panics
///
/// If the future returns `Pending`: it asked the in-memory stream for bytes
/// the benchmark did not provide.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the in-memory stream ran dry: the future would block"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multibyte_text_has_the_exact_length_and_mixes_widths() {
        let text = multibyte_text(MIB);
        assert_eq!(text.len(), MIB);
        for width in 2..=4 {
            assert!(text.chars().any(|c| c.len_utf8() == width));
        }
    }

    #[test]
    fn masked_frame_round_trips_through_wsproto() {
        let payload = binary_payload(300);
        let wire = masked_frame(OpCode::Binary, &payload);
        let mut server = wsproto::Connection::new(wsproto::Role::Server, Default::default());
        server.handle_read(&wire);
        assert_eq!(
            server.poll_event(),
            Some(wsproto::Event::Message(wsproto::Message::Binary(
                payload.into()
            )))
        );
    }
}
