//! Measures what connections hold, in bytes.
//!
//! ```text
//! cargo run --release --example memory
//! ```
//!
//! The first table is `Connection::memory_usage` for an idle, established
//! connection (the connection itself, its read buffer, any reassembly
//! buffer, its send queue, entropy pool and compression state). The second
//! counts, with a counting global allocator, the heap a permessage-deflate
//! compressor and decompressor take for each window size.

use std::alloc::System;

use cap::Cap;
use wsproto::deflate::{Compressor, Decompressor};
use wsproto::extensions::{DeflateConfig, NegotiatedDeflate};
use wsproto::handshake::{Accept, ClientHandshake, ClientRequest, Outcome, ServerHandshake};
use wsproto::{Config, Connection, Event, Message};

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

fn row(label: &str, client: &Connection, server: &Connection) {
    println!(
        "| {label} | {} B | {} B |",
        client.memory_usage(),
        server.memory_usage()
    );
}

/// Runs the handshake in memory and echoes `messages` messages.
fn established(config: Config, messages: usize) -> (Connection, Connection) {
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
    let Some(Outcome::Accepted(_, mut client)) = client.poll_response().expect("a valid response")
    else {
        panic!("not accepted");
    };
    for i in 0..messages {
        client
            .send_text(format!(
                "message {i}: some text that is long enough to be compressed"
            ))
            .expect("sent");
        pump(&mut client, &mut server);
        while let Some(event) = server.poll_event() {
            if let Event::Message(Message::Text(text)) = event {
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

/// Heap bytes that `make` leaves allocated.
fn heap_of<T>(make: impl FnOnce() -> T) -> (T, usize) {
    let before = HEAP.allocated();
    let value = make();
    (value, HEAP.allocated() - before)
}

fn main() {
    println!("| idle connection | client | server |");
    println!("|---|---|---|");
    let plain = Config::default().deflate(DeflateConfig::default().enabled(false));
    let (client, server) = established(plain, 100);
    row(
        "no compression, after 100 echoed messages",
        &client,
        &server,
    );
    let (client, server) = established(Config::default(), 0);
    row(
        "permessage-deflate negotiated, nothing sent yet",
        &client,
        &server,
    );
    for (label, deflate) in [
        (
            "permessage-deflate, 15-bit windows, after 100 echoed messages",
            DeflateConfig::default(),
        ),
        (
            "permessage-deflate, 9-bit windows, after 100 echoed messages",
            DeflateConfig::default()
                .server_max_window_bits(9)
                .client_max_window_bits(9),
        ),
    ] {
        let (client, server) = established(Config::default().deflate(deflate), 100);
        row(label, &client, &server);
    }
    println!();
    println!("| window bits | compressor | decompressor | both, per connection |");
    println!("|---|---|---|---|");
    for bits in 9..=15u8 {
        let params = NegotiatedDeflate::new(bits, false, bits, false);
        let (compressor, deflate) = heap_of(|| Compressor::new(&params, 6));
        let (decompressor, inflate) = heap_of(|| Decompressor::new(&params));
        println!(
            "| {bits} | {:.1} KiB | {:.1} KiB | {:.1} KiB |",
            deflate as f64 / 1024.0,
            inflate as f64 / 1024.0,
            (deflate + inflate) as f64 / 1024.0
        );
        drop((compressor, decompressor));
    }
}
