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

/// How the caller drives the connections' timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drive {
    /// `handle_timeout(now)` after every batch of inputs and commands.
    EveryBatch,
    /// `handle_timeout(now)` only once `poll_timeout()` has come (the
    /// quinn-proto pattern).
    DeadlinesOnly,
}

/// Which end of a [`Clocked`] pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// A client/server pair on a virtual clock: time moves only when the test
/// moves it, jumping from deadline to deadline.
pub struct Clocked {
    pub client: Connection,
    pub server: Connection,
    pub drive: Drive,
    pub now: std::time::Instant,
    pub start: std::time::Instant,
    /// Every event, with the virtual time it was polled at.
    pub log: Vec<(std::time::Duration, Side, Event)>,
    /// Bytes the server sent that the client has not been given.
    pub to_client: Vec<u8>,
    /// Bytes the client sent that the server has not been given.
    pub to_server: Vec<u8>,
    /// Whether each end reads what the other sends (a peer that stops
    /// reading lets bytes pile up on the wire).
    pub client_reads: bool,
    pub server_reads: bool,
    /// Frames each end put on the wire, with the virtual time they were
    /// handed out: (time, side, opcode).
    pub sent: Vec<(std::time::Duration, Side, u8)>,
}

impl Clocked {
    pub fn new(client: Config, server: Config, drive: Drive) -> Self {
        let start = std::time::Instant::now();
        let mut pair = Self {
            client: Connection::with_entropy(Role::Client, client, Box::new(SeededEntropy::new(7))),
            server: Connection::new(Role::Server, server),
            drive,
            now: start,
            start,
            log: Vec::new(),
            to_client: Vec::new(),
            to_server: Vec::new(),
            client_reads: true,
            server_reads: true,
            sent: Vec::new(),
        };
        // Timers start with the first call, as an adapter makes it.
        pair.client.handle_timeout(start);
        pair.server.handle_timeout(start);
        pair.settle();
        pair
    }

    /// The virtual time since the start.
    pub fn elapsed(&self) -> std::time::Duration {
        self.now - self.start
    }

    /// Moves bytes, events and due timers until nothing moves at `now`.
    pub fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            let t = self.elapsed();
            for (side, conn) in [
                (Side::Client, &mut self.client),
                (Side::Server, &mut self.server),
            ] {
                let bytes = drain(conn);
                if !bytes.is_empty() {
                    moved = true;
                    self.sent
                        .extend(opcodes(&bytes, side).into_iter().map(|op| (t, side, op)));
                    match side {
                        Side::Client => self.to_server.extend_from_slice(&bytes),
                        Side::Server => self.to_client.extend_from_slice(&bytes),
                    }
                }
            }
            if self.server_reads && !self.to_server.is_empty() {
                moved = true;
                self.server
                    .handle_read(&std::mem::take(&mut self.to_server));
            }
            if self.client_reads && !self.to_client.is_empty() {
                moved = true;
                self.client
                    .handle_read(&std::mem::take(&mut self.to_client));
            }
            for (side, conn) in [
                (Side::Client, &mut self.client),
                (Side::Server, &mut self.server),
            ] {
                while let Some(event) = conn.poll_event() {
                    moved = true;
                    self.log.push((t, side, event));
                }
                // Both call at deadlines; one also after every batch.
                let deadline = conn.poll_timeout().is_some_and(|d| d <= self.now);
                if deadline || (self.drive == Drive::EveryBatch && moved) {
                    conn.handle_timeout(self.now);
                    // A timer that stayed due would loop here until the
                    // bound below fails the test.
                    moved |= deadline;
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the pair never settled");
    }

    /// Lets virtual time pass until `at` (since the start), stopping at
    /// every deadline on the way.
    pub fn run_until(&mut self, at: std::time::Duration) {
        let end = self.start + at;
        for _ in 0..100_000 {
            self.settle();
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .filter(|&d| d > self.now)
                .min();
            match next {
                Some(next) if next <= end => self.now = next,
                _ => {
                    self.now = end;
                    self.settle();
                    return;
                }
            }
        }
        panic!("too many deadlines");
    }

    /// The times at which `side` sent frames with `opcode`.
    pub fn sent_at(&self, side: Side, opcode: u8) -> Vec<std::time::Duration> {
        self.sent
            .iter()
            .filter(|(_, s, op)| *s == side && *op == opcode)
            .map(|(t, _, _)| *t)
            .collect()
    }

    /// The first event of `side` that `pick` accepts, with its time.
    pub fn first_event(
        &self,
        side: Side,
        pick: impl Fn(&Event) -> bool,
    ) -> Option<(std::time::Duration, &Event)> {
        self.log
            .iter()
            .find(|(_, s, e)| *s == side && pick(e))
            .map(|(t, _, e)| (*t, e))
    }
}

/// The opcodes of the frames in `wire` (whole frames, as one end queued them).
pub fn opcodes(mut wire: &[u8], _side: Side) -> Vec<u8> {
    use wsproto::frame::{FrameHeader, Parsed};
    let mut ops = Vec::new();
    while let Ok(Parsed::Complete(header, len)) = FrameHeader::parse(wire) {
        ops.push(header.opcode.as_u8());
        wire = &wire[len + header.payload_len as usize..];
    }
    ops
}
