//! What the hyper, axum and browser tests share: a CA and a certificate
//! made at test time, a hyper server that speaks HTTP/1.1, h2c and h2 over
//! TLS (ALPN), and an exchange of messages from 0 B to 1 MiB.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use wsproto::tokio::{Error, WebSocketStream};
use wsproto::Message;
use wsproto::{Bytes, CloseCode};

/// A CA, and a certificate it signed for `localhost` and `127.0.0.1`.
pub struct TestPki {
    pub server: Arc<rustls::ServerConfig>,
    /// Trusts the CA; ALPN `h2` then `http/1.1`.
    pub client: Arc<rustls::ClientConfig>,
    /// The CA and the leaf, PEM, and the leaf's key.
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    /// base64(SHA-256(SubjectPublicKeyInfo)) of the leaf, for Chromium's
    /// `--ignore-certificate-errors-spki-list`.
    pub spki_sha256: String,
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub fn pki() -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, PublicKeyData};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "wsproto test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();

    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let mut server = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key_der)
        .unwrap();
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let mut client = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

    use base64::Engine as _;
    use sha2::Digest as _;
    let spki = sha2::Sha256::digest(key.subject_public_key_info());
    TestPki {
        server: Arc::new(server),
        client: Arc::new(client),
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        spki_sha256: base64::engine::general_purpose::STANDARD.encode(spki),
    }
}

/// A client config that offers only `alpn`.
pub fn client_with_alpn(pki: &TestPki, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    let mut config = (*pki.client).clone();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// Serves `service` on 127.0.0.1 (port 0): HTTP/1.1 with upgrades and
/// HTTP/2 with extended CONNECT enabled (h2c by prior knowledge, or after
/// TLS with ALPN when `tls` is given).
pub async fn serve<S, B>(tls: Option<Arc<rustls::ServerConfig>>, service: S) -> SocketAddr
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = hyper::Response<B>,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            tcp.set_nodelay(true).unwrap();
            let service = service.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor {
                    Some(acceptor) => {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        serve_connection(tls, service).await;
                    }
                    None => serve_connection(tcp, service).await,
                }
            });
        }
    });
    addr
}

async fn serve_connection<I, S, B>(io: I, service: S)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = hyper::Response<B>,
        > + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http2().enable_connect_protocol();
    let _ = builder
        .serve_connection_with_upgrades(TokioIo::new(io), service)
        .await;
}

/// Echoes every message until the peer closes.
pub async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut ws: WebSocketStream<S>) {
    loop {
        match ws.recv().await {
            Ok(Message::Close(_)) | Err(_) => return,
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(message).await.is_err() {
                    return;
                }
            }
            Ok(_) => {}
        }
    }
}

/// The sizes every exchange sends: empty, around each length encoding's
/// edges (RFC 6455 §5.2), and 1 MiB.
pub const SIZES: &[usize] = &[0, 1, 125, 126, 65_535, 65_536, 1 << 20];

/// Sends a binary and a text message of each size, checks each echo is
/// exact, then closes and waits for the peer's close.
pub async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) {
    for &size in SIZES {
        let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        ws.send(Message::Binary(Bytes::from(data.clone())))
            .await
            .unwrap();
        match ws.recv().await.unwrap() {
            Message::Binary(echo) => assert!(echo[..] == data[..], "binary echo of {size} B"),
            other => panic!("expected binary of {size} B, got {other:?}"),
        }
        let text: String = (0..size).map(|i| (b'a' + (i % 26) as u8) as char).collect();
        ws.send(Message::Text(text.clone().into())).await.unwrap();
        match ws.recv().await.unwrap() {
            Message::Text(echo) => assert!(*echo == *text, "text echo of {size} B"),
            other => panic!("expected text of {size} B, got {other:?}"),
        }
    }
    close(ws).await;
}

/// Closes with 1000 and reads until the peer's close and the end.
pub async fn close<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) {
    ws.close(CloseCode::NORMAL, "done").await.unwrap();
    loop {
        match ws.recv().await {
            Ok(Message::Close(frame)) => {
                assert_eq!(frame.map(|f| f.code), Some(CloseCode::NORMAL));
            }
            Ok(_) => {}
            Err(Error::Closed) => return,
            Err(e) => panic!("the close handshake failed: {e}"),
        }
    }
}
