//! [`WebSocketStream`]: a connection over one tokio stream.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite};
use futures_core::Stream;
use futures_sink::Sink;

use super::driver::{self, Driver, Link};
use super::split::{self, ReadHalf, WriteHalf};
use super::transport::{MaybeTlsReadHalf, MaybeTlsStream, MaybeTlsWriteHalf};
use super::Error;
use crate::close::CloseCode;
use crate::config::Config;
use crate::connection::{Connection, Event, Payload, Role, TextPayload};
use crate::extensions::CustomExtension;
#[cfg(feature = "deflate")]
use crate::extensions::NegotiatedDeflate;
use crate::Message;

/// A WebSocket over a tokio stream `S`: a [`Stream`] of received
/// [`Message`]s and a [`Sink`] of messages to send, with async methods for
/// both.
///
/// See the [module documentation](super) for what must be polled for the
/// connection to progress, and for the cancel safety of each method.
/// [`split`](Self::split) gives halves for two tasks.
#[derive(Debug)]
pub struct WebSocketStream<S> {
    driver: Driver,
    io: S,
}

impl<S> Link for WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type R = S;
    type W = S;

    fn with<T>(&mut self, f: impl FnOnce(&mut Driver, &mut S) -> T) -> T {
        f(&mut self.driver, &mut self.io)
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, _wait: bool) -> Option<Poll<io::Result<usize>>> {
        Some(driver::read_owned(&mut self.driver, &mut self.io, cx))
    }
}

impl<S> WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Wraps a stream whose opening handshake is done, and the connection
    /// it produced (or one built with
    /// [`Connection::with_negotiated`](crate::Connection::with_negotiated)
    /// for a stream negotiated elsewhere, permessage-deflate included).
    pub fn from_parts(stream: S, conn: Connection) -> Self {
        Self {
            driver: Driver::new(conn),
            io: stream,
        }
    }

    /// Wraps a stream that was upgraded elsewhere (by hyper, say): no
    /// handshake is run; the connection starts in `role` with `config`.
    pub fn from_raw(stream: S, role: Role, config: Config) -> Self {
        Self::from_parts(stream, Connection::new(role, config))
    }

    /// Like [`from_raw`](Self::from_raw), for a stream of which `read` was
    /// already read past the handshake (hyper hands those bytes back with
    /// the upgraded stream): they are the connection's first input.
    pub fn from_partially_read(stream: S, read: &[u8], role: Role, config: Config) -> Self {
        let mut conn = Connection::new(role, config);
        conn.handle_read(read);
        Self::from_parts(stream, conn)
    }

    /// The subprotocol the handshake agreed on, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.driver.conn.subprotocol()
    }

    /// The extensions the handshake agreed on that the application runs
    /// itself (permessage-deflate, which the connection runs, is
    /// [`deflate`](Self::deflate)).
    pub fn extensions(&self) -> &[CustomExtension] {
        self.driver.conn.extensions()
    }

    /// The permessage-deflate parameters agreed on, if any.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<&NegotiatedDeflate> {
        self.driver.conn.deflate()
    }

    /// Bytes queued to send and not yet written (the WebSocket API's
    /// `bufferedAmount`).
    pub fn buffered_amount(&self) -> usize {
        self.driver.buffered_amount()
    }

    /// Bytes the connection holds, with what the adapter keeps beside it.
    pub fn memory_usage(&self) -> usize {
        self.driver.memory_usage()
    }

    /// The high-water mark of the send queue: sends wait (`poll_ready` is
    /// `Pending`) and reading stops while more than this many bytes are
    /// queued. Default 64 KiB.
    pub fn set_high_water_mark(&mut self, bytes: usize) {
        self.driver.high_water = bytes;
    }

    /// The high-water mark of the send queue.
    pub fn high_water_mark(&self) -> usize {
        self.driver.high_water
    }

    /// The sans-IO connection inside.
    pub fn connection(&self) -> &Connection {
        &self.driver.conn
    }

    /// The sans-IO connection inside, mutably: what is queued on it is
    /// written at the next poll of either side.
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.driver.conn
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The stream, mutably. Reading or writing it directly corrupts the
    /// connection.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// Takes the stream and the connection apart.
    pub fn into_parts(self) -> (S, Connection) {
        (self.io, self.driver.conn)
    }

    /// Receives the next event: a [`Message`], or in streaming mode
    /// ([`Config::streaming`](crate::Config::streaming)) an
    /// [`Event::Chunk`]. A failure is an error, as in [`recv`](Self::recv).
    /// Cancel-safe.
    pub async fn recv_event(&mut self) -> Result<Event, Error> {
        match std::future::poll_fn(|cx| driver::poll_next_event(self, cx)).await {
            Some(item) => item,
            None => Err(Error::Closed),
        }
    }

    /// Receives the next message, driving pongs, timers and writes meanwhile.
    ///
    /// Returns [`Error::Closed`] once the connection is over (after the
    /// [`Message::Close`] or an error). Cancel-safe.
    pub async fn recv(&mut self) -> Result<Message, Error> {
        match std::future::poll_fn(|cx| driver::poll_next(self, cx)).await {
            Some(item) => item,
            None => Err(Error::Closed),
        }
    }

    /// Waits for room under the high-water mark, queues `message` and
    /// writes it out. See the module documentation for what dropping the
    /// future means.
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        std::future::poll_fn(|cx| driver::poll_ready(self, cx)).await?;
        driver::start_send(self, message)?;
        self.flush().await
    }

    /// Sends a text message: a `&str`, a `String` or the [`Utf8Bytes`](crate::Utf8Bytes)
    /// of a received message (without a copy).
    pub async fn send_text<'a>(&mut self, text: impl Into<TextPayload<'a>>) -> Result<(), Error> {
        std::future::poll_fn(|cx| driver::poll_ready(self, cx)).await?;
        let text = text.into();
        driver::command(self, |c| c.send_text(text))?;
        self.flush().await
    }

    /// Sends a binary message: a `&[u8]`, a `Vec<u8>` or [`Bytes`](crate::Bytes)
    /// (queued without a copy where the role allows it).
    pub async fn send_binary<'a>(&mut self, data: impl Into<Payload<'a>>) -> Result<(), Error> {
        std::future::poll_fn(|cx| driver::poll_ready(self, cx)).await?;
        let data = data.into();
        driver::command(self, |c| c.send_binary(data))?;
        self.flush().await
    }

    /// Sends a ping with at most 125 bytes of payload.
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        std::future::poll_fn(|cx| driver::poll_ready(self, cx)).await?;
        driver::command(self, |c| c.ping(payload))?;
        self.flush().await
    }

    /// Starts the closing handshake and writes the close frame out. Keep
    /// calling [`recv`](Self::recv) until it returns [`Error::Closed`] to
    /// finish it: the peer's close arrives there, and the transport is
    /// closed after it (RFC 6455 §7.1.1).
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        driver::command(self, |c| c.close(code, reason))?;
        self.flush().await
    }

    /// Writes everything queued. Cancel-safe.
    pub async fn flush(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| driver::poll_flush(self, cx)).await
    }
}

impl<S> WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Splits into a read half and a write half that two tasks can use at
    /// once, over [`tokio::io::split`](::tokio::io::split) of the stream.
    /// For a [`TcpStream`](::tokio::net::TcpStream), use
    /// [`into_split`](WebSocketStream::into_split), which needs no lock on
    /// the transport.
    #[allow(clippy::type_complexity)]
    pub fn split(
        self,
    ) -> (
        ReadHalf<::tokio::io::ReadHalf<S>, ::tokio::io::WriteHalf<S>>,
        WriteHalf<::tokio::io::ReadHalf<S>, ::tokio::io::WriteHalf<S>>,
    ) {
        let (r, w) = ::tokio::io::split(self.io);
        split::halves(self.driver, r, w)
    }

    /// Splits with a function of the caller's that splits the stream.
    pub fn split_with<R, W>(self, f: impl FnOnce(S) -> (R, W)) -> (ReadHalf<R, W>, WriteHalf<R, W>)
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let (r, w) = f(self.io);
        split::halves(self.driver, r, w)
    }
}

impl WebSocketStream<::tokio::net::TcpStream> {
    /// Splits into a read half and a write half over the TCP stream's own
    /// owned halves ([`TcpStream::into_split`](::tokio::net::TcpStream::into_split)):
    /// no lock on the transport.
    #[allow(clippy::type_complexity)]
    pub fn into_split(
        self,
    ) -> (
        ReadHalf<::tokio::net::tcp::OwnedReadHalf, ::tokio::net::tcp::OwnedWriteHalf>,
        WriteHalf<::tokio::net::tcp::OwnedReadHalf, ::tokio::net::tcp::OwnedWriteHalf>,
    ) {
        let (r, w) = self.io.into_split();
        split::halves(self.driver, r, w)
    }
}

impl WebSocketStream<MaybeTlsStream> {
    /// Splits what [`connect`](super::connect) returned into a read half and
    /// a write half; over plain TCP without a lock on the transport.
    #[allow(clippy::type_complexity)]
    pub fn into_split(
        self,
    ) -> (
        ReadHalf<MaybeTlsReadHalf, MaybeTlsWriteHalf>,
        WriteHalf<MaybeTlsReadHalf, MaybeTlsWriteHalf>,
    ) {
        let (r, w) = self.io.into_split();
        split::halves(self.driver, r, w)
    }
}

impl<S> Stream for WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        driver::poll_next(self.get_mut(), cx)
    }
}

impl<S> Sink<Message> for WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        driver::poll_ready(self.get_mut(), cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        driver::start_send(self.get_mut(), item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        driver::poll_flush(self.get_mut(), cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        driver::poll_close(self.get_mut(), cx)
    }
}
