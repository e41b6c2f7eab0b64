//! The adversarial suite against the tokio echo server
//! (`examples/tokio_echo_server.rs`, a task per connection on one runtime
//! thread), over loopback. See `tests/adversarial/mod.rs` for how each
//! attack is judged.

#![cfg(all(feature = "tokio", feature = "deflate"))]

mod adversarial;
#[path = "../examples/tokio_echo_server.rs"]
#[allow(dead_code)]
mod tokio_echo_server;

use std::alloc::System;
use std::net::SocketAddr;

use adversarial::{attacks, Held, Live};
use cap::Cap;

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

/// The echo server with these flags, on a free port, on a runtime of its
/// own; and its live count.
fn server(flags: &[&str]) -> (SocketAddr, Live) {
    let args: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
    let (_, config) = tokio_echo_server::parse_args(args.into_iter()).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let live = Live::default();
    let counted = live.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let config = config.clone();
                let held = Held::new(&counted);
                tokio::spawn(async move {
                    let _held = held;
                    let _ = tokio_echo_server::serve(stream, config).await;
                });
            }
        });
    });
    (addr, live)
}

const TARGET: attacks::Target = attacks::Target {
    name: "tokio",
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
