//! Subprotocols and extensions (RFC 6455 §4.1, §4.2.2, §9.1; RFC 7692 §5),
//! negotiated over any list of header fields, for both roles.
//!
//! Nothing here depends on HTTP/1.1: the HTTP/1.1 handshakes of this module
//! call it, and so can an HTTP/2 or HTTP/3 stack (RFC 8441, RFC 9220), whose
//! requests and responses are header lists, or a server framework that did
//! the upgrade itself. There is no `Sec-WebSocket-Key` or
//! `Sec-WebSocket-Accept` here: they belong to HTTP/1.1.
//!
//! - A server reads the client's [`ServerOffers`] from the request's headers,
//!   then [`answer`](ServerOffers::answer)s them with the application's
//!   [`Accept`]: the [`Answer`] holds the headers to send and the
//!   [`Negotiated`] result for [`Connection::with_negotiated`].
//! - A client builds a [`ClientOffer`], sends its
//!   [`headers`](ClientOffer::headers), and checks the server's with
//!   [`check_answer`](ClientOffer::check_answer), which gives the
//!   `Negotiated` result.
//!
//! ```
//! use wsproto::extensions::DeflateConfig;
//! use wsproto::handshake::{Accept, ClientOffer, ServerOffers};
//! use wsproto::{Config, Connection, Role};
//!
//! let config = Config::default();
//! let offer = ClientOffer::new().deflate(config.deflate.clone()).subprotocol("chat")?;
//! let request: Vec<(&str, String)> = offer.headers();
//!
//! let offers = ServerOffers::from_headers(request.iter().map(|(n, v)| (*n, v.as_bytes())))?;
//! let answer = offers.answer(&Accept::new().subprotocol("chat")?, &config.deflate)?;
//! let server = Connection::with_negotiated(Role::Server, config.clone(), answer.negotiated().clone());
//!
//! let negotiated = offer.check_answer(answer.headers().iter().map(|(n, v)| (*n, v.as_bytes())))?;
//! let client = Connection::with_negotiated(Role::Client, config, negotiated);
//! assert_eq!(client.subprotocol(), Some("chat"));
//! # #[cfg(feature = "deflate")]
//! assert_eq!(client.deflate().is_some(), server.deflate().is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Connection::with_negotiated`]: crate::Connection::with_negotiated

use crate::connection::Negotiated;
use crate::extensions::{
    accept_params, parse_extensions, CustomExtension, DeflateConfig, DeflateParams,
    NegotiationError, PERMESSAGE_DEFLATE,
};

use super::error::{BuildError, RequestError, ResponseError};
use super::http::{self, escape, Fields};
use super::Accept;

/// The `Sec-WebSocket-Protocol` header (RFC 6455 §11.3.4).
const PROTOCOL: &str = "Sec-WebSocket-Protocol";
/// The `Sec-WebSocket-Extensions` header (RFC 6455 §11.3.2).
const EXTENSIONS: &str = "Sec-WebSocket-Extensions";

/// How a server answers the client's permessage-deflate offers (RFC 7692 §5).
///
/// permessage-deflate is never answered as a [`CustomExtension`]: an
/// agreement on it always turns the connection's codec on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeflateAnswer {
    /// Accept the first offer the configuration
    /// ([`Config::deflate`](crate::Config::deflate)) can honour, or decline
    /// when there is none. The default.
    #[default]
    Negotiate,
    /// Decline every permessage-deflate offer.
    Decline,
    /// Accept with exactly these response parameters. They must be a valid
    /// response (RFC 7692 §7: window bits with a value in 8..=15) to one of
    /// the client's offers (RFC 7692 §3), and `server_max_window_bits`,
    /// which limits our compressor, cannot be 8;
    /// [`ServerOffers::answer`] fails with [`BuildError::DeflateAnswer`]
    /// otherwise.
    Accept(DeflateParams),
}

/// The subprotocols and extensions a client offered, read from its
/// request's header fields (RFC 6455 §4.2.1, items 8 and 9).
///
/// Cheap to keep: the offers as strings, the extension header checked
/// against the grammar of RFC 6455 §9.1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerOffers {
    subprotocols: Vec<String>,
    /// Every `Sec-WebSocket-Extensions` value, in order.
    extensions: Vec<String>,
}

impl ServerOffers {
    /// Reads the offers from a request's header fields, as (name, value)
    /// pairs, names in any case: every `Sec-WebSocket-Protocol` and
    /// `Sec-WebSocket-Extensions` field; other fields are ignored.
    ///
    /// Fails if a subprotocol is not a token (RFC 6455 §4.1, item 10), a
    /// value is not ASCII, or the extension header breaks the grammar
    /// (RFC 6455 §9.1); each error has its [`status`](RequestError::status).
    pub fn from_headers<'a, I>(headers: I) -> Result<Self, RequestError>
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
    {
        Self::from_fields(&Fields::new(headers))
    }

    pub(crate) fn from_fields(h: &Fields<'_>) -> Result<Self, RequestError> {
        // RFC 6455 §4.1, item 10: subprotocols are tokens (1#token, §4.3).
        h.check_ascii(PROTOCOL)?;
        let mut subprotocols = Vec::new();
        for token in h.tokens(PROTOCOL) {
            let token = std::str::from_utf8(token)
                .ok()
                .filter(|t| http::is_token(t.as_bytes()));
            let Some(token) = token else {
                return Err(RequestError::InvalidHeader {
                    name: PROTOCOL,
                    reason: "a subprotocol is not a token",
                });
            };
            subprotocols.push(token.to_owned());
        }
        // RFC 6455 §9.1: the grammar is ASCII, and a header that breaks it
        // fails the handshake.
        h.check_ascii(EXTENSIONS)?;
        let extensions: Vec<String> = h
            .get_all(EXTENSIONS)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        parse_extensions(&lines(&extensions))?;
        Ok(Self {
            subprotocols,
            extensions,
        })
    }

    /// The subprotocols offered, in the client's order of preference.
    pub fn subprotocols(&self) -> impl Iterator<Item = &str> + '_ {
        self.subprotocols.iter().map(String::as_str)
    }

    /// The raw value of every `Sec-WebSocket-Extensions` field, in order.
    pub fn extensions(&self) -> impl Iterator<Item = &str> + '_ {
        self.extensions.iter().map(String::as_str)
    }

    /// Whether an extension called `name` was offered.
    pub fn offers_extension(&self, name: &str) -> bool {
        parse_extensions(&lines(&self.extensions))
            .is_ok_and(|offers| offers.iter().any(|offer| offer.name == name))
    }

    /// Answers the offers with the application's choices: the subprotocol,
    /// the permessage-deflate answer (negotiated with `deflate` unless
    /// `accept` says otherwise) and the custom extensions.
    ///
    /// Fails, as RFC 6455 §4.2.2 and §9.1 require, if the subprotocol or a
    /// custom extension was not offered, or if an explicit permessage-deflate
    /// answer does not fit the offers. `accept`'s extra headers are not
    /// part of the answer; an HTTP stack sends them itself.
    pub fn answer(&self, accept: &Accept, deflate: &DeflateConfig) -> Result<Answer, BuildError> {
        let mut negotiated = Negotiated::new();
        let mut headers = Vec::new();
        // RFC 6455 §4.2.2, item 4: the subprotocol MUST be one the client offered.
        if let Some(chosen) = &accept.subprotocol {
            if !self.subprotocols.iter().any(|p| p == chosen) {
                return Err(BuildError::SubprotocolNotOffered(chosen.clone()));
            }
            headers.push((PROTOCOL, chosen.clone()));
            negotiated = negotiated.subprotocol(chosen);
        }

        let lines = lines(&self.extensions);
        // Checked by `from_fields`.
        let offers = parse_extensions(&lines).unwrap_or_default();
        let mut elements = Vec::new();
        let agreed = match &accept.deflate {
            DeflateAnswer::Negotiate if cfg!(feature = "deflate") => deflate
                .negotiate_elements(&offers)
                .map(|(agreed, response)| (agreed, response.to_string())),
            DeflateAnswer::Negotiate | DeflateAnswer::Decline => None,
            DeflateAnswer::Accept(_) if !cfg!(feature = "deflate") => {
                return Err(BuildError::DeflateUnavailable)
            }
            DeflateAnswer::Accept(response) => {
                let agreed = accept_params(&offers, response).map_err(BuildError::DeflateAnswer)?;
                Some((agreed, response.to_string()))
            }
        };
        if let Some((agreed, element)) = agreed {
            elements.push(element);
            negotiated = negotiated.deflate(agreed);
        }
        for extension in &accept.extensions {
            // RFC 6455 §9.1: only extensions the client listed may be listed.
            if !offers.iter().any(|offer| offer.name == extension.name()) {
                return Err(BuildError::ExtensionNotOffered(extension.name().to_owned()));
            }
            elements.push(extension.to_string());
            negotiated = negotiated.extension(extension.clone());
        }
        if !elements.is_empty() {
            headers.push((EXTENSIONS, elements.join(", ")));
        }
        Ok(Answer {
            headers,
            negotiated,
        })
    }
}

/// A server's answer to a client's offers: the headers that carry it and
/// what was agreed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    headers: Vec<(&'static str, String)>,
    negotiated: Negotiated,
}

impl Answer {
    /// The header fields to send: `Sec-WebSocket-Protocol` and
    /// `Sec-WebSocket-Extensions`, when there is something to say. Names
    /// are in their registered case; HTTP/2 and HTTP/3 send them in
    /// lowercase (RFC 9113 §8.2.1).
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }

    /// What was agreed, for [`Connection::with_negotiated`](crate::Connection::with_negotiated).
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// [`negotiated`](Self::negotiated), by value.
    pub fn into_negotiated(self) -> Negotiated {
        self.negotiated
    }
}

/// What a client offers: subprotocols, permessage-deflate (from a
/// [`DeflateConfig`]) and custom extensions, and the checks of the server's
/// answer (RFC 6455 §4.1, response checks 5 and 6; RFC 7692 §5).
///
/// ```
/// use wsproto::extensions::{CustomExtension, DeflateConfig};
/// use wsproto::handshake::ClientOffer;
///
/// let offer = ClientOffer::new()
///     .subprotocol("chat")?
///     .extension(CustomExtension::new("x-foo")?)
///     .deflate(DeflateConfig::default().enabled(false));
/// assert_eq!(
///     offer.headers(),
///     [("Sec-WebSocket-Protocol", "chat".to_owned()), ("Sec-WebSocket-Extensions", "x-foo".to_owned())]
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientOffer {
    subprotocols: Vec<String>,
    extensions: Vec<CustomExtension>,
    deflate: Option<DeflateConfig>,
}

impl ClientOffer {
    /// An offer of nothing: no subprotocol, no extension, no permessage-deflate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Offers a subprotocol; call it once per subprotocol, most preferred
    /// first. Names are tokens and unique (RFC 6455 §4.1, item 10).
    pub fn subprotocol(mut self, name: &str) -> Result<Self, BuildError> {
        if !http::is_token(name.as_bytes()) {
            return Err(BuildError::InvalidSubprotocol(escape(name.as_bytes())));
        }
        if self.subprotocols.iter().any(|p| p == name) {
            return Err(BuildError::DuplicateSubprotocol(name.to_owned()));
        }
        self.subprotocols.push(name.to_owned());
        Ok(self)
    }

    /// Offers an extension the application runs itself, after the
    /// permessage-deflate offers.
    #[must_use]
    pub fn extension(mut self, extension: CustomExtension) -> Self {
        self.extensions.push(extension);
        self
    }

    /// Offers permessage-deflate as `config` says (nothing when it is
    /// disabled, or without the `deflate` feature), and checks the answer
    /// against those offers. Without this call, permessage-deflate is not
    /// offered.
    #[must_use]
    pub fn deflate(mut self, config: DeflateConfig) -> Self {
        self.deflate = Some(config);
        self
    }

    /// The subprotocols offered, most preferred first.
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The custom extensions offered.
    pub fn extensions(&self) -> &[CustomExtension] {
        &self.extensions
    }

    /// The permessage-deflate settings, when permessage-deflate is offered.
    fn offered_deflate(&self) -> Option<&DeflateConfig> {
        self.deflate
            .as_ref()
            .filter(|d| cfg!(feature = "deflate") && d.get_enabled())
    }

    /// The header fields that carry the offer: `Sec-WebSocket-Protocol` and
    /// `Sec-WebSocket-Extensions` (permessage-deflate's offers first), when
    /// there is something to offer. Names are in their registered case;
    /// HTTP/2 and HTTP/3 send them in lowercase (RFC 9113 §8.2.1).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::new();
        if !self.subprotocols.is_empty() {
            headers.push((PROTOCOL, self.subprotocols.join(", ")));
        }
        let mut elements: Vec<String> = self
            .offered_deflate()
            .map(DeflateConfig::offer_header)
            .filter(|offer| !offer.is_empty())
            .into_iter()
            .collect();
        elements.extend(self.extensions.iter().map(ToString::to_string));
        if !elements.is_empty() {
            headers.push((EXTENSIONS, elements.join(", ")));
        }
        headers
    }

    /// Checks the server's answer, given as its header fields (other fields
    /// are ignored), and says what was agreed.
    ///
    /// RFC 6455 §4.1: at most one `Sec-WebSocket-Protocol`, naming a
    /// subprotocol that was offered (check 6); at most one
    /// `Sec-WebSocket-Extensions`, naming only extensions that were offered
    /// (check 5), with a permessage-deflate answer that fits the offers
    /// (RFC 7692 §5, §7).
    pub fn check_answer<'a, I>(&self, headers: I) -> Result<Negotiated, ResponseError>
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
    {
        self.check_fields(&Fields::new(headers))
    }

    pub(crate) fn check_fields(&self, h: &Fields<'_>) -> Result<Negotiated, ResponseError> {
        let mut negotiated = Negotiated::new();
        // Check 6, and §11.3.4: at most one Sec-WebSocket-Protocol, naming
        // a subprotocol that was offered.
        if let Some(chosen) = h.single(PROTOCOL)? {
            let chosen = http::trim_str(chosen);
            if !self.subprotocols.iter().any(|p| p == chosen) {
                return Err(ResponseError::UnofferedSubprotocol(escape(
                    chosen.as_bytes(),
                )));
            }
            negotiated = negotiated.subprotocol(chosen);
        }
        // Check 5, and §11.3.2: at most one Sec-WebSocket-Extensions, and
        // only extensions that were offered.
        let Some(answer) = h.single(EXTENSIONS)? else {
            return Ok(negotiated);
        };
        let elements = parse_extensions(&[answer]).map_err(NegotiationError::from)?;
        let mut deflate = Vec::new();
        for element in &elements {
            if element.name == PERMESSAGE_DEFLATE && self.offered_deflate().is_some() {
                deflate.push(element);
                continue;
            }
            match CustomExtension::from_element(element) {
                Some(ext) if self.extensions.iter().any(|o| o.name() == ext.name()) => {
                    negotiated = negotiated.extension(ext);
                }
                _ => {
                    return Err(ResponseError::UnofferedExtension(escape(
                        element.name.as_bytes(),
                    )))
                }
            }
        }
        if let Some(config) = self.offered_deflate() {
            // RFC 7692 §5, §7: the answer must fit one of the offers.
            if let Some(agreed) = config.accept_elements(&deflate)? {
                negotiated = negotiated.deflate(agreed);
            }
        }
        Ok(negotiated)
    }
}

/// The values as `&str`s, for the extension parser.
fn lines(values: &[String]) -> Vec<&str> {
    values.iter().map(String::as_str).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "deflate")]
    use crate::extensions::{ClientMaxWindowBits, NegotiatedDeflate};

    fn on() -> DeflateConfig {
        DeflateConfig::default().enabled(true)
    }

    fn offers(headers: &[(&str, &str)]) -> ServerOffers {
        ServerOffers::from_headers(headers.iter().map(|(n, v)| (*n, v.as_bytes()))).unwrap()
    }

    #[cfg(feature = "deflate")]
    fn check(offer: &ClientOffer, answer: &Answer) -> Result<Negotiated, ResponseError> {
        offer.check_answer(answer.headers().iter().map(|(n, v)| (*n, v.as_bytes())))
    }

    /// The offer, read by a server, answered with `accept`, checked by the client.
    #[cfg(feature = "deflate")]
    fn round_trip(offer: &ClientOffer, accept: &Accept) -> (Answer, Negotiated) {
        let request = offer.headers();
        let offers =
            ServerOffers::from_headers(request.iter().map(|(n, v)| (*n, v.as_bytes()))).unwrap();
        let answer = offers.answer(accept, &on()).unwrap();
        let client = check(offer, &answer).unwrap();
        (answer, client)
    }

    #[test]
    fn negotiation_works_on_lowercase_http2_header_lists() {
        let offers = offers(&[
            (":method", "CONNECT"),
            ("sec-websocket-protocol", "chat, superchat"),
            ("sec-websocket-extensions", "x-foo; a=1"),
        ]);
        assert_eq!(
            offers.subprotocols().collect::<Vec<_>>(),
            ["chat", "superchat"]
        );
        assert!(offers.offers_extension("x-foo"));
        let accept = Accept::new()
            .subprotocol("superchat")
            .unwrap()
            .extension(CustomExtension::new("x-foo").unwrap());
        let answer = offers.answer(&accept, &on()).unwrap();
        assert_eq!(
            answer.headers(),
            [
                ("Sec-WebSocket-Protocol", "superchat".to_owned()),
                ("Sec-WebSocket-Extensions", "x-foo".to_owned())
            ]
        );
        assert_eq!(
            answer.negotiated().subprotocol.as_deref(),
            Some("superchat")
        );
        assert_eq!(answer.negotiated().extensions[0].name(), "x-foo");
    }

    #[test]
    fn server_refuses_to_answer_a_custom_extension_not_offered() {
        let offers = offers(&[("Sec-WebSocket-Extensions", "x-foo")]);
        let accept = Accept::new().extension(CustomExtension::new("x-bar").unwrap());
        assert_eq!(
            offers.answer(&accept, &on()),
            Err(BuildError::ExtensionNotOffered("x-bar".into()))
        );
    }

    #[test]
    fn server_rejects_a_malformed_extension_offer_with_400() {
        let err =
            ServerOffers::from_headers([("sec-websocket-extensions", &b"a;;b"[..])]).unwrap_err();
        assert!(matches!(err, RequestError::Extension(_)));
        assert_eq!(err.status(), 400);
        let err =
            ServerOffers::from_headers([("sec-websocket-protocol", &b"a/b"[..])]).unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn client_fails_an_answer_naming_an_extension_it_did_not_offer() {
        let offer = ClientOffer::new().extension(CustomExtension::new("x-mine").unwrap());
        let err = offer
            .check_answer([("Sec-WebSocket-Extensions", &b"x-other"[..])])
            .unwrap_err();
        assert_eq!(err, ResponseError::UnofferedExtension("x-other".into()));
        // permessage-deflate is not offered here, so it may not be answered either.
        let err = offer
            .check_answer([("Sec-WebSocket-Extensions", &b"permessage-deflate"[..])])
            .unwrap_err();
        assert_eq!(
            err,
            ResponseError::UnofferedExtension("permessage-deflate".into())
        );
        let agreed = offer
            .check_answer([("sec-websocket-extensions", &b"x-mine; p=1"[..])])
            .unwrap();
        let ext = &agreed.extensions[0];
        assert_eq!(ext.params().collect::<Vec<_>>(), [("p", Some("1"))]);
    }

    #[test]
    fn client_fails_two_extension_or_protocol_headers() {
        let offer = ClientOffer::new().subprotocol("a").unwrap();
        let err = offer
            .check_answer([
                ("Sec-WebSocket-Protocol", &b"a"[..]),
                ("sec-websocket-protocol", b"a"),
            ])
            .unwrap_err();
        assert_eq!(err, ResponseError::DuplicateHeader(PROTOCOL));
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn custom_extensions_and_deflate_are_negotiated_together() {
        let offer = ClientOffer::new()
            .deflate(on())
            .extension(CustomExtension::new("x-foo").unwrap());
        assert_eq!(
            offer.headers()[0].1,
            "permessage-deflate; client_max_window_bits, permessage-deflate, x-foo"
        );
        let accept = Accept::new().extension(CustomExtension::new("x-foo").unwrap());
        let (answer, client) = round_trip(&offer, &accept);
        assert_eq!(answer.headers()[0].1, "permessage-deflate, x-foo");
        assert!(client.deflate.is_some() && answer.negotiated().deflate.is_some());
        assert_eq!(client.extensions[0].name(), "x-foo");
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn explicit_deflate_parameters_are_answered_and_agreed_on_both_sides() {
        let offer = ClientOffer::new().deflate(on());
        let params = DeflateParams {
            server_max_window_bits: Some(10),
            client_no_context_takeover: true,
            client_max_window_bits: Some(ClientMaxWindowBits::Bits(12)),
            ..DeflateParams::default()
        };
        let accept = Accept::new().deflate(DeflateAnswer::Accept(params));
        let (answer, client) = round_trip(&offer, &accept);
        assert_eq!(
            answer.headers()[0].1,
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=10; \
             client_max_window_bits=12"
        );
        let server = answer.negotiated().deflate.as_ref().unwrap();
        let client = client.deflate.as_ref().unwrap();
        assert_eq!(
            *server,
            NegotiatedDeflate::new(10, false, 12, true),
            "the server compresses with its own window"
        );
        assert_eq!(client.decompress_window_bits, server.compress_window_bits);
        assert!(client.compress_window_bits <= server.decompress_window_bits);
        assert!(client.compress_no_context_takeover);
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn explicit_deflate_parameters_that_fit_no_offer_are_refused() {
        let response = DeflateParams {
            client_max_window_bits: Some(ClientMaxWindowBits::Bits(10)),
            ..DeflateParams::default()
        };
        // Offered without client_max_window_bits: RFC 7692 §7.1.2.2.
        let offers = offers(&[("Sec-WebSocket-Extensions", "permessage-deflate")]);
        let accept = Accept::new().deflate(DeflateAnswer::Accept(response));
        assert!(matches!(
            offers.answer(&accept, &on()),
            Err(BuildError::DeflateAnswer(NegotiationError::Mismatch { .. }))
        ));
        let eight = DeflateParams {
            server_max_window_bits: Some(8),
            ..DeflateParams::default()
        };
        let offers8 = ServerOffers::from_headers([(
            "sec-websocket-extensions",
            &b"permessage-deflate; server_max_window_bits=8"[..],
        )])
        .unwrap();
        let accept = Accept::new().deflate(DeflateAnswer::Accept(eight));
        assert!(matches!(
            offers8.answer(&accept, &on()),
            Err(BuildError::DeflateAnswer(
                NegotiationError::Unsupported { .. }
            ))
        ));
        let none = ServerOffers::default();
        let accept = Accept::new().deflate(DeflateAnswer::Accept(DeflateParams::default()));
        assert!(matches!(
            none.answer(&accept, &on()),
            Err(BuildError::DeflateAnswer(NegotiationError::NotOffered(_)))
        ));
    }

    #[cfg(not(feature = "deflate"))]
    #[test]
    fn without_the_codec_permessage_deflate_is_neither_offered_nor_accepted() {
        let offer = ClientOffer::new().deflate(on());
        assert!(offer.headers().is_empty());
        let offers = offers(&[("Sec-WebSocket-Extensions", "permessage-deflate")]);
        let answer = offers.answer(&Accept::new(), &on()).unwrap();
        assert!(answer.headers().is_empty());
        let accept = Accept::new().deflate(DeflateAnswer::Accept(DeflateParams::default()));
        assert_eq!(
            offers.answer(&accept, &on()),
            Err(BuildError::DeflateUnavailable)
        );
    }

    #[test]
    fn declined_deflate_sends_no_extension_header() {
        let offers = offers(&[("Sec-WebSocket-Extensions", "permessage-deflate")]);
        let accept = Accept::new().deflate(DeflateAnswer::Decline);
        let answer = offers.answer(&accept, &on()).unwrap();
        assert!(answer.headers().is_empty());
        assert_eq!(answer.negotiated(), &Negotiated::new());
    }
}
