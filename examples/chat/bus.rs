//! Rooms shared by several instances through Redis pub/sub.
//!
//! Each instance publishes what its members send to the channel
//! `chat:room:NAME`, as `INSTANCE\nJSON`, and subscribes to `chat:room:*`;
//! what another instance published is framed once here and queued on this
//! instance's members of that room. Sticky sessions are not needed: any
//! member may be on any instance.
//!
//! Join and leave notices keep each instance's list of the members on the
//! others. An instance that subscribes (at start, or again after losing
//! Redis) has missed the joins before it, so it asks for them on
//! `chat:sync`: every other instance answers with a `present` notice per
//! member it has, which the asking instance adds to its lists and passes on
//! to its members of that room, as a join that is not news.
//!
//! Every instance says it is alive on `chat:alive` once a heartbeat; any
//! message from an instance counts as hearing from it. The members of an
//! instance not heard from for [`SILENT_BEATS`] heartbeats (it died
//! without its leave notices, stalled, or this instance lost Redis) are
//! dropped from the lists, and this instance's members of their rooms get
//! a `leave` notice for each. An instance heard from that is not known here
//! (new, or dropped after a silence) is asked alone who it has (`sync` with
//! `of`), and its answer lists them again.
//!
//! Redis going away does not stop an instance: its own members keep
//! talking, messages for the others are dropped meanwhile, and both the
//! subscriber and the publisher reconnect with exponential backoff (100 ms
//! doubling to 5 s, with jitter so that a fleet does not reconnect in step).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;
use tokio::sync::{mpsc, watch};

use tokio::time::Instant;

use super::rooms::{prepare, presence_json, Rooms};

const PATTERN: &str = "chat:room:*";
const PREFIX: &str = "chat:room:";
/// Where an instance that just subscribed asks who is present.
const SYNC: &str = "chat:sync";
/// Where instances say they are alive.
const ALIVE: &str = "chat:alive";
/// Heartbeats an instance may miss before its members are dropped.
const SILENT_BEATS: u32 = 3;
/// Messages waiting for the publisher; past this, new ones are dropped.
const QUEUE: usize = 1024;

/// The publishing side.
#[derive(Clone)]
pub struct Bus {
    publish: mpsc::Sender<(String, String)>,
}

impl Bus {
    /// Connects to Redis at `url` in the background, for `instance`, and
    /// delivers what the other instances publish to `rooms`. Runs until
    /// `shutdown` turns true.
    pub fn start(
        url: &str,
        instance: String,
        rooms: Arc<Rooms>,
        heartbeat: Duration,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("{url}: {e}"))?;
        let (publish, queue) = mpsc::channel(QUEUE);
        let bus = Self { publish };
        tokio::spawn(subscriber(
            client.clone(),
            instance.clone(),
            rooms.clone(),
            bus.clone(),
            shutdown.clone(),
        ));
        tokio::spawn(heartbeats(
            bus.clone(),
            instance,
            rooms,
            heartbeat,
            shutdown.clone(),
        ));
        tokio::spawn(publisher(client, queue, shutdown));
        Ok(bus)
    }

    /// Publishes `json` to the other instances' members of `room`; never
    /// waits (dropped if the publisher is behind or Redis is away).
    pub fn publish(&self, room: &str, instance: &str, json: &str) {
        self.send(format!("{PREFIX}{room}"), instance, json);
    }

    /// Asks the other instances who is present: all of them, or only
    /// the instance `of`.
    fn ask_who_is_present(&self, instance: &str, of: Option<&str>) {
        let json = match of {
            None => serde_json::json!({"type": "sync"}),
            Some(of) => serde_json::json!({"type": "sync", "of": of}),
        };
        self.send(SYNC.to_owned(), instance, &json.to_string());
    }

    /// Tells the other instances this one is alive.
    fn say_alive(&self, instance: &str) {
        self.send(ALIVE.to_owned(), instance, r#"{"type":"alive"}"#);
    }

    /// Queues `INSTANCE\nJSON` for `channel`, or drops it if the queue is full.
    fn send(&self, channel: String, instance: &str, json: &str) {
        let _ = self
            .publish
            .try_send((channel, format!("{instance}\n{json}")));
    }
}

/// Once a heartbeat: says this instance is alive, and drops the members of
/// the instances it has not heard from for [`SILENT_BEATS`] of them,
/// telling this instance's members of their rooms that they left.
async fn heartbeats(
    bus: Bus,
    instance: String,
    rooms: Arc<Rooms>,
    period: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => return,
        }
        bus.say_alive(&instance);
        let Some(cutoff) = Instant::now().checked_sub(period * SILENT_BEATS) else {
            continue;
        };
        for gone in rooms.forget_silent(cutoff) {
            if rooms.has_local(&gone.room) {
                let json = presence_json("leave", &gone.room, &gone.name, gone.id, &gone.instance);
                rooms.broadcast(&gone.room, &prepare(json), None);
            }
        }
    }
}

/// Exponential backoff with jitter.
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(5);

    fn new() -> Self {
        Self { next: Self::FIRST }
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }

    /// The delay to wait now: between half and all of the current step.
    fn delay(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        let mut byte = [0u8; 1];
        let _ = getrandom::fill(&mut byte);
        step / 2 + step.mul_f64(f64::from(byte[0]) / 510.0)
    }
}

/// Sleeps for `delay`, or less if shutdown comes; `false` on shutdown.
async fn pause(delay: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(delay) => !*shutdown.borrow(),
        _ = shutdown.changed() => false,
    }
}

async fn subscriber(
    client: redis::Client,
    instance: String,
    rooms: Arc<Rooms>,
    bus: Bus,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new();
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match subscribe(&mut pubsub).await {
                Ok(()) => {
                    eprintln!("chat: subscribed to {PATTERN} on Redis");
                    backoff.reset();
                    // Joins before this subscription were missed: ask.
                    bus.ask_who_is_present(&instance, None);
                    let mut messages = pubsub.into_on_message();
                    loop {
                        tokio::select! {
                            message = messages.next() => match message {
                                Some(message) => deliver(&instance, &rooms, &bus, &message),
                                None => break,
                            },
                            _ = shutdown.changed() => return,
                        }
                    }
                    // Whoever was on other instances may be gone meanwhile.
                    eprintln!("chat: lost the Redis subscription; reconnecting");
                }
                Err(e) => eprintln!("chat: Redis SUBSCRIBE: {e}"),
            },
            Err(e) => eprintln!("chat: Redis: {e}"),
        }
        if !pause(backoff.delay(), &mut shutdown).await {
            return;
        }
    }
}

/// The rooms' channels and the ones for presence requests and heartbeats.
async fn subscribe(pubsub: &mut redis::aio::PubSub) -> redis::RedisResult<()> {
    pubsub.psubscribe(PATTERN).await?;
    pubsub.subscribe(SYNC).await?;
    pubsub.subscribe(ALIVE).await
}

/// One message from another instance: queued on this one's members, or,
/// a presence request, answered.
fn deliver(instance: &str, rooms: &Rooms, bus: &Bus, message: &redis::Msg) {
    let Ok(payload) = message.get_payload::<String>() else {
        return;
    };
    let Some((from, json)) = payload.split_once('\n') else {
        return;
    };
    if from == instance {
        return; // our own, already delivered here
    }
    if rooms.heard_from(from, Instant::now()) {
        // New here, or forgotten after a silence: whoever it has was never
        // listed, or was dropped; ask it alone.
        bus.ask_who_is_present(instance, Some(from));
    }
    let channel = message.get_channel_name();
    if channel == ALIVE {
        return;
    }
    if channel == SYNC {
        let asked = serde_json::from_str::<serde_json::Value>(json)
            .ok()
            .and_then(|v| v["of"].as_str().map(str::to_owned));
        if asked.is_some_and(|of| of != instance) {
            return; // a question for another instance
        }
        for (room, id, name) in rooms.local_members() {
            bus.publish(
                &room,
                instance,
                &presence_json("present", &room, &name, id, instance),
            );
        }
        return;
    }
    let Some(room) = channel.strip_prefix(PREFIX) else {
        return;
    };
    // Presence notices keep the member list; everything is shown, but a
    // `present` notice only when it is news here.
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(json) {
        let kind = value["type"].as_str().unwrap_or_default();
        if matches!(kind, "join" | "leave" | "present") {
            let name = value["name"].as_str().unwrap_or_default();
            let id = value["id"].as_u64().unwrap_or_default();
            let changed = rooms.remote_presence(room, from, id, name, kind != "leave");
            if kind == "present" && !changed {
                return;
            }
        }
    }
    if rooms.has_local(room) {
        // Framed once here, for every member of the room on this instance.
        rooms.broadcast(room, &prepare(json.to_owned()), None);
    }
}

async fn publisher(
    client: redis::Client,
    mut queue: mpsc::Receiver<(String, String)>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new();
    loop {
        match client.get_multiplexed_async_connection().await {
            Ok(mut conn) => {
                backoff.reset();
                loop {
                    let next = tokio::select! {
                        next = queue.recv() => next,
                        _ = shutdown.changed() => None,
                    };
                    let Some((channel, payload)) = next else {
                        // Shutdown: what is queued (the leave notices) goes out first.
                        while let Ok((channel, payload)) = queue.try_recv() {
                            let _: Result<(), _> = conn.publish(channel, payload).await;
                        }
                        return;
                    };
                    let published: Result<(), redis::RedisError> =
                        conn.publish(channel, payload).await;
                    if let Err(e) = published {
                        eprintln!("chat: Redis PUBLISH: {e}; reconnecting");
                        break;
                    }
                }
            }
            Err(e) => eprintln!("chat: Redis: {e}"),
        }
        // Messages sent while Redis is away would arrive late: drop them.
        while queue.try_recv().is_ok() {}
        if !pause(backoff.delay(), &mut shutdown).await {
            return;
        }
    }
}
