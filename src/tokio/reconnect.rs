//! Reconnection with backoff, for clients: a [`Stream`] of connections, one
//! after the other, in the manner of Python websockets'
//! `async for ws in connect(uri)`.
//!
//! ```no_run
//! # async fn run() -> Result<(), wsproto::tokio::Error> {
//! use futures::StreamExt;
//! use wsproto::tokio::reconnect;
//!
//! let mut connections = reconnect::connect("wss://example.com/feed").on_connect(|mut ws| async move {
//!     // Runs after every handshake, before the connection is handed out.
//!     ws.send_text(r#"{"subscribe":"prices"}"#).await?;
//!     Ok(ws)
//! });
//! while let Some(ws) = connections.next().await {
//!     let mut ws = ws?; // the error that ended the retrying, if any
//!     while let Ok(message) = ws.recv().await {
//!         println!("{message:?}");
//!     }
//!     // Dropped: the next `next()` reconnects, after a delay if the
//!     // connection did not stay up for the backoff's minimum uptime.
//! }
//! # Ok(()) }
//! ```
//!
//! # When it retries
//!
//! | what happened | |
//! |---|---|
//! | connection refused, reset, any other I/O error; the handshake timed out | retry |
//! | the server answered 500, 502, 503 or 504 | retry, waiting at least its `Retry-After` (seconds) |
//! | any other status (3xx, 4xx, other 5xx), a malformed answer, a bad URL, a certificate that does not verify | the stream yields the error, then ends |
//! | a connection ended with close code 1002, 1003, 1007, 1008, 1009 or 1010 (received, or sent by this end because of the peer) | the stream ends |
//! | a connection ended any other way: 1000, 1001, 1005, 1006 (no close frame), 1011–1014, application codes, or dropped while open | retry |
//!
//! A close code of the first group says the peer will refuse again (policy,
//! protocol, data it cannot take), so reconnecting would only repeat it.
//!
//! # How long it waits
//!
//! Exponential backoff with full jitter: before retry `n` (counting from 0)
//! it waits a uniformly random time between zero and
//! `min(max_delay, first_delay × factor^n)`. The first retry therefore waits
//! 0 to 5 s by default, as RFC 6455 §7.2.3 asks of a client after an
//! abnormal closure. The count starts again only after a connection stayed
//! up for [`Backoff::min_uptime`], so a server that accepts and closes at
//! once is not hammered. The randomness comes from an [`Entropy`] source
//! that tests can seed ([`Reconnect::entropy`]).
//!
//! Timers use `tokio::time`, so tests run under paused time.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use ::tokio::time::Instant;
use futures_core::Stream;
use futures_sink::Sink;

use super::split::{ReadHalf, WriteHalf};
use super::stream::WebSocketStream;
use super::transport::{MaybeTlsReadHalf, MaybeTlsStream, MaybeTlsWriteHalf};
use super::Error;
use crate::close::CloseCode;
use crate::config::Config;
use crate::entropy::{Entropy, OsEntropy};
use crate::handshake::{ClientRequest, Response, ResponseError};
use crate::Message;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// How long to wait between attempts, and for how many.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    first_delay: Duration,
    factor: f64,
    max_delay: Duration,
    max_retries: Option<u32>,
    min_uptime: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_secs(5),
            factor: 2.0,
            max_delay: Duration::from_secs(60),
            max_retries: None,
            min_uptime: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The defaults: 5 s first delay, factor 2, at most 60 s, retrying
    /// forever, 10 s minimum uptime.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bound on the first retry's random delay. Default 5 s (RFC 6455
    /// §7.2.3: "a random value between 0 and 5 seconds").
    pub fn first_delay(mut self, delay: Duration) -> Self {
        self.first_delay = delay;
        self
    }

    /// How much the bound grows with each further retry. Default 2
    /// (values below 1 are taken as 1).
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = if factor >= 1.0 { factor } else { 1.0 };
        self
    }

    /// The largest bound, and the most a `Retry-After` is honoured for.
    /// Default 60 s.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// How many retries in a row before giving up (`None`: never). Default
    /// `None`. A connection that stays up for the minimum uptime starts the
    /// count again.
    pub fn max_retries(mut self, retries: Option<u32>) -> Self {
        self.max_retries = retries;
        self
    }

    /// How long a connection must stay up before the backoff starts again
    /// from the first delay. Default 10 s.
    pub fn min_uptime(mut self, uptime: Duration) -> Self {
        self.min_uptime = uptime;
        self
    }

    /// The bound on the delay before retry `retry` (from 0):
    /// `min(max_delay, first_delay × factor^retry)`.
    pub fn bound(&self, retry: u32) -> Duration {
        let grown = self.first_delay.as_secs_f64() * self.factor.powi(retry.min(1024) as i32);
        if grown.is_finite() && grown < self.max_delay.as_secs_f64() {
            Duration::from_secs_f64(grown)
        } else {
            self.max_delay
        }
    }

    /// The delay before retry `retry`, for a uniform `random` in [0, 1):
    /// full jitter over [`bound`](Self::bound).
    fn delay(&self, retry: u32, random: f64) -> Duration {
        self.bound(retry).mul_f64(random.clamp(0.0, 1.0))
    }
}

/// Connects to `url` (`ws://`, or `wss://` with a TLS feature) again each
/// time the previous connection ends, with the default [`Config`].
pub fn connect(url: impl Into<String>) -> Reconnect<MaybeTlsStream> {
    let url: String = url.into();
    Reconnect::new(move || {
        let url = url.clone();
        async move { super::connect(&url).await }
    })
}

/// Connects with a fresh request for every attempt: `requests` is called
/// each time (to fetch a new token for an `Authorization` header, say), over
/// plain TCP to the request's host and port. For TLS, call a
/// [`tls::Connector`](super::tls::Connector)'s `connect_with` from
/// [`Reconnect::new`].
pub fn connect_with<F, Fut>(mut requests: F, config: Config) -> Reconnect<MaybeTlsStream>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<ClientRequest, Error>> + Send + 'static,
{
    Reconnect::new(move || {
        let request = requests();
        let config = config.clone();
        async move { super::connect_with(request.await?, config).await }
    })
}

/// A [`Stream`] of connections: each item is the next connection once its
/// handshake (and the [`on_connect`](Self::on_connect) hook) succeeded, or
/// the error that ended the retrying, after which the stream ends.
///
/// The next connection is made when the stream is polled again; poll it
/// after the previous [`Session`] is over (or dropped).
pub struct Reconnect<S> {
    parts: Option<Parts<S>>,
    pending: Option<BoxFuture<Step<S>>>,
    done: bool,
}

/// The parts back, and what to hand out (`None`: the end).
type Step<S> = (Parts<S>, Option<Result<Session<S>, Error>>);

type ConnectFn<S> =
    Box<dyn FnMut() -> BoxFuture<Result<(WebSocketStream<S>, Response), Error>> + Send>;
type HookFn<S> =
    Box<dyn FnMut(WebSocketStream<S>) -> BoxFuture<Result<WebSocketStream<S>, Error>> + Send>;

struct Parts<S> {
    connect: ConnectFn<S>,
    on_connect: Option<HookFn<S>>,
    backoff: Backoff,
    entropy: Box<dyn Entropy>,
    /// Retries since the count last started again.
    retries: u32,
    /// How the connection handed out last is doing.
    last: Option<Arc<Mutex<Lifetime>>>,
}

impl<S> fmt::Debug for Reconnect<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Reconnect");
        if let Some(parts) = &self.parts {
            d.field("backoff", &parts.backoff)
                .field("retries", &parts.retries);
        }
        d.field("connecting", &self.pending.is_some())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<S: Send + 'static> Reconnect<S> {
    /// Reconnects with `connect`, which opens one connection per call: any
    /// transport, TLS, a fresh request each time.
    ///
    /// ```no_run
    /// # fn run(connector: wsproto::tokio::tls::Connector) {
    /// use wsproto::handshake::ClientRequest;
    /// use wsproto::tokio::reconnect::Reconnect;
    ///
    /// let connections = Reconnect::new(move || {
    ///     let connector = connector.clone();
    ///     async move {
    ///         let token = "..."; // fetched anew for every attempt
    ///         let request = ClientRequest::new("example.com:443", "/feed")?
    ///             .header("authorization", &format!("Bearer {token}"))?;
    ///         connector.connect_with(request, wsproto::Config::default()).await
    ///     }
    /// });
    /// # }
    /// ```
    pub fn new<F, Fut>(mut connect: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(WebSocketStream<S>, Response), Error>> + Send + 'static,
    {
        Self {
            parts: Some(Parts {
                connect: Box::new(move || Box::pin(connect())),
                on_connect: None,
                backoff: Backoff::default(),
                entropy: Box::new(OsEntropy::new()),
                retries: 0,
                last: None,
            }),
            pending: None,
            done: false,
        }
    }

    /// Sets the backoff.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        if let Some(parts) = &mut self.parts {
            parts.backoff = backoff;
        }
        self
    }

    /// Sets where the jitter comes from. Default: the operating system's
    /// generator; [`SeededEntropy`](crate::entropy::SeededEntropy) for tests.
    pub fn entropy(mut self, entropy: impl Entropy + 'static) -> Self {
        if let Some(parts) = &mut self.parts {
            parts.entropy = Box::new(entropy);
        }
        self
    }

    /// Runs `hook` on every new connection before it is handed out: to
    /// subscribe again, authenticate, send what the server expects first.
    /// An error counts as a failed attempt and is judged like one.
    pub fn on_connect<F, Fut>(mut self, mut hook: F) -> Self
    where
        F: FnMut(WebSocketStream<S>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<WebSocketStream<S>, Error>> + Send + 'static,
    {
        if let Some(parts) = &mut self.parts {
            parts.on_connect = Some(Box::new(move |ws| Box::pin(hook(ws))));
        }
        self
    }

    /// Retries in a row so far (0 after a connection that stayed up).
    pub fn retries(&self) -> u32 {
        self.parts.as_ref().map_or(0, |p| p.retries)
    }
}

impl<S: Send + 'static> Stream for Reconnect<S> {
    type Item = Result<Session<S>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if this.pending.is_none() {
            let Some(parts) = this.parts.take() else {
                return Poll::Ready(None);
            };
            this.pending = Some(Box::pin(next_session(parts)));
        }
        let Some(pending) = this.pending.as_mut() else {
            return Poll::Ready(None);
        };
        let (parts, item) = match pending.as_mut().poll(cx) {
            Poll::Ready(ready) => ready,
            Poll::Pending => return Poll::Pending,
        };
        this.pending = None;
        this.parts = Some(parts);
        if !matches!(item, Some(Ok(_))) {
            this.done = true;
        }
        Poll::Ready(item)
    }
}

/// Waits as the last connection's end asks, then attempts until one
/// connection is up or the retrying ends.
async fn next_session<S: Send + 'static>(mut parts: Parts<S>) -> Step<S> {
    if let Some(last) = parts.last.take() {
        let (uptime, code) = last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .finish(Instant::now());
        if !retry_after_close(code) {
            return (parts, None);
        }
        if uptime >= parts.backoff.min_uptime {
            parts.retries = 0;
        }
        if !parts.wait(None).await {
            return (parts, None);
        }
    }
    loop {
        let error = match (parts.connect)().await {
            Ok((ws, response)) => {
                let hooked = match parts.on_connect.as_mut() {
                    Some(hook) => hook(ws).await,
                    None => Ok(ws),
                };
                match hooked {
                    Ok(ws) => {
                        let lifetime = Arc::new(Mutex::new(Lifetime::new(Instant::now())));
                        parts.last = Some(lifetime.clone());
                        let session = Session {
                            ws,
                            response,
                            watch: Watch(lifetime),
                        };
                        return (parts, Some(Ok(session)));
                    }
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        match judge(&error) {
            Verdict::Retry { at_least } if parts.wait(at_least).await => {}
            _ => return (parts, Some(Err(error))),
        }
    }
}

impl<S> Parts<S> {
    /// Waits before the next retry; false when no retry is left.
    async fn wait(&mut self, at_least: Option<Duration>) -> bool {
        if self
            .backoff
            .max_retries
            .is_some_and(|max| self.retries >= max)
        {
            return false;
        }
        let mut bytes = [0u8; 8];
        self.entropy.fill(&mut bytes);
        // 53 random bits: a uniform value in [0, 1).
        let random = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
        let mut delay = self.backoff.delay(self.retries, random);
        if let Some(hint) = at_least {
            delay = delay.max(hint.min(self.backoff.max_delay));
        }
        self.retries += 1;
        ::tokio::time::sleep(delay).await;
        true
    }
}

/// What to do after a failed attempt.
enum Verdict {
    /// Try again, waiting at least this long if given (`Retry-After`).
    Retry { at_least: Option<Duration> },
    /// Give up with the error.
    Fail,
}

/// The one place a failed attempt is judged.
fn judge(error: &Error) -> Verdict {
    let retry = Verdict::Retry { at_least: None };
    match error {
        Error::Io(e) if is_certificate_error(e) => Verdict::Fail,
        Error::Io(_) | Error::Closed => retry,
        Error::Response(ResponseError::Timeout) => retry,
        Error::Refused(response) => match response.status() {
            500 | 502 | 503 | 504 => Verdict::Retry {
                at_least: retry_after(response),
            },
            _ => Verdict::Fail,
        },
        Error::Protocol(e) if retry_after_close(e.close_code()) => retry,
        _ => Verdict::Fail,
    }
}

/// Whether a connection that ended with `code` (received, or sent because
/// of the peer) is worth making again.
fn retry_after_close(code: CloseCode) -> bool {
    !matches!(
        code,
        CloseCode::PROTOCOL_ERROR
            | CloseCode::UNSUPPORTED_DATA
            | CloseCode::INVALID_PAYLOAD
            | CloseCode::POLICY_VIOLATION
            | CloseCode::MESSAGE_TOO_BIG
            | CloseCode::MANDATORY_EXTENSION
    )
}

/// A certificate that does not verify will not verify on the next attempt.
fn is_certificate_error(_e: &std::io::Error) -> bool {
    #[cfg(feature = "rustls")]
    if let Some(tls) = _e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return matches!(
            tls,
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
        );
    }
    false
}

/// `Retry-After` in delta-seconds (RFC 9110 §10.2.3); an HTTP-date is not
/// read, and the backoff alone decides.
fn retry_after(response: &Response) -> Option<Duration> {
    let value = std::str::from_utf8(response.header("retry-after")?).ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// When a connection handed out started and how it ended.
#[derive(Debug)]
struct Lifetime {
    started: Instant,
    ended: Option<Instant>,
    code: Option<CloseCode>,
}

impl Lifetime {
    fn new(now: Instant) -> Self {
        Self {
            started: now,
            ended: None,
            code: None,
        }
    }

    /// The first ending seen counts.
    fn end(&mut self, now: Instant, code: CloseCode) {
        if self.ended.is_none() {
            self.ended = Some(now);
            self.code = Some(code);
        }
    }

    /// The uptime and the close code; a connection still open (or dropped
    /// open) ends now, abnormally.
    fn finish(&mut self, now: Instant) -> (Duration, CloseCode) {
        self.end(now, CloseCode::ABNORMAL);
        let ended = self.ended.unwrap_or(now);
        (
            ended.saturating_duration_since(self.started),
            self.code.unwrap_or(CloseCode::ABNORMAL),
        )
    }
}

/// How a connection ended, for the next attempt: the read side notes the
/// peer's close code (or the error); dropped before that, the connection
/// ended abnormally (1006).
struct Watch(Arc<Mutex<Lifetime>>);

impl Watch {
    fn note(&self, item: &Result<Message, Error>) {
        let code = match item {
            Ok(Message::Close(frame)) => frame.as_ref().map_or(CloseCode::NO_STATUS, |f| f.code),
            Ok(_) => return,
            Err(Error::Protocol(e)) => e.close_code(),
            Err(_) => CloseCode::ABNORMAL,
        };
        self.end(code);
    }

    fn note_poll(&self, item: &Poll<Option<Result<Message, Error>>>) {
        match item {
            Poll::Ready(Some(item)) => self.note(item),
            Poll::Ready(None) => self.end(CloseCode::ABNORMAL),
            Poll::Pending => {}
        }
    }

    /// The first end noted is the one kept.
    fn end(&self, code: CloseCode) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .end(Instant::now(), code);
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.end(CloseCode::ABNORMAL);
    }
}

/// One connection handed out by [`Reconnect`]: a [`WebSocketStream`]
/// (through `Deref`), whose ending is watched to decide the next attempt.
///
/// Read with [`recv`](Self::recv) or the `Stream` impl, which note the close
/// code; the other methods are the stream's. To read and write from two
/// tasks, [`into_split`](Session::into_split) (or
/// [`split_with`](Self::split_with)) gives a [`SessionReadHalf`], which
/// notes the close code in the same way, and the stream's write half.
pub struct Session<S> {
    ws: WebSocketStream<S>,
    response: Response,
    watch: Watch,
}

impl<S> fmt::Debug for Session<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("status", &self.response.status())
            .finish_non_exhaustive()
    }
}

impl<S> Session<S> {
    /// The server's handshake response.
    pub fn response(&self) -> &Response {
        &self.response
    }

    /// Splits the connection with `split` (such as
    /// [`WebSocketStream::split`] or a stream type's `into_split`) into a
    /// read half that keeps watching how the connection ends, and the write
    /// half. The connection counts as ended (for the backoff) when the read
    /// half sees the close or an error, or is dropped.
    pub fn split_with<R, W>(
        self,
        split: impl FnOnce(WebSocketStream<S>) -> (ReadHalf<R, W>, WriteHalf<R, W>),
    ) -> (SessionReadHalf<R, W>, WriteHalf<R, W>) {
        let (read, write) = split(self.ws);
        let read = SessionReadHalf {
            read,
            watch: self.watch,
        };
        (read, write)
    }
}

impl Session<MaybeTlsStream> {
    /// Splits what [`connect`] hands out into a read half that keeps
    /// watching how the connection ends and the write half, as
    /// [`WebSocketStream::into_split`] does (over plain TCP without a lock
    /// on the transport).
    #[allow(clippy::type_complexity)]
    pub fn into_split(
        self,
    ) -> (
        SessionReadHalf<MaybeTlsReadHalf, MaybeTlsWriteHalf>,
        WriteHalf<MaybeTlsReadHalf, MaybeTlsWriteHalf>,
    ) {
        self.split_with(WebSocketStream::<MaybeTlsStream>::into_split)
    }
}

impl<S> Session<S>
where
    S: ::tokio::io::AsyncRead + ::tokio::io::AsyncWrite + Unpin,
{
    /// The next message, as [`WebSocketStream::recv`]; a close or an error
    /// is noted for the next attempt. Cancel-safe.
    pub async fn recv(&mut self) -> Result<Message, Error> {
        let item = self.ws.recv().await;
        self.watch.note(&item);
        item
    }
}

/// The read half of a split [`Session`]: a [`ReadHalf`] (through `Deref`)
/// whose [`recv`](Self::recv) and `Stream` note the close code for the
/// next attempt, as the session's do.
pub struct SessionReadHalf<R, W> {
    read: ReadHalf<R, W>,
    watch: Watch,
}

impl<R, W> fmt::Debug for SessionReadHalf<R, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionReadHalf").finish_non_exhaustive()
    }
}

impl<R, W> SessionReadHalf<R, W>
where
    R: ::tokio::io::AsyncRead + Unpin,
    W: ::tokio::io::AsyncWrite + Unpin,
{
    /// The next message, as [`ReadHalf::recv`]; a close or an error is
    /// noted for the next attempt. Cancel-safe.
    pub async fn recv(&mut self) -> Result<Message, Error> {
        let item = self.read.recv().await;
        self.watch.note(&item);
        item
    }
}

impl<R, W> Deref for SessionReadHalf<R, W> {
    type Target = ReadHalf<R, W>;

    fn deref(&self) -> &Self::Target {
        &self.read
    }
}

impl<R, W> DerefMut for SessionReadHalf<R, W> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.read
    }
}

impl<R, W> Stream for SessionReadHalf<R, W>
where
    ReadHalf<R, W>: Stream<Item = Result<Message, Error>> + Unpin,
{
    type Item = Result<Message, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = Pin::new(&mut self.read).poll_next(cx);
        self.watch.note_poll(&item);
        item
    }
}

impl<S> Deref for Session<S> {
    type Target = WebSocketStream<S>;

    fn deref(&self) -> &Self::Target {
        &self.ws
    }
}

impl<S> DerefMut for Session<S> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.ws
    }
}

impl<S> Stream for Session<S>
where
    WebSocketStream<S>: Stream<Item = Result<Message, Error>> + Unpin,
{
    type Item = Result<Message, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = Pin::new(&mut self.ws).poll_next(cx);
        self.watch.note_poll(&item);
        item
    }
}

impl<S> Sink<Message> for Session<S>
where
    WebSocketStream<S>: Sink<Message, Error = Error> + Unpin,
{
    type Error = Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.ws).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        Pin::new(&mut self.ws).start_send(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.ws).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.ws).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_grows_by_the_factor_up_to_the_maximum() {
        let backoff = Backoff::new();
        assert_eq!(backoff.bound(0), Duration::from_secs(5));
        assert_eq!(backoff.bound(1), Duration::from_secs(10));
        assert_eq!(backoff.bound(3), Duration::from_secs(40));
        assert_eq!(backoff.bound(4), Duration::from_secs(60));
        assert_eq!(backoff.bound(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn delay_is_full_jitter_over_the_bound() {
        let backoff = Backoff::new();
        assert_eq!(backoff.delay(0, 0.0), Duration::ZERO);
        assert_eq!(backoff.delay(0, 0.5), Duration::from_millis(2500));
        assert_eq!(backoff.delay(2, 0.25), Duration::from_secs(5));
        assert!(backoff.delay(9, 0.999_999) < Duration::from_secs(60));
    }

    #[test]
    fn close_codes_that_say_the_peer_will_refuse_again_end_the_retrying() {
        for code in [1002, 1003, 1007, 1008, 1009, 1010] {
            assert!(!retry_after_close(CloseCode::from(code)), "{code}");
        }
        for code in [1000, 1001, 1005, 1006, 1011, 1012, 1013, 1014, 4000] {
            assert!(retry_after_close(CloseCode::from(code)), "{code}");
        }
    }

    #[test]
    fn io_errors_and_timeouts_are_retried_build_errors_are_not() {
        let refused = Error::Io(std::io::ErrorKind::ConnectionRefused.into());
        assert!(matches!(judge(&refused), Verdict::Retry { at_least: None }));
        let timeout = Error::Response(ResponseError::Timeout);
        assert!(matches!(judge(&timeout), Verdict::Retry { .. }));
        let build = Error::Build(crate::handshake::BuildError::InvalidUrl("x"));
        assert!(matches!(judge(&build), Verdict::Fail));
    }
}
