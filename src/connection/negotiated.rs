//! [`Negotiated`]: what the opening handshake agreed, carried into the
//! [`Connection`](super::Connection) that follows it.

use crate::extensions::{CustomExtension, NegotiatedDeflate};

/// What an opening handshake agreed: the subprotocol, the extensions the
/// application runs itself, and the permessage-deflate parameters the
/// connection's codec runs.
///
/// The handshakes of this crate build it. For a connection negotiated
/// elsewhere, such as a WebSocket over HTTP/2 or HTTP/3 (RFC 8441,
/// RFC 9220) or a hyper upgrade, build it with [`new`](Self::new) and the
/// setters (or get it from
/// [`handshake::ServerOffers::answer`](crate::handshake::ServerOffers::answer) /
/// [`handshake::ClientOffer::check_answer`](crate::handshake::ClientOffer::check_answer))
/// and give it to [`Connection::with_negotiated`](super::Connection::with_negotiated).
///
/// ```
/// use wsproto::extensions::NegotiatedDeflate;
/// use wsproto::{Config, Connection, Negotiated, Role};
///
/// let negotiated = Negotiated::new()
///     .subprotocol("chat")
///     .deflate(NegotiatedDeflate::new(15, false, 15, false));
/// let conn = Connection::with_negotiated(Role::Server, Config::default(), negotiated);
/// assert_eq!(conn.subprotocol(), Some("chat"));
/// ```
///
/// Like [`Config`](crate::Config): set with the builder methods, read the
/// public fields of the same names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Negotiated {
    /// The subprotocol in use, if any ([`Negotiated::subprotocol`]).
    pub subprotocol: Option<String>,
    /// The agreed extensions the application runs, in the server's order
    /// ([`Negotiated::extension`]). permessage-deflate is not among them: it
    /// is [`deflate`](Self::deflate).
    pub extensions: Vec<CustomExtension>,
    /// The agreed permessage-deflate parameters, if it was agreed
    /// ([`Negotiated::deflate`]).
    pub deflate: Option<NegotiatedDeflate>,
}

impl Negotiated {
    /// Nothing agreed: no subprotocol, no extension.
    pub fn new() -> Self {
        Self::default()
    }

    /// The subprotocol in use (RFC 6455 §1.9, §4.1: the _Subprotocol In Use_).
    #[must_use]
    pub fn subprotocol(mut self, name: &str) -> Self {
        self.subprotocol = Some(name.to_owned());
        self
    }

    /// Adds an agreed extension that the application runs itself, in the
    /// order of the server's answer.
    #[must_use]
    pub fn extension(mut self, extension: CustomExtension) -> Self {
        self.extensions.push(extension);
        self
    }

    /// permessage-deflate with these parameters (RFC 7692 §7). The
    /// connection's codec runs it; without the `deflate` feature it is
    /// recorded but nothing is compressed, and a compressed frame from the
    /// peer fails the connection (RSV1, RFC 6455 §5.2).
    #[must_use]
    pub fn deflate(mut self, deflate: NegotiatedDeflate) -> Self {
        self.deflate = Some(deflate);
        self
    }
}
