//! A WebSocket client that opens its WebSocket over HTTP/2 (RFC 8441) when
//! it can and over HTTP/1.1 otherwise, and says which: over `wss://` it
//! offers ALPN `h2` and `http/1.1` and uses extended CONNECT if the server
//! chose `h2` and allows it; over `ws://`, `--h2c` speaks HTTP/2 with prior
//! knowledge. It sends a few messages, prints their echoes, and closes.
//!
//! ```text
//! cargo run --example h2_client --features hyper -- wss://localhost:8443/ws --ca ca.pem
//! cargo run --example h2_client --features hyper -- ws://127.0.0.1:8080/ws --h2c
//! ```
//!
//! Against `axum_echo` or `hyper_echo` (see their docs for the commands).

use std::sync::Arc;

use tokio::net::TcpStream;
use wsproto::handshake::ClientRequest;
use wsproto::hyper::{self as wshyper, Http};
use wsproto::Message;
use wsproto::{CloseCode, Config};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:8080/ws".into());
    let (mut ca, mut h2c) = (None, false);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ca" => ca = args.next(),
            "--h2c" => h2c = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let tls = url.starts_with("wss://");
    // Parse as ws:// for the authority and target; wss:// defaults to 443.
    let plain = format!(
        "ws://{}",
        url.split_once("://").map_or(&url[..], |(_, r)| r)
    );
    let parsed = ClientRequest::from_url(&plain)?;
    let port = match (
        tls,
        plain[5..]
            .split(['/', '?'])
            .next()
            .unwrap_or("")
            .contains(':'),
    ) {
        (true, false) => 443,
        _ => parsed.port(),
    };
    let authority = if parsed.host().contains(':') {
        format!("[{}]:{port}", parsed.host())
    } else {
        format!("{}:{port}", parsed.host())
    };
    let request = ClientRequest::new(&authority, parsed.target())?;
    let tcp = TcpStream::connect((parsed.host(), port)).await?;
    tcp.set_nodelay(true)?;
    let config = Config::default();

    let (mut ws, opening, response) = if tls {
        let mut roots = rustls::RootCertStore::empty();
        let Some(ca) = ca else {
            return Err(
                "wss:// needs --ca FILE (the PEM of the CA that signed the server's certificate)"
                    .into(),
            );
        };
        use rustls::pki_types::pem::PemObject;
        for cert in rustls::pki_types::CertificateDer::pem_file_iter(&ca)? {
            roots.add(cert?)?;
        }
        let mut client = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        client.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let name = rustls::pki_types::ServerName::try_from(parsed.host().to_owned())?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(client))
            .connect(name, tcp)
            .await?;
        let http = Http::from_alpn(stream.get_ref().1.alpn_protocol());
        wshyper::client(stream, http, "https", &request, config).await?
    } else {
        let http = if h2c { Http::Http2 } else { Http::Http1 };
        wshyper::client(tcp, http, "http", &request, config).await?
    };
    let extensions = response
        .headers
        .get("sec-websocket-extensions")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none");
    println!(
        "opened over {opening} (status {}), extensions: {extensions}",
        response.status.as_u16()
    );

    for text in ["hello", "over", "one stream"] {
        ws.send(Message::Text(text.into())).await?;
        match ws.recv().await? {
            Message::Text(echo) => println!("echo: {echo}"),
            other => println!("got {other:?}"),
        }
    }
    ws.close(CloseCode::NORMAL, "bye").await?;
    while let Ok(message) = ws.recv().await {
        if let Message::Close(frame) = message {
            println!("closed: {frame:?}");
        }
    }
    Ok(())
}
