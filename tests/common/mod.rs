//! A client/server pair harness: two `Connection`s wired back to back in memory.

#![allow(dead_code)]

use wsproto::entropy::SeededEntropy;
use wsproto::{Config, Connection, Event, Role};

/// Two connections, client and server, whose output is fed to each other.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub client_events: Vec<Event>,
    pub server_events: Vec<Event>,
}

impl Pair {
    pub fn new() -> Self {
        Self::with_configs(Config::default(), Config::default())
    }

    pub fn with_configs(client: Config, server: Config) -> Self {
        Self {
            client: Connection::with_entropy(
                Role::Client,
                client,
                Box::new(SeededEntropy::new(42)),
            ),
            server: Connection::new(Role::Server, server),
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    /// Moves bytes both ways and collects events until nothing moves.
    pub fn pump(&mut self) {
        loop {
            let to_server = drain(&mut self.client);
            let to_client = drain(&mut self.server);
            if to_server.is_empty() && to_client.is_empty() {
                break;
            }
            self.server.handle_read(&to_server);
            self.server_events
                .extend(std::iter::from_fn(|| self.server.poll_event()));
            self.client.handle_read(&to_client);
            self.client_events
                .extend(std::iter::from_fn(|| self.client.poll_event()));
        }
    }

    /// The server closes the transport, as RFC 6455 §7.1.1 has it.
    pub fn server_closes_transport(&mut self) {
        self.client.handle_eof();
        self.client_events
            .extend(std::iter::from_fn(|| self.client.poll_event()));
    }
}

/// Every queued byte of `conn`, in order.
pub fn drain(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = conn.poll_transmit() {
        out.extend_from_slice(&chunk);
    }
    out
}

/// Feeds `bytes` to `conn` in the given pieces and collects every event.
pub fn events_for_pieces(mut conn: Connection, bytes: &[u8], cuts: &[usize]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let cut = cut.clamp(start, bytes.len());
        conn.handle_read(&bytes[start..cut]);
        events.extend(std::iter::from_fn(|| conn.poll_event()));
        start = cut;
    }
    events
}
