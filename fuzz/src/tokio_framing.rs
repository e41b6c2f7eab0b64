//! `tokio_framing`: the tokio adapter ([`WebSocketStream`]) over an
//! in-memory transport that hands out the input in chunks the fuzzer picks,
//! with `Pending` in between, and takes writes in pieces, also with
//! `Pending` in between.
//!
//! The transport wakes its task before every `Pending`, so the stream is
//! polled again at once; after the input, reads give end-of-file. The
//! items of the stream (`Stream::poll_next` until `None`) must equal the
//! events the core alone yields on the same bytes in one read followed by
//! `handle_eof`: the same messages (text, binary, ping, pong, close) and the
//! same [`ProtocolError`] last, nothing after it. What the adapter writes
//! must be whole frames, masked exactly in the client role, pongs answering
//! pings received and the same close frame as the core's (the pongs may
//! differ in number: the core coalesces those not yet written), and the
//! transport must be shut down at the end. The number of polls is bounded by the input's
//! size: an adapter that stops making progress fails.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use arbitrary::Arbitrary;
use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wsproto::frame::OpCode;
use wsproto::tokio::{Error, WebSocketStream};
use wsproto::{Config, Connection, Event, Message, ProtocolError, Role};

/// The frame size limit.
pub const MAX_FRAME: usize = 4096;
/// The message size limit.
pub const MAX_MESSAGE: usize = 8192;

/// The settings the fuzzer picks. All zero: a server, masked frames
/// required, the input in one read, writes taken whole, no `Pending`.
#[derive(Arbitrary, Debug, Clone, Copy, Default)]
pub struct Knobs {
    client: bool,
    accept_unmasked: bool,
    /// Read sizes, cycled; 0: all the rest.
    reads: [u8; 4],
    /// Bit `i % 8` set: read `i` is `Pending` once first.
    read_pending: u8,
    /// Write sizes taken, cycled; 0: all offered.
    writes: [u8; 2],
    /// Bit `i % 8` set: write `i` is `Pending` once first.
    write_pending: u8,
}

/// What either side delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Message(Message),
    Failed(ProtocolError),
}

/// The in-memory transport.
struct Chunked {
    input: Vec<u8>,
    at: usize,
    knobs: Knobs,
    reads: usize,
    writes: usize,
    /// The next read or write was already `Pending` once.
    read_waited: bool,
    write_waited: bool,
    written: Vec<u8>,
    shut_down: bool,
    polls: usize,
    max_polls: usize,
}

impl Chunked {
    fn poll(&mut self) {
        self.polls += 1;
        assert!(
            self.polls <= self.max_polls,
            "{} transport polls for {} input bytes: no progress",
            self.polls,
            self.input.len()
        );
    }
}

impl AsyncRead for Chunked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.poll();
        let i = this.reads;
        if this.knobs.read_pending & (1 << (i % 8)) != 0 && !this.read_waited {
            this.read_waited = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        this.read_waited = false;
        this.reads += 1;
        let rest = &this.input[this.at..];
        let want = match this.knobs.reads[i % 4] {
            0 => rest.len(),
            n => usize::from(n),
        };
        let n = want.min(rest.len()).min(buf.remaining());
        buf.put_slice(&rest[..n]);
        this.at += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Chunked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.poll();
        assert!(!this.shut_down, "a write after the shutdown");
        let i = this.writes;
        if this.knobs.write_pending & (1 << (i % 8)) != 0 && !this.write_waited {
            this.write_waited = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        this.write_waited = false;
        this.writes += 1;
        let n = match this.knobs.writes[i % 2] {
            0 => data.len(),
            n => data.len().min(usize::from(n)),
        };
        this.written.extend_from_slice(&data[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll();
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll();
        self.shut_down = true;
        Poll::Ready(Ok(()))
    }
}

thread_local! {
    static RUNTIME: RefCell<tokio::runtime::Runtime> = RefCell::new(
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime"),
    );
}

fn config(knobs: &Knobs) -> Config {
    Config::default()
        .max_frame_size(MAX_FRAME)
        .max_message_size(MAX_MESSAGE)
        .accept_unmasked_frames(knobs.accept_unmasked)
}

fn role(knobs: &Knobs) -> Role {
    if knobs.client {
        Role::Client
    } else {
        Role::Server
    }
}

/// The core alone: the whole input in one read, then end-of-file.
fn core(knobs: &Knobs, wire: &[u8]) -> (Vec<Item>, Vec<u8>) {
    let mut conn = Connection::new(role(knobs), config(knobs));
    let mut items = Vec::new();
    let mut written = Vec::new();
    let mut poll = |conn: &mut Connection| {
        while let Some(event) = conn.poll_event() {
            items.push(match event {
                Event::Message(m) => Item::Message(m),
                Event::Failed(e) => Item::Failed(e),
                other => panic!("an event this target does not know: {other:?}"),
            });
        }
        while let Some(bytes) = conn.poll_transmit() {
            written.extend_from_slice(&bytes);
        }
    };
    conn.handle_read(wire);
    poll(&mut conn);
    conn.handle_eof();
    poll(&mut conn);
    (items, written)
}

/// The target: knobs, then the peer's bytes.
pub fn run(data: &[u8]) {
    let (knobs, wire) = crate::split_input::<Knobs>(data);
    let (expected, expected_written) = core(&knobs, wire);
    let io = Chunked {
        input: wire.to_vec(),
        at: 0,
        knobs,
        reads: 0,
        writes: 0,
        read_waited: false,
        write_waited: false,
        written: Vec::new(),
        shut_down: false,
        polls: 0,
        max_polls: 1000 + 16 * wire.len(),
    };
    let mut ws = WebSocketStream::from_raw(io, role(&knobs), config(&knobs));
    let items = RUNTIME.with(|rt| {
        rt.borrow().block_on(async {
            let mut items = Vec::new();
            loop {
                let next = std::future::poll_fn(|cx| Pin::new(&mut ws).poll_next(cx)).await;
                match next {
                    None => break,
                    Some(Ok(message)) => items.push(Item::Message(message)),
                    Some(Err(Error::Protocol(e))) => items.push(Item::Failed(e)),
                    Some(Err(e)) => panic!("the adapter failed: {e:?}"),
                }
                assert!(items.len() <= expected.len(), "more items than the core's");
            }
            items
        })
    });
    assert_eq!(items, expected);
    let io = ws.get_ref();
    let pings: Vec<Vec<u8>> = items
        .iter()
        .filter_map(|item| match item {
            Item::Message(Message::Ping(p)) => Some(p.to_vec()),
            _ => None,
        })
        .collect();
    let closes = |written: &[u8]| {
        let (mut checked, mut close, mut closes) = (0, false, Vec::new());
        while let Some((header, payload)) =
            crate::next_sent_frame(written, &mut checked, role(&knobs), &pings, &mut close)
        {
            assert!(
                matches!(header.opcode, OpCode::Pong | OpCode::Close),
                "{header:?}"
            );
            if header.opcode == OpCode::Close {
                closes.push(payload);
            }
        }
        assert_eq!(checked, written.len(), "a frame written in part");
        closes
    };
    assert_eq!(
        closes(&io.written),
        closes(&expected_written),
        "the close frames"
    );
    assert!(io.shut_down, "the transport was shut down");
}
