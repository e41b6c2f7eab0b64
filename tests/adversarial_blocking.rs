//! The adversarial suite against the blocking echo server
//! (`examples/echo_server.rs`, a thread per connection), over loopback.
//! See `tests/adversarial/mod.rs` for how each attack is judged.

#![cfg(all(feature = "blocking", feature = "deflate"))]

mod adversarial;
#[path = "../examples/echo_server.rs"]
#[allow(dead_code)]
mod echo_server;

use std::alloc::System;
use std::net::{SocketAddr, TcpListener};

use adversarial::{attacks, Held, Live};
use cap::Cap;

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

/// The echo server with these flags, on a free port; and its live count.
fn server(flags: &[&str]) -> (SocketAddr, Live) {
    let args: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
    let (_, config) = echo_server::parse_args(args.into_iter()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let live = Live::default();
    let counted = live.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let config = config.clone();
            let held = Held::new(&counted);
            std::thread::spawn(move || {
                let _held = held;
                let _ = echo_server::serve(stream, config);
            });
        }
    });
    (addr, live)
}

const TARGET: attacks::Target = attacks::Target {
    name: "blocking",
    server,
    heap: || HEAP.allocated(),
    peak: || HEAP.max_allocated(),
};

#[test]
fn slowloris_connections_are_dropped_at_the_handshake_timeout() {
    attacks::slowloris_connections_are_dropped_at_the_handshake_timeout(&TARGET);
}

#[test]
fn header_floods_are_answered_431_whole_or_in_pieces() {
    attacks::header_floods_are_answered_431_whole_or_in_pieces(&TARGET);
}

#[test]
fn malformed_requests_get_their_precise_status() {
    attacks::malformed_requests_get_their_precise_status(&TARGET);
}

#[test]
fn lying_lengths_are_closed_at_once_without_allocating_for_them() {
    attacks::lying_lengths_are_closed_at_once_without_allocating_for_them(&TARGET);
}

#[test]
fn a_million_tiny_fragments_take_linear_time_and_constant_memory() {
    attacks::a_million_tiny_fragments_take_linear_time_and_constant_memory(&TARGET);
}

#[test]
fn a_ping_flood_from_a_peer_that_never_reads_is_bounded_and_failed() {
    attacks::a_ping_flood_from_a_peer_that_never_reads_is_bounded_and_failed(&TARGET);
}

#[test]
fn deflate_bombs_are_stopped_at_the_limit() {
    attacks::deflate_bombs_are_stopped_at_the_limit(&TARGET);
}

#[test]
fn silent_and_half_open_peers_are_dropped_by_their_deadlines() {
    attacks::silent_and_half_open_peers_are_dropped_by_their_deadlines(&TARGET);
}

#[test]
fn two_thousand_idle_connections_are_held_and_their_memory_returned() {
    attacks::two_thousand_idle_connections_are_held_and_their_memory_returned(&TARGET);
}
