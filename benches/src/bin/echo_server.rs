//! The loopback benchmark's echo server: `echo_server <implementation>
//! [<core>]`.
//!
//! Listens on 127.0.0.1 (port 0), prints `port <n>`, then accepts
//! connections forever on a tokio current-thread runtime, pinned to `<core>`
//! when given, one task per connection, each running the opening handshake
//! and echoing every data message. A line `memory` on stdin is answered on
//! stdout with `memory <rss bytes> <heap bytes>` (the heap is counted by the
//! global allocator); the end of stdin ends the process.
//!
//! Every handshake runs in a boxed future of its own, freed once it is
//! done, so that what an idle connection's task holds is the library's
//! steady state, not the handshake's buffers.
//!
//! How each implementation echoes, the fairest way its API allows:
//!
//! - `wsproto_tokio`: `wsproto::tokio::accept`, then `next()` and `feed()`
//!   of each message while more are ready without waiting, one `flush()`
//!   (the loop in `echo`).
//! - `wsproto_minimal`: a hand-written loop over the core on the socket:
//!   wait for readability, `try_read` into `recv_buffer`, `poll_event` until
//!   `None`, `send_binary` of each payload (a `Bytes` slice of the read
//!   buffer, not copied), then `transmit_slices` and one vectored write.
//! - `tokio-tungstenite`, `tokio-websockets`, `yawc`: the handshake by
//!   wsproto's `ServerHandshake` (the same bytes for all), then the library
//!   over the socket (`WebSocketStream::from_raw_socket`,
//!   `ServerBuilder::serve`, `WebSocket::from_stream`) and the same
//!   `next()` / `feed()` / `flush()` loop as `wsproto_tokio`, queueing in
//!   the order each does best (see `Queue`).
//! - `fastwebsockets`: the same handshake, `WebSocket::after_handshake`,
//!   `read_frame()` then `write_frame()` of its payload in a new unmasked
//!   frame. It has no way to queue frames without writing them, and its
//!   `read_frame` is not cancel-safe (a frame header is consumed before the
//!   rest is awaited), so it writes once per frame.
//! - `fastwebsockets_corked`: the same over `Corked`, a socket wrapper of
//!   this harness that holds what is written until a read is about to wait:
//!   one write per readiness cycle, what the library would do if it could.

use std::alloc::System;
use std::error::Error;
use std::io::{self, BufRead, IoSlice, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use cap::Cap;
use futures_util::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use wsproto::handshake::{Accept, ServerHandshake};
use wsproto::{Config, Connection, Event, Message};
use wsproto_benches::loopback::{rss_bytes, MEMORY_REQUEST, PORT_LINE};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

type BoxError = Box<dyn Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let name = args
        .next()
        .ok_or("usage: echo_server <implementation> [<core>]")?;
    let implementation = Implementation::from_name(&name).ok_or("unknown implementation")?;
    if let Some(core) = args.next() {
        let core: usize = core.parse()?;
        let ids = core_affinity::get_core_ids().unwrap_or_default();
        if let Some(id) = ids.into_iter().find(|id| id.id == core) {
            core_affinity::set_for_current(id);
        }
    }
    // Thousands of idle connections need as many descriptors.
    let _ = rlimit::increase_nofile_limit(u64::MAX);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listener = runtime.block_on(TcpListener::bind(("127.0.0.1", 0)))?;
    let mut stdout = io::stdout();
    writeln!(stdout, "{PORT_LINE}{}", listener.local_addr()?.port())?;
    stdout.flush()?;

    std::thread::spawn(|| {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if line.trim() == MEMORY_REQUEST {
                let rss = rss_bytes().unwrap_or(0);
                let mut stdout = io::stdout();
                let _ = writeln!(stdout, "memory {rss} {}", ALLOCATOR.allocated());
                let _ = stdout.flush();
            }
        }
        std::process::exit(0);
    });

    runtime.block_on(async move {
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            serve(implementation, stream);
        }
    })
}

#[derive(Debug, Clone, Copy)]
enum Implementation {
    WsprotoTokio,
    WsprotoMinimal,
    TokioTungstenite,
    TokioWebsockets,
    Fastwebsockets,
    FastwebsocketsCorked,
    Yawc,
}

impl Implementation {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "wsproto_tokio" => Self::WsprotoTokio,
            "wsproto_minimal" => Self::WsprotoMinimal,
            "tokio-tungstenite" => Self::TokioTungstenite,
            "tokio-websockets" => Self::TokioWebsockets,
            "fastwebsockets" => Self::Fastwebsockets,
            "fastwebsockets_corked" => Self::FastwebsocketsCorked,
            "yawc" => Self::Yawc,
            _ => return None,
        })
    }
}

/// Spawns the connection's task. Each implementation's future is its own
/// task type, so a task is as large as that implementation needs, not the
/// largest of them.
fn serve(implementation: Implementation, stream: TcpStream) {
    // The future is made inside the task's own (one copy of it, not a
    // moved-in one plus the one awaited); a client that goes away ends its
    // task, with nothing to report.
    macro_rules! spawn {
        ($future:expr) => {{
            tokio::spawn(async move {
                let _ = $future.await;
            });
        }};
    }
    match implementation {
        Implementation::WsprotoTokio => spawn!(wsproto_tokio(stream)),
        Implementation::WsprotoMinimal => spawn!(wsproto_minimal(stream)),
        Implementation::TokioTungstenite => spawn!(tokio_tungstenite(stream)),
        Implementation::TokioWebsockets => spawn!(tokio_websockets(stream)),
        Implementation::Fastwebsockets => spawn!(fastwebsockets(stream)),
        Implementation::FastwebsocketsCorked => spawn!(fastwebsockets_corked(stream)),
        Implementation::Yawc => spawn!(yawc(stream)),
    }
}

async fn wsproto_minimal(mut stream: TcpStream) -> Result<(), BoxError> {
    let mut conn = Box::pin(handshake(&mut stream)).await?;
    minimal(&stream, &mut conn).await
}

async fn tokio_tungstenite(mut stream: TcpStream) -> Result<(), BoxError> {
    use tokio_tungstenite::tungstenite::protocol::Role;
    Box::pin(handshake(&mut stream)).await?;
    let mut ws =
        tokio_tungstenite::WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
    echo(&mut ws, Queue::AsRead, |item| match item {
        Ok(message) if message.is_binary() || message.is_text() => Step::Echo(message),
        Ok(_) => Step::Skip,
        Err(_) => Step::Stop,
    })
    .await
}

async fn tokio_websockets(mut stream: TcpStream) -> Result<(), BoxError> {
    Box::pin(handshake(&mut stream)).await?;
    let mut ws = tokio_websockets::ServerBuilder::new().serve(stream);
    echo(&mut ws, Queue::AfterReading, |item| match item {
        Ok(message) if message.is_binary() || message.is_text() => Step::Echo(message),
        Ok(_) => Step::Skip,
        Err(_) => Step::Stop,
    })
    .await
}

async fn fastwebsockets(mut stream: TcpStream) -> Result<(), BoxError> {
    Box::pin(handshake(&mut stream)).await?;
    fastwebsockets_echo(stream).await
}

async fn fastwebsockets_corked(mut stream: TcpStream) -> Result<(), BoxError> {
    Box::pin(handshake(&mut stream)).await?;
    fastwebsockets_echo(Corked::new(stream)).await
}

async fn fastwebsockets_echo<S>(stream: S) -> Result<(), BoxError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    use fastwebsockets::{Frame, OpCode, Role, WebSocket};
    let mut ws = WebSocket::after_handshake(stream, Role::Server);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            // A frame read keeps its masking key; the answer has none.
            OpCode::Binary | OpCode::Text => {
                ws.write_frame(Frame::new(true, frame.opcode, None, frame.payload))
                    .await?
            }
            OpCode::Close => return Ok(()),
            _ => {}
        }
    }
}

/// A socket that holds what is written until a read is about to wait (or
/// 64 KiB are held, or it is flushed): one write per readiness cycle for a
/// library that writes every frame as it goes.
struct Corked {
    inner: TcpStream,
    held: Vec<u8>,
    written: usize,
}

impl Corked {
    const LIMIT: usize = 64 * 1024;

    fn new(inner: TcpStream) -> Self {
        Self {
            inner,
            held: Vec::new(),
            written: 0,
        }
    }

    /// Writes everything held.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.held.len() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.held[self.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.held.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Corked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            // About to wait for input: send what was held first.
            Poll::Pending => match this.poll_drain(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Pending,
            },
            ready => ready,
        }
    }
}

impl AsyncWrite for Corked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.held.len() >= Self::LIMIT {
            match this.poll_drain(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        this.held.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

async fn yawc(mut stream: TcpStream) -> Result<(), BoxError> {
    use yawc::{OpCode, Options, Role, WebSocket};
    Box::pin(handshake(&mut stream)).await?;
    let mut ws = WebSocket::from_stream(stream, Role::Server, Options::default())?;
    echo(&mut ws, Queue::AsRead, |frame| match frame.opcode() {
        OpCode::Binary | OpCode::Text => Step::Echo(frame),
        OpCode::Close => Step::Stop,
        _ => Step::Skip,
    })
    .await
}

/// The opening handshake, server side, by wsproto's `ServerHandshake`: the
/// same bytes for every implementation. The client sends nothing after its
/// request until it has the 101, so no bytes past the head are left over.
async fn handshake(stream: &mut TcpStream) -> Result<Connection, BoxError> {
    let mut handshake = ServerHandshake::new(Config::default());
    let mut buf = [0u8; 1024];
    loop {
        if handshake.poll_request()?.is_some() {
            break;
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err("end of stream in the handshake".into());
        }
        handshake.handle_read(&buf[..n]);
    }
    let (response, conn) = handshake.accept(Accept::new())?;
    stream.write_all(&response).await?;
    Ok(conn)
}

/// What the generic echo loop does with one item of a peer's stream.
enum Step<M> {
    Echo(M),
    Skip,
    Stop,
}

/// How the generic echo loop queues what it reads.
#[derive(Clone, Copy, PartialEq)]
enum Queue {
    /// `feed` each message as soon as it is read.
    AsRead,
    /// Read every message that is ready first, then `feed` them all.
    AfterReading,
}

/// Echoes over a `Stream + Sink` (borrowed: a stream moved into an async
/// fn is stored twice in its future, which would count against idle
/// memory): waits for one item, takes every further
/// item that is ready without waiting (`now_or_never`), queueing each with
/// `feed` (as it is read, or all after reading: whichever the library does
/// best, see `Queue`), then flushes once: one write per readiness cycle
/// where the library allows it.
///
/// tokio-websockets' `poll_next` first flushes whatever is queued, so fed
/// as read each message costs it a write: it gets `Queue::AfterReading`.
/// yawc's `poll_ready` flushes what is queued, so fed after reading each
/// message costs it a write: it gets `Queue::AsRead`. Ours does best
/// with `Queue::AfterReading` on large messages (each `feed` past the
/// high-water mark writes) and the same on small ones.
async fn echo<W, I, M>(
    ws: &mut W,
    queue: Queue,
    mut step: impl FnMut(I) -> Step<M>,
) -> Result<(), BoxError>
where
    W: Stream<Item = I> + Sink<M> + Unpin,
    <W as Sink<M>>::Error: Error + Send + Sync + 'static,
{
    let mut ready = Vec::new();
    while let Some(item) = ws.next().await {
        let mut item = Some(item);
        let mut stop = false;
        while let Some(next) = item.take() {
            match step(next) {
                Step::Echo(message) if queue == Queue::AsRead => ws.feed(message).await?,
                Step::Echo(message) => ready.push(message),
                Step::Skip => {}
                Step::Stop => {
                    stop = true;
                    break;
                }
            }
            item = ws.next().now_or_never().flatten();
        }
        for message in ready.drain(..) {
            ws.feed(message).await?;
        }
        ws.flush().await?;
        if stop {
            break;
        }
    }
    Ok(())
}

/// The hand-written loop over the core's public API.
async fn minimal(stream: &TcpStream, conn: &mut Connection) -> Result<(), BoxError> {
    const MIN_READ: usize = 4 * 1024;
    const MAX_READ: usize = 64 * 1024;
    let mut chunk = MIN_READ;
    loop {
        stream.readable().await?;
        let n = match stream.try_read(conn.recv_buffer(chunk)) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                conn.handle_received(0);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        conn.handle_received(n);
        if n == 0 {
            conn.handle_eof();
        }
        // A read that fills the chunk asks for a bigger one next time.
        chunk = if n == chunk {
            (chunk * 2).min(MAX_READ)
        } else {
            MIN_READ
        };
        let open = echo_events(conn)?;
        write_queued(stream, conn).await?;
        if !open || n == 0 {
            return Ok(());
        }
    }
}

/// Every event the buffered bytes hold; data is queued back as it came.
/// False once the connection is over.
fn echo_events(conn: &mut Connection) -> Result<bool, BoxError> {
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Message(Message::Binary(data)) => conn.send_binary(data)?,
            Event::Message(Message::Text(text)) => conn.send_text(text)?,
            Event::Message(Message::Close(_)) | Event::Failed(_) => return Ok(false),
            _ => {}
        }
    }
    Ok(true)
}

/// Writes the whole send queue, one vectored write per attempt.
async fn write_queued(stream: &TcpStream, conn: &mut Connection) -> io::Result<()> {
    loop {
        let written = {
            let mut slices = [IoSlice::new(&[]); 64];
            let n = conn.transmit_slices(&mut slices);
            if n == 0 {
                return Ok(());
            }
            stream.try_write_vectored(&slices[..n])
        };
        match written {
            Ok(n) => conn.advance_transmit(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => stream.writable().await?,
            Err(e) => return Err(e),
        }
    }
}

/// Our tokio adapter: its own handshake, then the generic echo loop.
async fn wsproto_tokio(stream: TcpStream) -> Result<(), BoxError> {
    let mut ws = Box::pin(wsproto::tokio::accept(stream)).await?;
    echo(&mut ws, Queue::AfterReading, |item| match item {
        Ok(message @ (Message::Binary(_) | Message::Text(_))) => Step::Echo(message),
        Ok(Message::Close(_)) | Err(_) => Step::Stop,
        Ok(_) => Step::Skip,
    })
    .await
}
