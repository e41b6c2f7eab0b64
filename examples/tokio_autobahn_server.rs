//! The server the Autobahn TestSuite's fuzzing client runs against, over
//! the tokio adapter: it echoes every text and binary message back
//! unchanged, until killed.
//!
//! ```text
//! cargo run --release --example tokio_autobahn_server --features tokio -- 127.0.0.1:9001
//! ```

use tokio::net::{TcpListener, TcpStream};
use wsproto::tokio::{self as ws, Error};
use wsproto::Message;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on ws://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = serve(stream).await;
        });
    }
}

async fn serve(stream: TcpStream) -> Result<(), Error> {
    stream.set_nodelay(true)?;
    let mut ws = ws::accept(stream).await?;
    loop {
        match ws.recv().await? {
            Message::Text(text) => ws.send_text(text).await?,
            Message::Binary(data) => ws.send_binary(data).await?,
            _ => {}
        }
    }
}
