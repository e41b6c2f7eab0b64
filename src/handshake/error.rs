//! What can go wrong in the opening handshake, split as h11 splits it: what
//! the peer sent wrong, by role ([`RequestError`] for a server, which always
//! says the HTTP status to answer with; [`ResponseError`] for a client), and
//! what the caller asked wrong ([`BuildError`]).
//!
//! A server's answer other than 101 is not an error: RFC 6455 §4.1 has it
//! "handled per HTTP", and the client gets it as
//! [`Outcome::Rejected`](super::Outcome::Rejected).

use super::http::HeadError;
use crate::extensions::{ExtensionParseError, NegotiationError};

/// A client's request is not a valid WebSocket opening handshake, exceeds a
/// limit of [`Config`](crate::Config), or did not arrive in time.
///
/// Each variant names the header or field at fault. Text taken from the peer
/// (a method, a version) is kept escaped and short, so the error can be
/// logged or put in a response body as it is.
///
/// [`status`](Self::status) is the one place these errors map to HTTP
/// status codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The head did not arrive within the handshake timeout
    /// ([`Config::handshake_timeout`](crate::Config::handshake_timeout)).
    #[error("the opening handshake did not complete within the handshake timeout")]
    Timeout,
    /// The head did not end within
    /// [`Config::max_handshake_size`](crate::Config::max_handshake_size).
    #[error("the HTTP head exceeds {limit} bytes")]
    HeadTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// The head has more header lines than
    /// [`Config::max_handshake_headers`](crate::Config::max_handshake_headers).
    #[error("the HTTP head has more than {limit} header fields")]
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// The head is not valid HTTP/1.1 syntax (RFC 9112 §2); the text says
    /// which part.
    #[error("malformed HTTP head: {0}")]
    Malformed(&'static str),
    /// The head is HTTP/1.0; the handshake needs HTTP/1.1 or higher
    /// (RFC 6455 §4.1, item 2; §4.2.1, item 1).
    #[error("HTTP/1.0 is not supported; the WebSocket handshake needs HTTP/1.1 (RFC 6455 §4.1)")]
    HttpVersion,
    /// The method is not GET (RFC 6455 §4.1, item 2), or not CONNECT for an
    /// extended CONNECT (RFC 8441 §4).
    #[error("method {0} is not allowed for a WebSocket handshake (RFC 6455 §4.1, RFC 8441 §4)")]
    Method(String),
    /// A header (or, over HTTP/2, a pseudo-header) the handshake needs is absent.
    #[error("missing {0} header (RFC 6455 §4)")]
    MissingHeader(&'static str),
    /// A header that may appear once appears more than once.
    #[error("{0} header appears more than once (RFC 6455 §11.3)")]
    DuplicateHeader(&'static str),
    /// A header has a value the handshake does not allow.
    #[error("invalid {name} header: {reason} (RFC 6455 §4)")]
    InvalidHeader {
        /// The header's name.
        name: &'static str,
        /// What is wrong with its value.
        reason: &'static str,
    },
    /// The request's `Sec-WebSocket-Version` is absent or not 13
    /// (RFC 6455 §4.2.2, §4.4). The value found is kept, escaped.
    #[error("{}", match .0 {
        Some(v) => format!("unsupported Sec-WebSocket-Version {v}; this server speaks version 13 (RFC 6455 §4.4)"),
        None => "missing Sec-WebSocket-Version header; this server speaks version 13 (RFC 6455 §4.4)".to_owned(),
    })]
    UnsupportedVersion(Option<String>),
    /// An extended CONNECT for a protocol other than `websocket`
    /// (RFC 8441 §4). The name is kept, escaped.
    #[error("the :protocol {0} is not supported; this server speaks websocket (RFC 8441 §4)")]
    UnsupportedProtocol(String),
    /// The `Sec-WebSocket-Extensions` header breaks the extension grammar
    /// (RFC 6455 §9.1).
    #[error("invalid Sec-WebSocket-Extensions header: {0}")]
    Extension(#[from] ExtensionParseError),
    /// More than a frame's worth of bytes
    /// ([`Config::max_frame_size`](crate::Config::max_frame_size) plus 14
    /// header bytes) arrived after the request head before the request was
    /// accepted. RFC 6455 §4.1: a client "MUST wait for a response from the
    /// server before sending any further data".
    #[error("more than {limit} bytes arrived after the request head before the handshake completed (RFC 6455 §4.1)")]
    TooMuchDataAfterHead {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl RequestError {
    /// The HTTP status a server answers this error with.
    ///
    /// | error | status |
    /// |---|---|
    /// | malformed head, missing, repeated or invalid header, HTTP/1.0, bad extension header, data after the head | 400 Bad Request |
    /// | method other than GET (CONNECT over HTTP/2) | 405 Method Not Allowed (the rejection carries `Allow: GET`) |
    /// | handshake timeout | 408 Request Timeout |
    /// | `Sec-WebSocket-Version` absent or not 13 | 426 Upgrade Required (RFC 6455 §4.2.2, §4.4) |
    /// | head too large, too many headers | 431 Request Header Fields Too Large (RFC 6585 §5) |
    /// | extended CONNECT for another protocol | 501 Not Implemented (RFC 9110 §15.6.2) |
    ///
    /// HTTP/1.0 gets 400, not 505: 505 is for a major version the server
    /// does not speak (RFC 9110 §15.6.6), and HTTP/1.0 shares HTTP/1.1's. A
    /// version `httparse` cannot read at all is a malformed head (400).
    pub fn status(&self) -> u16 {
        match self {
            Self::HeadTooLarge { .. } | Self::TooManyHeaders { .. } => 431,
            Self::Malformed(_)
            | Self::HttpVersion
            | Self::MissingHeader(_)
            | Self::DuplicateHeader(_)
            | Self::InvalidHeader { .. }
            | Self::Extension(_)
            | Self::TooMuchDataAfterHead { .. } => 400,
            Self::Method(_) => 405,
            Self::Timeout => 408,
            Self::UnsupportedVersion(_) => 426,
            Self::UnsupportedProtocol(_) => 501,
        }
    }
}

impl From<HeadError> for RequestError {
    fn from(e: HeadError) -> Self {
        match e {
            HeadError::TooLarge { limit } => Self::HeadTooLarge { limit },
            HeadError::TooManyHeaders { limit } => Self::TooManyHeaders { limit },
            HeadError::Malformed(what) => Self::Malformed(what),
            HeadError::Missing(name) => Self::MissingHeader(name),
            HeadError::Duplicate(name) => Self::DuplicateHeader(name),
            HeadError::Invalid { name, reason } => Self::InvalidHeader { name, reason },
        }
    }
}

/// A server's 101 response (or, over HTTP/2, its 2xx answer) breaks the
/// rules of RFC 6455 §4.1, exceeds a limit of [`Config`](crate::Config), or
/// did not arrive in time. The client fails the connection.
///
/// A status other than 101 is not an error but an
/// [`Outcome::Rejected`](super::Outcome::Rejected).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The response did not arrive within the handshake timeout
    /// ([`Config::handshake_timeout`](crate::Config::handshake_timeout)).
    #[error("the opening handshake did not complete within the handshake timeout")]
    Timeout,
    /// The head did not end within
    /// [`Config::max_handshake_size`](crate::Config::max_handshake_size).
    #[error("the HTTP head exceeds {limit} bytes")]
    HeadTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// The head has more header lines than
    /// [`Config::max_handshake_headers`](crate::Config::max_handshake_headers).
    #[error("the HTTP head has more than {limit} header fields")]
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// The head is not valid HTTP/1.1 syntax (RFC 9112 §2); the text says
    /// which part.
    #[error("malformed HTTP head: {0}")]
    Malformed(&'static str),
    /// A 101 in an HTTP/1.0 response, which has no such status.
    #[error("a 101 response in HTTP/1.0; the WebSocket handshake needs HTTP/1.1 (RFC 6455 §4.1)")]
    HttpVersion,
    /// A header the handshake needs is absent.
    #[error("missing {0} header (RFC 6455 §4.1)")]
    MissingHeader(&'static str),
    /// A header that may appear once appears more than once.
    #[error("{0} header appears more than once (RFC 6455 §11.3)")]
    DuplicateHeader(&'static str),
    /// A header has a value the handshake does not allow.
    #[error("invalid {name} header: {reason} (RFC 6455 §4.1)")]
    InvalidHeader {
        /// The header's name.
        name: &'static str,
        /// What is wrong with its value.
        reason: &'static str,
    },
    /// The server's `Sec-WebSocket-Accept` does not match the key sent
    /// (RFC 6455 §4.1, item 4 of the response checks).
    #[error(
        "Sec-WebSocket-Accept header does not match the Sec-WebSocket-Key sent (RFC 6455 §4.1)"
    )]
    AcceptMismatch,
    /// The server chose a subprotocol the client did not offer (RFC 6455
    /// §4.1, item 6 of the response checks). The name is kept, escaped.
    #[error("Sec-WebSocket-Protocol header names {0}, which was not offered (RFC 6455 §4.1)")]
    UnofferedSubprotocol(String),
    /// The server's `Sec-WebSocket-Extensions` names an extension the
    /// client did not offer (RFC 6455 §4.1, item 5 of the response checks).
    /// The name is kept, escaped.
    #[error("Sec-WebSocket-Extensions header names {0}, which was not offered (RFC 6455 §4.1)")]
    UnofferedExtension(String),
    /// The `Sec-WebSocket-Extensions` header breaks the extension grammar
    /// (RFC 6455 §9.1), or the server's permessage-deflate answer does not
    /// match what was offered (RFC 7692 §7.1); the error names the parameter.
    #[error("invalid Sec-WebSocket-Extensions header: {0}")]
    Extension(#[from] NegotiationError),
    /// More than a frame's worth of bytes
    /// ([`Config::max_frame_size`](crate::Config::max_frame_size) plus 14
    /// header bytes) arrived after the 101 head before
    /// [`poll_response`](super::ClientHandshake::poll_response) handed over
    /// the connection.
    #[error(
        "more than {limit} bytes arrived after the response head before the handshake completed"
    )]
    TooMuchDataAfterHead {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl From<HeadError> for ResponseError {
    fn from(e: HeadError) -> Self {
        match e {
            HeadError::TooLarge { limit } => Self::HeadTooLarge { limit },
            HeadError::TooManyHeaders { limit } => Self::TooManyHeaders { limit },
            HeadError::Malformed(what) => Self::Malformed(what),
            HeadError::Missing(name) => Self::MissingHeader(name),
            HeadError::Duplicate(name) => Self::DuplicateHeader(name),
            HeadError::Invalid { name, reason } => Self::InvalidHeader { name, reason },
        }
    }
}

/// The caller asked for a request or response the handshake cannot send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// `wss://`: this crate does not provide TLS. Connect with a TLS library
    /// and build the request with [`ClientRequest::new`](super::ClientRequest::new).
    #[error("wss:// needs TLS, which wsproto does not provide; wrap the stream in TLS yourself and use ClientRequest::new")]
    TlsNotProvided,
    /// The URL is not a `ws://` URI (RFC 6455 §3); the text says why.
    #[error("invalid ws:// URL: {0} (RFC 6455 §3)")]
    InvalidUrl(&'static str),
    /// The host, or host and port, is not a valid URI authority.
    #[error("invalid host {0:?}")]
    InvalidHost(String),
    /// The path is not an absolute path with an optional query and no
    /// fragment (RFC 6455 §3).
    #[error("invalid path {0:?}: it must start with '/' and hold no spaces, control characters or '#' (RFC 6455 §3)")]
    InvalidPath(String),
    /// A header name that is not an HTTP token (RFC 9110 §5.1).
    #[error("invalid header name {0:?}")]
    InvalidHeaderName(String),
    /// A header value with a control character such as CR or LF, which
    /// would end the header early.
    #[error("invalid value for header {0:?}: control characters (CR, LF, ...) are not allowed")]
    InvalidHeaderValue(String),
    /// A header the handshake sets itself; the text says what to use instead.
    #[error("header {name:?} is set by the handshake; {hint}")]
    ReservedHeader {
        /// The header's name, as given.
        name: String,
        /// What to call instead.
        hint: &'static str,
    },
    /// A subprotocol name that is not an HTTP token (RFC 6455 §4.1, item 10).
    #[error("invalid subprotocol {0:?}: it must be a non-empty token (RFC 6455 §4.1)")]
    InvalidSubprotocol(String),
    /// The same subprotocol offered twice (RFC 6455 §4.1, item 10: the names
    /// MUST all be unique).
    #[error("subprotocol {0:?} offered twice (RFC 6455 §4.1)")]
    DuplicateSubprotocol(String),
    /// A server chose a subprotocol the client did not offer (RFC 6455
    /// §4.2.2, item 4).
    #[error("subprotocol {0:?} was not offered by the client (RFC 6455 §4.2.2)")]
    SubprotocolNotOffered(String),
    /// A server accepted an extension the client did not offer (RFC 6455
    /// §9.1: extensions not listed by the client MUST NOT be listed).
    #[error("extension {0:?} was not offered by the client (RFC 6455 §9.1)")]
    ExtensionNotOffered(String),
    /// A server's permessage-deflate parameters answer none of the
    /// client's offers (RFC 7692 §5, §7.1), or ask our compressor for
    /// something it cannot do; the error names the parameter.
    #[error("the permessage-deflate answer does not fit the client's offers: {0}")]
    DeflateAnswer(NegotiationError),
    /// permessage-deflate accepted with explicit parameters by a build
    /// without the `deflate` feature, which has no codec to run it.
    #[error(
        "permessage-deflate cannot be accepted: the crate is built without the deflate feature"
    )]
    DeflateUnavailable,
    /// `accept` was called while no valid request was there: before
    /// `poll_request` returned one, or after it turned into an error (too
    /// much data after the head, say; `poll_request` returns it).
    #[error("no valid request has been read; poll_request must return one before accept")]
    NoRequest,
    /// A rejection status outside 200..=599, or a 101.
    #[error("status {0} cannot reject a handshake; use 200..=599")]
    InvalidStatus(u16),
}
