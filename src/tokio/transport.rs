//! Where `connect` gets its transport from: a URL's scheme, host and port
//! turned into a stream. Plain TCP for `ws://`; TLS for `wss://` extends
//! [`open`] and [`MaybeTlsStream`].

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
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

/// Splits a URL into its scheme and the request for it (RFC 6455 §3): a
/// `wss://` URL is the same request, with 443 as its default port.
pub(crate) fn request_for_url(url: &str) -> Result<(Scheme, ClientRequest), Error> {
    let Some(rest) = url
        .get(..6)
        .filter(|s| s.eq_ignore_ascii_case("wss://"))
        .map(|_| &url[6..])
    else {
        return Ok((Scheme::Ws, ClientRequest::from_url(url)?));
    };
    // `ClientRequest::from_url` knows only ws://: the same URL with ws://,
    // and the port written out when the URL leaves it to the scheme.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let has_port = match authority.rfind(']') {
        Some(close) => authority[close..].contains(':'),
        None => authority.contains(':'),
    };
    let ws_url = match has_port {
        true => format!("ws://{rest}"),
        false => format!("ws://{authority}:443{tail}"),
    };
    Ok((Scheme::Wss, ClientRequest::from_url(&ws_url)?))
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

    /// Splits into a read and a write direction: TCP's own owned halves,
    /// without a lock.
    pub fn into_split(self) -> (MaybeTlsReadHalf, MaybeTlsWriteHalf) {
        match self {
            Self::Plain(s) => {
                let (r, w) = s.into_split();
                (MaybeTlsReadHalf::Plain(r), MaybeTlsWriteHalf::Plain(w))
            }
        }
    }
}

/// The read direction of a [`MaybeTlsStream`].
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsReadHalf {
    /// Of a plain TCP connection.
    Plain(OwnedReadHalf),
}

/// The write direction of a [`MaybeTlsStream`].
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsWriteHalf {
    /// Of a plain TCP connection.
    Plain(OwnedWriteHalf),
}

impl AsyncRead for MaybeTlsReadHalf {
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

impl AsyncWrite for MaybeTlsWriteHalf {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wss_urls_are_the_same_request_with_port_443_by_default() {
        let (scheme, request) = request_for_url("wss://example.com/chat?x=1").unwrap();
        assert_eq!(scheme, Scheme::Wss);
        assert_eq!((request.host(), request.port()), ("example.com", 443));
        assert_eq!(request.target(), "/chat?x=1");
        let (_, request) = request_for_url("WSS://[::1]:8443").unwrap();
        assert_eq!((request.host(), request.port()), ("::1", 8443));
        assert_eq!(request.target(), "/");
        let (scheme, request) = request_for_url("ws://example.com").unwrap();
        assert_eq!((scheme, request.port()), (Scheme::Ws, 80));
        assert!(request_for_url("wss://example.com/#frag").is_err());
        assert!(request_for_url("http://example.com/").is_err());
    }
}
