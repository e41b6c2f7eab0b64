//! Owned read and write halves of a [`WebSocketStream`](super::WebSocketStream),
//! for two tasks at once.
//!
//! The halves share the connection behind two short `std::sync::Mutex`es,
//! never held across an `.await`: one around the read direction of the
//! transport, held for one non-blocking read, and one around the connection
//! with the write direction, held for one non-blocking step of the core and
//! at most one non-blocking write (the send queue is lent to the vectored
//! write, not copied). A reader parked in `recv().await` holds neither, so
//! it never delays a writer; a writer waiting for a full socket holds
//! neither, so it never delays the reader. Each half also does the other's
//! chores: the read half writes pongs, the write half reads and answers
//! pings, so either one alone keeps the connection alive (see the
//! [module documentation](super) for exactly what each side does).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite};
use futures_core::Stream;
use futures_sink::Sink;

use super::driver::{self, Driver, Link};
use super::Error;
use crate::close::CloseCode;
use crate::connection::{Connection, Event, Payload, TextPayload};
use crate::extensions::{CustomExtension, NegotiatedDeflate};
use crate::Message;
use crate::Negotiated;

/// What the two halves share.
#[derive(Debug)]
struct Shared<R, W> {
    /// The connection and the write direction of the transport.
    state: Mutex<(Driver, W)>,
    /// The read direction of the transport.
    reader: Mutex<R>,
    /// What the handshake agreed, copied out of the connection so that the
    /// halves can lend it without a lock.
    negotiated: Negotiated,
}

pub(crate) fn halves<R, W>(driver: Driver, r: R, w: W) -> (ReadHalf<R, W>, WriteHalf<R, W>) {
    let conn = &driver.conn;
    let mut negotiated = Negotiated::new();
    negotiated.subprotocol = conn.subprotocol().map(str::to_owned);
    negotiated.extensions = conn.extensions().to_vec();
    #[cfg(feature = "deflate")]
    {
        negotiated.deflate = conn.deflate().copied();
    }
    let shared = Arc::new(Shared {
        state: Mutex::new((driver, w)),
        reader: Mutex::new(r),
        negotiated,
    });
    (
        ReadHalf {
            shared: shared.clone(),
        },
        WriteHalf { shared },
    )
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another task while it held the lock leaves the connection
    // as consistent as any single core call does.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<R, W> Shared<R, W> {
    fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        f(&lock(&self.state).0.conn)
    }
}

/// The shared state, seen from one half.
struct View<'a, R, W>(&'a Shared<R, W>);

impl<R, W> Link for View<'_, R, W>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    type R = R;
    type W = W;

    fn with<T>(&mut self, f: impl FnOnce(&mut Driver, &mut W) -> T) -> T {
        let mut state = lock(&self.0.state);
        let (driver, w) = &mut *state;
        f(driver, w)
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, wait: bool) -> Option<Poll<io::Result<usize>>> {
        let mut reader = match wait {
            true => lock(&self.0.reader),
            // The write side reads only when the read side is not reading:
            // then the read side handles what arrives.
            false => self.0.reader.try_lock().ok()?,
        };
        Some(driver::read_shared(&mut *reader, &self.0.state, cx))
    }
}

/// The read half: a [`Stream`] of messages, and [`recv`](Self::recv).
///
/// It also writes what the connection queued (pongs, the close reply,
/// keepalive pings) and runs the timers, so a task that only reads keeps
/// the connection alive.
#[derive(Debug)]
pub struct ReadHalf<R, W> {
    shared: Arc<Shared<R, W>>,
}

/// The write half: a [`Sink`] of messages, and async sends.
///
/// It also reads and processes what arrives (answering pings), keeping
/// what it read for the read half — pings and pongs, and at most one data
/// message — so a task that only writes keeps the connection alive.
#[derive(Debug)]
pub struct WriteHalf<R, W> {
    shared: Arc<Shared<R, W>>,
}

macro_rules! common_getters {
    () => {
        /// The subprotocol the handshake agreed on, if any.
        pub fn subprotocol(&self) -> Option<&str> {
            self.shared.negotiated.subprotocol.as_deref()
        }

        /// The extensions the handshake agreed on that the application runs
        /// itself.
        pub fn extensions(&self) -> &[CustomExtension] {
            &self.shared.negotiated.extensions
        }

        /// The permessage-deflate parameters agreed on, if any.
        pub fn deflate(&self) -> Option<&NegotiatedDeflate> {
            self.shared.negotiated.deflate.as_ref()
        }

        /// Bytes queued to send and not yet written.
        pub fn buffered_amount(&self) -> usize {
            lock(&self.shared.state).0.buffered_amount()
        }

        /// Bytes the connection holds, with what the adapter keeps beside it.
        pub fn memory_usage(&self) -> usize {
            lock(&self.shared.state).0.memory_usage()
        }

        /// Runs `f` on the sans-IO connection (the lock is held meanwhile).
        pub fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
            self.shared.with_connection(f)
        }
    };
}

impl<R, W> ReadHalf<R, W>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    common_getters!();

    /// Receives the next event (a message, or a piece of one in streaming
    /// mode); [`Error::Closed`] once the connection is over. Cancel-safe.
    pub async fn recv_event(&mut self) -> Result<Event, Error> {
        match std::future::poll_fn(|cx| driver::poll_next_event(&mut View(&self.shared), cx)).await
        {
            Some(item) => item,
            None => Err(Error::Closed),
        }
    }

    /// Receives the next message; [`Error::Closed`] once the connection is
    /// over. Cancel-safe.
    pub async fn recv(&mut self) -> Result<Message, Error> {
        match std::future::poll_fn(|cx| driver::poll_next(&mut View(&self.shared), cx)).await {
            Some(item) => item,
            None => Err(Error::Closed),
        }
    }
}

impl<R, W> WriteHalf<R, W>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    common_getters!();

    /// The high-water mark of the send queue: sends wait and reading stops
    /// while more than this many bytes are queued. Default 64 KiB.
    pub fn set_high_water_mark(&mut self, bytes: usize) {
        lock(&self.shared.state).0.high_water = bytes;
    }

    /// Waits for room under the high-water mark, queues `message` and
    /// writes it out. See the module documentation for cancellation.
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        self.ready().await?;
        driver::start_send(&mut View(&self.shared), message)?;
        self.flush().await
    }

    /// Sends a text message.
    pub async fn send_text<'a>(&mut self, text: impl Into<TextPayload<'a>>) -> Result<(), Error> {
        self.ready().await?;
        let text = text.into();
        driver::command(&mut View(&self.shared), |c| c.send_text(text))?;
        self.flush().await
    }

    /// Sends a binary message.
    pub async fn send_binary<'a>(&mut self, data: impl Into<Payload<'a>>) -> Result<(), Error> {
        self.ready().await?;
        let data = data.into();
        driver::command(&mut View(&self.shared), |c| c.send_binary(data))?;
        self.flush().await
    }

    /// Sends a ping with at most 125 bytes of payload.
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.ready().await?;
        driver::command(&mut View(&self.shared), |c| c.ping(payload))?;
        self.flush().await
    }

    /// Starts the closing handshake and writes the close frame out; the
    /// read half receives the peer's close and then ends.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        driver::command(&mut View(&self.shared), |c| c.close(code, reason))?;
        self.flush().await
    }

    /// Writes everything queued. Cancel-safe.
    pub async fn flush(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| driver::poll_flush(&mut View(&self.shared), cx)).await
    }

    async fn ready(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| driver::poll_ready(&mut View(&self.shared), cx)).await
    }
}

impl<R, W> Stream for ReadHalf<R, W>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        driver::poll_next(&mut View(&self.shared), cx)
    }
}

impl<R, W> Sink<Message> for WriteHalf<R, W>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        driver::poll_ready(&mut View(&self.shared), cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        driver::start_send(&mut View(&self.shared), item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        driver::poll_flush(&mut View(&self.shared), cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        driver::poll_close(&mut View(&self.shared), cx)
    }
}
