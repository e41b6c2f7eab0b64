//! A chat server: rooms joined by name, on one instance or many sharing
//! rooms through Redis.
//!
//! ```text
//! cargo run --example chat --features axum -- --listen 127.0.0.1:8080
//! cargo run --example chat --features axum -- --listen 127.0.0.1:8080 --redis redis://127.0.0.1:6379 --token s3cret --allow-origin https://chat.example.com
//! ```
//!
//! It prints the URL to open; the page (`static/index.html`, `app.js`, no
//! build step) joins a room and shows its messages and members.
//!
//! # Wire protocol
//!
//! Connect to `/ws?room=NAME[&name=NICK]` (with `--token`, also send
//! `Authorization: Bearer SECRET`, or the subprotocol `bearer.SECRET`
//! next to `chat`, or `&token=SECRET`: browsers cannot set headers). Every
//! text message a member sends reaches every other member of the room, on
//! every instance, as one JSON text message:
//! `{"type":"message","room":..,"name":..,"text":..,"instance":..}` with
//! the text unchanged. A member also gets `{"type":"members","room":..,
//! "members":[..],"you":..}` on joining, and `{"type":"join"|"leave",
//! "room":..,"name":..,..}` as others come and go; `{"type":"present",..}`
//! adds a member of another instance who was already there but was not yet
//! known here when the list was sent (an instance learns of those when it
//! connects to Redis). Instances tell each other they are alive every
//! `--heartbeat` seconds; the members of one not heard from for three
//! heartbeats (it died, or this instance lost Redis) are dropped from the
//! lists with a `leave` notice, and come back with `present` once it is
//! heard from again.
//!
//! # What protects it
//!
//! - **Origin** (RFC 6455 §10.2, cross-site WebSocket hijacking): a request
//!   with an `Origin` other than the page's own (`http://` + its `Host`) or
//!   one given with `--allow-origin` gets 403. A request without `Origin`
//!   comes from a non-browser client, which is let in on its token.
//! - **Authentication** (`--token`): checked before accepting; 401 without
//!   a valid token.
//! - **Rate limit**: a token bucket per connection (`--rate` messages per
//!   second, bursts of `--burst`); past it the connection is closed with
//!   1008 and a reason.
//! - **Slow consumers**: a broadcast never waits for a member. A member
//!   whose queue of pending broadcasts fills, or whose connection holds more
//!   than `--max-buffered` bytes unsent, is closed with 1013: it cannot grow
//!   the server's memory or delay the room.
//! - **Keepalive**: a ping after `--ping` seconds of silence, 1011 if no
//!   answer comes.
//! - **Shutdown**: on Ctrl-C (SIGINT) every connection is closed with 1001
//!   before the process exits.
//!
//! # Broadcast
//!
//! A message is framed once, as a [`wsproto::PreparedMessage`] (and, if
//! long enough, compressed once for the members whose permessage-deflate
//! has no server context takeover, which this server asks for), then the
//! same bytes are queued on every member's connection.

mod bus;
mod rooms;

use std::collections::HashMap;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use wsproto::axum::WebSocketUpgrade;
use wsproto::extensions::DeflateConfig;
use wsproto::{CloseCode, Config, Message};

use self::bus::Bus;
use self::rooms::{message_json, prepare, presence_json, Rooms, TokenBucket};

const INDEX: &str = include_str!("static/index.html");
const APP_JS: &str = include_str!("static/app.js");

fn main() -> ExitCode {
    match run_main(std::env::args().skip(1)) {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    }
}

/// The program: reads the command line, serves until Ctrl-C (SIGINT),
/// closes every connection with 1001; `false` if it could not run.
pub fn run_main(args: impl Iterator<Item = String>) -> bool {
    let options = match parse_args(args) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("chat: {e}");
            eprintln!("{USAGE}");
            return false;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("chat: {e}");
            return false;
        }
    };
    runtime.block_on(async {
        let listener = match TcpListener::bind(options.listen).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("chat: cannot listen on {}: {e}", options.listen);
                return false;
            }
        };
        // Registered before the URL is printed: a SIGINT from then on is ours.
        #[cfg(unix)]
        let ctrl_c = {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(mut sigint) = signal(SignalKind::interrupt()) else {
                eprintln!("chat: cannot handle SIGINT");
                return false;
            };
            async move {
                sigint.recv().await;
                eprintln!("chat: shutting down");
            }
        };
        #[cfg(not(unix))]
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("chat: shutting down");
        };
        match run(options, listener, ctrl_c).await {
            Ok(()) => true,
            Err(e) => {
                eprintln!("chat: {e}");
                false
            }
        }
    })
}

/// The usage line.
pub const USAGE: &str = "usage: chat --listen ADDR:PORT [--redis redis://HOST:PORT] [--token SECRET] [--allow-origin ORIGIN]... [--rate PER_SEC] [--burst N] [--max-buffered BYTES] [--ping SECS] [--heartbeat SECS]";

/// What the command line sets.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Redis, to share rooms with other instances.
    pub redis: Option<String>,
    /// The token clients must present.
    pub token: Option<String>,
    /// Origins allowed besides the page's own.
    pub allow_origins: Vec<String>,
    /// Messages per second each connection may send, on average.
    pub rate: f64,
    /// Messages each connection may send at once.
    pub burst: f64,
    /// Unsent bytes a member may have before it is closed with 1013.
    pub max_buffered: usize,
    /// Keepalive: ping after this long without a message from the peer.
    pub ping: Duration,
    /// With Redis: how often this instance says it is alive; one not
    /// heard from for three of these is taken for gone.
    pub heartbeat: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("an address"),
            redis: None,
            token: None,
            allow_origins: Vec::new(),
            rate: 5.0,
            burst: 20.0,
            max_buffered: 256 * 1024,
            ping: Duration::from_secs(20),
            heartbeat: Duration::from_secs(5),
        }
    }
}

/// Reads the command line (without the program name).
pub fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options::default();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => {
                let v = value()?;
                options.listen = v.parse().map_err(|_| format!("not ADDR:PORT: {v}"))?;
            }
            "--redis" => options.redis = Some(value()?),
            "--token" => options.token = Some(value()?),
            "--allow-origin" => options
                .allow_origins
                .push(value()?.trim_end_matches('/').to_owned()),
            "--rate" | "--burst" | "--ping" | "--heartbeat" => {
                let v = value()?;
                let n: f64 = v
                    .parse()
                    .ok()
                    .filter(|n: &f64| n.is_finite() && *n > 0.0)
                    .ok_or(format!("{arg}: not a positive number: {v}"))?;
                match arg.as_str() {
                    "--rate" => options.rate = n,
                    "--burst" => options.burst = n,
                    "--ping" => options.ping = Duration::from_secs_f64(n),
                    _ => options.heartbeat = Duration::from_secs_f64(n),
                }
            }
            "--max-buffered" => {
                let v = value()?;
                options.max_buffered = v.parse().map_err(|_| format!("not a size: {v}"))?;
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

/// The server's state, shared by every request.
pub struct App {
    options: Options,
    rooms: Arc<Rooms>,
    bus: Option<Bus>,
    /// This instance, as other instances know it.
    instance: String,
    next_id: AtomicU64,
    shutdown: watch::Receiver<bool>,
    /// Member tasks running, and a signal when one ends.
    members: AtomicUsize,
    member_ended: Notify,
}

impl App {
    /// Delivers `json` to the room's members here (but `except`) and, through
    /// Redis, to those on other instances: framed once for this instance.
    fn announce(&self, room: &str, json: String, except: Option<u64>) {
        if let Some(bus) = &self.bus {
            bus.publish(room, &self.instance, &json);
        }
        self.rooms.broadcast(room, &prepare(json), except);
    }

    /// Whether a browser page from `origin` may connect (RFC 6455 §10.2):
    /// the page's own origin, or one allowed on the command line.
    fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim_end_matches('/');
        let own = host.is_some_and(|host| {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                == Some(host)
        });
        own || self
            .options
            .allow_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
    }

    /// The token presented, by any of the three ways, matches.
    fn authorized(&self, headers: &HeaderMap, query: &HashMap<String, String>) -> bool {
        let Some(token) = &self.options.token else {
            return true;
        };
        let bearer = headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.strip_prefix("Bearer "))
            .any(|t| same(t.trim(), token));
        let protocol = headers
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|p| p.trim().strip_prefix("bearer."))
            .any(|t| same(t, token));
        let queried = query.get("token").is_some_and(|t| same(t, token));
        bearer || protocol || queried
    }

    /// Each connection's configuration: keepalive, bounded messages and
    /// send queue, and permessage-deflate without server context takeover,
    /// so that one compressed broadcast suits every member (RFC 7692 §7.1.1.1).
    fn config(&self) -> Config {
        Config::default()
            .ping_interval(Some(self.options.ping))
            .pong_timeout(Some(self.options.ping))
            .close_timeout(Some(Duration::from_secs(5)))
            .max_message_size(64 * 1024)
            .max_frame_size(64 * 1024)
            .max_send_queue(self.options.max_buffered * 2)
            .deflate(DeflateConfig::default().server_no_context_takeover(true))
    }
}

/// Compares two secrets in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A room or nick name: 1 to 32 letters, digits, `-`, `_` or `.`.
fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Serves until `shutdown` completes, then closes every connection with
/// 1001 and returns.
pub async fn run(
    options: Options,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    let (stop, stopped) = watch::channel(false);
    let rooms = Arc::new(Rooms::default());
    let instance = {
        let mut id = [0u8; 6];
        getrandom::fill(&mut id).map_err(|e| e.to_string())?;
        id.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let bus = match &options.redis {
        Some(url) => Some(Bus::start(
            url,
            instance.clone(),
            rooms.clone(),
            options.heartbeat,
            stopped.clone(),
        )?),
        None => None,
    };
    let app = Arc::new(App {
        options,
        rooms,
        bus,
        instance,
        next_id: AtomicU64::new(1),
        shutdown: stopped.clone(),
        members: AtomicUsize::new(0),
        member_ended: Notify::new(),
    });
    let router = Router::new()
        .route("/", get(|| async { Html(INDEX) }))
        .route(
            "/app.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], APP_JS) }),
        )
        .route("/ws", any(ws_handler))
        .with_state(app.clone());
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("chat: open http://{local}/ in a browser");
    let mut until_stopped = stopped.clone();
    let server = tokio::spawn(
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = until_stopped.wait_for(|s| *s).await;
            })
            .into_future(),
    );
    shutdown.await;
    let _ = stop.send(true);
    // Every member task closes with 1001; wait for them, a while at most.
    let drained = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let ended = app.member_ended.notified();
            if app.members.load(Ordering::SeqCst) == 0 {
                break;
            }
            ended.await;
        }
    })
    .await;
    if drained.is_err() {
        eprintln!(
            "chat: {} connections did not finish closing",
            app.members.load(Ordering::SeqCst)
        );
    }
    match tokio::time::timeout(Duration::from_secs(5), server).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => Err(e.to_string()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the HTTP server did not stop".into()),
    }
}

fn refuse(
    status: StatusCode,
    why: &str,
    extra: Option<(header::HeaderName, &'static str)>,
) -> Response {
    let mut response = (status, format!("{why}\n")).into_response();
    if let Some((name, value)) = extra {
        response
            .headers_mut()
            .insert(name, header::HeaderValue::from_static(value));
    }
    response
}

async fn ws_handler(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    // RFC 6455 §10.2: a browser names the page's origin; refuse the others
    // before anything else, so that a hostile page learns nothing.
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN) {
        let allowed = origin
            .to_str()
            .is_ok_and(|origin| app.origin_allowed(origin, host));
        if !allowed {
            return refuse(StatusCode::FORBIDDEN, "origin not allowed", None);
        }
    }
    if !app.authorized(&headers, &query) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "a valid token is needed",
            Some((header::WWW_AUTHENTICATE, "Bearer")),
        );
    }
    let Some(room) = query.get("room").filter(|r| valid_name(r)).cloned() else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "?room=NAME: 1 to 32 letters, digits, '-', '_' or '.'",
            None,
        );
    };
    let id = app.next_id.fetch_add(1, Ordering::Relaxed);
    let name = match query.get("name") {
        Some(name) if valid_name(name) => name.clone(),
        Some(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "&name=NICK: 1 to 32 letters, digits, '-', '_' or '.'",
                None,
            )
        }
        None => format!("guest-{id}"),
    };
    // The token's own subprotocol entry is never chosen: only `chat`.
    let config = app.config();
    ws.config(config)
        .protocols(["chat"])
        .on_upgrade(move |socket| member(app, socket, room, name, id))
}

/// Why a member's connection ends.
enum End {
    /// The peer closed, or the transport ended.
    Peer,
    /// This server closes it with this code and reason.
    Close(CloseCode, String),
}

async fn member(
    app: Arc<App>,
    mut socket: wsproto::hyper::WebSocket,
    room: String,
    name: String,
    id: u64,
) {
    app.members.fetch_add(1, Ordering::SeqCst);
    let (mut membership, names) = app.rooms.join(&room, id, &name);
    let hello = json!({"type": "members", "room": room, "members": names, "you": name});
    let mut end = match socket.send_text(hello.to_string()).await {
        Ok(()) => None,
        Err(_) => Some(End::Peer),
    };
    if end.is_none() {
        app.announce(
            &room,
            presence_json("join", &room, &name, id, &app.instance),
            Some(id),
        );
    }
    let options = &app.options;
    let mut bucket = TokenBucket::new(options.rate, options.burst, tokio::time::Instant::now());
    let mut shutdown = app.shutdown.clone();
    while end.is_none() {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => {
                end = Some(End::Close(CloseCode::GOING_AWAY, "server shutting down".into()));
            }
            _ = membership.kicked.notified() => {
                end = Some(End::Close(CloseCode::TRY_AGAIN_LATER, "too slow: the room's messages piled up".into()));
            }
            Some(prepared) = membership.inbox.recv() => {
                // Never let one member hold more than its share unsent.
                if socket.buffered_amount() > options.max_buffered {
                    end = Some(End::Close(CloseCode::TRY_AGAIN_LATER, "too slow: messages were not read".into()));
                } else if socket.connection_mut().send_prepared(&prepared).is_err() {
                    end = Some(End::Peer);
                }
                // Written by the next poll of `recv` below, without waiting for it.
            }
            received = socket.recv() => match received {
                Ok(Message::Text(text)) => {
                    if bucket.take(tokio::time::Instant::now()) {
                        let json = message_json(&room, &name, &text, &app.instance);
                        app.announce(&room, json, Some(id));
                    } else {
                        end = Some(End::Close(CloseCode::POLICY_VIOLATION, format!(
                            "rate limit: {} messages per second, bursts of {}",
                            options.rate, options.burst
                        )));
                    }
                }
                Ok(Message::Binary(_)) => {
                    end = Some(End::Close(CloseCode::UNSUPPORTED_DATA, "text messages only".into()));
                }
                Ok(_) => {}
                Err(_) => end = Some(End::Peer),
            },
        }
    }
    app.rooms.leave(&room, id);
    app.announce(
        &room,
        presence_json("leave", &room, &name, id, &app.instance),
        None,
    );
    if let Some(End::Close(code, reason)) = end {
        // Queue the close, then let the close handshake finish (bounded by
        // the close timeout, and by a second for a peer that does not read).
        let _ = tokio::time::timeout(Duration::from_secs(2), socket.close(code, &reason)).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(6), async {
        while socket.recv().await.is_ok() {}
    })
    .await;
    drop(socket);
    app.members.fetch_sub(1, Ordering::SeqCst);
    app.member_ended.notify_waiters();
}
