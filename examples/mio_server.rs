//! An echo server on one thread, many connections, no async runtime: the
//! sans-IO core driven by a `mio` event loop.
//!
//! ```text
//! cargo run --example mio_server -- 127.0.0.1:9001
//! cargo run --example mio_server -- 127.0.0.1:9001 --ping-interval 30 --idle-timeout 300 -v
//! ```
//!
//! Every text and binary message is sent back unchanged. Try it with
//! `cargo run --example client -- ws://127.0.0.1:9001`.
//!
//! What the loop does, per connection, at each readiness:
//!
//! - **handshake**: read into a scratch buffer shared by all connections,
//!   [`ServerHandshake::handle_read`], then `poll_request`; accept (the 101
//!   goes out in the same vectored write as the first frames) or write the
//!   rejection, shut the write side and drop what the client still sends
//!   for a second (a lingering close) before closing;
//! - **read**: into the scratch buffer, copying in only what came
//!   ([`Connection::handle_read`]), so an idle connection holds no read
//!   buffer; while a large frame arrives, straight into the connection's
//!   buffer ([`Connection::recv_buffer`] / [`Connection::handle_received`]); a
//!   bounded number of reads per turn so one busy peer cannot starve the
//!   others, and none while more than [`HIGH_WATER`] bytes wait to be sent
//!   (a peer that sends but does not read stops being read);
//! - **echo**: [`Connection::poll_event`] until `None`; each payload is a
//!   slice of the read buffer and is queued back without a copy for large
//!   messages (`poll_event_ref` lends the payload from the connection
//!   itself, so sending it back on the same connection would need a copy
//!   first; it suits a server that hands messages elsewhere);
//! - **timers**: each connection's [`Connection::poll_timeout`] goes into one
//!   binary heap of deadlines, whose earliest entry is the `poll` timeout.
//!   An entry is pushed only when a deadline moves earlier, so the heap holds
//!   about one entry per connection however often deadlines move later;
//! - **write**: [`Connection::transmit_slices`] and one vectored write (a
//!   second only after a partial one, to reach `WouldBlock`);
//! - **close**: once [`Connection::poll_shutdown`] says so, the socket is
//!   closed.
//!
//! Flags: `--ping-interval SECS` sends a keepalive ping to a peer silent
//! that long (and fails it with 1011 if nothing comes back within
//! `--pong-timeout`, default 20); `--idle-timeout SECS` closes a connection
//! with 1001 after that long without a message; `-v` reports each
//! connection that fails.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use wsproto::handshake::{Accept, ServerHandshake};
use wsproto::{Bytes, CloseCode, Config, Connection, Error, Event, Message};

/// The listener's token; connections use their slot's index.
const LISTENER: Token = Token(usize::MAX);
/// The scratch buffer's size: reads of up to this much go through it.
const READ_CHUNK: usize = 16 * 1024;
/// How much of the connection's own buffer one read may fill, while a large
/// frame arrives.
const MAX_READ_CHUNK: usize = 256 * 1024;
/// Reads per connection per turn of the loop, for fairness; a connection
/// with more to read goes to the back of the ready queue.
const READS_PER_TURN: usize = 4;
/// While more than this waits to be sent, the connection is not read.
pub const HIGH_WATER: usize = 1 << 20;
/// How long a rejected client may keep the socket open before it is closed.
const LINGER: Duration = Duration::from_secs(1);
/// How long a closed connection may take to write its last bytes (the
/// close frame) to a peer that does not read them.
const DRAIN: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    let (addr, options) = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("mio_server: {e}");
            eprintln!("usage: mio_server [ADDR] [--ping-interval SECS] [--pong-timeout SECS] [--idle-timeout SECS] [-v]");
            return ExitCode::from(2);
        }
    };
    let mut server = match Server::bind(addr, options) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("mio_server: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on ws://{}", server.local_addr());
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mio_server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What the command line sets.
#[derive(Debug, Clone)]
pub struct Options {
    /// Each connection's configuration.
    pub config: Config,
    /// Report failed connections on stderr.
    pub verbose: bool,
}

/// Reads `[ADDR] [--ping-interval SECS] [--pong-timeout SECS]
/// [--idle-timeout SECS] [-v]`.
pub fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(SocketAddr, Options), String> {
    let mut addr: SocketAddr = "127.0.0.1:9001".parse().expect("a socket address");
    let mut options = Options {
        config: Config::default(),
        verbose: false,
    };
    while let Some(arg) = args.next() {
        let mut secs = |name: &str| -> Result<Option<Duration>, String> {
            let value = args
                .next()
                .ok_or(format!("{name} needs a number of seconds"))?;
            if value == "off" {
                return Ok(None);
            }
            value
                .parse::<f64>()
                .ok()
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .map(Some)
                .ok_or(format!("{name}: not a number of seconds: {value}"))
        };
        let config = options.config.clone();
        options.config = match arg.as_str() {
            "--ping-interval" => config.ping_interval(secs(&arg)?),
            "--pong-timeout" => config.pong_timeout(secs(&arg)?),
            "--idle-timeout" => config.idle_timeout(secs(&arg)?),
            "-v" | "--verbose" => {
                options.verbose = true;
                config
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ => {
                addr = arg
                    .parse()
                    .map_err(|_| format!("not an address (IP:PORT): {arg}"))?;
                config
            }
        };
    }
    Ok((addr, options))
}

/// Where a connection is.
enum Phase {
    /// Reading the request head (boxed: it is short-lived, and the slot of
    /// an established connection should not pay for it).
    Handshake(Box<ServerHandshake>),
    /// The WebSocket connection.
    Open(Box<Connection>),
    /// A rejection is being written; then the write side is shut and what
    /// the client sends is dropped until it closes or the deadline passes.
    Lingering { until: Instant, shut: bool },
}

struct Peer {
    stream: TcpStream,
    phase: Phase,
    /// The handshake's response or rejection, not yet written in full; it
    /// goes out ahead of the connection's frames.
    head: Bytes,
    /// mio is edge-triggered: these stay true until an operation returns
    /// `WouldBlock`.
    readable: bool,
    writable: bool,
    /// The earliest deadline this peer has in the heap.
    armed: Option<Instant>,
    /// Tells this peer's heap entries from those of the slot's earlier peers.
    generation: u64,
    /// In the ready queue already.
    queued: bool,
    /// When the connection closed with bytes still to write.
    closed_at: Option<Instant>,
}

/// What a turn decided for a connection.
enum Verdict {
    Keep,
    Close,
}

/// The event loop: a listener and every connection, on one thread.
pub struct Server {
    poll: Poll,
    listener: TcpListener,
    options: Options,
    peers: Vec<Option<Peer>>,
    free: Vec<usize>,
    /// Deadlines: (when, slot, generation); stale entries are skipped.
    timers: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    /// Connections with more to read than one turn allows.
    ready: VecDeque<usize>,
    /// Where heads and small reads land, shared by every connection.
    scratch: Box<[u8]>,
    generation: u64,
    /// Accepting failed (out of descriptors, say): retry once a slot frees.
    accept_paused: bool,
    open: usize,
}

impl Server {
    /// Listens on `addr`.
    pub fn bind(addr: SocketAddr, options: Options) -> io::Result<Self> {
        let poll = Poll::new()?;
        let mut listener = TcpListener::bind(addr)?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(Self {
            poll,
            listener,
            options,
            peers: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
            ready: VecDeque::new(),
            scratch: vec![0; READ_CHUNK].into_boxed_slice(),
            generation: 0,
            accept_paused: false,
            open: 0,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener")
    }

    /// Connections open now (handshaking, open or lingering).
    pub fn connections(&self) -> usize {
        self.open
    }

    /// Runs the loop for ever (until `poll` fails).
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            self.turn(&mut events)?;
        }
    }

    /// One turn: waits for readiness or the earliest deadline, then serves
    /// what is ready, what is due and what was left from the last turn.
    pub fn turn(&mut self, events: &mut Events) -> io::Result<()> {
        let timeout = if self.ready.is_empty() {
            self.next_deadline()
                .map(|at| at.saturating_duration_since(Instant::now()))
        } else {
            Some(Duration::ZERO)
        };
        match self.poll.poll(events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        let now = Instant::now();
        for event in events.iter() {
            if event.token() == LISTENER {
                self.accept(now);
                continue;
            }
            let slot = event.token().0;
            if let Some(Some(peer)) = self.peers.get_mut(slot) {
                peer.readable |= event.is_readable() || event.is_read_closed() || event.is_error();
                peer.writable |= event.is_writable() || event.is_write_closed() || event.is_error();
                self.serve(slot, now);
            }
        }
        // Those left with more to read, once each, in order.
        for _ in 0..self.ready.len() {
            let Some(slot) = self.ready.pop_front() else {
                break;
            };
            if let Some(Some(peer)) = self.peers.get_mut(slot) {
                peer.queued = false;
                self.serve(slot, now);
            }
        }
        // Deadlines that have come.
        while let Some(&Reverse((at, slot, generation))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(Some(peer)) = self.peers.get_mut(slot) else {
                continue;
            };
            if peer.generation != generation || peer.armed != Some(at) {
                continue; // stale: the peer is gone, or an earlier entry served it
            }
            peer.armed = None;
            self.serve(slot, now);
        }
        Ok(())
    }

    /// The earliest live deadline; stale heap entries met on the way are dropped.
    fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, slot, generation))) = self.timers.peek() {
            let live = matches!(
                self.peers.get(slot),
                Some(Some(peer)) if peer.generation == generation && peer.armed == Some(at)
            );
            if live {
                return Some(at);
            }
            self.timers.pop();
        }
        None
    }

    fn accept(&mut self, now: Instant) {
        loop {
            let (mut stream, _) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Most likely out of descriptors: the backlog waits
                    // until a connection closes.
                    if !self.accept_paused {
                        eprintln!("mio_server: accept: {e}; waiting for a connection to close");
                    }
                    self.accept_paused = true;
                    return;
                }
            };
            self.accept_paused = false;
            let _ = stream.set_nodelay(true);
            let slot = self.free.pop().unwrap_or_else(|| {
                self.peers.push(None);
                self.peers.len() - 1
            });
            let interest = Interest::READABLE | Interest::WRITABLE;
            if let Err(e) = self
                .poll
                .registry()
                .register(&mut stream, Token(slot), interest)
            {
                eprintln!("mio_server: register: {e}");
                self.free.push(slot);
                continue;
            }
            let mut handshake = Box::new(ServerHandshake::new(self.options.config.clone()));
            // The first call starts the handshake timer.
            handshake.handle_timeout(now);
            self.generation += 1;
            self.peers[slot] = Some(Peer {
                stream,
                phase: Phase::Handshake(handshake),
                head: Bytes::new(),
                readable: false,
                writable: false,
                armed: None,
                generation: self.generation,
                queued: false,
                closed_at: None,
            });
            self.open += 1;
            self.serve(slot, now);
        }
    }

    /// Runs one turn for the connection in `slot`, then arms its timer, or
    /// closes it.
    fn serve(&mut self, slot: usize, now: Instant) {
        let Some(peer) = self.peers[slot].as_mut() else {
            return;
        };
        match drive(peer, &mut self.scratch, now, self.options.verbose) {
            Verdict::Close => self.close(slot),
            Verdict::Keep => {
                let more_to_read = peer.readable
                    && match &peer.phase {
                        Phase::Open(conn) => conn.buffered_amount() < HIGH_WATER,
                        _ => true,
                    };
                if more_to_read && !peer.queued {
                    peer.queued = true;
                    self.ready.push_back(slot);
                }
                let deadline = match &peer.phase {
                    Phase::Handshake(handshake) => handshake.poll_timeout(),
                    Phase::Open(conn) => match peer.closed_at {
                        Some(closed) => Some(closed + DRAIN),
                        None => conn.poll_timeout(),
                    },
                    Phase::Lingering { until, .. } => Some(*until),
                };
                // Only an earlier deadline needs an entry; a later one is
                // pushed when the earlier entry comes due.
                if let Some(at) = deadline {
                    if peer.armed.is_none_or(|armed| at < armed) {
                        peer.armed = Some(at);
                        self.timers.push(Reverse((at, slot, peer.generation)));
                    }
                }
            }
        }
    }

    fn close(&mut self, slot: usize) {
        if let Some(mut peer) = self.peers[slot].take() {
            let _ = self.poll.registry().deregister(&mut peer.stream);
            self.free.push(slot);
            self.open -= 1;
            // Dropping the stream closes the socket.
        }
        if self.accept_paused {
            self.accept(Instant::now());
        }
    }
}

/// One turn for one connection: read, run the handshake or echo what
/// arrived, fire timers, write.
fn drive(peer: &mut Peer, scratch: &mut [u8], now: Instant, verbose: bool) -> Verdict {
    if let Phase::Handshake(handshake) = &mut peer.phase {
        handshake.handle_timeout(now);
        let mut reads = 0;
        while peer.readable && reads < READS_PER_TURN {
            reads += 1;
            match peer.stream.read(scratch) {
                // Gone before its request was complete.
                Ok(0) => return Verdict::Close,
                Ok(n) => handshake.handle_read(&scratch[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => peer.readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Verdict::Close,
            }
            if !matches!(handshake.poll_request(), Ok(None)) {
                break;
            }
        }
        match handshake.poll_request() {
            Ok(None) => {}
            Ok(Some(_request)) => {
                // Every path, every Origin: an echo server has nothing to
                // protect. A real server checks them here (RFC 6455 §10.2)
                // and answers with `ServerHandshake::reject`.
                let Phase::Handshake(handshake) = std::mem::replace(
                    &mut peer.phase,
                    Phase::Lingering {
                        until: now,
                        shut: false,
                    },
                ) else {
                    unreachable!("matched above")
                };
                match handshake.accept(Accept::new()) {
                    Ok((response, mut conn)) => {
                        conn.handle_timeout(now);
                        peer.head = response;
                        peer.phase = Phase::Open(Box::new(conn));
                    }
                    Err(_) => return Verdict::Close,
                }
            }
            Err(e) => {
                peer.head = ServerHandshake::reject_error(&e);
                peer.phase = Phase::Lingering {
                    until: now + LINGER,
                    shut: false,
                };
            }
        }
    }
    match &mut peer.phase {
        Phase::Handshake(_) => write_head(peer),
        Phase::Open(_) if peer.closed_at.is_some_and(|t| t + DRAIN <= now) => Verdict::Close,
        Phase::Open(_) => serve_open(peer, scratch, now, verbose),
        Phase::Lingering { until, .. } if *until <= now => Verdict::Close,
        Phase::Lingering { .. } => linger(peer, scratch),
    }
}

/// A turn for an open connection.
fn serve_open(peer: &mut Peer, scratch: &mut [u8], now: Instant, verbose: bool) -> Verdict {
    let Phase::Open(conn) = &mut peer.phase else {
        unreachable!("called for open connections")
    };
    let mut reads = 0;
    // The timers first: `poll_timeout` may say they need a call now.
    fire_timers(conn, now);
    loop {
        echo(conn, verbose);
        if !(peer.readable && reads < READS_PER_TURN && conn.buffered_amount() < HIGH_WATER) {
            break;
        }
        reads += 1;
        let pending = conn.received_amount();
        let result = if pending < READ_CHUNK {
            // Between messages: read into the scratch buffer all
            // connections share and copy in only what came, so an idle
            // connection's buffer stays as small as its data.
            let result = peer.stream.read(scratch);
            if let Ok(n) = result {
                conn.handle_read(&scratch[..n]);
            }
            result
        } else {
            // A large frame is arriving: straight into the connection's buffer.
            let result = peer
                .stream
                .read(conn.recv_buffer(pending.min(MAX_READ_CHUNK)));
            conn.handle_received(*result.as_ref().unwrap_or(&0));
            result
        };
        match result {
            Ok(0) => {
                conn.handle_eof();
                peer.readable = false;
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => peer.readable = false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                // A reset: the transport is gone.
                conn.handle_eof();
                peer.readable = false;
            }
        }
        fire_timers(conn, now);
    }
    echo(conn, verbose);
    if let Err(()) = write(peer) {
        return Verdict::Close;
    }
    let Phase::Open(conn) = &mut peer.phase else {
        unreachable!("still open")
    };
    if conn.poll_shutdown() {
        // RFC 6455 §7.1.1: the server closes the TCP connection first.
        return Verdict::Close;
    }
    if conn.is_closed() && peer.closed_at.is_none() {
        // Closed, with bytes the peer is not taking yet: the connection's
        // timers have stopped, so the wait for the last bytes is bounded here.
        peer.closed_at = Some(now);
    }
    Verdict::Keep
}

/// Calls `handle_timeout` while the connection says a timer needs it now
/// (a few rounds at most: each call dates the timers it arms from `now`).
fn fire_timers(conn: &mut Connection, now: Instant) {
    for _ in 0..4 {
        match conn.poll_timeout() {
            Some(at) if at <= now => conn.handle_timeout(now),
            _ => break,
        }
    }
}

/// Echoes every message that arrived; pings are answered by the
/// connection itself (`Config::auto_pong`), and the reply to a close is
/// queued by it too.
fn echo(conn: &mut Connection, verbose: bool) {
    while let Some(event) = conn.poll_event() {
        let sent = match event {
            // The payloads are slices of the read buffer: no copy here.
            Event::Message(Message::Text(text)) => conn.send_text(text),
            Event::Message(Message::Binary(data)) => conn.send_binary(data),
            Event::Failed(e) => {
                if verbose {
                    eprintln!("mio_server: connection failed: {e}");
                }
                Ok(())
            }
            _ => Ok(()),
        };
        match sent {
            Ok(()) | Err(Error::AlreadyClosing) => {}
            // A peer that sends faster than it reads: it is told why.
            Err(e) => {
                if verbose {
                    eprintln!("mio_server: {e}");
                }
                let _ = conn.fail(CloseCode::TRY_AGAIN_LATER, "send queue full");
            }
        }
    }
}

/// Writes the head, then the connection's queued bytes, in one vectored
/// write (a second only if the first was partial, to see `WouldBlock`).
/// `Err` when the transport is gone.
fn write(peer: &mut Peer) -> Result<(), ()> {
    let Phase::Open(conn) = &mut peer.phase else {
        unreachable!("called for open connections")
    };
    while peer.writable {
        let head = peer.head.len();
        let written = {
            let mut slices = [IoSlice::new(&[]); 32];
            slices[0] = IoSlice::new(&peer.head);
            let n = 1 + conn.transmit_slices(&mut slices[1..]);
            let total = head + slices[1..n].iter().map(|s| s.len()).sum::<usize>();
            if total == 0 {
                return Ok(());
            }
            match peer.stream.write_vectored(&slices[..n]) {
                Ok(0) => return Err(()),
                Ok(written) => written,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    peer.writable = false;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    // The peer is gone: nothing queued will reach it.
                    conn.handle_eof();
                    return Err(());
                }
            }
        };
        let from_head = written.min(head);
        peer.head = peer.head.slice(from_head..);
        conn.advance_transmit(written - from_head);
    }
    Ok(())
}

/// Writes what is left of the head alone (a rejection, or a 101 while the
/// handshake's peer is still there). `Verdict::Close` if the transport is gone.
fn write_head(peer: &mut Peer) -> Verdict {
    while peer.writable && !peer.head.is_empty() {
        match peer.stream.write(&peer.head) {
            Ok(0) => return Verdict::Close,
            Ok(n) => peer.head = peer.head.slice(n..),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => peer.writable = false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Verdict::Close,
        }
    }
    Verdict::Keep
}

/// A rejected client: write the rejection, shut the write side, then drop
/// what it sends until it closes (RFC 9112 §9.6), so that it reads the
/// whole response rather than a reset.
fn linger(peer: &mut Peer, scratch: &mut [u8]) -> Verdict {
    if let Verdict::Close = write_head(peer) {
        return Verdict::Close;
    }
    let Phase::Lingering { shut, .. } = &mut peer.phase else {
        unreachable!("called for lingering connections")
    };
    if peer.head.is_empty() && !*shut {
        *shut = true;
        let _ = peer.stream.shutdown(Shutdown::Write);
    }
    for _ in 0..READS_PER_TURN {
        if !peer.readable {
            break;
        }
        match peer.stream.read(scratch) {
            Ok(0) => return Verdict::Close,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => peer.readable = false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Verdict::Close,
        }
    }
    Verdict::Keep
}
