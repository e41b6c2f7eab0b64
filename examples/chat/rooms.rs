//! Rooms, their members, and the broadcast: one [`PreparedMessage`] per
//! message, queued on every recipient's connection without being framed,
//! compressed or copied again.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;
use wsproto::PreparedMessage;

/// Messages at least this long are also compressed, once, for the members
/// that negotiated permessage-deflate without context takeover.
const COMPRESS_FROM: usize = 256;
/// The window and level they are compressed with (RFC 7692 §7.2.1).
const WINDOW_BITS: u8 = 15;
const LEVEL: u32 = 6;

/// Who is in which room, on this instance, and who is in it on the others
/// (as far as their join and leave notices told, while they are heard from).
#[derive(Default)]
pub struct Rooms {
    rooms: Mutex<HashMap<String, Room>>,
    /// When each other instance was last heard from.
    heard: Mutex<HashMap<String, Instant>>,
}

/// A member of another instance dropped from a room's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gone {
    /// The room.
    pub room: String,
    /// The instance it was on.
    pub instance: String,
    /// Its id there.
    pub id: u64,
    /// Its name.
    pub name: String,
}

#[derive(Default)]
struct Room {
    members: BTreeMap<u64, Member>,
    /// Members on other instances: (instance, id) → name.
    remote: BTreeMap<(String, u64), String>,
}

struct Member {
    name: String,
    outbox: mpsc::Sender<Arc<PreparedMessage>>,
    /// Told when the member is too slow to keep: its task closes with 1013.
    kick: Arc<Notify>,
}

/// What a member's task holds: its queue of messages to send, and the
/// signal that it fell behind.
pub struct Membership {
    /// Prepared messages for this member, in order.
    pub inbox: mpsc::Receiver<Arc<PreparedMessage>>,
    /// Notified when the member's queue overflowed.
    pub kicked: Arc<Notify>,
}

/// How many broadcasts may wait for one member's task before the member
/// counts as too slow.
pub const OUTBOX: usize = 64;

/// A broadcast's result: how many members it was queued for, and how many
/// were too slow to take it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Members it was queued for.
    pub queued: usize,
    /// Members whose queue was full: skipped, and told to close.
    pub slow: usize,
}

/// A message framed once (and compressed once, if long enough).
pub fn prepare(text: String) -> Arc<PreparedMessage> {
    let long = text.len() >= COMPRESS_FROM;
    let message = PreparedMessage::text(text);
    Arc::new(if long {
        message.with_deflate(WINDOW_BITS, LEVEL)
    } else {
        message
    })
}

/// The JSON for a chat message.
pub fn message_json(room: &str, name: &str, text: &str, instance: &str) -> String {
    json!({"type": "message", "room": room, "name": name, "text": text, "instance": instance})
        .to_string()
}

/// The JSON for a join, a leave, or a member found present.
pub fn presence_json(kind: &str, room: &str, name: &str, id: u64, instance: &str) -> String {
    json!({"type": kind, "room": room, "name": name, "id": id, "instance": instance}).to_string()
}

impl Rooms {
    /// Adds a member; returns what its task reads from, and the member
    /// list as the new member sees it (itself included).
    pub fn join(&self, room: &str, id: u64, name: &str) -> (Membership, Vec<String>) {
        let (outbox, inbox) = mpsc::channel(OUTBOX);
        let kicked = Arc::new(Notify::new());
        let mut rooms = self.rooms.lock().unwrap();
        let entry = rooms.entry(room.to_owned()).or_default();
        entry.members.insert(
            id,
            Member {
                name: name.to_owned(),
                outbox,
                kick: kicked.clone(),
            },
        );
        let names = entry.names();
        (Membership { inbox, kicked }, names)
    }

    /// Removes a member; an empty room is dropped.
    pub fn leave(&self, room: &str, id: u64) {
        let mut rooms = self.rooms.lock().unwrap();
        if let Some(entry) = rooms.get_mut(room) {
            entry.members.remove(&id);
            if entry.members.is_empty() && entry.remote.is_empty() {
                rooms.remove(room);
            }
        }
    }

    /// Records a member of another instance joining (or found present) or
    /// leaving; returns whether that changed the room's list.
    pub fn remote_presence(
        &self,
        room: &str,
        instance: &str,
        id: u64,
        name: &str,
        joined: bool,
    ) -> bool {
        let mut rooms = self.rooms.lock().unwrap();
        let key = (instance.to_owned(), id);
        if joined {
            rooms
                .entry(room.to_owned())
                .or_default()
                .remote
                .insert(key, name.to_owned())
                .is_none()
        } else if let Some(entry) = rooms.get_mut(room) {
            let removed = entry.remote.remove(&key).is_some();
            if entry.members.is_empty() && entry.remote.is_empty() {
                rooms.remove(room);
            }
            removed
        } else {
            false
        }
    }

    /// Another instance said something: it is alive now. Returns whether
    /// it was unknown here (new, or forgotten by [`forget_silent`](Self::forget_silent)).
    pub fn heard_from(&self, instance: &str, now: Instant) -> bool {
        let mut heard = self.heard.lock().unwrap();
        match heard.get_mut(instance) {
            Some(at) => {
                *at = now;
                false
            }
            None => {
                heard.insert(instance.to_owned(), now);
                true
            }
        }
    }

    /// Drops the members of every instance not heard from since `cutoff`
    /// (it died, or this one lost Redis meanwhile) and returns them; an
    /// instance heard from again is listed again by its `present` notices.
    pub fn forget_silent(&self, cutoff: Instant) -> Vec<Gone> {
        let mut heard = self.heard.lock().unwrap();
        let silent: Vec<String> = heard
            .iter()
            .filter(|(_, at)| **at < cutoff)
            .map(|(instance, _)| instance.clone())
            .collect();
        if silent.is_empty() {
            return Vec::new();
        }
        for instance in &silent {
            heard.remove(instance);
        }
        let mut rooms = self.rooms.lock().unwrap();
        let mut gone = Vec::new();
        rooms.retain(|room, entry| {
            entry.remote.retain(|(instance, id), name| {
                if !silent.contains(instance) {
                    return true;
                }
                gone.push(Gone {
                    room: room.clone(),
                    instance: instance.clone(),
                    id: *id,
                    name: std::mem::take(name),
                });
                false
            });
            !(entry.members.is_empty() && entry.remote.is_empty())
        });
        gone
    }

    /// Every member on this instance: room, id and name.
    pub fn local_members(&self) -> Vec<(String, u64, String)> {
        let rooms = self.rooms.lock().unwrap();
        rooms
            .iter()
            .flat_map(|(room, entry)| {
                entry
                    .members
                    .iter()
                    .map(move |(id, m)| (room.clone(), *id, m.name.clone()))
            })
            .collect()
    }

    /// Whether `room` has members on this instance.
    pub fn has_local(&self, room: &str) -> bool {
        let rooms = self.rooms.lock().unwrap();
        rooms.get(room).is_some_and(|r| !r.members.is_empty())
    }

    /// Queues `message` for every member of `room` on this instance but
    /// `except`. Never waits: a member whose queue is full is skipped and
    /// told to close (it is too slow for the room).
    pub fn broadcast(
        &self,
        room: &str,
        message: &Arc<PreparedMessage>,
        except: Option<u64>,
    ) -> Delivery {
        let rooms = self.rooms.lock().unwrap();
        let mut delivery = Delivery::default();
        let Some(entry) = rooms.get(room) else {
            return delivery;
        };
        for (id, member) in &entry.members {
            if Some(*id) == except {
                continue;
            }
            match member.outbox.try_send(message.clone()) {
                Ok(()) => delivery.queued += 1,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    delivery.slow += 1;
                    member.kick.notify_one();
                }
                // Its task has ended and is about to leave.
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        delivery
    }
}

impl Room {
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .members
            .values()
            .map(|m| m.name.clone())
            .chain(self.remote.values().cloned())
            .collect();
        names.sort();
        names
    }
}

/// A token bucket: `burst` messages at once, refilled at `rate` per second.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        Self {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(2.0, 3.0, t0);
        assert!((0..3).all(|_| bucket.take(t0)));
        assert!(!bucket.take(t0));
        assert!(bucket.take(t0 + Duration::from_millis(500)));
        assert!(!bucket.take(t0 + Duration::from_millis(500)));
        // Never more than the burst, however long it rested.
        let later = t0 + Duration::from_secs(100);
        assert_eq!((0..10).filter(|_| bucket.take(later)).count(), 3);
    }

    #[test]
    fn only_the_members_of_silent_instances_are_forgotten() {
        let rooms = Rooms::default();
        let t0 = Instant::now();
        let (_membership, _) = rooms.join("r", 1, "local");
        assert!(rooms.remote_presence("r", "dead", 7, "dan", true));
        assert!(rooms.remote_presence("s", "dead", 8, "dee", true));
        assert!(rooms.remote_presence("r", "live", 9, "liz", true));
        assert!(rooms.heard_from("dead", t0), "new here");
        assert!(rooms.heard_from("live", t0));
        assert!(!rooms.heard_from("live", t0 + Duration::from_secs(2)));
        assert!(rooms.forget_silent(t0).is_empty());

        let mut gone = rooms.forget_silent(t0 + Duration::from_secs(1));
        gone.sort_by_key(|g| g.id);
        let names: Vec<(&str, &str, u64)> = gone
            .iter()
            .map(|g| (g.room.as_str(), g.name.as_str(), g.id))
            .collect();
        assert_eq!(names, [("r", "dan", 7), ("s", "dee", 8)]);
        assert!(gone.iter().all(|g| g.instance == "dead"));
        // The live one stays; the room with only the dead one's member is gone.
        let (_again, names) = rooms.join("r", 2, "new");
        assert_eq!(names, ["liz", "local", "new"]);
        assert!(!rooms.has_local("s"));
        // Forgotten once; heard from again, it is new here.
        assert!(rooms.forget_silent(t0 + Duration::from_secs(1)).is_empty());
        assert!(rooms.heard_from("dead", t0 + Duration::from_secs(3)));
    }
}
