//! The opening handshake over tokio streams: one function per role drives
//! the core's handshake; `connect` opens the transport first.

use std::future::Future;
use std::time::Duration;

use ::tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::stream::WebSocketStream;
use super::transport::{self, MaybeTlsStream};
use super::Error;
use crate::config::Config;
/// The answer to a request the application refuses (the same type for
/// every adapter; defined in [`crate::handshake`]).
pub use crate::handshake::Rejection;
use crate::handshake::{
    Accept, ClientHandshake, ClientRequest, Outcome, Request, RequestError, Response,
    ResponseError, ServerHandshake,
};

/// After a rejection: how long the server keeps reading (and dropping)
/// what the client still sends, so that closing does not reset the
/// connection before the client has read the response.
const LINGER_TIME: Duration = Duration::from_secs(1);

/// After a rejection: how many bytes the server reads at most while it lingers.
const LINGER_BYTES: usize = 64 * 1024;

/// How many bytes one read of a handshake head asks for.
const HEAD_CHUNK: usize = 4096;

/// Connects to a `ws://` URL and runs the client handshake.
pub async fn connect(url: &str) -> Result<(WebSocketStream<MaybeTlsStream>, Response), Error> {
    let (scheme, request) = transport::request_for_url(url)?;
    connect_request(scheme, request, Config::default()).await
}

/// Connects with a request built by hand (subprotocols, Origin, extra
/// headers such as `Authorization`) and a configuration.
///
/// The handshake timeout ([`Config::handshake_timeout`]) bounds the TCP
/// connect and the handshake together.
pub async fn connect_with(
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<MaybeTlsStream>, Response), Error> {
    connect_request(transport::Scheme::Ws, request, config).await
}

async fn connect_request(
    scheme: transport::Scheme,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<MaybeTlsStream>, Response), Error> {
    let timeout = config.handshake_timeout;
    Box::pin(within(timeout, async {
        let stream = transport::open(scheme, &request).await?;
        client_handshake(stream, request, config).await
    }))
    .await
}

/// Runs the client handshake over a stream that is already connected (a
/// TCP stream, a TLS stream, a Unix socket, an in-memory duplex...), within
/// the handshake timeout.
pub async fn client<S>(
    stream: S,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<S>, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let timeout = config.handshake_timeout;
    // Boxed while it runs, as the server's is.
    Box::pin(within(timeout, client_handshake(stream, request, config))).await
}

/// The client's side of the handshake, the one place it is driven.
async fn client_handshake<S>(
    mut stream: S,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<S>, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut handshake = ClientHandshake::new(request, config);
    while let Some(bytes) = handshake.poll_transmit() {
        stream.write_all(&bytes).await?;
    }
    stream.flush().await?;
    let mut buf = vec![0u8; HEAD_CHUNK];
    loop {
        match handshake.poll_response()? {
            Some(Outcome::Accepted(response, conn)) => {
                return Ok((WebSocketStream::from_parts(stream, conn), response));
            }
            Some(Outcome::Rejected(response)) => return Err(Error::Refused(Box::new(response))),
            None => {}
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
        handshake.handle_read(&buf[..n]);
    }
}

/// Runs the server handshake on an accepted stream and accepts every valid
/// request, with no subprotocol.
pub async fn accept<S>(stream: S) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with(stream, Config::default(), |_| Ok(Accept::new())).await
}

/// Runs the server handshake; `decide` sees the request (path, headers,
/// Origin, offered subprotocols and extensions) and accepts it (choosing a
/// subprotocol, adding response headers) or rejects it with any status.
///
/// A malformed request is answered with 400 (426 for a wrong version, 431
/// for an oversized head, 408 when the handshake timeout passes) without
/// calling `decide`. A rejection is written, the write side shut down, and
/// what the client still sends is read and dropped for up to a second
/// before the stream is closed, so that the client sees the response
/// rather than a reset.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use wsproto::handshake::Accept;
/// use wsproto::tokio::{self as ws, Rejection};
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let (stream, _) = listener.accept().await?;
/// let ws = ws::accept_with(stream, wsproto::Config::default(), |request| {
///     if request.header("authorization") != Some(b"Bearer let-me-in".as_slice()) {
///         return Err(Rejection::new(401).body("who are you?"));
///     }
///     match request.subprotocols().any(|p| p == "chat") {
///         true => Ok(Accept::new().subprotocol("chat")?),
///         false => Ok(Accept::new()),
///     }
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn accept_with<S, F>(
    stream: S,
    config: Config,
    decide: F,
) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<Accept, Rejection>,
{
    // The handshake's state (its head buffer, timer and parser) lives in a
    // box of its own for as long as it runs: a task that goes on to serve
    // the connection does not carry it.
    Box::pin(server_handshake(stream, config, decide)).await
}

/// The server's side of the handshake, the one place it is driven.
async fn server_handshake<S, F>(
    mut stream: S,
    config: Config,
    decide: F,
) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<Accept, Rejection>,
{
    let timeout = config.handshake_timeout;
    let mut handshake = ServerHandshake::new(config);
    let read = within(timeout, read_request(&mut stream, &mut handshake));
    let request = match read.await {
        Ok(request) => request,
        Err(Error::Request(e)) => {
            // The peer hears why; our error is the handshake's, whatever
            // the write does.
            linger(stream, &ServerHandshake::reject_error(&e)).await;
            return Err(Error::Request(e));
        }
        Err(Error::Response(ResponseError::Timeout)) => {
            let e = RequestError::Timeout;
            linger(stream, &ServerHandshake::reject_error(&e)).await;
            return Err(Error::Request(e));
        }
        Err(e) => return Err(e),
    };
    match decide(&request) {
        Ok(answer) => {
            let (response, conn) = handshake.accept(answer)?;
            within(timeout, async {
                stream.write_all(&response).await?;
                stream.flush().await.map_err(Error::from)
            })
            .await?;
            Ok(WebSocketStream::from_parts(stream, conn))
        }
        Err(rejection) => {
            let response = rejection.to_response()?;
            linger(stream, &response).await;
            Err(Error::Rejected(rejection.status()))
        }
    }
}

/// Reads until the request head is complete and checked.
async fn read_request<S>(stream: &mut S, handshake: &mut ServerHandshake) -> Result<Request, Error>
where
    S: AsyncRead + Unpin,
{
    let mut buf = vec![0u8; HEAD_CHUNK];
    loop {
        if let Some(request) = handshake.poll_request()? {
            return Ok(request);
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
        handshake.handle_read(&buf[..n]);
    }
}

/// Writes a rejection, shuts the write side down, and reads (dropping it)
/// what the client still sends, for a short bounded time, before closing:
/// a close with unread input would reset the connection, and the client
/// could lose the response (RFC 9112 §9.6).
async fn linger<S>(mut stream: S, response: &[u8])
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = ::tokio::time::timeout(LINGER_TIME, async {
        stream.write_all(response).await?;
        stream.flush().await?;
        stream.shutdown().await?;
        let mut buf = [0u8; 1024];
        let mut drained = 0;
        while drained < LINGER_BYTES {
            match stream.read(&mut buf).await? {
                0 => break,
                n => drained += n,
            }
        }
        Ok::<(), std::io::Error>(())
    })
    .await;
}

/// Runs `f` within the handshake timeout, if there is one. On expiry:
/// [`ResponseError::Timeout`], which the server side turns into
/// [`RequestError::Timeout`].
async fn within<T>(
    timeout: Option<Duration>,
    f: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match timeout {
        None => f.await,
        Some(limit) => match ::tokio::time::timeout(limit, f).await {
            Ok(result) => result,
            Err(_) => Err(Error::Response(ResponseError::Timeout)),
        },
    }
}
