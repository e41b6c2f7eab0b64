//! The opening handshake on the types of the [`http`] crate (feature
//! `http`), for HTTP stacks that read and write heads themselves (hyper,
//! axum, any server framework), over HTTP/1.1 (RFC 6455 §4) and HTTP/2
//! extended CONNECT (RFC 8441).
//!
//! Nothing is parsed here: the checks and the negotiation are the sans-IO
//! handshake's, on header lists ([`UpgradeRequest`], [`ExtendedConnect`],
//! [`handshake::check_response`], [`h2::check_response`]). This module only
//! moves fields between them and `http`'s types.
//!
//! - A server reads a [`ServerRequest`] from the request's
//!   [`Parts`](http::request::Parts) (or the whole request), looks at it
//!   (path, Origin, subprotocols), then [`accept`](ServerRequest::accept)s
//!   it, which gives the `http::Response<()>` to send (a 101 over HTTP/1.1,
//!   a 200 over HTTP/2) and the [`Negotiated`] result for
//!   [`Connection::with_negotiated`](crate::Connection::with_negotiated),
//!   or answers with [`reject`].
//! - A client builds a [`ClientUpgrade`], sends its
//!   [`request`](ClientUpgrade::request) and checks the response with
//!   [`check_response`](ClientUpgrade::check_response).
//!
//! ```
//! use wsproto::handshake::{Accept, ClientRequest};
//! use wsproto::http::{ClientUpgrade, Opening, ServerRequest};
//! use wsproto::{Config, Connection, Role};
//!
//! let config = Config::default();
//! let client = ClientUpgrade::new(&ClientRequest::new("example.com", "/chat")?.subprotocol("chat")?, &config);
//! let request = client.request()?;
//!
//! let server = ServerRequest::from_request(&request, None)?;
//! assert_eq!((server.opening(), server.path()), (Opening::Http1Upgrade, "/chat"));
//! let (response, negotiated) = server.accept(&Accept::new().subprotocol("chat")?, &config)?;
//! assert_eq!(response.status(), 101);
//! let _conn = Connection::with_negotiated(Role::Server, config.clone(), negotiated);
//!
//! let agreed = client.check_response(&response)?.expect("a 101");
//! assert_eq!(agreed.subprotocol.as_deref(), Some("chat"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`UpgradeRequest`]: crate::handshake::UpgradeRequest
//! [`ExtendedConnect`]: crate::handshake::h2::ExtendedConnect
//! [`handshake::check_response`]: crate::handshake::check_response
//! [`h2::check_response`]: crate::handshake::h2::check_response

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode, Version};

use crate::config::Config;
use crate::connection::Negotiated;
use crate::entropy::{Entropy, OsEntropy};
use crate::handshake::h2::{self, ExtendedConnect};
use crate::handshake::{
    self, Accept, BuildError, ClientOffer, ClientRequest, RequestError, ResponseError,
    ServerOffers, UpgradeRequest,
};

/// How a WebSocket is opened over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Opening {
    /// An HTTP/1.1 `GET` with `Upgrade: websocket`, answered with 101
    /// (RFC 6455 §4).
    Http1Upgrade,
    /// An HTTP/2 extended CONNECT with `:protocol websocket`, answered with
    /// 200 (RFC 8441 §4, §5); the WebSocket runs over one HTTP/2 stream.
    ExtendedConnect,
}

impl std::fmt::Display for Opening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Http1Upgrade => "HTTP/1.1 Upgrade",
            Self::ExtendedConnect => "HTTP/2 extended CONNECT",
        })
    }
}

/// The fields of `headers`, as the handshake's checks take them.
fn fields(headers: &HeaderMap) -> impl Iterator<Item = (&str, &[u8])> + '_ {
    headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes()))
}

// ---------------------------------------------------------------- server

#[derive(Debug, Clone, PartialEq, Eq)]
enum Checked {
    Upgrade(UpgradeRequest),
    Connect(ExtendedConnect),
}

/// A client's request to open a WebSocket, read from `http` types, that
/// passed the checks of RFC 6455 §4.2.1 (HTTP/1.1) or RFC 8441 §4–5
/// (HTTP/2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRequest {
    checked: Checked,
    target: String,
}

impl ServerRequest {
    /// Reads and checks a request from its head.
    ///
    /// `protocol` is the `:protocol` pseudo-header of an HTTP/2 request,
    /// which the `http` types cannot carry: HTTP/2 stacks put it in the
    /// request's extensions (`hyper::ext::Protocol`, `h2::ext::Protocol`);
    /// give `None` for HTTP/1.1.
    ///
    /// An HTTP/1.1 request gets the checks of
    /// [`UpgradeRequest::from_headers`]; an HTTP/2 (or later) one those of
    /// [`ExtendedConnect::from_headers`], with `:method`, `:scheme`,
    /// `:path` and `:authority` taken from the method and URI; HTTP/1.0 is
    /// refused ([`RequestError::HttpVersion`], RFC 6455 §4.2.1, item 1).
    /// Answer an error with [`reject`].
    pub fn from_parts(
        parts: &http::request::Parts,
        protocol: Option<&str>,
    ) -> Result<Self, RequestError> {
        Self::read(
            &parts.method,
            &parts.uri,
            parts.version,
            &parts.headers,
            protocol,
        )
    }

    /// [`from_parts`](Self::from_parts) on a whole request; the body is not
    /// looked at.
    pub fn from_request<B>(
        request: &http::Request<B>,
        protocol: Option<&str>,
    ) -> Result<Self, RequestError> {
        Self::read(
            request.method(),
            request.uri(),
            request.version(),
            request.headers(),
            protocol,
        )
    }

    fn read(
        method: &Method,
        uri: &http::Uri,
        version: Version,
        headers: &HeaderMap,
        protocol: Option<&str>,
    ) -> Result<Self, RequestError> {
        let target = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
        let checked = match version {
            // RFC 6455 §4.2.1, item 1: HTTP/1.1 or higher.
            Version::HTTP_09 | Version::HTTP_10 => return Err(RequestError::HttpVersion),
            Version::HTTP_11 => Checked::Upgrade(UpgradeRequest::from_headers(
                method.as_str(),
                fields(headers),
            )?),
            // RFC 8441 §4; RFC 9220 for HTTP/3: the pseudo-header fields
            // first, as the stack received them.
            _ => {
                let authority = uri.authority().map(|a| a.as_str());
                let pseudo = [
                    (":method", Some(method.as_str())),
                    (":protocol", protocol),
                    (":scheme", uri.scheme_str()),
                    (":path", Some(target.as_str()).filter(|t| !t.is_empty())),
                    (":authority", authority),
                ];
                let pseudo = pseudo
                    .into_iter()
                    .filter_map(|(n, v)| v.map(|v| (n, v.as_bytes())));
                Checked::Connect(ExtendedConnect::from_headers(
                    pseudo.chain(fields(headers)),
                )?)
            }
        };
        Ok(Self { checked, target })
    }

    /// How the WebSocket is being opened.
    pub fn opening(&self) -> Opening {
        match self.checked {
            Checked::Upgrade(_) => Opening::Http1Upgrade,
            Checked::Connect(_) => Opening::ExtendedConnect,
        }
    }

    /// The path and query, `/chat?room=1`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The target up to the first `?`.
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    /// The `Origin` header, which a server that serves browsers should
    /// check (RFC 6455 §10.2).
    pub fn origin(&self) -> Option<&str> {
        match &self.checked {
            Checked::Upgrade(r) => r.origin(),
            Checked::Connect(r) => r.origin(),
        }
    }

    /// The subprotocol and extension offers.
    pub fn offers(&self) -> &ServerOffers {
        match &self.checked {
            Checked::Upgrade(r) => r.offers(),
            Checked::Connect(r) => r.offers(),
        }
    }

    /// The subprotocols offered, in the client's order of preference.
    pub fn subprotocols(&self) -> impl Iterator<Item = &str> + '_ {
        self.offers().subprotocols()
    }

    /// Accepts the request: the response to send and what was agreed, for
    /// [`Connection::with_negotiated`](crate::Connection::with_negotiated)
    /// with `config`.
    ///
    /// Over HTTP/1.1 a 101 with `Upgrade`, `Connection` and
    /// `Sec-WebSocket-Accept` (RFC 6455 §4.2.2); over HTTP/2 a 200 with
    /// lowercase fields and no key (RFC 8441 §5), but with
    /// `sec-websocket-accept` when the client sent a key anyway (see
    /// [`ExtendedConnect::accept`]). permessage-deflate is negotiated from
    /// `config.deflate` unless `accept` says otherwise. Fails as
    /// [`ServerOffers::answer`] does.
    pub fn accept(
        &self,
        accept: &Accept,
        config: &Config,
    ) -> Result<(http::Response<()>, Negotiated), BuildError> {
        let (status, fields, negotiated) = match &self.checked {
            Checked::Upgrade(r) => {
                let r = r.accept(accept, &config.deflate)?;
                (r.status, r.fields, r.negotiated)
            }
            Checked::Connect(r) => {
                let r = r.accept(accept, &config.deflate)?;
                (r.status, r.fields, r.negotiated)
            }
        };
        let fields = fields.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        Ok((response(status, fields)?, negotiated))
    }
}

/// Builds a response with `status` and `fields`.
fn response<'a>(
    status: u16,
    fields: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<http::Response<()>, BuildError> {
    let mut response = http::Response::new(());
    *response.status_mut() =
        StatusCode::from_u16(status).map_err(|_| BuildError::InvalidStatus(status))?;
    append(response.headers_mut(), fields)?;
    Ok(response)
}

/// Appends `fields` to `headers`.
fn append<'a>(
    headers: &mut HeaderMap,
    fields: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), BuildError> {
    for (name, value) in fields {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| BuildError::InvalidHeaderName(name.to_owned()))?;
        let value = HeaderValue::from_bytes(value.as_bytes())
            .map_err(|_| BuildError::InvalidHeaderValue(name.as_str().to_owned()))?;
        headers.append(name, value);
    }
    Ok(())
}

/// The response that refuses a request that failed its checks, for a
/// request of `version`: the status of [`RequestError::status`] and the
/// fields of [`handshake::reject_fields`] (HTTP/1.1: `Upgrade` and
/// `Sec-WebSocket-Version: 13` with a 426, `Allow: GET` with a 405) or
/// [`h2::reject_fields`] (HTTP/2: `sec-websocket-version: 13` with a 426,
/// `allow: CONNECT` with a 405; RFC 8441 §5 keeps RFC 6455's answers, and
/// a `:protocol` other than `websocket` gets 501).
///
/// The body is the caller's: the error's text is escaped and safe to send
/// as one.
pub fn reject(error: &RequestError, version: Version) -> http::Response<()> {
    let fields: Vec<(&str, String)> = if version >= Version::HTTP_2 {
        h2::reject_fields(error)
    } else {
        handshake::reject_fields(error)
            .into_iter()
            .map(|(n, v)| (n, v.to_owned()))
            .collect()
    };
    // Statuses and fields are the crate's own, all valid.
    response(error.status(), fields.iter().map(|(n, v)| (*n, v.as_str())))
        .unwrap_or_else(|_| http::Response::new(()))
}

// ---------------------------------------------------------------- client

/// A client's request to open a WebSocket over HTTP, as `http` types: the
/// request to send and the checks of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientUpgrade {
    request: ClientRequest,
    opening: Opening,
    scheme: String,
    /// The `Sec-WebSocket-Key`, over HTTP/1.1.
    key: String,
    offer: ClientOffer,
}

impl ClientUpgrade {
    /// An HTTP/1.1 upgrade for `request`, offering permessage-deflate as
    /// `config.deflate` says, with a key from the operating system's
    /// generator (RFC 6455 §4.1, item 7).
    pub fn new(request: &ClientRequest, config: &Config) -> Self {
        Self::with_entropy(request, config, &mut OsEntropy::new())
    }

    /// [`new`](Self::new), with the key drawn from `entropy`.
    pub fn with_entropy(
        request: &ClientRequest,
        config: &Config,
        entropy: &mut dyn Entropy,
    ) -> Self {
        use base64::Engine as _;
        let mut nonce = [0u8; 16];
        entropy.fill(&mut nonce);
        Self {
            request: request.clone(),
            opening: Opening::Http1Upgrade,
            scheme: "http".to_owned(),
            key: base64::engine::general_purpose::STANDARD.encode(nonce),
            offer: request.offer(&config.deflate),
        }
    }

    /// An HTTP/2 extended CONNECT for `request` (RFC 8441 §4, §5), with
    /// `:scheme` `scheme` (`https` for `wss`, `http` for `ws` over h2c),
    /// offering permessage-deflate as `config.deflate` says. Only for a
    /// server that sent `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1` (RFC 8441 §3).
    pub fn extended_connect(request: &ClientRequest, config: &Config, scheme: &str) -> Self {
        Self {
            request: request.clone(),
            opening: Opening::ExtendedConnect,
            scheme: scheme.to_owned(),
            key: String::new(),
            offer: request.offer(&config.deflate),
        }
    }

    /// How the WebSocket is being opened.
    pub fn opening(&self) -> Opening {
        self.opening
    }

    /// The `Sec-WebSocket-Key` sent over HTTP/1.1; `None` over HTTP/2,
    /// which has none (RFC 8441 §5).
    pub fn key(&self) -> Option<&str> {
        (self.opening == Opening::Http1Upgrade).then_some(self.key.as_str())
    }

    /// What is offered.
    pub fn offer(&self) -> &ClientOffer {
        &self.offer
    }

    /// The request to send, with no body.
    ///
    /// Over HTTP/1.1: `GET` with the target as URI, version HTTP/1.1 and
    /// [`ClientRequest::head_fields`]. Over HTTP/2: `CONNECT` with an
    /// absolute URI (`scheme://authority/target`), version HTTP/2 and the
    /// non-pseudo fields of [`ClientRequest::connect_fields`]; the
    /// `:protocol` pseudo-header cannot be carried by `http` types, so the
    /// stack must be told in its own way (hyper:
    /// `hyper::ext::Protocol::from_static("websocket")` in the request's
    /// extensions).
    pub fn request(&self) -> Result<http::Request<()>, BuildError> {
        let mut request = http::Request::new(());
        let target = self.request.target();
        match self.opening {
            Opening::Http1Upgrade => {
                *request.uri_mut() = target
                    .parse()
                    .map_err(|_| BuildError::InvalidPath(target.to_owned()))?;
                *request.version_mut() = Version::HTTP_11;
                let fields = self.request.head_fields(&self.key, &self.offer);
                append(
                    request.headers_mut(),
                    fields.iter().map(|(n, v)| (*n, v.as_str())),
                )?;
            }
            Opening::ExtendedConnect => {
                *request.method_mut() = Method::CONNECT;
                let uri = format!("{}://{}{target}", self.scheme, self.request.authority());
                *request.uri_mut() = uri
                    .parse()
                    .map_err(|_| BuildError::InvalidHost(self.request.authority().to_owned()))?;
                *request.version_mut() = Version::HTTP_2;
                let fields = self.request.connect_fields(&self.scheme, &self.offer);
                let fields = fields
                    .iter()
                    .filter(|(n, _)| !n.starts_with(':'))
                    .map(|(n, v)| (*n, v.as_str()));
                append(request.headers_mut(), fields)?;
            }
        }
        Ok(request)
    }

    /// Checks the server's answer: `Ok(Some(..))` with what was agreed for
    /// a 101 (HTTP/1.1) or a 2xx (HTTP/2) that passes the checks of
    /// RFC 6455 §4.1 ([`handshake::check_response`],
    /// [`h2::check_response`]); `Ok(None)` for any other status, to be
    /// handled as HTTP says (a 401 to authenticate, a 3xx to redirect).
    pub fn check_response<B>(
        &self,
        response: &http::Response<B>,
    ) -> Result<Option<Negotiated>, ResponseError> {
        self.check(response.status(), response.version(), response.headers())
    }

    /// [`check_response`](Self::check_response) on the response's head.
    pub fn check_parts(
        &self,
        parts: &http::response::Parts,
    ) -> Result<Option<Negotiated>, ResponseError> {
        self.check(parts.status, parts.version, &parts.headers)
    }

    fn check(
        &self,
        status: StatusCode,
        version: Version,
        headers: &HeaderMap,
    ) -> Result<Option<Negotiated>, ResponseError> {
        let status = status.as_u16();
        match self.opening {
            Opening::Http1Upgrade => {
                // A 101 does not exist in HTTP/1.0.
                if status == 101 && version < Version::HTTP_11 {
                    return Err(ResponseError::HttpVersion);
                }
                handshake::check_response(status, fields(headers), &self.key, &self.offer)
            }
            Opening::ExtendedConnect => h2::check_response(status, fields(headers), &self.offer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;

    fn parts(request: http::Request<()>) -> http::request::Parts {
        request.into_parts().0
    }

    fn client(opening: Opening) -> ClientUpgrade {
        let request = ClientRequest::new("example.com:8443", "/chat?room=1")
            .unwrap()
            .subprotocol("chat")
            .unwrap()
            .origin("https://example.com")
            .unwrap()
            .header("Authorization", "Bearer x")
            .unwrap();
        match opening {
            Opening::Http1Upgrade => ClientUpgrade::with_entropy(
                &request,
                &Config::default(),
                &mut SeededEntropy::new(7),
            ),
            Opening::ExtendedConnect => {
                ClientUpgrade::extended_connect(&request, &Config::default(), "https")
            }
        }
    }

    #[test]
    fn http1_upgrade_round_trips_through_http_types() {
        let client = client(Opening::Http1Upgrade);
        let request = client.request().unwrap();
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri(), "/chat?room=1");
        assert_eq!(request.headers()["host"], "example.com:8443");
        assert_eq!(request.headers()["authorization"], "Bearer x");
        let key = request.headers()["sec-websocket-key"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(Some(key.as_str()), client.key());

        let server = ServerRequest::from_parts(&parts(request), None).unwrap();
        assert_eq!(server.opening(), Opening::Http1Upgrade);
        assert_eq!((server.path(), server.target()), ("/chat", "/chat?room=1"));
        assert_eq!(server.origin(), Some("https://example.com"));
        let accept = Accept::new().subprotocol("chat").unwrap();
        let (response, negotiated) = server.accept(&accept, &Config::default()).unwrap();
        assert_eq!(response.status(), 101);
        assert_eq!(
            response.headers()["sec-websocket-accept"],
            handshake::accept_key(key.as_bytes()).as_str()
        );
        let agreed = client.check_response(&response).unwrap().unwrap();
        assert_eq!(agreed, negotiated);
        assert_eq!(agreed.subprotocol.as_deref(), Some("chat"));
        #[cfg(feature = "deflate")]
        assert!(agreed.deflate.is_some());
    }

    #[test]
    fn extended_connect_round_trips_through_http_types() {
        let client = client(Opening::ExtendedConnect);
        assert_eq!(client.key(), None);
        let request = client.request().unwrap();
        assert_eq!(request.method(), Method::CONNECT);
        assert_eq!(request.version(), Version::HTTP_2);
        assert_eq!(request.uri(), "https://example.com:8443/chat?room=1");
        assert!(request.headers().get("sec-websocket-key").is_none());
        assert_eq!(request.headers()["sec-websocket-version"], "13");

        let parts = parts(request);
        // Without :protocol, an extended CONNECT is not one (RFC 8441 §4).
        assert_eq!(
            ServerRequest::from_parts(&parts, None),
            Err(RequestError::MissingHeader(":protocol"))
        );
        let server = ServerRequest::from_parts(&parts, Some("websocket")).unwrap();
        assert_eq!(server.opening(), Opening::ExtendedConnect);
        let (response, negotiated) = server
            .accept(
                &Accept::new().subprotocol("chat").unwrap(),
                &Config::default(),
            )
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("sec-websocket-accept").is_none());
        assert!(response.headers().get("upgrade").is_none());
        let agreed = client.check_response(&response).unwrap().unwrap();
        assert_eq!(agreed, negotiated);
    }

    #[test]
    fn server_refuses_http10_and_rejects_by_version() {
        let mut request = client(Opening::Http1Upgrade).request().unwrap();
        *request.version_mut() = Version::HTTP_10;
        let err = ServerRequest::from_request(&request, None).unwrap_err();
        assert_eq!(
            (err.clone(), err.status()),
            (RequestError::HttpVersion, 400)
        );

        let mut request = client(Opening::Http1Upgrade).request().unwrap();
        request
            .headers_mut()
            .insert("sec-websocket-version", HeaderValue::from_static("8"));
        let err = ServerRequest::from_request(&request, None).unwrap_err();
        let h1 = reject(&err, Version::HTTP_11);
        assert_eq!(h1.status(), 426);
        assert_eq!(h1.headers()["sec-websocket-version"], "13");
        assert_eq!(h1.headers()["upgrade"], "websocket");
        let h2 = reject(&err, Version::HTTP_2);
        assert_eq!(h2.status(), 426);
        assert_eq!(h2.headers()["sec-websocket-version"], "13");
        assert!(h2.headers().get("upgrade").is_none(), "RFC 9113 §8.2.2");

        let mut request = client(Opening::ExtendedConnect).request().unwrap();
        *request.method_mut() = Method::GET;
        let err = ServerRequest::from_request(&request, Some("websocket")).unwrap_err();
        assert_eq!(reject(&err, Version::HTTP_2).headers()["allow"], "CONNECT");
        let request = client(Opening::ExtendedConnect).request().unwrap();
        let err = ServerRequest::from_request(&request, Some("connect-udp")).unwrap_err();
        assert_eq!(reject(&err, Version::HTTP_2).status(), 501);
    }

    #[test]
    fn client_fails_a_101_with_a_wrong_accept_and_passes_other_statuses_through() {
        let client = client(Opening::Http1Upgrade);
        let mut response = response(
            101,
            [
                ("upgrade", "websocket"),
                ("connection", "upgrade"),
                ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            ]
            .into_iter(),
        )
        .unwrap();
        assert_eq!(
            client.check_response(&response),
            Err(ResponseError::AcceptMismatch)
        );
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        assert_eq!(client.check_response(&response), Ok(None));
        let mut ok = http::Response::new(());
        *ok.version_mut() = Version::HTTP_10;
        *ok.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        assert_eq!(client.check_response(&ok), Err(ResponseError::HttpVersion));

        let h2 = client_h2_answer(&[("sec-websocket-protocol", "mqtt")]);
        assert_eq!(
            super::tests::client(Opening::ExtendedConnect).check_response(&h2),
            Err(ResponseError::UnofferedSubprotocol("mqtt".into()))
        );
    }

    fn client_h2_answer(fields: &[(&str, &str)]) -> http::Response<()> {
        response(200, fields.iter().copied()).unwrap()
    }
}
