//! A WebSocket echo server on hyper alone: `/ws` echoes messages, with
//! permessage-deflate, over HTTP/1.1 upgrades and HTTP/2 extended CONNECT
//! (RFC 8441); `/` is the same test page as `axum_echo`'s. Each WebSocket is
//! logged with how it came and the extensions agreed.
//!
//! ```text
//! cargo run --example hyper_echo --features hyper -- 127.0.0.1:8080
//! cargo run --example hyper_echo --features hyper -- 127.0.0.1:8443 --tls-cert cert.pem --tls-key key.pem
//! ```
//!
//! Without TLS it serves HTTP/1.1 and h2c (prior knowledge); with TLS, ALPN
//! `h2` and `http/1.1`. HTTP/1.1 connections are served with upgrades,
//! HTTP/2 ones with `enable_connect_protocol()`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use wsproto::Message;

const PAGE: &str = include_str!("echo_page.html");

async fn handle(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() != "/ws" {
        let mut page = Response::new(Full::new(Bytes::from_static(PAGE.as_bytes())));
        page.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        return Ok(page);
    }
    let (response, websocket) = match wsproto::hyper::upgrade(&mut request) {
        Ok(accepted) => accepted,
        Err(rejection) => {
            println!("refused: {rejection}");
            return Ok(rejection.into_response());
        }
    };
    let extensions = response
        .headers()
        .get("sec-websocket-extensions")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none");
    println!(
        "websocket over {}, extensions: {extensions}",
        websocket.opening()
    );
    tokio::spawn(async move {
        let Ok(mut ws) = websocket.await else { return };
        while let Ok(message) = ws.recv().await {
            if matches!(message, Message::Text(_) | Message::Binary(_))
                && ws.send(message).await.is_err()
            {
                return;
            }
        }
    });
    Ok(response)
}

async fn serve_connection<I>(io: I)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http2().enable_connect_protocol();
    let _ = builder
        .serve_connection_with_upgrades(TokioIo::new(io), hyper::service::service_fn(handle))
        .await;
}

fn tls_config(
    cert: &str,
    key: &str,
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
    let acceptor = match (cert, key) {
        (Some(cert), Some(key)) => Some(tokio_rustls::TlsAcceptor::from(tls_config(&cert, &key)?)),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    let listener = TcpListener::bind(addr).await?;
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    println!(
        "serving {scheme}://{}/ (WebSocket at /ws)",
        listener.local_addr()?
    );
    loop {
        let (tcp, _) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                Some(acceptor) => {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        serve_connection(tls).await;
                    }
                }
                None => serve_connection(tcp).await,
            }
        });
    }
}
