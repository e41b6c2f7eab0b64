//! wss:// over loopback: a CA and a leaf certificate made at test time, a
//! rustls server accepting through the generic `accept`, our client through
//! a `Connector` and through `connect`'s default roots.
#![cfg(all(
    feature = "tokio",
    any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")
))]

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio::net::TcpListener;
use wsproto::handshake::ClientRequest;
use wsproto::tokio::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use wsproto::tokio::tls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use wsproto::tokio::tls::{Connector, TlsAcceptor};
use wsproto::tokio::Error;
use wsproto::Message;
use wsproto::{CloseCode, Config};

/// The provider the tests build their own configurations with, named
/// explicitly as the crate does.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    #[cfg(feature = "rustls-ring")]
    return Arc::new(rustls::crypto::ring::default_provider());
    #[cfg(not(feature = "rustls-ring"))]
    return Arc::new(rustls::crypto::aws_lc_rs::default_provider());
}

struct Pki {
    ca: CertificateDer<'static>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
}

/// A CA, and a leaf it signs for `localhost` and 127.0.0.1.
fn pki() -> Pki {
    pki_for(&["localhost", "127.0.0.1"])
}

/// A CA, and a leaf it signs for `names`.
fn pki_for(names: &[&str]) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let leaf = CertificateParams::new(names)
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    Pki {
        ca: ca.der().clone(),
        chain: vec![leaf.der().clone(), ca.der().clone()],
        key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
    }
}

fn server_config(pki: &Pki) -> Arc<ServerConfig> {
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), PrivateKeyDer::Pkcs8(pki.key.clone_key()))
        .unwrap();
    Arc::new(config)
}

fn client_config(pki: &Pki) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca.clone()).unwrap();
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A wss echo server for `connections` connections; returns its port and
/// the task, which ends with the number of messages it echoed.
async fn echo_server(
    pki: &Pki,
    connections: usize,
) -> (u16, tokio::task::JoinHandle<Result<usize, Error>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = TlsAcceptor::from(server_config(pki));
    let task = tokio::spawn(async move {
        let mut echoed = 0;
        for _ in 0..connections {
            let (tcp, _) = listener.accept().await?;
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                // A client that refused our certificate: next one.
                Err(_) => continue,
            };
            let mut ws = wsproto::tokio::accept(tls).await?;
            loop {
                match ws.recv().await? {
                    message @ (Message::Text(_) | Message::Binary(_)) => {
                        ws.send(message).await?;
                        echoed += 1;
                    }
                    Message::Close(_) => break,
                    _ => {}
                }
            }
        }
        Ok(echoed)
    });
    (port, task)
}

#[tokio::test]
async fn wss_client_and_server_echo_text_and_binary_and_close_cleanly() {
    let pki = pki();
    let (port, server) = echo_server(&pki, 1).await;
    let connector = Connector::new(client_config(&pki));
    let (mut ws, response) = connector
        .connect(&format!("wss://localhost:{port}/echo"))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    // The TLS session underneath is real: a verified peer certificate.
    match ws.get_ref() {
        wsproto::tokio::MaybeTlsStream::Rustls(tls) => {
            let (_, session) = tls.get_ref();
            assert_eq!(session.peer_certificates().unwrap()[0], pki.chain[0]);
        }
        other => panic!("not TLS: {other:?}"),
    }
    ws.send_text("hello over TLS").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap(),
        Message::Text("hello over TLS".into())
    );
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    ws.send_binary(big.clone()).await.unwrap();
    assert_eq!(ws.recv().await.unwrap(), Message::Binary(big.into()));
    ws.close(CloseCode::NORMAL, "done").await.unwrap();
    // The server's close reply comes back before the stream ends.
    match ws.recv().await {
        Ok(Message::Close(frame)) => assert_eq!(frame.map(|f| f.code), Some(CloseCode::NORMAL)),
        other => panic!("no close reply: {other:?}"),
    }
    assert_eq!(server.await.unwrap().unwrap(), 2);
}

#[tokio::test]
async fn connector_with_a_request_built_by_hand_connects_by_ip_address() {
    let pki = pki();
    let (port, server) = echo_server(&pki, 1).await;
    let connector = Connector::new(client_config(&pki));
    let request = ClientRequest::new(&format!("127.0.0.1:{port}"), "/by-ip")
        .unwrap()
        .header("authorization", "Bearer token")
        .unwrap();
    let (mut ws, _) = connector
        .connect_with(request, Config::default())
        .await
        .unwrap();
    ws.send_text("by ip").await.unwrap();
    assert_eq!(ws.recv().await.unwrap(), Message::Text("by ip".into()));
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    while !matches!(ws.recv().await, Ok(Message::Close(_)) | Err(_)) {}
    assert_eq!(server.await.unwrap().unwrap(), 1);
}

#[tokio::test]
async fn default_roots_refuse_a_certificate_from_an_unknown_ca() {
    let pki = pki();
    let (port, server) = echo_server(&pki, 1).await;
    // `connect` verifies against the built-in roots, which do not hold the
    // test CA: the TLS handshake fails and no WebSocket is opened.
    let err = wsproto::tokio::connect(&format!("wss://localhost:{port}/"))
        .await
        .unwrap_err();
    assert!(
        matches!(tls_error(&err), Some(rustls::Error::InvalidCertificate(_))),
        "{err:?}"
    );
    assert_eq!(server.await.unwrap().unwrap(), 0);
}

/// The TLS error inside an I/O error, if that is what it is.
fn tls_error(err: &Error) -> Option<&rustls::Error> {
    match err {
        Error::Io(e) => e.get_ref()?.downcast_ref::<rustls::Error>(),
        _ => None,
    }
}

#[tokio::test]
async fn connector_checks_the_name_in_the_certificate() {
    // A certificate for localhost only, reached as 127.0.0.1.
    let pki = pki_for(&["localhost"]);
    let (port, server) = echo_server(&pki, 1).await;
    let connector = Connector::new(client_config(&pki));
    let err = connector
        .connect(&format!("wss://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            tls_error(&err),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. }
            ))
        ),
        "{err:?}"
    );
    assert_eq!(server.await.unwrap().unwrap(), 0);
}

#[tokio::test]
async fn a_wss_connection_splits_into_halves_that_two_tasks_use_at_once() {
    let pki = pki();
    let (port, server) = echo_server(&pki, 1).await;
    let connector = Connector::new(client_config(&pki));
    let (ws, _) = connector
        .connect(&format!("wss://localhost:{port}/"))
        .await
        .unwrap();
    let (mut read, mut write) = ws.into_split();
    let writer = tokio::spawn(async move {
        for i in 0..50 {
            write.send_text(format!("message {i}")).await.unwrap();
        }
        write
    });
    for i in 0..50 {
        assert_eq!(
            read.recv().await.unwrap(),
            Message::Text(format!("message {i}").into())
        );
    }
    let mut write = writer.await.unwrap();
    write.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(matches!(read.recv().await, Ok(Message::Close(_))));
    assert_eq!(server.await.unwrap().unwrap(), 50);
}

#[tokio::test]
async fn reconnecting_stops_at_once_on_a_certificate_that_does_not_verify() {
    use futures::StreamExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // The server's CA is not the one the client trusts.
    let pki = pki();
    let other = pki_for(&["localhost"]);
    let (port, _server) = echo_server(&pki, 1).await;
    let connector = Connector::new(client_config(&other));
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let mut connections = wsproto::tokio::reconnect::Reconnect::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        let connector = connector.clone();
        async move { connector.connect(&format!("wss://localhost:{port}/")).await }
    });
    let err = match connections.next().await {
        Some(Err(err)) => err,
        other => panic!("unexpected {other:?}"),
    };
    assert!(
        matches!(tls_error(&err), Some(rustls::Error::InvalidCertificate(_))),
        "{err:?}"
    );
    assert!(connections.next().await.is_none());
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
}

#[test]
fn building_configurations_installs_no_process_wide_provider() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // `connect` builds its default configuration on the first wss URL.
    let _ = runtime.block_on(wsproto::tokio::connect("wss://127.0.0.1:1/"));
    // (With native-roots on a machine without a store this is an error.)
    let _ = Connector::default_roots();
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
}
