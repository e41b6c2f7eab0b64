//! A small command-line client: each line read from stdin is sent as one
//! text message; each text message received is printed as one line.
//!
//! ```text
//! cargo run --example client -- ws://127.0.0.1:9001/path
//! ```
//!
//! On end of input it closes with 1000, waits for the server's close and
//! exits 0.

use std::io::{BufRead, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use wsproto::blocking::{self, Error, WebSocket};
use wsproto::CloseCode;
use wsproto::Message;

fn main() -> Result<(), Error> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let (mut ws, _response) = blocking::connect(&url)?;
    // Reads wake up now and then to send what stdin produced meanwhile.
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_millis(20)))?;

    let (lines_tx, lines) = mpsc::channel::<Option<String>>();
    thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(Some(line)).is_err() {
                return;
            }
        }
        let _ = lines_tx.send(None);
    });

    let mut closing = false;
    loop {
        while !closing {
            match lines.try_recv() {
                Ok(Some(line)) => ws.send_text(line)?,
                Ok(None) | Err(mpsc::TryRecvError::Disconnected) => {
                    ws.close(CloseCode::NORMAL, "")?;
                    closing = true;
                }
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
        match read(&mut ws) {
            Ok(Some(Message::Text(text))) => {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{text}")?;
                out.flush()?;
            }
            Ok(_) => {}
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// One read that gives up quietly when the read timeout passes.
fn read(ws: &mut WebSocket<TcpStream>) -> Result<Option<Message>, Error> {
    match ws.read() {
        Ok(m) => Ok(Some(m)),
        Err(Error::Io(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
