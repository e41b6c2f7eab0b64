//! A blocking echo server, a thread per connection.
//!
//! ```text
//! cargo run --example echo_server -- 127.0.0.1:9001
//! ```
//!
//! Every text and binary message is sent back unchanged. Try it with
//! `cargo run --example client -- ws://127.0.0.1:9001`.

use std::net::{TcpListener, TcpStream};
use std::thread;

use wsproto::blocking::{self, Error, Message};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr)?;
    println!("listening on ws://{}", listener.local_addr()?);
    for stream in listener.incoming() {
        let stream = stream?;
        thread::spawn(move || {
            let peer = stream.peer_addr().ok();
            if let Err(e) = serve(stream) {
                eprintln!("{peer:?}: {e}");
            }
        });
    }
    Ok(())
}

fn serve(stream: TcpStream) -> Result<(), Error> {
    stream.set_nodelay(true)?;
    let mut ws = blocking::accept(stream)?;
    loop {
        match ws.read() {
            Ok(Message::Text(text)) => ws.send_text(text)?,
            Ok(Message::Binary(data)) => ws.send_binary(data)?,
            Ok(_) => {}
            Err(Error::Closed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
