//! Where `connect` gets its transport from: a URL's scheme, host and port
//! turned into a stream. Plain TCP for `ws://`; TLS for `wss://` extends
//! [`open`] and [`MaybeTlsStream`].

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::net::TcpStream;

use super::Error;
use crate::handshake::ClientRequest;

/// The scheme of a WebSocket URL (RFC 6455 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `ws://`: plain TCP.
    Ws,
    /// `wss://`: TLS over TCP.
    Wss,
}

/// Splits a URL into its scheme and the request for it.
pub(crate) fn request_for_url(url: &str) -> Result<(Scheme, ClientRequest), Error> {
    let scheme = match url.split_once("://") {
        Some((s, _)) if s.eq_ignore_ascii_case("wss") => Scheme::Wss,
        _ => Scheme::Ws,
    };
    // `from_url` refuses `wss://` (TlsNotProvided) until TLS is built in.
    Ok((scheme, ClientRequest::from_url(url)?))
}

/// Opens the transport for `request` over `scheme`: a TCP connection to its
/// host and port, with Nagle's algorithm off (frames are written whole, one
/// vectored write per flush).
pub(crate) async fn open(scheme: Scheme, request: &ClientRequest) -> Result<MaybeTlsStream, Error> {
    match scheme {
        Scheme::Ws => {
            let stream = TcpStream::connect((request.host(), request.port())).await?;
            stream.set_nodelay(true)?;
            Ok(MaybeTlsStream::Plain(stream))
        }
        Scheme::Wss => Err(crate::handshake::BuildError::TlsNotProvided.into()),
    }
}

/// The stream [`connect`](super::connect) opens: TCP for `ws://` (and TLS
/// over TCP for `wss://` once TLS is built in).
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// A plain TCP connection (`ws://`).
    Plain(TcpStream),
}

impl MaybeTlsStream {
    /// The TCP connection underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(s) => s,
        }
    }
}

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
