//! WebSockets through hyper (feature `hyper`), over HTTP/1.1 upgrades
//! (RFC 6455 §4) and HTTP/2 extended CONNECT (RFC 8441), with
//! permessage-deflate, ending in the tokio adapter's [`WebSocketStream`].
//!
//! The handshake is [`crate::http`]'s, which is the sans-IO handshake's
//! checks and negotiation on the `http` types; this module adds hyper's
//! upgrade mechanics.
//!
//! # Server
//!
//! [`upgrade`] (or [`ServerUpgrade`] to look at the request first) answers
//! an HTTP/1.1 `GET` with `Upgrade: websocket` with 101, and an HTTP/2
//! `CONNECT` with `:protocol websocket` (hyper puts the pseudo-header in the
//! request's extensions as `hyper::ext::Protocol`) with 200, and gives an
//! [`UpgradeFut`] that resolves, once hyper has sent the response, to the
//! [`WebSocketStream`] over the upgraded stream. Serve HTTP/1.1 connections
//! with `with_upgrades()`, and HTTP/2 ones with
//! `hyper::server::conn::http2::Builder::enable_connect_protocol()` (which
//! sends `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1`, RFC 8441 §3).
//!
//! ```no_run
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//!
//! async fn handle(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
//!     match wsproto::hyper::upgrade(&mut request) {
//!         Ok((response, websocket)) => {
//!             tokio::spawn(async move {
//!                 let Ok(mut ws) = websocket.await else { return };
//!                 while let Ok(message) = ws.recv().await {
//!                     if ws.send(message).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!             });
//!             Ok(response)
//!         }
//!         Err(rejection) => Ok(rejection.into_response()),
//!     }
//! }
//! ```
//!
//! # Client
//!
//! [`client`] runs the opening handshake through hyper's client over any
//! stream: HTTP/2 extended CONNECT when the stream speaks HTTP/2 (ALPN `h2`
//! over TLS, or h2c with prior knowledge) and the server sent
//! `SETTINGS_ENABLE_CONNECT_PROTOCOL`, HTTP/1.1 otherwise, and says which
//! it used ([`Opening`]).
//!
//! # The end of an HTTP/2 stream (RFC 8441 §5)
//!
//! Over HTTP/2 the stream is the transport: its end (`END_STREAM`) is the
//! TCP FIN of RFC 6455, and a `RST_STREAM` is an abortive close, a TCP RST.
//! Shutting down the write side of the upgraded stream (which the tokio
//! adapter does once the close handshake is done) sends `END_STREAM`; the
//! peer's `END_STREAM` reads as the end of the transport. Dropping the
//! stream before both ends are done resets it (`RST_STREAM(CANCEL)`). A
//! peer's reset with `NO_ERROR` or `CANCEL` reads, through hyper, as the
//! end of the stream, and with any other code as an I/O error: either way,
//! a connection whose close handshake had not finished fails with 1006
//! (abnormal closure), as over TCP.
//!
//! [`WebSocketStream`]: crate::tokio::WebSocketStream

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode, Version};
use http_body_util::{Empty, Full};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::config::Config;
use crate::connection::{Connection, Negotiated, Role};
use crate::handshake::{Accept, BuildError, ClientRequest, RequestError, ResponseError};
use crate::http::{ClientUpgrade, ServerRequest};
use crate::tokio::WebSocketStream;

pub use crate::http::Opening;

/// A WebSocket over a stream hyper upgraded.
pub type WebSocket = WebSocketStream<UpgradedStream>;

/// What can go wrong opening a WebSocket through hyper.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// hyper failed: the connection broke, or the upgrade did not happen
    /// (an HTTP/1.1 connection served without `with_upgrades()`).
    #[error("hyper: {0}")]
    Hyper(#[from] hyper::Error),
    /// The transport failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The request could not be built, or the server's answer could not be.
    #[error("{0}")]
    Build(#[from] BuildError),
    /// The server's answer broke the rules of RFC 6455 §4.1 (or RFC 8441 §5).
    #[error("invalid handshake response: {0}")]
    Response(#[from] ResponseError),
    /// The server answered with another status (RFC 6455 §4.1: handled as
    /// HTTP says): the response's head.
    #[error("the server refused the WebSocket with status {}", .0.status)]
    Rejected(Box<http::response::Parts>),
    /// The stream speaks HTTP/2 but the server did not send
    /// `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1` (RFC 8441 §3), so no WebSocket
    /// can be opened on it: connect again offering only `http/1.1`.
    #[error("the HTTP/2 server does not allow extended CONNECT (RFC 8441 §3)")]
    ExtendedConnectDisabled,
    /// The opening handshake did not complete within
    /// [`Config::handshake_timeout`](crate::Config::handshake_timeout).
    #[error("the opening handshake timed out")]
    Timeout,
}

// ---------------------------------------------------------------- stream

/// The stream a WebSocket runs over after a hyper upgrade.
///
/// An HTTP/1.1 upgrade of a plain `TcpStream` (served through
/// `hyper_util::rt::TokioIo`) gets the socket back, with the bytes hyper
/// had read past the head handed to the connection first; any other
/// upgrade (HTTP/2 streams, TLS) stays hyper's [`Upgraded`], which yields
/// those bytes itself.
#[derive(Debug)]
#[non_exhaustive]
pub enum UpgradedStream {
    /// The TCP socket itself.
    Tcp(TcpStream),
    /// hyper's upgraded stream: over HTTP/2, one stream of the connection.
    Upgraded(TokioIo<Upgraded>),
}

impl UpgradedStream {
    /// Takes the stream out of `upgraded`, and the bytes hyper had read
    /// past the head, which must be the connection's first input.
    fn new(upgraded: Upgraded) -> (Self, Bytes) {
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => (Self::Tcp(parts.io.into_inner()), parts.read_buf),
            Err(upgraded) => (Self::Upgraded(TokioIo::new(upgraded)), Bytes::new()),
        }
    }
}

impl AsyncRead for UpgradedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Self::Upgraded(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for UpgradedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Self::Upgraded(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Upgraded(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Tcp(s) => s.is_write_vectored(),
            Self::Upgraded(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_flush(cx),
            Self::Upgraded(s) => Pin::new(s).poll_flush(cx),
        }
    }

    /// Half-closes the write side: a TCP FIN, or over HTTP/2 `END_STREAM`
    /// (RFC 8441 §5).
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Self::Upgraded(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// The WebSocket over `upgraded`, with what was already read fed first.
fn websocket(upgraded: Upgraded, mut conn: Connection) -> WebSocket {
    let (stream, read) = UpgradedStream::new(upgraded);
    if !read.is_empty() {
        conn.handle_read(&read);
    }
    WebSocketStream::from_parts(stream, conn)
}

// ---------------------------------------------------------------- server

/// A request to open a WebSocket that hyper received and that passed the
/// checks ([`ServerRequest`]), with hyper's handle on the upgrade.
#[derive(Debug)]
pub struct ServerUpgrade {
    request: ServerRequest,
    on_upgrade: OnUpgrade,
}

impl ServerUpgrade {
    /// Checks `request` ([`ServerRequest::from_request`], with the
    /// `:protocol` hyper put in its extensions) and takes hyper's upgrade
    /// handle out of it. Answer an error with
    /// [`Rejection::into_response`].
    pub fn from_request<B>(request: &mut Request<B>) -> Result<Self, Rejection> {
        let protocol = request.extensions().get::<hyper::ext::Protocol>();
        let checked = ServerRequest::from_request(request, protocol.map(|p| p.as_str()));
        let version = request.version();
        Self::new(checked, version, request.extensions_mut())
    }

    /// [`from_request`](Self::from_request) on the request's head.
    pub fn from_parts(parts: &mut http::request::Parts) -> Result<Self, Rejection> {
        let protocol = parts.extensions.get::<hyper::ext::Protocol>();
        let checked = ServerRequest::from_parts(parts, protocol.map(|p| p.as_str()));
        Self::new(checked, parts.version, &mut parts.extensions)
    }

    fn new(
        checked: Result<ServerRequest, RequestError>,
        version: Version,
        extensions: &mut http::Extensions,
    ) -> Result<Self, Rejection> {
        let reject = |kind| Rejection { kind, version };
        let request = checked.map_err(|e| reject(RejectionKind::Request(e)))?;
        let on_upgrade = extensions
            .remove::<OnUpgrade>()
            .ok_or_else(|| reject(RejectionKind::NotUpgradable))?;
        Ok(Self {
            request,
            on_upgrade,
        })
    }

    /// The checked request: path, Origin, subprotocols, how it came.
    pub fn request(&self) -> &ServerRequest {
        &self.request
    }

    /// How the WebSocket is being opened.
    pub fn opening(&self) -> Opening {
        self.request.opening()
    }

    /// Accepts: the response for hyper to send (101, or 200 over HTTP/2)
    /// and the future of the WebSocket, which resolves once hyper has sent
    /// it. permessage-deflate is negotiated from `config.deflate` unless
    /// `accept` says otherwise; the connection runs with `config`.
    pub fn accept(
        self,
        accept: &Accept,
        config: Config,
    ) -> Result<(Response<Full<Bytes>>, UpgradeFut), BuildError> {
        let (response, negotiated) = self.request.accept(accept, &config)?;
        let fut = UpgradeFut {
            on_upgrade: self.on_upgrade,
            opening: self.request.opening(),
            parts: Some((config, negotiated)),
        };
        Ok((response.map(|()| Full::new(Bytes::new())), fut))
    }
}

/// Accepts a WebSocket request with the default [`Config`] (and so
/// permessage-deflate when offered), no subprotocol: see
/// [`ServerUpgrade`] to choose.
pub fn upgrade<B>(
    request: &mut Request<B>,
) -> Result<(Response<Full<Bytes>>, UpgradeFut), Rejection> {
    upgrade_with(request, Config::default())
}

/// [`upgrade`], with the connection's `config`.
pub fn upgrade_with<B>(
    request: &mut Request<B>,
    config: Config,
) -> Result<(Response<Full<Bytes>>, UpgradeFut), Rejection> {
    let version = request.version();
    ServerUpgrade::from_request(request)?
        .accept(&Accept::new(), config)
        .map_err(|e| Rejection {
            kind: RejectionKind::Build(e),
            version,
        })
}

/// The future of an accepted WebSocket: resolves to the
/// [`WebSocketStream`] once hyper has sent the response and handed over
/// the stream. It must be polled (spawned) after the response is returned
/// to hyper.
#[must_use = "the WebSocket is only set up once this future is polled"]
#[derive(Debug)]
pub struct UpgradeFut {
    on_upgrade: OnUpgrade,
    opening: Opening,
    parts: Option<(Config, Negotiated)>,
}

impl UpgradeFut {
    /// How the WebSocket is being opened.
    pub fn opening(&self) -> Opening {
        self.opening
    }
}

impl Future for UpgradeFut {
    type Output = Result<WebSocket, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let upgraded = match Pin::new(&mut self.on_upgrade).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result?,
        };
        let Some((config, negotiated)) = self.parts.take() else {
            // Polled after it resolved: hyper's handle resolves once too.
            return Poll::Ready(Err(io::Error::other("polled after completion").into()));
        };
        let conn = Connection::with_negotiated(Role::Server, config, negotiated);
        Poll::Ready(Ok(websocket(upgraded, conn)))
    }
}

/// A request that cannot be upgraded, with the response that says why.
#[derive(Debug)]
pub struct Rejection {
    kind: RejectionKind,
    version: Version,
}

#[derive(Debug)]
enum RejectionKind {
    Request(RequestError),
    Build(BuildError),
    NotUpgradable,
}

impl Rejection {
    /// The request's fault, if it was one (the others are the server's).
    pub fn request_error(&self) -> Option<&RequestError> {
        match &self.kind {
            RejectionKind::Request(e) => Some(e),
            _ => None,
        }
    }

    /// The status of the response.
    pub fn status(&self) -> u16 {
        match &self.kind {
            RejectionKind::Request(e) => e.status(),
            RejectionKind::Build(_) | RejectionKind::NotUpgradable => 500,
        }
    }

    /// The response: the status, the fields of [`crate::http::reject`]
    /// (a 426 names version 13, a 405 the method to use) and the reason as
    /// a `text/plain` body (escaped: it holds no raw peer bytes).
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let body = Full::new(Bytes::from(format!("{self}\n")));
        let mut response = match &self.kind {
            RejectionKind::Request(e) => crate::http::reject(e, self.version).map(|()| body),
            _ => {
                let mut response = Response::new(body);
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response
            }
        };
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            RejectionKind::Request(e) => e.fmt(f),
            RejectionKind::Build(e) => e.fmt(f),
            RejectionKind::NotUpgradable => f.write_str(
                "this connection cannot be upgraded (HTTP/1.1 served without with_upgrades())",
            ),
        }
    }
}

impl std::error::Error for Rejection {}

// ---------------------------------------------------------------- client

/// What a stream given to [`client`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Http {
    /// HTTP/1.1: the WebSocket opens with an upgrade (RFC 6455 §4).
    Http1,
    /// HTTP/2 (ALPN `h2`, or h2c with prior knowledge): the WebSocket
    /// opens with an extended CONNECT (RFC 8441), if the server allows it.
    Http2,
}

impl Http {
    /// What a TLS connection speaks after ALPN: HTTP/2 for `h2`, HTTP/1.1
    /// for anything else or nothing.
    pub fn from_alpn(protocol: Option<&[u8]>) -> Self {
        if protocol == Some(b"h2") {
            Self::Http2
        } else {
            Self::Http1
        }
    }
}

/// Opens a WebSocket for `request` over `io` through hyper's client, as
/// `http` says the stream speaks, with `config` for the offers, the
/// handshake's timeout and the connection. `scheme` is `https` over TLS
/// and `http` otherwise (HTTP/2's `:scheme`, RFC 8441 §5).
///
/// Over HTTP/2, waits for the server's SETTINGS: with
/// `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1` it sends an extended CONNECT,
/// without it fails with [`Error::ExtendedConnectDisabled`] (once SETTINGS
/// that change the stream limit arrive without it, or the connection ends;
/// a server whose SETTINGS change nothing is waited for until the
/// handshake timeout). The HTTP/2
/// connection is driven by a task spawned on the current tokio runtime,
/// and carries only this WebSocket.
///
/// Returns the WebSocket, how it was opened, and the response's head. A
/// status other than 101 (or 2xx over HTTP/2) is [`Error::Rejected`].
pub async fn client<S>(
    io: S,
    http: Http,
    scheme: &str,
    request: &ClientRequest,
    config: Config,
) -> Result<(WebSocket, Opening, http::response::Parts), Error>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let timeout = config.handshake_timeout;
    let handshake = open(io, http, scheme, request, config);
    match timeout {
        Some(limit) => tokio::time::timeout(limit, handshake)
            .await
            .map_err(|_| Error::Timeout)?,
        None => handshake.await,
    }
}

async fn open<S>(
    io: S,
    http: Http,
    scheme: &str,
    request: &ClientRequest,
    config: Config,
) -> Result<(WebSocket, Opening, http::response::Parts), Error>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let io = TokioIo::new(io);
    let (upgrade, response) = match http {
        Http::Http1 => {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
            tokio::spawn(conn.with_upgrades());
            let upgrade = ClientUpgrade::new(request, &config);
            let response = sender
                .send_request(upgrade.request()?.map(|()| Empty::<Bytes>::new()))
                .await?;
            (upgrade, response)
        }
        Http::Http2 => {
            let (mut sender, conn) =
                hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
                    .await?;
            // RFC 8441 §3: extended CONNECT only once the server's SETTINGS
            // allowed it. They are the server's first frame; the task that
            // drives the connection says when they are in.
            let (settings, enabled) = tokio::sync::oneshot::channel();
            tokio::spawn(SettingsWatch {
                initial_streams: conn.current_max_send_streams(),
                conn,
                settings: Some(settings),
                tick: None,
                looks: 0,
            });
            if !enabled.await.unwrap_or(false) {
                return Err(Error::ExtendedConnectDisabled);
            }
            let upgrade = ClientUpgrade::extended_connect(request, &config, scheme);
            let mut connect = upgrade.request()?.map(|()| Empty::<Bytes>::new());
            // RFC 8441 §4: the :protocol pseudo-header.
            connect
                .extensions_mut()
                .insert(hyper::ext::Protocol::from_static("websocket"));
            let response = sender.send_request(connect).await?;
            (upgrade, response)
        }
    };
    let mut response = response;
    let Some(negotiated) = upgrade.check_response(&response)? else {
        return Err(Error::Rejected(Box::new(response.into_parts().0)));
    };
    let upgraded = hyper::upgrade::on(&mut response).await?;
    let conn = Connection::with_negotiated(Role::Client, config, negotiated);
    let (parts, _) = response.into_parts();
    Ok((websocket(upgraded, conn), upgrade.opening(), parts))
}

/// Drives a client's HTTP/2 connection, and says once whether the server's
/// SETTINGS allow extended CONNECT (RFC 8441 §3).
///
/// hyper runs the HTTP/2 connection in a task of its own and says nothing
/// when SETTINGS arrive, so the flag is looked at on a short timer, only
/// until it is known (or the handshake gives up waiting).
struct SettingsWatch<C> {
    conn: C,
    initial_streams: usize,
    settings: Option<tokio::sync::oneshot::Sender<bool>>,
    tick: Option<Pin<Box<tokio::time::Sleep>>>,
    looks: u32,
}

type H2Connection<S> =
    hyper::client::conn::http2::Connection<TokioIo<S>, Empty<Bytes>, hyper_util::rt::TokioExecutor>;

impl<S> Future for SettingsWatch<H2Connection<S>>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let polled = Pin::new(&mut self.conn).poll(cx);
        if self.settings.as_ref().is_some_and(|tx| tx.is_closed()) {
            // The handshake stopped waiting.
            self.settings = None;
        }
        if self.settings.is_some() {
            let enabled = self.conn.is_extended_connect_protocol_enabled();
            // SETTINGS that changed the stream limit without the flag, or
            // the end of the connection: the server does not allow it.
            let refused =
                polled.is_ready() || self.conn.current_max_send_streams() != self.initial_streams;
            if enabled || refused {
                if let Some(tx) = self.settings.take() {
                    let _ = tx.send(enabled);
                }
                self.tick = None;
            } else {
                loop {
                    let tick = self.tick.get_or_insert_with(|| {
                        Box::pin(tokio::time::sleep(std::time::Duration::from_millis(1)))
                    });
                    if tick.as_mut().poll(cx).is_pending() {
                        break;
                    }
                    // Every millisecond, then less often, up to 50 ms.
                    self.looks = self.looks.saturating_add(1);
                    let wait = std::time::Duration::from_millis(u64::from(self.looks.min(50)));
                    let deadline = tokio::time::Instant::now() + wait;
                    if let Some(tick) = self.tick.as_mut() {
                        tick.as_mut().reset(deadline);
                    }
                }
            }
        }
        polled.map(drop)
    }
}
