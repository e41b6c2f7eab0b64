//! An echo server over the tokio adapter, a task per connection.
//!
//! ```text
//! cargo run --example tokio_echo_server --features tokio -- 127.0.0.1:9001
//! cargo run --example tokio_echo_server --features tokio -- 127.0.0.1:9001 --ping-interval 1 --pong-timeout 1 --close-timeout 1
//! ```
//!
//! Every text and binary message is sent back unchanged. Try it with
//! `cargo run --example tokio_client --features tokio -- ws://127.0.0.1:9001`.
//!
//! Timers keep the library's documented defaults unless a flag changes them,
//! in seconds (fractions allowed), or `off`:
//! `--ping-interval` (default off) pings a peer that has sent nothing for that long,
//! `--pong-timeout` (20) fails the connection with 1011 if nothing comes back,
//! `--close-timeout` (10) stops waiting for the peer's close after that long,
//! `--handshake-timeout` (10) drops a client whose request is not complete by then,
//! `--send-timeout` (30) drops a peer that does not read what it was sent.

use std::process::ExitCode;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use wsproto::handshake::Accept;
use wsproto::tokio::{self as ws, Error};
use wsproto::{Config, Message};

#[tokio::main]
async fn main() -> ExitCode {
    let (addr, config) = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("tokio_echo_server: {e}");
            eprintln!("usage: tokio_echo_server [ADDR] [--ping-interval SECS] [--pong-timeout SECS] [--close-timeout SECS] [--handshake-timeout SECS] [--send-timeout SECS]");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("tokio_echo_server: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(local) => println!("listening on ws://{local}"),
        Err(e) => eprintln!("tokio_echo_server: {e}"),
    }
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let config = config.clone();
        tokio::spawn(async move {
            match serve(stream, config).await {
                Ok(()) | Err(Error::Closed) => {}
                Err(e) => eprintln!("{peer}: {e}"),
            }
        });
    }
}

/// The command line: an address and the timer options.
pub fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(String, Config), String> {
    let mut addr = "127.0.0.1:9001".to_owned();
    // The library's defaults, unless an option changes them.
    let mut config = Config::default();
    while let Some(arg) = args.next() {
        let mut secs = |name: &str| -> Result<Option<Duration>, String> {
            let value = args
                .next()
                .ok_or(format!("{name} needs a number of seconds"))?;
            if value == "off" {
                return Ok(None);
            }
            value
                .parse::<f64>()
                .ok()
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .map(Some)
                .ok_or(format!("{name}: not a number of seconds: {value}"))
        };
        config = match arg.as_str() {
            "--ping-interval" => config.ping_interval(secs(&arg)?),
            "--pong-timeout" => config.pong_timeout(secs(&arg)?),
            "--close-timeout" => config.close_timeout(secs(&arg)?),
            "--handshake-timeout" => config.handshake_timeout(secs(&arg)?),
            "--send-timeout" => config.send_timeout(secs(&arg)?),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            _ => {
                addr = arg;
                config
            }
        };
    }
    Ok((addr, config))
}

/// Echoes every data message on one connection until it ends.
pub async fn serve(stream: TcpStream, config: Config) -> Result<(), Error> {
    stream.set_nodelay(true)?;
    let mut ws = ws::accept_with(stream, config, |_| Ok(Accept::new())).await?;
    loop {
        match ws.recv().await? {
            Message::Text(text) => ws.send_text(text).await?,
            Message::Binary(data) => ws.send_binary(data).await?,
            _ => {}
        }
    }
}
