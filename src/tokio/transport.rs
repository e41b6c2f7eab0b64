//! Where `connect` gets its transport from: a URL's scheme, host and port
//! turned into a stream. Plain TCP for `ws://`; TLS over TCP for `wss://`
//! (feature `rustls`, in `tls`).

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
    /// `wss://`: TLS over TCP to this port (443 unless the URL gives one).
    Wss {
        /// The TCP port.
        port: u16,
    },
}

/// Splits a URL into its scheme and the request for it (RFC 6455 §3).
pub(crate) fn request_for_url(url: &str) -> Result<(Scheme, ClientRequest), Error> {
    match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("wss") => {
            let (port, request) = wss_request(rest)?;
            Ok((Scheme::Wss { port }, request))
        }
        _ => Ok((Scheme::Ws, ClientRequest::from_url(url)?)),
    }
}

/// The request for `wss://` + `rest`, and the port to connect to.
///
/// The URL rules are `ws://`'s (RFC 6455 §3: no fragment, no user info, an
/// empty path is `/`); only the default port differs: 443, left out of
/// `Host` (RFC 6455 §4.1), where `ws://`'s is 80.
fn wss_request(rest: &str) -> Result<(u16, ClientRequest), Error> {
    let request = ClientRequest::from_url(&format!("ws://{rest}"))?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    // A port is given when the authority ends in `:digits` after any
    // bracketed IPv6 address.
    let explicit = authority
        .rsplit_once(':')
        .is_some_and(|(host, _)| !host.is_empty() && (!host.contains(':') || host.ends_with(']')));
    match (explicit, request.port()) {
        (false, _) => Ok((443, request)),
        // `from_url` leaves the default ws port out of Host; for wss it is
        // not the default and stays in.
        (true, 80) => Ok((80, ClientRequest::new(authority, request.target())?)),
        (true, port) => Ok((port, request)),
    }
}

/// Opens the transport for `request` over `scheme`: a TCP connection to its
/// host and port, with Nagle's algorithm off (frames are written whole, one
/// vectored write per flush), then TLS for `wss://`.
pub(crate) async fn open(scheme: Scheme, request: &ClientRequest) -> Result<MaybeTlsStream, Error> {
    match scheme {
        Scheme::Ws => Ok(MaybeTlsStream::Plain(
            tcp(request.host(), request.port()).await?,
        )),
        #[cfg(feature = "rustls")]
        Scheme::Wss { port } => {
            let connector = super::tls::Connector::default_roots()?;
            let tcp = tcp(request.host(), port).await?;
            connector.handshake(request.host(), tcp).await
        }
        #[cfg(not(feature = "rustls"))]
        Scheme::Wss { .. } => Err(crate::handshake::BuildError::TlsNotProvided.into()),
    }
}

/// A TCP connection with Nagle's algorithm off.
pub(crate) async fn tcp(host: &str, port: u16) -> io::Result<TcpStream> {
    let stream = TcpStream::connect((host, port)).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The stream [`connect`](super::connect) opens: TCP for `ws://`, TLS over
/// TCP for `wss://` (feature `rustls`).
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// A plain TCP connection (`ws://`).
    Plain(TcpStream),
    /// A TLS connection (`wss://`), boxed: its state is large, and a plain
    /// connection should not pay for it.
    #[cfg(feature = "rustls")]
    Rustls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl MaybeTlsStream {
    /// The TCP connection underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(s) => s,
            #[cfg(feature = "rustls")]
            Self::Rustls(s) => s.get_ref().0,
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
            // A TLS session is one state for both directions: its halves
            // share it behind tokio's lock.
            #[cfg(feature = "rustls")]
            Self::Rustls(s) => {
                let (r, w) = ::tokio::io::split(s);
                (MaybeTlsReadHalf::Rustls(r), MaybeTlsWriteHalf::Rustls(w))
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
    /// Of a TLS connection.
    #[cfg(feature = "rustls")]
    Rustls(::tokio::io::ReadHalf<Box<tokio_rustls::client::TlsStream<TcpStream>>>),
}

/// The write direction of a [`MaybeTlsStream`].
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsWriteHalf {
    /// Of a plain TCP connection.
    Plain(OwnedWriteHalf),
    /// Of a TLS connection.
    #[cfg(feature = "rustls")]
    Rustls(::tokio::io::WriteHalf<Box<tokio_rustls::client::TlsStream<TcpStream>>>),
}

impl AsyncRead for MaybeTlsReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "rustls")]
            Self::Rustls(s) => Pin::new(s).poll_read(cx, buf),
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
            #[cfg(feature = "rustls")]
            Self::Rustls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "rustls")]
            Self::Rustls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            #[cfg(feature = "rustls")]
            Self::Rustls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "rustls")]
            Self::Rustls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "rustls")]
            Self::Rustls(s) => Pin::new(s).poll_shutdown(cx),
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
            #[cfg(feature = "rustls")]
            Self::Rustls(s) => Pin::new(&mut **s).poll_read(cx, buf),
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
            #[cfg(feature = "rustls")]
            Self::Rustls(s) => Pin::new(&mut **s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "rustls")]
            Self::Rustls(s) => Pin::new(&mut **s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            #[cfg(feature = "rustls")]
            Self::Rustls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "rustls")]
            Self::Rustls(s) => Pin::new(&mut **s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "rustls")]
            Self::Rustls(s) => Pin::new(&mut **s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wss_urls_are_the_same_request_with_port_443_by_default() {
        let (scheme, request) = request_for_url("wss://example.com/chat?x=1").unwrap();
        assert_eq!(scheme, Scheme::Wss { port: 443 });
        assert_eq!(
            (request.host(), request.authority()),
            ("example.com", "example.com")
        );
        assert_eq!(request.target(), "/chat?x=1");
        let (scheme, request) = request_for_url("WSS://[::1]:8443").unwrap();
        assert_eq!(scheme, Scheme::Wss { port: 8443 });
        assert_eq!((request.host(), request.port()), ("::1", 8443));
        assert_eq!(request.target(), "/");
        let (scheme, request) = request_for_url("ws://example.com").unwrap();
        assert_eq!((scheme, request.port()), (Scheme::Ws, 80));
        assert!(request_for_url("wss://example.com/#frag").is_err());
        assert!(request_for_url("http://example.com/").is_err());
    }
}
