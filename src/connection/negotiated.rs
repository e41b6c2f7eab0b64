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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Negotiated {
    subprotocol: Option<String>,
    extensions: Vec<CustomExtension>,
    deflate: Option<NegotiatedDeflate>,
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

    /// The subprotocol in use, if any.
    pub fn get_subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The agreed extensions the application runs, in the server's order.
    /// permessage-deflate is not among them: see
    /// [`get_deflate`](Self::get_deflate).
    pub fn get_extensions(&self) -> &[CustomExtension] {
        &self.extensions
    }

    /// The agreed permessage-deflate parameters, if it was agreed.
    pub fn get_deflate(&self) -> Option<&NegotiatedDeflate> {
        self.deflate.as_ref()
    }
}
