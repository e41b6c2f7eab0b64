//! TLS for the tokio adapter through rustls (feature `rustls`): `wss://` in
//! [`connect`](super::connect), and a [`Connector`] over a
//! [`rustls::ClientConfig`] of your own.
//!
//! # Providers and roots
//!
//! Nothing here installs a process-wide crypto provider: every
//! configuration this module builds names its provider
//! (`ClientConfig::builder_with_provider`).
//!
//! | features | provider for `connect("wss://...")` |
//! |---|---|
//! | `rustls-ring` (with or without `rustls-aws-lc-rs`) | ring |
//! | `rustls-aws-lc-rs` alone | aws-lc-rs |
//! | `rustls` alone | the process default (`CryptoProvider::install_default`), else an error |
//!
//! | features | roots for `connect("wss://...")` |
//! |---|---|
//! | `native-roots` (with or without `webpki-roots`) | the operating system's, read once |
//! | `webpki-roots` (implied by both provider features) | Mozilla's, compiled in |
//! | neither | none: an error; use a [`Connector`] |
//!
//! The configuration for `connect` is built at the first `wss://` connect
//! and shared by every later one. It offers ALPN `http/1.1`, the protocol
//! the opening handshake runs over.
//!
//! A [`Connector`] uses the configuration given to it as it is: its own
//! provider, roots, client certificates, ALPN.
//!
//! # Servers
//!
//! The server side needs nothing from this module: accept TLS with
//! [`tokio_rustls::TlsAcceptor`] (re-exported as [`TlsAcceptor`]) and hand
//! the TLS stream to [`accept`](super::accept) or
//! [`accept_with`](super::accept_with), which take any
//! `AsyncRead + AsyncWrite` stream.
//!
//! ```no_run
//! # async fn run(config: std::sync::Arc<wsproto::tokio::tls::rustls::ServerConfig>)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use wsproto::tokio::tls::TlsAcceptor;
//!
//! let acceptor = TlsAcceptor::from(config);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let (tcp, _) = listener.accept().await?;
//! let tls = acceptor.accept(tcp).await?;
//! let mut ws = wsproto::tokio::accept(tls).await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::io;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ::tokio::net::TcpStream;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;

use super::stream::WebSocketStream;
use super::transport::{self, MaybeTlsStream, Scheme};
use super::Error;
use crate::config::Config;
use crate::handshake::{ClientRequest, Response, ResponseError};

/// The rustls crate this module is built with, for building configurations
/// of the same version.
pub use tokio_rustls::rustls;
pub use tokio_rustls::TlsAcceptor;

/// Opens `ws://` and `wss://` connections, TLS with a rustls client
/// configuration.
///
/// ```no_run
/// # async fn run(config: std::sync::Arc<wsproto::tokio::tls::rustls::ClientConfig>)
/// # -> Result<(), wsproto::tokio::Error> {
/// use wsproto::tokio::tls::Connector;
///
/// let connector = Connector::new(config);
/// let (mut ws, _response) = connector.connect("wss://example.com/chat").await?;
/// ws.send_text("hello").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Connector {
    tls: tokio_rustls::TlsConnector,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector").finish_non_exhaustive()
    }
}

impl Connector {
    /// A connector that uses `config` as it is.
    pub fn new(config: Arc<ClientConfig>) -> Self {
        Self {
            tls: tokio_rustls::TlsConnector::from(config),
        }
    }

    /// The connector [`connect`](super::connect) uses for `wss://`: the
    /// provider and roots the enabled features choose (see the module
    /// docs), built once.
    pub fn default_roots() -> Result<Self, Error> {
        static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
        if let Some(config) = DEFAULT.get() {
            return Ok(Self::new(config.clone()));
        }
        let config = Arc::new(default_config()?);
        // Two first connects at once may both build one; either is kept.
        Ok(Self::new(DEFAULT.get_or_init(|| config).clone()))
    }

    /// Connects to a `ws://` or `wss://` URL (TLS with this connector's
    /// configuration) and runs the client handshake.
    pub async fn connect(
        &self,
        url: &str,
    ) -> Result<(WebSocketStream<MaybeTlsStream>, Response), Error> {
        let (scheme, request) = transport::request_for_url(url)?;
        self.open_and_handshake(scheme, request, Config::default())
            .await
    }

    /// Connects over TLS to the request's host and port (give the port:
    /// `ClientRequest::new("example.com:443", "/chat")`, since a request
    /// built by hand defaults to 80) and runs the client handshake with
    /// `config`.
    ///
    /// The handshake timeout ([`Config::handshake_timeout`]) bounds the TCP
    /// connect, the TLS handshake and the opening handshake together.
    pub async fn connect_with(
        &self,
        request: ClientRequest,
        config: Config,
    ) -> Result<(WebSocketStream<MaybeTlsStream>, Response), Error> {
        let port = request.port();
        self.open_and_handshake(Scheme::Wss { port }, request, config)
            .await
    }

    async fn open_and_handshake(
        &self,
        scheme: Scheme,
        request: ClientRequest,
        config: Config,
    ) -> Result<(WebSocketStream<MaybeTlsStream>, Response), Error> {
        let timeout = config.handshake_timeout;
        let run = async {
            let stream = match scheme {
                Scheme::Ws => transport::open(scheme, &request).await?,
                Scheme::Wss { port } => {
                    let tcp = transport::tcp(request.host(), port).await?;
                    self.handshake(request.host(), tcp).await?
                }
            };
            super::client(stream, request, config).await
        };
        within(timeout, run).await
    }

    /// The TLS handshake over `tcp`, verifying the certificate for `host`
    /// (a name, or an IP address).
    pub(crate) async fn handshake(
        &self,
        host: &str,
        tcp: TcpStream,
    ) -> Result<MaybeTlsStream, Error> {
        let name = ServerName::try_from(host.to_owned()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{host:?} is not a valid TLS server name"),
            )
        })?;
        let tls = self.tls.connect(name, tcp).await?;
        Ok(MaybeTlsStream::Rustls(Box::new(tls)))
    }
}

async fn within<T>(
    timeout: Option<Duration>,
    f: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match timeout {
        None => f.await,
        Some(limit) => ::tokio::time::timeout(limit, f)
            .await
            .unwrap_or(Err(Error::Response(ResponseError::Timeout))),
    }
}

/// The client configuration `connect` uses: the features' provider and
/// roots, ALPN `http/1.1`.
fn default_config() -> Result<ClientConfig, Error> {
    let mut config = ClientConfig::builder_with_provider(provider()?)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots()?)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The crypto provider the features choose: ring, else aws-lc-rs, else
/// whatever the process installed as its default.
fn provider() -> Result<Arc<rustls::crypto::CryptoProvider>, Error> {
    #[cfg(feature = "rustls-ring")]
    let provider = Some(Arc::new(rustls::crypto::ring::default_provider()));
    #[cfg(all(feature = "rustls-aws-lc-rs", not(feature = "rustls-ring")))]
    let provider = Some(Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    #[cfg(not(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")))]
    let provider = rustls::crypto::CryptoProvider::get_default().cloned();
    provider.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "no rustls crypto provider: enable the rustls-ring or rustls-aws-lc-rs feature, \
             install a process default, or use a tls::Connector",
        )
        .into()
    })
}

/// The roots the features choose: the operating system's with
/// `native-roots`, else Mozilla's with `webpki-roots`.
fn roots() -> Result<rustls::RootCertStore, Error> {
    #[allow(unused_mut)]
    let mut roots = rustls::RootCertStore::empty();
    #[cfg(feature = "native-roots")]
    {
        // Certificates the store holds but rustls cannot parse are skipped,
        // as a browser would; a store with none usable is an error below.
        let found = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(found.certs);
    }
    #[cfg(all(feature = "webpki-roots", not(feature = "native-roots")))]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if roots.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no root certificates: enable the webpki-roots or native-roots feature, \
             or use a tls::Connector",
        )
        .into());
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wss_url_defaults_to_port_443_left_out_of_host() {
        let (scheme, request) = transport::request_for_url("wss://example.com/chat").unwrap();
        assert_eq!(scheme, Scheme::Wss { port: 443 });
        assert_eq!(request.authority(), "example.com");
        assert_eq!(request.target(), "/chat");
    }

    #[test]
    fn wss_url_keeps_an_explicit_port_even_80_in_host() {
        let (scheme, request) = transport::request_for_url("wss://example.com:80").unwrap();
        assert_eq!(scheme, Scheme::Wss { port: 80 });
        assert_eq!(request.authority(), "example.com:80");
        assert_eq!(request.target(), "/");
        let (scheme, request) = transport::request_for_url("WSS://[::1]:8443/?q=1").unwrap();
        assert_eq!(scheme, Scheme::Wss { port: 8443 });
        assert_eq!(request.authority(), "[::1]:8443");
        assert_eq!(request.host(), "::1");
        let (scheme, request) = transport::request_for_url("wss://[::1]/").unwrap();
        assert_eq!(scheme, Scheme::Wss { port: 443 });
        assert_eq!(request.authority(), "[::1]");
    }

    #[test]
    fn wss_url_follows_the_ws_url_rules() {
        assert!(transport::request_for_url("wss://example.com/#frag").is_err());
        assert!(transport::request_for_url("wss://user@example.com/").is_err());
    }

    #[cfg(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs"))]
    #[test]
    fn default_config_names_its_provider_and_offers_http_1_1() {
        match default_config() {
            Ok(config) => assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]),
            // With native-roots on a machine whose store is empty, the
            // error says so.
            Err(e) if cfg!(feature = "native-roots") => {
                assert!(e.to_string().contains("no root certificates"), "{e}")
            }
            Err(e) => panic!("{e}"),
        }
        // Building it installed nothing process-wide.
        assert!(rustls::crypto::CryptoProvider::get_default().is_none());
    }
}
