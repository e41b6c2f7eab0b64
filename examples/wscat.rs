//! `wscat`: a WebSocket client for the command line, to poke at a server
//! while debugging it, and with `--listen` a server that prints and echoes.
//!
//! ```text
//! cargo run --example wscat --features tokio -- ws://127.0.0.1:9001/chat
//! cargo run --example wscat --features tokio,rustls-ring -- wss://echo.example.com/ -s chat -H 'Authorization: Bearer t0ken' --ping 10
//! cargo run --example wscat --features tokio -- --listen 9001
//! ```
//!
//! Client: each line read from standard input is sent as a text message;
//! what arrives is printed as `< text` (binary messages as
//! `< [binary, N bytes] hex...`). Lines that start with `/` are commands:
//! `/ping [payload]`, `/close [code [reason]]`, `/binary HEX`. At the end of
//! input it closes with 1000 and waits for the server's answer. The
//! negotiated subprotocol and extensions are shown on connecting, and a
//! close is shown with its code's name: `* closed by the server: 1001
//! GOING_AWAY "restarting"`.
//!
//! Options:
//!
//! - `-H 'Name: value'` adds a header to the request (repeatable);
//! - `-s PROTO` offers a subprotocol (repeatable, in order of preference);
//! - `-o ORIGIN` sends an `Origin` header;
//! - `--no-deflate` does not offer permessage-deflate;
//! - `--ping SECS` pings every SECS seconds and shows each pong's round trip;
//! - `--listen PORT` (or `ADDR:PORT`) serves instead: accepts every
//!   connection (choosing the first subprotocol offered among `-s`'s, if
//!   any), prints what each sends and echoes it back.
//!
//! `wss://` needs a TLS feature (`rustls-ring`): the server's certificate is
//! checked against Mozilla's roots, or against `--ca FILE` (PEM) alone.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use wsproto::extensions::DeflateConfig;
use wsproto::handshake::{Accept, ClientRequest};
use wsproto::tokio::{self as ws, WebSocketStream};
use wsproto::{CloseCode, CloseFrame, Config, Message};

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("wscat: {e}");
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let stdin = tokio::io::stdin();
    let stdout = tokio::io::stdout();
    match run(args, stdin, stdout).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wscat: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The usage line.
pub const USAGE: &str = "usage: wscat URL [-H 'Name: value']... [-s PROTO]... [-o ORIGIN] [--no-deflate] [--ping SECS] [--ca FILE]\n       wscat --listen [ADDR:]PORT [-s PROTO]... [--no-deflate] [--ping SECS]";

/// What the command line asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args {
    /// The URL to connect to (client mode).
    pub url: Option<String>,
    /// The address to listen on (server mode).
    pub listen: Option<String>,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// Subprotocols to offer (client) or to accept (server).
    pub protocols: Vec<String>,
    /// The `Origin` header.
    pub origin: Option<String>,
    /// Leave permessage-deflate out.
    pub no_deflate: bool,
    /// Ping this often.
    pub ping: Option<Duration>,
    /// Trust only this CA (PEM) for `wss://`.
    pub ca: Option<String>,
}

/// Reads the command line (without the program name).
pub fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args::default();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "-H" | "--header" => {
                let header = value(&arg)?;
                let (name, v) = header
                    .split_once(':')
                    .ok_or(format!("-H wants 'Name: value', not {header:?}"))?;
                parsed
                    .headers
                    .push((name.trim().to_owned(), v.trim().to_owned()));
            }
            "-s" | "--subprotocol" => parsed.protocols.push(value(&arg)?),
            "-o" | "--origin" => parsed.origin = Some(value(&arg)?),
            "--no-deflate" => parsed.no_deflate = true,
            "--ping" => {
                let secs = value(&arg)?;
                let secs: f64 = secs
                    .parse()
                    .map_err(|_| format!("--ping: not a number of seconds: {secs}"))?;
                let interval = Duration::try_from_secs_f64(secs)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or("--ping wants a positive number of seconds")?;
                parsed.ping = Some(interval);
            }
            "--ca" => parsed.ca = Some(value(&arg)?),
            "-l" | "--listen" => {
                let listen = value(&arg)?;
                // A bare port listens on loopback.
                parsed.listen = Some(match listen.parse::<u16>() {
                    Ok(port) => format!("127.0.0.1:{port}"),
                    Err(_) => listen,
                });
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ if parsed.url.is_none() => parsed.url = Some(arg),
            _ => return Err(format!("one URL only, not also {arg}")),
        }
    }
    match (&parsed.url, &parsed.listen) {
        (None, None) => Err("a URL to connect to, or --listen PORT".into()),
        (Some(_), Some(_)) => Err("a URL or --listen, not both".into()),
        _ => Ok(parsed),
    }
}

/// The configuration both modes use.
fn config(args: &Args) -> Config {
    Config::default().deflate(DeflateConfig::default().enabled(!args.no_deflate))
}

/// Runs wscat with `input` as its standard input and `output` as its
/// standard output.
pub async fn run<I, O>(args: Args, input: I, output: O) -> Result<(), String>
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    // One writer owns the output; everything else sends it lines.
    let (out, mut lines) = mpsc::channel::<String>(256);
    let writer = tokio::spawn(async move {
        let mut output = output;
        while let Some(line) = lines.recv().await {
            if output.write_all(line.as_bytes()).await.is_err()
                || output.write_all(b"\n").await.is_err()
                || output.flush().await.is_err()
            {
                break;
            }
        }
    });
    let result = match &args.listen {
        Some(addr) => listen(&args, addr, input, out).await,
        None => client(&args, input, out).await,
    };
    let _ = writer.await;
    result
}

type Out = mpsc::Sender<String>;

async fn say(out: &Out, line: String) {
    let _ = out.send(line).await;
}

/// A close code with its registered name: `1001 GOING_AWAY`.
pub fn describe_close(close: Option<&CloseFrame>) -> String {
    match close {
        None => "no close frame".to_owned(),
        Some(frame) => {
            let name = frame.code.name().unwrap_or("unregistered");
            match frame.reason.is_empty() {
                true => format!("{} {name}", frame.code.0),
                false => format!("{} {name} {:?}", frame.code.0, &*frame.reason),
            }
        }
    }
}

/// What a connection agreed, as a server sees it: permessage-deflate's
/// parameters and any other extension's name.
pub fn negotiated_extensions(conn: &wsproto::Connection) -> String {
    let mut parts: Vec<String> = conn
        .extensions()
        .iter()
        .map(|e| e.name().to_owned())
        .collect();
    if let Some(d) = conn.deflate() {
        let mut deflate = "permessage-deflate".to_owned();
        if d.compress_no_context_takeover {
            deflate.push_str("; server_no_context_takeover");
        }
        if d.decompress_no_context_takeover {
            deflate.push_str("; client_no_context_takeover");
        }
        if d.compress_window_bits < 15 {
            deflate.push_str(&format!(
                "; server_max_window_bits={}",
                d.compress_window_bits
            ));
        }
        if d.decompress_window_bits < 15 {
            deflate.push_str(&format!(
                "; client_max_window_bits={}",
                d.decompress_window_bits
            ));
        }
        parts.insert(0, deflate);
    }
    match parts.is_empty() {
        true => "none".to_owned(),
        false => parts.join(", "),
    }
}

/// How a received message is printed.
pub fn describe_message(message: &Message) -> String {
    match message {
        Message::Text(text) => format!("< {}", &**text),
        Message::Binary(data) => {
            let shown: String = data.iter().take(64).map(|b| format!("{b:02x}")).collect();
            let more = if data.len() > 64 { "..." } else { "" };
            format!("< [binary, {} bytes] {shown}{more}", data.len())
        }
        Message::Ping(data) => format!("* ping ({} bytes)", data.len()),
        Message::Pong(data) => format!("* pong ({} bytes)", data.len()),
        Message::Close(close) => format!("* close frame: {}", describe_close(close.as_ref())),
        other => format!("* {other:?}"),
    }
}

fn request(args: &Args, url: &str) -> Result<ClientRequest, String> {
    // `wss://` is read as `ws://` here: the scheme only picks the transport.
    let plain = url.replacen("wss://", "ws://", 1);
    let mut request = ClientRequest::from_url(&plain).map_err(|e| format!("{url}: {e}"))?;
    for protocol in &args.protocols {
        request = request.subprotocol(protocol).map_err(|e| e.to_string())?;
    }
    if let Some(origin) = &args.origin {
        request = request.origin(origin).map_err(|e| e.to_string())?;
    }
    for (name, value) in &args.headers {
        request = request.header(name, value).map_err(|e| e.to_string())?;
    }
    Ok(request)
}

async fn client<I>(args: &Args, input: I, out: Out) -> Result<(), String>
where
    I: AsyncRead + Unpin + Send + 'static,
{
    let url = args.url.as_deref().expect("client mode has a URL");
    let request = request(args, url)?;
    let (socket, response) = if url.starts_with("wss://") {
        tls_connect(args, request).await?
    } else if url.starts_with("ws://") {
        ws::connect_with(request, config(args))
            .await
            .map_err(|e| format!("{url}: {e}"))?
    } else {
        return Err(format!("{url}: not a ws:// or wss:// URL"));
    };
    say(
        &out,
        format!(
            "* connected to {url} (subprotocol: {}; extensions: {})",
            response.subprotocol().unwrap_or("none"),
            response.extensions().unwrap_or("none"),
        ),
    )
    .await;
    session(socket, input, out, args.ping).await
}

#[cfg(feature = "rustls")]
async fn tls_connect(
    args: &Args,
    request: ClientRequest,
) -> Result<
    (
        WebSocketStream<ws::MaybeTlsStream>,
        wsproto::handshake::Response,
    ),
    String,
> {
    use wsproto::tokio::tls::{rustls, Connector};
    let connector = match &args.ca {
        None => Connector::default_roots().map_err(|e| e.to_string())?,
        Some(file) => {
            use rustls::pki_types::pem::PemObject;
            use rustls::pki_types::CertificateDer;
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(file).map_err(|e| format!("{file}: {e}"))? {
                let cert = cert.map_err(|e| format!("{file}: {e}"))?;
                roots.add(cert).map_err(|e| format!("{file}: {e}"))?;
            }
            #[cfg(feature = "rustls-ring")]
            let provider = rustls::crypto::ring::default_provider();
            #[cfg(all(not(feature = "rustls-ring"), feature = "rustls-aws-lc-rs"))]
            let provider = rustls::crypto::aws_lc_rs::default_provider();
            #[cfg(not(any(feature = "rustls-ring", feature = "rustls-aws-lc-rs")))]
            let provider = rustls::crypto::CryptoProvider::get_default()
                .map(|p| (**p).clone())
                .ok_or("--ca: no crypto provider (build with rustls-ring)")?;
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Connector::new(Arc::new(config))
        }
    };
    connector
        .connect_with(request, config(args))
        .await
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "rustls"))]
async fn tls_connect(
    _: &Args,
    _: ClientRequest,
) -> Result<
    (
        WebSocketStream<ws::MaybeTlsStream>,
        wsproto::handshake::Response,
    ),
    String,
> {
    Err("wss:// needs TLS: build with --features tokio,rustls-ring".into())
}

/// What a line of input asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Send this text.
    Text(String),
    /// Send these bytes.
    Binary(Vec<u8>),
    /// Send a ping.
    Ping(Vec<u8>),
    /// Close with this code and reason.
    Close(CloseCode, String),
}

/// Reads one line of input.
pub fn parse_command(line: &str) -> Result<Command, String> {
    let Some(command) = line.strip_prefix('/') else {
        return Ok(Command::Text(line.to_owned()));
    };
    let (name, rest) = command.split_once(' ').unwrap_or((command, ""));
    match name {
        "ping" => Ok(Command::Ping(rest.as_bytes().to_vec())),
        "close" => {
            let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
            let code = match code {
                "" => CloseCode::NORMAL,
                code => CloseCode(
                    code.parse()
                        .map_err(|_| format!("not a close code: {code}"))?,
                ),
            };
            Ok(Command::Close(code, reason.to_owned()))
        }
        "binary" => {
            let hex: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
            if !hex.len().is_multiple_of(2) {
                return Err("/binary wants an even number of hex digits".into());
            }
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map(Command::Binary)
                .map_err(|_| format!("not hex: {rest}"))
        }
        // `//text` sends `/text`.
        _ if name.starts_with('/') => Ok(Command::Text(command.to_owned())),
        _ => Err(format!(
            "unknown command /{name} (/ping, /close, /binary; //text sends /text)"
        )),
    }
}

/// A client's life: input lines out, messages in, until either side closes.
async fn session<S, I>(
    mut socket: WebSocketStream<S>,
    input: I,
    out: Out,
    ping: Option<Duration>,
) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
    I: AsyncRead + Unpin + Send + 'static,
{
    // Input is read in a task of its own: a read of stdin is not cancel-safe.
    let (commands_tx, mut commands) = mpsc::channel::<String>(16);
    tokio::spawn(async move {
        let mut lines = BufReader::new(input).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if commands_tx.send(line).await.is_err() {
                break;
            }
        }
    });
    let mut ticker =
        ping.map(|every| tokio::time::interval_at(tokio::time::Instant::now() + every, every));
    let mut ping_sent: Option<Instant> = None;
    let mut input_open = true;
    // This end sent its close first.
    let mut closing = false;
    loop {
        tokio::select! {
            received = socket.recv() => match received {
                Ok(Message::Pong(data)) if ping_sent.is_some() => {
                    let rtt = ping_sent.take().map(|t| t.elapsed()).unwrap_or_default();
                    say(&out, format!("* pong ({} bytes) after {:.1} ms", data.len(), rtt.as_secs_f64() * 1e3)).await;
                }
                Ok(Message::Close(close)) if closing => {
                    let ours = socket.connection().sent_close().cloned();
                    say(&out, format!(
                        "* closed: sent {}, received {}",
                        describe_close(ours.as_ref()),
                        describe_close(close.as_ref())
                    )).await;
                    let _ = socket.flush().await;
                    while socket.recv().await.is_ok() {}
                    return Ok(());
                }
                Ok(Message::Close(close)) => {
                    say(&out, format!("* closed by the server: {}", describe_close(close.as_ref()))).await;
                    // The reply goes out on the next poll; wait for the end.
                    let _ = socket.flush().await;
                    while socket.recv().await.is_ok() {}
                    return Ok(());
                }
                Ok(message) => say(&out, describe_message(&message)).await,
                Err(ws::Error::Closed) => {
                    let ours = socket.connection().sent_close().cloned();
                    let theirs = socket.connection().received_close().cloned();
                    say(&out, format!(
                        "* closed: sent {}, received {}",
                        describe_close(ours.as_ref()),
                        describe_close(theirs.as_ref())
                    )).await;
                    return Ok(());
                }
                Err(e) => {
                    let code = socket.connection().close_code();
                    say(&out, format!(
                        "* connection failed: {e} (close code {})",
                        code.map(|c| format!("{} {}", c.0, c.name().unwrap_or("unregistered"))).unwrap_or_else(|| "none".into())
                    )).await;
                    return Err(e.to_string());
                }
            },
            line = commands.recv(), if input_open => {
                let result = match line.as_deref().map(parse_command) {
                    None => {
                        // End of input: close, then read until the server's answer.
                        input_open = false;
                        closing = true;
                        socket.close(CloseCode::NORMAL, "").await
                    }
                    Some(Ok(Command::Text(text))) => socket.send_text(text.as_str()).await,
                    Some(Ok(Command::Binary(data))) => socket.send_binary(data).await,
                    Some(Ok(Command::Ping(data))) => {
                        ping_sent = Some(Instant::now());
                        socket.ping(&data).await
                    }
                    Some(Ok(Command::Close(code, reason))) => {
                        input_open = false;
                        closing = true;
                        socket.close(code, &reason).await
                    }
                    Some(Err(e)) => {
                        say(&out, format!("* {e}")).await;
                        Ok(())
                    }
                };
                if let Err(e) = result {
                    say(&out, format!("* {e}")).await;
                }
            },
            _ = async { ticker.as_mut().expect("guarded").tick().await }, if ticker.is_some() && input_open => {
                ping_sent = Some(Instant::now());
                if let Err(e) = socket.ping(b"wscat").await {
                    say(&out, format!("* ping: {e}")).await;
                }
            }
        }
    }
}

/// Server mode: print and echo what every client sends.
async fn listen<I>(args: &Args, addr: &str, input: I, out: Out) -> Result<(), String>
where
    I: AsyncRead + Unpin + Send + 'static,
{
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    say(&out, format!("* listening on ws://{local}")).await;
    // The server runs until its input ends (Ctrl-D), or for ever if there is none.
    let mut stdin = BufReader::new(input).lines();
    let next_id = Arc::new(AtomicU64::new(1));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, peer)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                let out = out.clone();
                let args = args.clone();
                tokio::spawn(async move {
                    serve(args, tcp, peer, id, out).await;
                });
            }
            line = stdin.next_line() => {
                if !matches!(line, Ok(Some(_))) {
                    say(&out, "* input closed; stopping".into()).await;
                    return Ok(());
                }
            }
        }
    }
}

async fn serve(args: Args, tcp: tokio::net::TcpStream, peer: SocketAddr, id: u64, out: Out) {
    let wanted = args.protocols.clone();
    let accepted = ws::accept_with(tcp, config(&args), move |request| {
        let chosen = wanted
            .iter()
            .find(|p| request.subprotocols().any(|offered| offered == p.as_str()));
        Ok(match chosen {
            Some(protocol) => Accept::new().subprotocol(protocol)?,
            None => Accept::new(),
        })
    })
    .await;
    let mut socket = match accepted {
        Ok(socket) => socket,
        Err(e) => {
            say(&out, format!("* [{id}] {peer}: handshake failed: {e}")).await;
            return;
        }
    };
    say(
        &out,
        format!(
            "* [{id}] {peer} connected (subprotocol: {}; extensions: {})",
            socket.subprotocol().unwrap_or("none"),
            negotiated_extensions(socket.connection()),
        ),
    )
    .await;
    loop {
        match socket.recv().await {
            Ok(Message::Text(text)) => {
                say(&out, format!("[{id}] < {}", &*text)).await;
                if socket.send_text(text).await.is_err() {
                    break;
                }
            }
            Ok(Message::Binary(data)) => {
                say(
                    &out,
                    format!(
                        "[{id}] {}",
                        describe_message(&Message::Binary(data.clone()))
                    ),
                )
                .await;
                if socket.send_binary(data).await.is_err() {
                    break;
                }
            }
            Ok(Message::Close(close)) => {
                say(
                    &out,
                    format!(
                        "* [{id}] closed by the client: {}",
                        describe_close(close.as_ref())
                    ),
                )
                .await;
                let _ = socket.flush().await;
                while socket.recv().await.is_ok() {}
                return;
            }
            Ok(other) => say(&out, format!("[{id}] {}", describe_message(&other))).await,
            Err(ws::Error::Closed) => break,
            Err(e) => {
                say(&out, format!("* [{id}] failed: {e}")).await;
                return;
            }
        }
    }
    say(&out, format!("* [{id}] disconnected")).await;
}
