//! Prints what an idle, established connection holds in the core, in bytes,
//! as reported by `Connection::memory_usage` (the connection itself, its
//! read buffer, any reassembly buffer, its send queue and entropy pool).
//!
//! ```text
//! cargo run --release --example memory
//! ```

use wsproto::handshake::{Accept, ClientHandshake, ClientRequest, ServerHandshake};
use wsproto::{Config, Connection, Event};

/// Runs the handshake in memory and exchanges a few messages both ways.
fn established(config: Config) -> (Connection, Connection) {
    let request = ClientRequest::from_url("ws://localhost/").expect("a valid URL");
    let mut client = ClientHandshake::new(request, config.clone());
    let mut server = ServerHandshake::new(config);
    while let Some(bytes) = client.poll_transmit() {
        server.handle_read(&bytes);
    }
    server
        .poll_request()
        .expect("a valid request")
        .expect("a whole request");
    let (response, mut server) = server.accept(Accept::new()).expect("accepted");
    client.handle_read(&response);
    let (_, mut client) = client
        .poll_response()
        .expect("a valid response")
        .expect("a whole response");
    for i in 0..100 {
        client.send_text(format!("message {i}")).expect("sent");
        pump(&mut client, &mut server);
        while let Some(event) = server.poll_event() {
            if let Event::Text(text) = event {
                server.send_text(text).expect("echoed");
            }
        }
        pump(&mut server, &mut client);
        while client.poll_event().is_some() {}
    }
    (client, server)
}

fn pump(from: &mut Connection, to: &mut Connection) {
    while let Some(bytes) = from.poll_transmit() {
        to.handle_read(&bytes);
    }
}

fn main() {
    println!("| connection | client | server |");
    println!("|---|---|---|");
    let (client, server) = established(Config::default());
    println!(
        "| idle, after 100 echoed messages | {} B | {} B |",
        client.memory_usage(),
        server.memory_usage()
    );
}
