//! A sans-IO WebSocket implementation (RFC 6455) with permessage-deflate
//! (RFC 7692).
//!
//! `wsproto` turns bytes into events and calls into bytes. Its core is a pure
//! state machine: it parses and encodes frames, masks and unmasks them,
//! validates UTF-8 as it arrives, compresses and inflates messages, runs the
//! HTTP/1.1 opening handshake and the closing handshake, and keeps keepalive
//! and close timers, all from byte buffers that the caller fills and drains
//! and from the time the caller passes in.
//!
//! What it never does: open a socket, spawn a thread, sleep or read a clock.
//! Those belong to the caller, or to the thin optional adapter in `blocking`
//! that drives the core over a `std::io::Read + Write` stream with read
//! timeouts (`blocking::Transport`), using only the public API below.
//! Randomness (mask keys, `Sec-WebSocket-Key`) comes from an
//! [`entropy::Entropy`] you can replace; the default is the operating
//! system's CSPRNG, drawn through a small per-thread pool.
//!
//! # Layers
//!
//! | module | concern |
//! |---|---|
//! | [`frame`] | the wire format of one frame: header, opcode, mask |
//! | [`CloseCode`], [`CloseFrame`] | close codes and the close payload (RFC 6455 §7.4) |
//! | [`Utf8Validator`], [`Utf8Bytes`] | a streaming UTF-8 validator that fails fast, and validated text |
//! | [`extensions`] | the `Sec-WebSocket-Extensions` grammar and permessage-deflate negotiation |
//! | `deflate` | the permessage-deflate codec (feature `deflate`, on by default) |
//! | [`handshake`] | the opening handshake for both roles |
//! | [`Connection`] | the state machine after the handshake: messages, control frames, closing, timers, the send queue |
//! | [`Config`], [`entropy`], [`ProtocolError`] / [`Error`] | settings and limits, the source of mask keys, the two kinds of error |
//! | `blocking` | a `std::io` adapter (feature `blocking`, on by default) |
//! | `http` | the opening handshake on the `http` crate's types, HTTP/1.1 and HTTP/2 (feature `http`) |
//! | `hyper`, `axum` | WebSocket upgrades through hyper over HTTP/1.1 and HTTP/2 (RFC 8441), an axum extractor with permessage-deflate (features `hyper`, `axum`) |
//! | `tokio` | a tokio adapter: `Stream` + `Sink`, halves for two tasks, timers (feature `tokio`) |
//!
//! # A server, in memory
//!
//! ```
//! use wsproto::{Config, Connection, Event, Message, Role};
//!
//! let mut server = Connection::new(Role::Server, Config::default());
//! // A masked text frame "Hello", RFC 6455 §5.7.
//! server.handle_read(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
//! match server.poll_event() {
//!     Some(Event::Message(Message::Text(text))) => server.send_text(text).unwrap(),
//!     other => panic!("unexpected {other:?}"),
//! }
//! let wire = server.poll_transmit().unwrap();
//! assert_eq!(&wire[..], &[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
//! ```
// `deny`, not `forbid`: one block in `utf8.rs` wraps text it has just
// validated; see `Utf8Bytes::try_from_bytes`. `tests/unsafe_code.rs` fails on any other.
#![deny(unsafe_code)]
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

mod close;
mod config;
mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
pub mod entropy;
mod error;
pub mod extensions;
pub mod frame;
pub mod handshake;
mod message;
mod pool;
mod utf8;

#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "blocking")]
pub mod blocking;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "hyper")]
pub mod hyper;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use bytes::Bytes;
pub use close::{CloseCode, CloseError, CloseFrame};
pub use config::Config;
pub use connection::{
    Connection, Event, EventRef, Message, MessageKind, Negotiated, Payload, PreparedMessage, Role,
    State, TextPayload,
};
pub use error::{Error, ProtocolError};
pub use pool::MemoryPool;
pub use utf8::{InvalidUtf8, Utf8Bytes, Utf8Validator};

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "blocking", feature = "deflate"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
