//! An axum app: `/ws` echoes WebSocket messages, with permessage-deflate,
//! over HTTP/1.1 upgrades and HTTP/2 extended CONNECT (RFC 8441); `/` is a
//! test page that opens `/ws` on the same origin and checks echoes from
//! 0 B to 1 MiB. Each WebSocket is logged with how it came and the
//! extensions agreed.
//!
//! ```text
//! cargo run --example axum_echo --features axum -- 127.0.0.1:8080
//! cargo run --example axum_echo --features axum -- 127.0.0.1:8443 --tls-cert cert.pem --tls-key key.pem
//! ```
//!
//! Without TLS it serves HTTP/1.1 and h2c (prior knowledge); with TLS it
//! offers ALPN `h2` and `http/1.1`, so a browser that loads
//! `https://127.0.0.1:8443/` over HTTP/2 opens its WebSocket over the same
//! HTTP/2 connection. HTTP/2 is served with extended CONNECT enabled
//! (`SETTINGS_ENABLE_CONNECT_PROTOCOL`, RFC 8441 §3), which `axum::serve`
//! does not do, so this example serves the router through hyper itself.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::response::{Html, Response};
use axum::routing::{any, get};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use wsproto::axum::WebSocketUpgrade;
use wsproto::http::Opening;
use wsproto::Message;

/// The test page.
const PAGE: &str = include_str!("echo_page.html");

/// How many WebSockets were opened, by how, and with permessage-deflate.
#[derive(Debug, Default)]
pub struct Stats {
    pub http1: AtomicUsize,
    pub extended_connect: AtomicUsize,
    pub deflate: AtomicUsize,
}

/// The app: `/` the page, `/ws` the echo.
pub fn router(stats: Arc<Stats>) -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/ws", any(websocket))
        .with_state(stats)
}

async fn websocket(State(stats): State<Arc<Stats>>, ws: WebSocketUpgrade) -> Response {
    let opening = ws.opening();
    let response = ws.on_upgrade(echo);
    let extensions = response
        .headers()
        .get("sec-websocket-extensions")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_owned();
    let n = match opening {
        Opening::ExtendedConnect => &stats.extended_connect,
        _ => &stats.http1,
    }
    .fetch_add(1, Ordering::SeqCst);
    if extensions.starts_with("permessage-deflate") {
        stats.deflate.fetch_add(1, Ordering::SeqCst);
    }
    println!(
        "websocket {} over {opening}, extensions: {extensions}",
        n + 1
    );
    response
}

async fn echo(mut ws: wsproto::hyper::WebSocket) {
    loop {
        match ws.recv().await {
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(message).await.is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

/// A TLS configuration from PEM files, with ALPN `h2` then `http/1.1`.
pub fn tls_config(
    cert: &Path,
    key: &Path,
) -> Result<Arc<rustls::ServerConfig>, Box<dyn std::error::Error>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `router` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, tls: Option<Arc<rustls::ServerConfig>>, router: Router) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                Some(acceptor) => {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        serve_connection(tls, router).await;
                    }
                }
                None => serve_connection(tcp, router).await,
            }
        });
    }
}

/// HTTP/1.1 with upgrades, or HTTP/2 with extended CONNECT, whichever the
/// client speaks.
async fn serve_connection<I>(io: I, router: Router)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http2().enable_connect_protocol();
    let _ = builder
        .serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(router))
        .await;
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:8080".into())
        .parse()?;
    let (mut cert, mut key) = (None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tls-cert" => cert = args.next(),
            "--tls-key" => key = args.next(),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some(tls_config(cert.as_ref(), key.as_ref())?),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    let listener = TcpListener::bind(addr).await?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!(
        "serving {scheme}://{}/ (WebSocket at /ws)",
        listener.local_addr()?
    );
    serve(listener, tls, router(Arc::default())).await;
    Ok(())
}
