//! The one loop that drives a [`Connection`] from tokio, written once for the
//! whole [`WebSocketStream`](super::WebSocketStream) and for its two halves.
//!
//! Every path does the same chores before its own work, so that the
//! connection progresses while *any* part is polled:
//!
//! - the **read path** (`poll_next`) hands out events, runs the timers, and
//!   writes what the connection queued (pongs, the close reply, keepalive
//!   pings) without waiting for a full socket to drain, then reads. Its hot
//!   path, a data message already buffered, skips those chores: such a
//!   message queues nothing and fires no timer, and they run again at the
//!   next other event or once the buffered messages run out;
//! - the **write path** (`poll_ready`, `poll_flush`, `poll_close`) reads
//!   what has arrived and turns it into events (which queues the pongs and
//!   the close reply), keeps those events in order for the read path, runs
//!   the timers, and writes.
//!
//! Both sides register their task in a [`Fanout`], and the transport and
//! the timer are polled with the fanout's waker, so that a wake-up reaches
//! every task that waits on the connection, whichever side registered last.
//!
//! Calls into the core are kept in this file, in a few functions
//! ([`Driver::next_event`], [`into_item`], [`queue_message`],
//! [`Driver::after_io`]), so that the core's API can change in one place.

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll, Wake, Waker};
use std::time::Duration;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::time::{Instant, Sleep};

use super::Error;
use crate::close::CloseCode;
use crate::connection::{Connection, Event, State};
use crate::Message;

/// How many bytes one read asks the transport for, between messages: they
/// are read onto the stack and copied into the connection, so its buffer
/// stays as small as the data.
pub(crate) const READ_CHUNK: usize = 4 * 1024;

/// How many bytes one read may ask for while a large frame arrives: read
/// straight into the connection's buffer.
const MAX_READ_CHUNK: usize = 64 * 1024;

/// How many slices one vectored write takes from the send queue.
const WRITE_SLICES: usize = 64;

/// The default high-water mark of the send queue, in bytes.
pub(crate) const DEFAULT_HIGH_WATER: usize = 64 * 1024;

/// Once the connection is closed, how long queued bytes (the close frame
/// among them) may take to be written before the transport is shut down
/// anyway: a peer that does not read cannot hold a closed connection open.
pub const CLOSED_FLUSH_GRACE: Duration = Duration::from_secs(1);

/// Bytes an event costs in the queue of events the write path keeps for
/// the read path, beyond its payload.
const EVENT_OVERHEAD: usize = 64;

/// How many times in a row the timers may fire in one poll.
const MAX_TIMER_ROUNDS: usize = 8;

/// Which side of the connection a task waits on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Side {
    /// `poll_next`: the `Stream`, `recv`, the read half.
    Read = 0,
    /// `poll_ready`, `poll_flush`, `poll_close`: the `Sink`, `send`, the write half.
    Write = 1,
}

/// The tasks waiting on a connection, one per side; waking it wakes both.
///
/// The transport and the timer keep only the last waker they were polled
/// with; the read and the write side both poll them, so they are polled
/// with this one, which passes the wake-up on to every waiting task.
#[derive(Debug, Default)]
pub(crate) struct Fanout {
    tasks: Mutex<[Option<Waker>; 2]>,
    /// Set by the timer's waker ([`TimerWake`]): the `Sleep` needs polling.
    /// Until it is set, a `Sleep` already polled with that waker stays
    /// registered, so the hot paths need not poll it again.
    timer_fired: AtomicBool,
}

impl Fanout {
    fn register(&self, side: Side, waker: &Waker) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &mut tasks[side as usize];
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    /// Wakes the task waiting on `side`, if any.
    fn wake_side(&self, side: Side) {
        let task = self.tasks.lock().unwrap_or_else(|e| e.into_inner())[side as usize].take();
        if let Some(task) = task {
            task.wake();
        }
    }
}

impl Wake for Fanout {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_all();
    }
}

impl Fanout {
    /// Wakes every waiting task, once each.
    fn wake_all(&self) {
        let [read, write] = {
            let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
            [tasks[0].take(), tasks[1].take()]
        };
        match (read, write) {
            (Some(r), Some(w)) if r.will_wake(&w) => r.wake(),
            (r, w) => {
                if let Some(r) = r {
                    r.wake();
                }
                if let Some(w) = w {
                    w.wake();
                }
            }
        }
    }
}

/// The waker the one `Sleep` is polled with: it marks the timer as fired,
/// then wakes every task, as the transport's wake-ups do.
#[derive(Debug)]
struct TimerWake(Arc<Fanout>);

impl Wake for TimerWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.timer_fired.store(true, Ordering::Release);
        self.0.wake_all();
    }
}

/// What the adapter keeps beside the [`Connection`]: events kept for the
/// read path, the timer, the send queue's high-water mark, and how far the
/// transport got in closing.
#[derive(Debug)]
pub(crate) struct Driver {
    pub(crate) conn: Connection,
    /// Events the write path took out of the connection (to answer pings
    /// while the application only sends), in order, for the read path. It
    /// takes every event, data messages too, until it holds the high-water
    /// mark's worth of bytes or a failure; and it stops before the peer's
    /// close ([`Connection::close_is_next`]) while it holds a data message,
    /// so that the close is answered only once the application has read
    /// the messages before it, and could answer them.
    stash: VecDeque<Event>,
    /// Whether the stash holds the peer's close or a failure: then it takes
    /// no more.
    stash_closed: bool,
    /// Whether the stash holds a data message (or a piece of one).
    stash_data: bool,
    /// Their size, payloads plus [`EVENT_OVERHEAD`] each.
    stash_bytes: usize,
    /// The one timer, made on first use (it needs the runtime).
    sleep: Option<Pin<Box<Sleep>>>,
    /// The deadline `sleep` is set to, until it fires.
    sleep_at: Option<Instant>,
    /// `sleep` was polled (Pending) with `timer_waker` and has not woken it
    /// since: it needs no polling until its deadline moves earlier or
    /// [`Fanout::timer_fired`] is set.
    sleep_registered: bool,
    /// Once closed with bytes still queued: when to stop waiting for them.
    drain_deadline: Option<Instant>,
    drain_expired: bool,
    /// The transport's read side ended (or failed after the close).
    read_ended: bool,
    /// The transport failed; nothing more is read or written.
    broken: bool,
    /// The connection said the transport may be shut down.
    shutdown_due: bool,
    /// The write side of the transport was shut down.
    shut_down: bool,
    /// The read path reported the end of the stream.
    finished: bool,
    /// `poll_ready` waits while more than this is queued.
    pub(crate) high_water: usize,
    fanout: Arc<Fanout>,
    waker: Waker,
    timer_waker: Waker,
    /// The last time given to the connection's `handle_timeout`.
    clock: std::time::Instant,
}

impl Driver {
    pub(crate) fn new(conn: Connection) -> Self {
        let fanout = Arc::new(Fanout::default());
        let mut driver = Self {
            conn,
            stash: VecDeque::new(),
            stash_closed: false,
            stash_data: false,
            stash_bytes: 0,
            sleep: None,
            sleep_at: None,
            sleep_registered: false,
            drain_deadline: None,
            drain_expired: false,
            read_ended: false,
            broken: false,
            shutdown_due: false,
            shut_down: false,
            finished: false,
            high_water: DEFAULT_HIGH_WATER,
            waker: Waker::from(fanout.clone()),
            timer_waker: Waker::from(Arc::new(TimerWake(fanout.clone()))),
            fanout,
            clock: Instant::now().into_std(),
        };
        // The first call starts the connection's timers.
        driver.conn.handle_timeout(driver.clock);
        driver
    }

    /// Passes the time to the connection's timers.
    fn tick(&mut self, now: std::time::Instant) {
        self.clock = now;
        self.conn.handle_timeout(now);
    }

    /// Bytes queued to send, with the pongs not yet framed.
    pub(crate) fn buffered_amount(&self) -> usize {
        self.conn.buffered_amount()
    }

    /// What the connection and the adapter hold.
    pub(crate) fn memory_usage(&self) -> usize {
        use std::mem::size_of;
        // The connection counts itself; the rest of the driver, the shared
        // wakers, the stash and the timer are the adapter's.
        self.conn.memory_usage() + size_of::<Self>() - size_of::<Connection>()
            + size_of::<Fanout>()
            + 2 * size_of::<usize>()
            + self.stash.capacity() * size_of::<Event>()
            + self.stash_bytes
            + self.sleep.as_ref().map_or(0, |_| size_of::<Sleep>())
    }

    /// Registers `waker` for `side` and returns the waker to poll the
    /// transport and the timer with.
    fn enter(&self, side: Side, waker: &Waker) -> Waker {
        self.fanout.register(side, waker);
        self.waker.clone()
    }

    // ----- the calls into the core -----

    /// The next event for the read path: the stash first, in order.
    fn next_event(&mut self) -> Option<Event> {
        if let Some(event) = self.stash.pop_front() {
            self.stash_bytes -= event_cost(&event);
            if self.stash.is_empty() {
                self.stash_closed = false;
                self.stash_data = false;
            }
            return Some(event);
        }
        self.conn.poll_event()
    }

    /// The hot path of the read side: the next event, if it is already
    /// buffered and `hot` takes it, with nothing kept for the read path
    /// and no timer fired. A data message queues nothing to write and needs
    /// no timer, so neither is touched. An event `hot` does not take is
    /// kept (in order, in the stash) for the full path.
    fn next_buffered<T>(&mut self, hot: impl FnOnce(Event) -> Result<T, Event>) -> Option<T> {
        if self.finished
            || !self.stash.is_empty()
            || self.fanout.timer_fired.load(Ordering::Relaxed)
        {
            return None;
        }
        let event = self.conn.poll_event()?;
        match hot(event) {
            Ok(item) => Some(item),
            Err(event) => {
                self.stash_push(event);
                None
            }
        }
    }

    /// Moves events out of the connection into the stash, which queues the
    /// pongs and the close reply, until the stash is full. Returns whether
    /// it moved any.
    fn stash_events(&mut self) -> bool {
        let mut moved = false;
        while self.stash_has_room() {
            let Some(event) = self.conn.poll_event() else {
                break;
            };
            self.stash_push(event);
            moved = true;
        }
        moved
    }

    /// Keeps `event` for the read path, after the ones kept before it.
    fn stash_push(&mut self, event: Event) {
        self.stash_closed |= matches!(event, Event::Failed(_) | Event::Message(Message::Close(_)));
        self.stash_data |= is_data(&event);
        self.stash_bytes += event_cost(&event);
        self.stash.push_back(event);
    }

    /// Whether the write path may take another event for the read path.
    fn stash_has_room(&self) -> bool {
        !self.stash_closed
            && self.stash_bytes < self.high_water
            && !(self.stash_data && self.conn.close_is_next())
    }

    /// After a batch of inputs or commands: the timers arm from them. The
    /// clock is read only when the connection asks for it, which it does
    /// by making its deadline the last time it was given (a batch that
    /// re-armed a timer); a busy connection with no timer to re-arm reads
    /// no clock per batch.
    fn after_io(&mut self) {
        if self.conn.poll_timeout().is_some_and(|d| d <= self.clock) {
            self.tick(Instant::now().into_std());
        }
    }

    /// Whether the write path may read more: the stash has room and the
    /// send queue is under its mark.
    fn may_pump(&self) -> bool {
        !self.read_ended
            && !self.broken
            && receiving(&self.conn)
            && self.stash_has_room()
            && self.conn.buffered_amount() <= self.high_water
    }

    /// The connection is over: nothing more will be sent, except what is
    /// queued, which may still be written.
    fn is_over(&self) -> bool {
        self.broken || self.conn.is_closed()
    }

    /// Whether a message may be sent now, or why not.
    fn check_send(&self) -> Result<(), Error> {
        if self.broken || self.conn.state() != State::Open {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    // ----- timers -----

    /// Fires the timers that are due and sets the one `Sleep` to the next
    /// deadline. The `Sleep` is polled with its own waker, which wakes every
    /// task waiting on the connection; it is polled only when it is new,
    /// when its deadline moved earlier, or when it woke that waker, so a
    /// busy connection neither polls it nor touches the timer wheel per
    /// message.
    fn run_timers(&mut self) {
        for _ in 0..MAX_TIMER_ROUNDS {
            let core = self.conn.poll_timeout().map(Instant::from_std);
            let deadline = match (core, self.drain_deadline.filter(|_| !self.drain_expired)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let Some(at) = deadline else {
                return;
            };
            let fired = self.fanout.timer_fired.swap(false, Ordering::Acquire);
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(::tokio::time::sleep_until(at)));
            // Only an earlier deadline moves the timer: one that moved later
            // (keepalive and send deadlines move with every batch) lets the
            // timer fire early once, a no-op for the core, and it is set
            // again then.
            let earlier = self.sleep_at.is_none_or(|armed| at < armed);
            if earlier {
                sleep.as_mut().reset(at);
                self.sleep_at = Some(at);
            }
            if self.sleep_registered && !earlier && !fired {
                return;
            }
            let mut tcx = Context::from_waker(&self.timer_waker);
            if sleep.as_mut().poll(&mut tcx).is_pending() {
                self.sleep_registered = true;
                return;
            }
            self.sleep_registered = false;
            let now = Instant::now();
            self.tick(now.into_std());
            if self.drain_deadline.is_some_and(|d| d <= now) {
                self.drain_expired = true;
            }
            // Polled again with the same deadline, a `Sleep` that fired
            // stays ready; a new one is set on the next round.
            self.sleep_at = None;
        }
    }

    // ----- transport -----

    /// Writes what the connection queued, vectored, until the queue is
    /// empty or the transport would block; then flushes the transport.
    fn poll_write_out<W: AsyncWrite + Unpin>(
        &mut self,
        w: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        if self.broken || self.shut_down || self.conn.buffered_amount() == 0 {
            return Poll::Ready(Ok(()));
        }
        let mut wrote = false;
        loop {
            let result = {
                // The queue is lent, not copied.
                let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
                let n = self.conn.transmit_slices(&mut slices);
                if n == 0 {
                    break;
                }
                Pin::new(&mut *w).poll_write_vectored(cx, &slices[..n])
            };
            match result {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.conn.advance_transmit(n);
                    wrote = true;
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        if wrote {
            return Pin::new(w).poll_flush(cx);
        }
        Poll::Ready(Ok(()))
    }

    /// Writes what it can without waiting; a transport error ends the
    /// connection (reported as `Err` while the peer could still send).
    fn flush_some<W: AsyncWrite + Unpin>(
        &mut self,
        w: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Error>> {
        match self.poll_write_out(w, cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => {
                self.broken = true;
                let live = receiving(&self.conn);
                self.conn.handle_eof();
                match live {
                    true => Poll::Ready(Err(Error::Io(e))),
                    // After the close handshake (or a failure) a reset is
                    // the end of the transport.
                    false => Poll::Ready(Ok(())),
                }
            }
        }
    }

    /// Once the connection is over: writes what is left (for at most
    /// [`CLOSED_FLUSH_GRACE`]) and shuts the transport's write side down
    /// when the connection says so ([`Connection::poll_shutdown`]).
    fn poll_finish<W: AsyncWrite + Unpin>(&mut self, w: &mut W, cx: &mut Context<'_>) -> Poll<()> {
        if self.shut_down {
            return Poll::Ready(());
        }
        if !self.broken && !self.drain_expired && self.conn.buffered_amount() > 0 {
            if self.drain_deadline.is_none() {
                self.drain_deadline = Some(Instant::now() + CLOSED_FLUSH_GRACE);
                self.run_timers();
            }
            if self.flush_some(w, cx).is_pending() && !self.drain_expired {
                return Poll::Pending;
            }
        }
        // Everything queued was handed out (or will not be): RFC 6455
        // §7.1.1, the TCP connection is closed, starting with our side.
        let drained = self.conn.poll_shutdown();
        self.shutdown_due |= drained || self.broken || self.drain_expired;
        if !self.shutdown_due {
            return Poll::Pending;
        }
        if !self.broken && Pin::new(&mut *w).poll_shutdown(cx).is_pending() && !self.drain_expired {
            return Poll::Pending;
        }
        self.shut_down = true;
        Poll::Ready(())
    }

    /// Handles the outcome of one read.
    fn after_read(&mut self, result: io::Result<usize>) -> Result<(), Error> {
        match result {
            Ok(0) => {
                self.read_ended = true;
                self.conn.handle_eof();
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                self.read_ended = true;
                let live = receiving(&self.conn);
                self.conn.handle_eof();
                if live {
                    self.broken = true;
                    return Err(Error::Io(e));
                }
            }
        }
        self.after_io();
        Ok(())
    }
}

/// One read from `r` into `conn`; returns the count read (0 at the end).
fn poll_read_into<R: AsyncRead + Unpin>(
    conn: &mut Connection,
    r: &mut R,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    let pending = conn.received_amount();
    if pending < READ_CHUNK {
        let mut chunk = [MaybeUninit::uninit(); READ_CHUNK];
        let mut buf = ReadBuf::uninit(&mut chunk);
        match Pin::new(r).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => {
                conn.handle_read(buf.filled());
                Poll::Ready(Ok(buf.filled().len()))
            }
            other => other.map(|r| r.map(|()| 0)),
        }
    } else {
        // A large frame is arriving: read straight into the connection.
        let mut buf = ReadBuf::new(conn.recv_buffer(pending.min(MAX_READ_CHUNK)));
        let result = Pin::new(r).poll_read(cx, &mut buf);
        let n = match result {
            Poll::Ready(Ok(())) => buf.filled().len(),
            _ => 0,
        };
        conn.handle_received(n);
        result.map(|r| r.map(|()| n))
    }
}

/// A data message, or a piece of one (streaming).
fn is_data(event: &Event) -> bool {
    matches!(
        event,
        Event::Message(Message::Text(_) | Message::Binary(_)) | Event::Chunk { .. }
    )
}

/// What an event is worth in the stash.
fn event_cost(event: &Event) -> usize {
    EVENT_OVERHEAD
        + match event {
            Event::Message(Message::Text(t)) => t.len(),
            Event::Message(Message::Binary(b) | Message::Ping(b) | Message::Pong(b)) => b.len(),
            Event::Chunk { data, .. } => data.len(),
            _ => 0,
        }
}

/// Whether the peer can still send anything the connection will deliver.
fn receiving(conn: &Connection) -> bool {
    matches!(conn.state(), State::Open | State::CloseSent)
}

/// An event as the read side hands it out: a failure is an error.
fn into_item(event: Event) -> Result<Event, Error> {
    match event {
        Event::Failed(e) => Err(Error::Protocol(e)),
        event => Ok(event),
    }
}

/// An event as the `Stream` hands it out: a message.
pub(crate) fn into_message(event: Result<Event, Error>) -> Result<Message, Error> {
    match event? {
        Event::Message(message) => Ok(message),
        _ => Err(Error::Streaming),
    }
}

/// Queues `message` on the connection.
pub(crate) fn queue_message(conn: &mut Connection, message: Message) -> Result<(), crate::Error> {
    conn.send(message)
}

/// Access to the driver and the two directions of the transport: the
/// whole stream owns them; its halves share them behind short locks.
///
/// Locks are taken in one order: the read transport, then the driver with
/// the write transport. Neither is held across an `.await`: each closure
/// runs one non-blocking step.
pub(crate) trait Link {
    /// The read direction of the transport.
    type R: AsyncRead + Unpin;
    /// The write direction of the transport.
    type W: AsyncWrite + Unpin;

    /// Runs `f` on the driver and the write transport.
    fn with<T>(&mut self, f: impl FnOnce(&mut Driver, &mut Self::W) -> T) -> T;

    /// One read from the transport into the connection. `wait`: the read
    /// side waits its turn; the write side (`false`) skips the read when
    /// the read side is reading, and gets `None`.
    fn poll_read(&mut self, cx: &mut Context<'_>, wait: bool) -> Option<Poll<io::Result<usize>>>;
}

/// The read transport and the driver in one place: one read.
pub(crate) fn read_owned<R: AsyncRead + Unpin>(
    driver: &mut Driver,
    r: &mut R,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    poll_read_into(&mut driver.conn, r, cx)
}

/// One read for the halves: small reads go onto the stack without the
/// driver's lock, so that a writer is not held up by the read; a large
/// frame is read straight into the connection, under it.
pub(crate) fn read_shared<R: AsyncRead + Unpin, W>(
    r: &mut R,
    state: &Mutex<(Driver, W)>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    if lock().0.conn.received_amount() >= READ_CHUNK {
        return poll_read_into(&mut lock().0.conn, r, cx);
    }
    let mut chunk = [MaybeUninit::uninit(); READ_CHUNK];
    let mut buf = ReadBuf::uninit(&mut chunk);
    match Pin::new(r).poll_read(cx, &mut buf) {
        Poll::Ready(Ok(())) => {
            lock().0.conn.handle_read(buf.filled());
            Poll::Ready(Ok(buf.filled().len()))
        }
        other => other.map(|r| r.map(|()| 0)),
    }
}

/// The write path's chore: reads what has arrived and turns it into events,
/// kept for the read path, which queues pongs and the close reply.
fn pump<L: Link>(link: &mut L, cx: &mut Context<'_>) {
    loop {
        let go = link.with(|d, _| {
            if d.stash_events() {
                d.fanout.wake_side(Side::Read);
            }
            d.may_pump()
        });
        if !go {
            return;
        }
        let result = match link.poll_read(cx, false) {
            None | Some(Poll::Pending) => return,
            Some(Poll::Ready(result)) => result,
        };
        let failed = link.with(|d, _| {
            let result = d.after_read(result);
            if d.stash_events() || result.is_err() {
                d.fanout.wake_side(Side::Read);
            }
            result.is_err()
        });
        if failed {
            // The read path reports the error.
            return;
        }
    }
}

/// What the read path's locked step decided.
enum ReadStep {
    Done(Option<Result<Event, Error>>),
    Pending,
    Read,
}

/// The `Stream`: the next message, driving everything else meanwhile.
pub(crate) fn poll_next<L: Link>(
    link: &mut L,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Message, Error>>> {
    let hot = |event| match event {
        Event::Message(message @ (Message::Text(_) | Message::Binary(_))) => Ok(message),
        event => Err(event),
    };
    if let Some(message) = link.with(|d, _| d.next_buffered(hot)) {
        return Poll::Ready(Some(Ok(message)));
    }
    poll_next_driven(link, cx).map(|item| item.map(into_message))
}

/// The next event (a message, or a piece of one in streaming mode),
/// driving everything else meanwhile.
pub(crate) fn poll_next_event<L: Link>(
    link: &mut L,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Event, Error>>> {
    let hot = |event| {
        if is_data(&event) {
            Ok(event)
        } else {
            Err(event)
        }
    };
    if let Some(event) = link.with(|d, _| d.next_buffered(hot)) {
        return Poll::Ready(Some(Ok(event)));
    }
    poll_next_driven(link, cx)
}

/// [`poll_next_event`] past its hot path (which the caller just tried): the
/// timers, the stash, the writes and the reads.
fn poll_next_driven<L: Link>(
    link: &mut L,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Event, Error>>> {
    let waker = link.with(|d, _| d.enter(Side::Read, cx.waker()));
    let mut fcx = Context::from_waker(&waker);
    loop {
        let step = link.with(|d, w| {
            if d.finished {
                return ReadStep::Done(None);
            }
            d.run_timers();
            if let Some(event) = d.next_event() {
                // Pongs and the close reply go out before the caller hears of
                // the event, as far as the transport takes them now.
                if let Poll::Ready(Err(e)) = d.flush_some(w, &mut fcx) {
                    d.finished = true;
                    return ReadStep::Done(Some(Err(e)));
                }
                d.after_io();
                d.run_timers();
                return ReadStep::Done(Some(into_item(event)));
            }
            if let Poll::Ready(Err(e)) = d.flush_some(w, &mut fcx) {
                return ReadStep::Done(Some(Err(e)));
            }
            if d.is_over() || d.read_ended {
                return match d.poll_finish(w, &mut fcx) {
                    Poll::Ready(()) => {
                        d.finished = true;
                        ReadStep::Done(None)
                    }
                    Poll::Pending => ReadStep::Pending,
                };
            }
            // Backpressure: while the send queue is over its mark, reading
            // stops, so a peer that does not read cannot grow it with pings.
            if d.conn.buffered_amount() > d.high_water {
                return ReadStep::Pending;
            }
            ReadStep::Read
        });
        match step {
            ReadStep::Done(item) => return Poll::Ready(item),
            ReadStep::Pending => return Poll::Pending,
            ReadStep::Read => {}
        }
        match link.poll_read(&mut fcx, true) {
            Some(Poll::Ready(result)) => {
                if let Err(e) = link.with(|d, _| d.after_read(result)) {
                    return Poll::Ready(Some(Err(e)));
                }
            }
            Some(Poll::Pending) | None => return Poll::Pending,
        }
    }
}

/// `Sink::poll_ready`: Pending while the send queue is over the high-water
/// mark, writing it out meanwhile (and reading, and running the timers, so
/// that a blocked writer still answers pings and a peer that stops reading
/// is failed by the pong or close deadline).
pub(crate) fn poll_ready<L: Link>(link: &mut L, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
    // Under the mark, ready at once: nothing to wait for, no task to register.
    let under = link.with(|d, _| {
        d.check_send()?;
        Ok::<_, Error>(d.conn.buffered_amount() <= d.high_water)
    })?;
    if under {
        return Poll::Ready(Ok(()));
    }
    let waker = link.with(|d, _| d.enter(Side::Write, cx.waker()));
    let mut fcx = Context::from_waker(&waker);
    if let Poll::Ready(Err(e)) = link.with(|d, w| d.flush_some(w, &mut fcx)) {
        return Poll::Ready(Err(e));
    }
    pump(link, &mut fcx);
    link.with(|d, w| {
        d.run_timers();
        if let Poll::Ready(Err(e)) = d.flush_some(w, &mut fcx) {
            return Poll::Ready(Err(e));
        }
        d.check_send()?;
        match d.conn.buffered_amount() > d.high_water {
            true => Poll::Pending,
            false => Poll::Ready(Ok(())),
        }
    })
}

/// `Sink::start_send`: queues the message; nothing is written yet.
pub(crate) fn start_send<L: Link>(link: &mut L, message: Message) -> Result<(), Error> {
    // The timers arm when the queue is written (`poll_flush`), not per message.
    link.with(|d, _| {
        d.check_send()?;
        queue_message(&mut d.conn, message)?;
        Ok(())
    })
}

/// Runs a command on the connection (a send), as `start_send` does.
pub(crate) fn command<L: Link, T>(
    link: &mut L,
    f: impl FnOnce(&mut Connection) -> Result<T, crate::Error>,
) -> Result<T, Error> {
    // As for `start_send`: the timers arm when the queue is written.
    link.with(|d, _| {
        d.check_send()?;
        Ok(f(&mut d.conn)?)
    })
}

/// `Sink::poll_flush`: writes everything queued, one vectored write per
/// readiness cycle. What is queued goes out first; then what has arrived is
/// read and processed (so pings are answered while the application only
/// sends), and what that queued goes out too.
pub(crate) fn poll_flush<L: Link>(link: &mut L, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
    let waker = link.with(|d, _| d.enter(Side::Write, cx.waker()));
    let mut fcx = Context::from_waker(&waker);
    if let Poll::Ready(Err(e)) = link.with(|d, w| d.flush_some(w, &mut fcx)) {
        return Poll::Ready(Err(e));
    }
    pump(link, &mut fcx);
    link.with(|d, w| {
        d.run_timers();
        if d.broken {
            return Poll::Ready(Err(Error::Closed));
        }
        if d.is_over() {
            // Closed: what is left gets a bounded time to go out.
            return d.poll_finish(w, &mut fcx).map(Ok);
        }
        ready!(d.flush_some(w, &mut fcx))?;
        Poll::Ready(Ok(()))
    })
}

/// `Sink::poll_close`: sends a close frame (1000) unless one was sent, and
/// writes everything out. It does not wait for the peer's close: keep
/// reading until the stream ends for that.
pub(crate) fn poll_close<L: Link>(link: &mut L, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
    link.with(|d, _| {
        if !d.broken && d.conn.state() == State::Open {
            let _ = d.conn.close(CloseCode::NORMAL, "");
            d.after_io();
        }
    });
    match poll_flush(link, cx) {
        Poll::Ready(Err(Error::Closed)) => Poll::Ready(Ok(())),
        other => other,
    }
}
