//! The extended CONNECT of RFC 8441 (WebSockets over HTTP/2; RFC 9220
//! applies it unchanged to HTTP/3), sans-IO: the rules any HTTP/2 or HTTP/3
//! stack needs, on header lists.
//!
//! There is no HTTP/1.1 head and no `Sec-WebSocket-Key`: the request is a
//! `CONNECT` with `:protocol = websocket`, the answer a 2xx, and frames then
//! run over the stream (its end is the transport's end). Subprotocols and
//! extensions are negotiated by [`ServerOffers`] and [`ClientOffer`], as over
//! HTTP/1.1. Field names are lowercase (RFC 9113 §8.2.1). The stack must
//! also have sent `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1` (RFC 8441 §3); that
//! is a setting of the HTTP/2 connection, not of a stream, and is not seen here.
//!
//! A server reads the request with [`ExtendedConnect::from_headers`] (given
//! the pseudo-header fields, `:method` and the like, in the same list as the
//! other fields), then either [`accept`](ExtendedConnect::accept)s it, which
//! gives the response's fields and the [`Negotiated`] result for
//! [`Connection::with_negotiated`], or refuses it with
//! [`reject_fields`] and [`RequestError::status`].
//!
//! A client sends [`request_fields`] and checks the answer with
//! [`check_response`].
//!
//! ```
//! use wsproto::handshake::h2::{self, ExtendedConnect};
//! use wsproto::handshake::{Accept, ClientOffer};
//! use wsproto::{Config, Connection, Role};
//!
//! let config = Config::default();
//! let offer = ClientOffer::new().deflate(config.deflate.clone()).subprotocol("chat")?;
//! let request = h2::request_fields("https", "example.com", "/chat", &offer);
//! assert_eq!(request[0], (":method", "CONNECT".to_owned()));
//!
//! let connect = ExtendedConnect::from_headers(request.iter().map(|(n, v)| (*n, v.as_bytes())))?;
//! assert_eq!(connect.path(), "/chat");
//! let response = connect.accept(&Accept::new().subprotocol("chat")?, &config.deflate)?;
//! assert_eq!(response.status, 200);
//! let answer = response.fields.iter().map(|(n, v)| (n.as_str(), v.as_bytes()));
//! let negotiated = h2::check_response(response.status, answer, &offer)?.expect("a 2xx");
//! let server = Connection::with_negotiated(Role::Server, config.clone(), response.negotiated);
//!
//! let client = Connection::with_negotiated(Role::Client, config, negotiated);
//! assert_eq!((client.subprotocol(), server.subprotocol()), (Some("chat"), Some("chat")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Connection::with_negotiated`]: crate::Connection::with_negotiated

use crate::connection::Negotiated;
use crate::extensions::DeflateConfig;

use super::error::{BuildError, RequestError, ResponseError};
use super::http::{self, escape, Fields};
use super::negotiate::{ClientOffer, ServerOffers};
use super::{accept_key, Accept, VERSION};

/// Header fields that belong to one HTTP/1.1 connection: an HTTP/2 message
/// with any of them is malformed (RFC 9113 §8.2.2), and the WebSocket
/// handshake's `Connection` and `Upgrade` "MUST NOT be included" (RFC 8441 §5).
const CONNECTION_SPECIFIC: &[&str] = &[
    "connection",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
];

/// A client's extended CONNECT request for a WebSocket (RFC 8441 §4, §5)
/// that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedConnect {
    scheme: String,
    authority: String,
    path: String,
    origin: Option<String>,
    /// A `Sec-WebSocket-Key`, if the client sent one anyway.
    key: Option<String>,
    offers: ServerOffers,
}

impl ExtendedConnect {
    /// Reads and checks a request from its fields: the pseudo-header fields
    /// (`:method`, `:protocol`, `:scheme`, `:path`, `:authority`) and the
    /// others, in one list, as (name, value) pairs.
    ///
    /// The checks, each with its [`RequestError::status`]:
    /// - every name is lowercase (RFC 9113 §8.2.1), no connection-specific
    ///   field such as `Connection` or `Upgrade` (RFC 9113 §8.2.2,
    ///   RFC 8441 §5), each pseudo-header at most once: else 400;
    /// - `:method` is `CONNECT` (RFC 8441 §4): else 405;
    /// - `:protocol` is present (400) and is `websocket` (RFC 8441 §5): else
    ///   501, this server speaks no other protocol;
    /// - `:scheme`, `:path` (RFC 8441 §4) and `:authority` (§5: it carries
    ///   what `Host` did) are present: else 400;
    /// - `sec-websocket-version` is 13 (RFC 6455 §4.2.1, as RFC 8441 §5
    ///   keeps it): else 426, answered with [`reject_fields`]'s
    ///   `sec-websocket-version: 13`;
    /// - the subprotocol and extension offers are well-formed
    ///   ([`ServerOffers::from_headers`]): else 400.
    ///
    /// No `Sec-WebSocket-Key` is needed (RFC 8441 §5); one sent anyway is
    /// answered, for clients that check it.
    pub fn from_headers<'a, I>(fields: I) -> Result<Self, RequestError>
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
    {
        let fields = Fields::new(fields);
        let mut names = fields.names();
        // RFC 9113 §8.2.1: uppercase field names make the request malformed.
        if names.any(|name| name.bytes().any(|b| b.is_ascii_uppercase())) {
            return Err(RequestError::Malformed("a field name is not lowercase"));
        }
        // RFC 9113 §8.2.2; RFC 8441 §5: no Connection, no Upgrade.
        if let Some(name) = CONNECTION_SPECIFIC.iter().find(|n| fields.count(n) > 0) {
            return Err(RequestError::InvalidHeader {
                name,
                reason: "connection-specific fields are not allowed over HTTP/2 (RFC 9113 §8.2.2)",
            });
        }
        // RFC 9113 §8.3: each pseudo-header at most once.
        let method = fields.single(":method")?;
        let protocol = fields.single(":protocol")?;
        let scheme = fields.single(":scheme")?;
        let path = fields.single(":path")?;
        let authority = fields.single(":authority")?;
        // RFC 8441 §4: the extended CONNECT.
        match method {
            Some("CONNECT") => {}
            Some(other) => return Err(RequestError::Method(escape(other.as_bytes()))),
            None => return Err(RequestError::MissingHeader(":method")),
        }
        // RFC 8441 §5: ":protocol ... MUST have a value of "websocket"".
        match protocol {
            Some("websocket") => {}
            Some(other) => return Err(RequestError::UnsupportedProtocol(escape(other.as_bytes()))),
            None => return Err(RequestError::MissingHeader(":protocol")),
        }
        // RFC 8441 §4: :scheme and :path MUST be included; §5: :authority
        // conveys the host.
        let (Some(scheme), Some(path), Some(authority)) = (scheme, path, authority) else {
            let missing = match (scheme, path) {
                (None, _) => ":scheme",
                (_, None) => ":path",
                _ => ":authority",
            };
            return Err(RequestError::MissingHeader(missing));
        };
        if path.is_empty() {
            return Err(RequestError::InvalidHeader {
                name: ":path",
                reason: "it is empty",
            });
        }
        // RFC 6455 §4.2.1, item 6, kept by RFC 8441 §5: version 13.
        let versions: Vec<&[u8]> = fields.tokens("sec-websocket-version").collect();
        if versions != [VERSION.as_bytes()] {
            let found = (fields.count("sec-websocket-version") > 0).then(|| {
                let all: Vec<&[u8]> = fields.get_all("sec-websocket-version").collect();
                escape(&all.join(&b", "[..]))
            });
            return Err(RequestError::UnsupportedVersion(found));
        }
        let origin = fields.single("origin")?.map(str::to_owned);
        let key = fields
            .single("sec-websocket-key")?
            .map(|k| http::trim_str(k).to_owned());
        let offers = ServerOffers::from_fields(&fields)?;
        Ok(Self {
            scheme: scheme.to_owned(),
            authority: authority.to_owned(),
            path: path.to_owned(),
            origin,
            key,
            offers,
        })
    }

    /// `:scheme`: `https` for `wss`, `http` for `ws` (RFC 8441 §5).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// `:authority`: the host, as `Host` carried it over HTTP/1.1.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// `:path`: the path and query, as over HTTP/1.1.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The `origin` field, which a server that serves browsers should check
    /// (RFC 6455 §10.2).
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The subprotocol and extension offers.
    pub fn offers(&self) -> &ServerOffers {
        &self.offers
    }

    /// Accepts the request: the [`ConnectResponse`] to send, and what was
    /// agreed, for [`Connection::with_negotiated`](crate::Connection::with_negotiated).
    ///
    /// The fields are lowercase: `sec-websocket-protocol` and
    /// `sec-websocket-extensions` from [`ServerOffers::answer`] (which
    /// checks `accept` against the offers, as over HTTP/1.1), then
    /// `accept`'s extra headers. When the client sent a `Sec-WebSocket-Key`
    /// anyway, `sec-websocket-accept` answers it: RFC 8441 §5 does not use
    /// the pair, but some clients (undici) check it.
    pub fn accept(
        &self,
        accept: &Accept,
        deflate: &DeflateConfig,
    ) -> Result<ConnectResponse, BuildError> {
        let answer = self.offers.answer(accept, deflate)?;
        let mut fields: Vec<(String, String)> = answer
            .headers()
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
            .collect();
        if let Some(key) = &self.key {
            fields.push((
                "sec-websocket-accept".to_owned(),
                accept_key(key.as_bytes()),
            ));
        }
        fields.extend(
            accept
                .headers()
                .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned())),
        );
        Ok(ConnectResponse {
            status: 200,
            fields,
            negotiated: answer.into_negotiated(),
        })
    }
}

/// A server's answer to an extended CONNECT it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectResponse {
    /// `:status`: 200 (RFC 8441 §5: a 2xx opens the WebSocket).
    pub status: u16,
    /// The other fields, lowercase (RFC 9113 §8.2.1).
    pub fields: Vec<(String, String)>,
    /// What was agreed.
    pub negotiated: Negotiated,
}

/// The fields a refusal of `error` carries besides its status
/// ([`RequestError::status`]): `sec-websocket-version: 13` with a 426
/// (RFC 6455 §4.2.2, §4.4), `allow: CONNECT` with a 405 (RFC 9110
/// §15.5.6). A body, if any, is the stack's to send; the error's text is
/// escaped and safe to use as one.
pub fn reject_fields(error: &RequestError) -> Vec<(&'static str, String)> {
    match error.status() {
        426 => vec![("sec-websocket-version", VERSION.to_owned())],
        405 => vec![("allow", "CONNECT".to_owned())],
        _ => Vec::new(),
    }
}

/// A client's extended CONNECT request (RFC 8441 §4, §5): the
/// pseudo-header fields, `sec-websocket-version: 13` and `offer`'s fields,
/// all lowercase. `scheme` is `https` for `wss` and `http` for `ws`;
/// `path` is the path and query. Add `origin`, cookies and the like
/// yourself.
pub fn request_fields(
    scheme: &str,
    authority: &str,
    path: &str,
    offer: &ClientOffer,
) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        (":method", "CONNECT".to_owned()),
        (":protocol", "websocket".to_owned()),
        (":scheme", scheme.to_owned()),
        (":path", path.to_owned()),
        (":authority", authority.to_owned()),
        ("sec-websocket-version", VERSION.to_owned()),
    ];
    for (name, value) in offer.headers() {
        let name = match name {
            "Sec-WebSocket-Protocol" => "sec-websocket-protocol",
            _ => "sec-websocket-extensions",
        };
        fields.push((name, value));
    }
    fields
}

/// Checks the server's answer to an extended CONNECT: `Ok(Some(..))` with
/// what was agreed for a 2xx whose subprotocol and extensions fit `offer`
/// (RFC 6455 §4.1, checks 5 and 6, as RFC 8441 §5 keeps them);
/// `Ok(None)` for any other status, which is handled as HTTP says.
pub fn check_response<'a, I>(
    status: u16,
    fields: I,
    offer: &ClientOffer,
) -> Result<Option<Negotiated>, ResponseError>
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
{
    if !(200..300).contains(&status) {
        return Ok(None);
    }
    let fields = Fields::new(fields);
    // RFC 9113 §8.2.1.
    if fields
        .names()
        .any(|name| name.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return Err(ResponseError::Malformed("a field name is not lowercase"));
    }
    offer.check_fields(&fields).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extensions::CustomExtension;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    /// The request of RFC 8441 §5.1, with what `extra` replaces or adds.
    fn request(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut fields = vec![
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "https"),
            (":path", "/chat"),
            (":authority", "server.example.com"),
            ("sec-websocket-protocol", "chat, superchat"),
            ("sec-websocket-extensions", "permessage-deflate"),
            ("sec-websocket-version", "13"),
            ("origin", "http://www.example.com"),
        ];
        for (name, value) in extra {
            match fields.iter_mut().find(|(n, _)| n == name) {
                Some(field) => field.1 = value,
                None => fields.push((name, value)),
            }
        }
        fields.retain(|(_, v)| !v.is_empty());
        fields
    }

    fn read(fields: &[(&str, &str)]) -> Result<ExtendedConnect, RequestError> {
        ExtendedConnect::from_headers(fields.iter().map(|(n, v)| (*n, v.as_bytes())))
    }

    #[test]
    fn server_reads_the_rfc8441_section_5_1_request() {
        let connect = read(&request(&[])).unwrap();
        assert_eq!(
            (connect.scheme(), connect.authority(), connect.path()),
            ("https", "server.example.com", "/chat")
        );
        assert_eq!(connect.origin(), Some("http://www.example.com"));
        assert_eq!(
            connect.offers().subprotocols().collect::<Vec<_>>(),
            ["chat", "superchat"]
        );
        let ConnectResponse {
            status,
            fields,
            negotiated,
            ..
        } = connect
            .accept(
                &Accept::new().subprotocol("chat").unwrap(),
                &DeflateConfig::default(),
            )
            .unwrap();
        assert_eq!(status, 200);
        assert_eq!(fields[0], ("sec-websocket-protocol".into(), "chat".into()));
        assert!(fields
            .iter()
            .all(|(n, _)| !n.bytes().any(|b| b.is_ascii_uppercase())));
        assert!(!fields.iter().any(|(n, _)| n == "sec-websocket-accept"));
        assert_eq!(negotiated.subprotocol.as_deref(), Some("chat"));
        #[cfg(feature = "deflate")]
        assert!(negotiated.deflate.is_some());
    }

    #[test]
    fn server_answers_a_key_sent_anyway_with_sec_websocket_accept() {
        let connect = read(&request(&[("sec-websocket-key", KEY)])).unwrap();
        let response = connect
            .accept(&Accept::new(), &DeflateConfig::default())
            .unwrap();
        assert!(response.fields.contains(&(
            "sec-websocket-accept".to_owned(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_owned()
        )));
    }

    #[test]
    fn server_refuses_another_method_with_405_and_another_protocol_with_501() {
        let err = read(&request(&[(":method", "GET")])).unwrap_err();
        assert_eq!(
            (err.clone(), err.status()),
            (RequestError::Method("GET".into()), 405)
        );
        assert_eq!(reject_fields(&err), [("allow", "CONNECT".to_owned())]);
        let err = read(&request(&[(":protocol", "connect-udp")])).unwrap_err();
        assert_eq!(err, RequestError::UnsupportedProtocol("connect-udp".into()));
        assert_eq!(err.status(), 501);
        let err = read(&request(&[(":protocol", "")])).unwrap_err();
        assert_eq!(
            (err.clone(), err.status()),
            (RequestError::MissingHeader(":protocol"), 400)
        );
    }

    #[test]
    fn server_requires_scheme_path_and_authority_with_400() {
        for name in [":scheme", ":path", ":authority"] {
            let err = read(&request(&[(name, "")])).unwrap_err();
            assert_eq!(err, RequestError::MissingHeader(name));
            assert_eq!(err.status(), 400);
        }
        let twice = [request(&[]), vec![(":path", "/other")]].concat();
        assert_eq!(read(&twice), Err(RequestError::DuplicateHeader(":path")));
    }

    #[test]
    fn server_refuses_a_version_other_than_13_with_426_naming_13() {
        for version in ["8", ""] {
            let err = read(&request(&[("sec-websocket-version", version)])).unwrap_err();
            assert_eq!(err.status(), 426);
            assert_eq!(
                reject_fields(&err),
                [("sec-websocket-version", "13".to_owned())]
            );
        }
        assert!(reject_fields(&RequestError::MissingHeader(":path")).is_empty());
    }

    #[test]
    fn server_refuses_uppercase_names_and_connection_specific_fields_with_400() {
        let err = read(&request(&[("Sec-WebSocket-Version", "13")])).unwrap_err();
        assert_eq!(
            err,
            RequestError::Malformed("a field name is not lowercase")
        );
        for name in ["connection", "upgrade"] {
            let err = read(&request(&[(name, "websocket")])).unwrap_err();
            assert!(matches!(err, RequestError::InvalidHeader { .. }), "{err:?}");
            assert_eq!(err.status(), 400);
        }
    }

    #[test]
    fn client_builds_the_extended_connect_and_checks_a_2xx() {
        let offer = ClientOffer::new()
            .subprotocol("chat")
            .unwrap()
            .extension(CustomExtension::new("x-foo").unwrap());
        let fields = request_fields("http", "localhost:8080", "/ws?a=1", &offer);
        assert_eq!(
            fields,
            [
                (":method", "CONNECT".to_owned()),
                (":protocol", "websocket".to_owned()),
                (":scheme", "http".to_owned()),
                (":path", "/ws?a=1".to_owned()),
                (":authority", "localhost:8080".to_owned()),
                ("sec-websocket-version", "13".to_owned()),
                ("sec-websocket-protocol", "chat".to_owned()),
                ("sec-websocket-extensions", "x-foo".to_owned()),
            ]
        );
        let ok = check_response(200, [("sec-websocket-protocol", &b"chat"[..])], &offer)
            .unwrap()
            .unwrap();
        assert_eq!(ok.subprotocol.as_deref(), Some("chat"));
        assert_eq!(check_response(403, [], &offer), Ok(None));
        assert_eq!(
            check_response(200, [("sec-websocket-protocol", &b"mqtt"[..])], &offer),
            Err(ResponseError::UnofferedSubprotocol("mqtt".into()))
        );
        assert_eq!(
            check_response(200, [("sec-websocket-extensions", &b"x-bar"[..])], &offer),
            Err(ResponseError::UnofferedExtension("x-bar".into()))
        );
    }
}
