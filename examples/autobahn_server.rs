//! The server the Autobahn TestSuite's fuzzing client runs against: it
//! echoes every text and binary message back unchanged, until killed.
//!
//! ```text
//! cargo run --release --example autobahn_server -- 127.0.0.1:9001
//! ```

use std::net::{TcpListener, TcpStream};
use std::thread;

use wsproto::blocking::{self, Error};
use wsproto::Message;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr)?;
    println!("listening on ws://{}", listener.local_addr()?);
    for stream in listener.incoming() {
        let stream = stream?;
        thread::spawn(move || {
            let _ = serve(stream);
        });
    }
    Ok(())
}

fn serve(stream: TcpStream) -> Result<(), Error> {
    stream.set_nodelay(true)?;
    let mut ws = blocking::accept(stream)?;
    loop {
        match ws.read()? {
            Message::Text(text) => ws.send_text(text)?,
            Message::Binary(data) => ws.send_binary(data)?,
            _ => {}
        }
    }
}
