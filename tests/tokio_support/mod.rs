//! Helpers for the tokio adapter's tests: connected pairs over 127.0.0.1
//! and transports that misbehave on purpose.

#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use wsproto::handshake::{Accept, ClientRequest};
use wsproto::tokio::{self as ws, MaybeTlsStream, WebSocketStream};
use wsproto::Config;

/// Every test is bounded by this, in (possibly paused) tokio time.
pub const LIMIT: Duration = Duration::from_secs(30);

/// Runs `f` within [`LIMIT`].
pub async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("the test did not finish in time")
}

/// A listener on 127.0.0.1, port 0, and its ws:// URL.
pub async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// A client and a server connected over 127.0.0.1, with these configs.
pub async fn pair(
    client: Config,
    server: Config,
) -> (WebSocketStream<MaybeTlsStream>, WebSocketStream<TcpStream>) {
    let (listener, url) = listener().await;
    let accept = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        // Frames are written whole: Nagle's algorithm would only hold
        // small ones back (and, with paused time, for ages).
        stream.set_nodelay(true).unwrap();
        ws::accept_with(stream, server, |_| Ok(Accept::new()))
            .await
            .unwrap()
    });
    let request = ClientRequest::from_url(&format!("{url}/")).unwrap();
    let (client, response) = ws::connect_with(request, client).await.unwrap();
    assert_eq!(response.status(), 101);
    (client, accept.await.unwrap())
}

/// A read that hands out its bytes in the given pieces, returning
/// `Pending` (and waking itself) once before each piece; writes are
/// recorded.
#[derive(Debug, Default)]
pub struct Scripted {
    pub pieces: Vec<Vec<u8>>,
    pub pending_next: bool,
    pub written: Arc<Mutex<Vec<u8>>>,
    /// Vectored writes made.
    pub writes: Arc<Mutex<usize>>,
    /// Writes are refused (Pending) while this is set.
    pub write_blocked: Arc<Mutex<bool>>,
}

impl Scripted {
    pub fn new(pieces: Vec<Vec<u8>>) -> Self {
        Self {
            pieces: pieces.into_iter().rev().collect(),
            pending_next: true,
            ..Self::default()
        }
    }
}

impl AsyncRead for Scripted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pending_next {
            self.pending_next = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match self.pieces.pop() {
            Some(piece) => {
                buf.put_slice(&piece);
                self.pending_next = true;
                Poll::Ready(Ok(()))
            }
            // No more input: stays pending, as a quiet peer would.
            None => Poll::Pending,
        }
    }
}

impl AsyncWrite for Scripted {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if *self.write_blocked.lock().unwrap() {
            return Poll::Pending;
        }
        *self.writes.lock().unwrap() += 1;
        self.written.lock().unwrap().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if *self.write_blocked.lock().unwrap() {
            return Poll::Pending;
        }
        *self.writes.lock().unwrap() += 1;
        let mut written = self.written.lock().unwrap();
        let mut n = 0;
        for b in bufs {
            written.extend_from_slice(b);
            n += b.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A masked client frame (mask key 0: the payload is sent as is).
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n < 65536 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(payload);
    out
}
