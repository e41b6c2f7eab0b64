//! A small command-line client over the tokio adapter: each line read from
//! stdin is sent as one text message; each text message received is printed
//! as one line, at once.
//!
//! ```text
//! cargo run --example tokio_client --features tokio -- ws://127.0.0.1:9001/path
//! ```
//!
//! The connection is split: one task reads (and so answers the server's
//! pings even while stdin is quiet), the other sends the lines. On end of
//! input it closes with 1000, waits for the server's close and exits 0; if
//! the server closes first, it exits 0 too.

use std::io::Write;

use tokio::io::{AsyncBufReadExt, BufReader};
use wsproto::tokio::{self as ws, Error};
use wsproto::{CloseCode, Message};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let (ws, _response) = ws::connect(&url).await?;
    let (mut reader, mut writer) = ws.into_split();

    let mut printer = tokio::spawn(async move {
        loop {
            match reader.recv().await {
                Ok(Message::Text(text)) => {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{text}")?;
                    out.flush()?;
                }
                Ok(_) => {}
                Err(Error::Closed) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    });

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            line = lines.next_line() => match line? {
                Some(line) => writer.send_text(line).await?,
                None => break,
            },
            // The server closed first: nothing more to send.
            done = &mut printer => return done.map_err(|e| Error::Io(std::io::Error::other(e)))?,
        }
    }
    writer.close(CloseCode::NORMAL, "").await?;
    printer
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e)))?
}
