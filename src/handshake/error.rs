//! What can go wrong in the opening handshake, split as h11 splits it: what
//! the peer sent wrong ([`HandshakeError`], which also says the HTTP status a
//! server answers with) and what the caller asked wrong ([`BuildError`]).

use super::client::Response;

/// The peer's handshake head is not a valid WebSocket opening handshake, or
/// exceeds a [`HandshakeLimits`](super::HandshakeLimits) bound.
///
/// Each variant names the header or field at fault. Text taken from the peer
/// (a method, a version) is kept escaped and short, so the error can be
/// logged or put in a response body as it is.
///
/// [`status`](Self::status) is the one place errors map to HTTP status codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The head did not arrive within the handshake timeout
    /// ([`Config::handshake_timeout`](crate::Config::handshake_timeout)).
    #[error("the opening handshake did not complete within the handshake timeout")]
    Timeout,
    /// The head did not end within the byte limit.
    #[error("the HTTP head exceeds {limit} bytes")]
    HeadTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// The head has more header lines than the limit.
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
    /// The request's method is not GET (RFC 6455 §4.1, item 2).
    #[error("method {0} is not allowed; the WebSocket handshake uses GET (RFC 6455 §4.1)")]
    Method(String),
    /// A header the handshake needs is absent.
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
    /// The server answered with a status other than 101 (RFC 6455 §4.1): the
    /// response, with the beginning of its body as far as it was read.
    #[error("the server answered {} {:?} instead of 101 Switching Protocols", .0.status(), .0.reason())]
    UnexpectedStatus(Box<Response>),
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
    /// The server answered `Sec-WebSocket-Extensions` to a client that
    /// offered none (RFC 6455 §4.1, item 5 of the response checks).
    #[error("Sec-WebSocket-Extensions header in the response, but no extension was offered (RFC 6455 §4.1)")]
    UnofferedExtensions,
    /// The `Sec-WebSocket-Extensions` header breaks the extension grammar
    /// (RFC 6455 §9.1), or a server's permessage-deflate answer does not
    /// match what was offered (RFC 7692 §7.1); the error names the parameter.
    #[error("invalid Sec-WebSocket-Extensions header: {0}")]
    Extension(#[from] crate::extensions::NegotiationError),
}

impl HandshakeError {
    /// The HTTP status a server answers this error with; `None` for errors
    /// only a client meets (in a server's response).
    ///
    /// | error | status |
    /// |---|---|
    /// | malformed head, missing, repeated or invalid header, HTTP/1.0 | 400 Bad Request |
    /// | method other than GET | 405 Method Not Allowed (the rejection carries `Allow: GET`) |
    /// | `Sec-WebSocket-Version` absent or not 13 | 426 Upgrade Required (RFC 6455 §4.2.2, §4.4) |
    /// | head too large, too many headers | 431 Request Header Fields Too Large (RFC 6585 §5) |
    ///
    /// HTTP/1.0 gets 400, not 505: 505 is for a major version the server
    /// does not speak (RFC 9110 §15.6.6), and HTTP/1.0 shares HTTP/1.1's. A
    /// version `httparse` cannot read at all is a malformed head (400).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::HeadTooLarge { .. } | Self::TooManyHeaders { .. } => Some(431),
            Self::Malformed(_)
            | Self::HttpVersion
            | Self::MissingHeader(_)
            | Self::DuplicateHeader(_)
            | Self::InvalidHeader { .. } => Some(400),
            Self::Method(_) => Some(405),
            Self::Timeout => Some(408),
            Self::UnsupportedVersion(_) => Some(426),
            // Found by a client in a response: nobody answers them.
            Self::UnexpectedStatus(_)
            | Self::AcceptMismatch
            | Self::UnofferedSubprotocol(_)
            | Self::UnofferedExtensions => None,
            Self::Extension(_) => Some(400),
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
    /// A server answered extensions to a client that offered none (RFC 6455
    /// §4.2.2, item 4: extensions not listed by the client MUST NOT be listed).
    #[error("the client offered no extensions (RFC 6455 §4.2.2)")]
    ExtensionsNotOffered,
    /// `accept` was called before a valid request was read.
    #[error("no valid request has been read; poll_request must return one before accept")]
    NoRequest,
    /// A rejection status outside 200..=599, or a 101.
    #[error("status {0} cannot reject a handshake; use 200..=599")]
    InvalidStatus(u16),
}
