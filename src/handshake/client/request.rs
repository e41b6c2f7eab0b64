//! The client's request: where to connect, the resource, and the optional
//! parts of the opening handshake (RFC 6455 §3, §4.1).

use std::net::Ipv6Addr;

use bytes::Bytes;

use crate::extensions::{CustomExtension, DeflateConfig};
use crate::handshake::error::BuildError;
use crate::handshake::http::{self, escape, write_header};
use crate::handshake::negotiate::ClientOffer;
use crate::handshake::{check_extra_header, VERSION};

/// Headers a client request sets itself, with what to use instead.
const REQUEST_RESERVED: &[(&str, &str)] = &[
    ("host", "give the host to ClientRequest::new or from_url"),
    ("upgrade", "the handshake sets it"),
    ("connection", "the handshake sets it"),
    ("sec-websocket-key", "the handshake generates it"),
    ("sec-websocket-version", "the handshake sets it to 13"),
    ("sec-websocket-protocol", "use ClientRequest::subprotocol"),
    (
        "sec-websocket-extensions",
        "use Config::deflate or ClientRequest::extension",
    ),
    ("origin", "use ClientRequest::origin"),
    ("content-length", "the handshake request has no body"),
    ("transfer-encoding", "the handshake request has no body"),
];

/// What a client asks for: where to connect, the resource, and the optional
/// parts of the opening handshake (RFC 6455 §4.1).
///
/// ```
/// use wsproto::handshake::ClientRequest;
///
/// let request = ClientRequest::from_url("ws://[::1]:9001/chat?room=1")?
///     .origin("http://localhost")?
///     .subprotocol("chat")?
///     .subprotocol("superchat")?
///     .header("Authorization", "Bearer token")?;
/// assert_eq!((request.host(), request.port()), ("::1", 9001));
/// assert_eq!(request.authority(), "[::1]:9001");
/// assert_eq!(request.target(), "/chat?room=1");
/// # Ok::<(), wsproto::handshake::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    host: String,
    port: u16,
    authority: String,
    target: String,
    origin: Option<String>,
    /// Subprotocols and custom extensions; permessage-deflate is added from
    /// the configuration by the handshake.
    offer: ClientOffer,
    headers: Vec<(String, String)>,
}

impl ClientRequest {
    /// A request for a `ws://` URL: `ws://host[:port][/path][?query]`
    /// (RFC 6455 §3). The port defaults to 80 and is then left out of
    /// `Host`; an empty path is `/`; IPv6 hosts are bracketed, `[::1]:9001`.
    ///
    /// `wss://` is refused with [`BuildError::TlsNotProvided`]: this crate
    /// does no TLS. Set up TLS yourself and use [`new`](Self::new). A URL
    /// with user info or a fragment is refused too (RFC 6455 §3).
    pub fn from_url(url: &str) -> Result<Self, BuildError> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(BuildError::InvalidUrl("it does not start with ws://"));
        };
        if scheme.eq_ignore_ascii_case("wss") {
            return Err(BuildError::TlsNotProvided);
        }
        if !scheme.eq_ignore_ascii_case("ws") {
            return Err(BuildError::InvalidUrl("the scheme is not ws"));
        }
        // RFC 6455 §3: fragment identifiers MUST NOT be used on these URIs.
        if rest.contains('#') {
            return Err(BuildError::InvalidUrl(
                "it has a fragment ('#' must be escaped as %23)",
            ));
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        if authority.contains('@') {
            return Err(BuildError::InvalidUrl(
                "it has user info, which ws URIs do not allow",
            ));
        }
        let (host, port) = parse_authority(authority)
            .ok_or_else(|| BuildError::InvalidHost(escape(authority.as_bytes())))?;
        let port = port.unwrap_or(80);
        let bracketed = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        // RFC 6455 §3: the port is part of Host only when it is not 80.
        let authority = if port == 80 {
            bracketed
        } else {
            format!("{bracketed}:{port}")
        };
        let target = match target.as_bytes().first() {
            None => "/".to_owned(),
            Some(b'?') => format!("/{target}"),
            Some(_) => target.to_owned(),
        };
        check_target(&target)?;
        Ok(Self::from_parts(host.to_owned(), port, authority, target))
    }

    /// A request for `path_and_query` (such as `/chat?room=1`) on `host`,
    /// which is sent as the `Host` header as given: a name or address and an
    /// optional port, `example.com:8080` or `[::1]:9001`. For a connection
    /// that is not plain `ws://`, such as one over TLS.
    pub fn new(host: &str, path_and_query: &str) -> Result<Self, BuildError> {
        let (name, port) = parse_authority(host)
            .ok_or_else(|| BuildError::InvalidHost(escape(host.as_bytes())))?;
        check_target(path_and_query)?;
        Ok(Self::from_parts(
            name.to_owned(),
            port.unwrap_or(80),
            host.to_owned(),
            path_and_query.to_owned(),
        ))
    }

    fn from_parts(host: String, port: u16, authority: String, target: String) -> Self {
        Self {
            host,
            port,
            authority,
            target,
            origin: None,
            offer: ClientOffer::new(),
            headers: Vec::new(),
        }
    }

    /// Sets the `Origin` header (RFC 6455 §4.1, item 8; RFC 6454), which
    /// browsers send and servers may check.
    pub fn origin(mut self, origin: &str) -> Result<Self, BuildError> {
        if origin.is_empty() || !origin.is_ascii() || !http::is_field_value(origin) {
            return Err(BuildError::InvalidHeaderValue("Origin".into()));
        }
        self.origin = Some(origin.to_owned());
        Ok(self)
    }

    /// Offers a subprotocol; call it once per subprotocol, most preferred
    /// first. Names are tokens and unique (RFC 6455 §4.1, item 10).
    pub fn subprotocol(mut self, name: &str) -> Result<Self, BuildError> {
        self.offer = self.offer.subprotocol(name)?;
        Ok(self)
    }

    /// Offers an extension the application runs itself, listed after the
    /// permessage-deflate offers (which come from
    /// [`Config::deflate`](crate::Config::deflate) and are made either way).
    /// The server's answer is checked to name only offered extensions
    /// (RFC 6455 §4.1); what it agreed is in
    /// [`Connection::extensions`](crate::Connection::extensions).
    #[must_use]
    pub fn extension(mut self, extension: CustomExtension) -> Self {
        self.offer = self.offer.extension(extension);
        self
    }

    /// Adds a header such as `Authorization`, `Cookie` or `User-Agent`.
    ///
    /// The name must be a token and the value free of control characters
    /// (no CR or LF, so nothing can be injected); headers the handshake
    /// sets itself (Host, Upgrade, Connection, Origin, Sec-WebSocket-*,
    /// Content-Length, Transfer-Encoding) are refused.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, BuildError> {
        check_extra_header(name, value, REQUEST_RESERVED)?;
        self.headers.push((name.to_owned(), value.to_owned()));
        Ok(self)
    }

    /// The host to connect to: a name or an address, IPv6 without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `Host` header's value.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The path and query requested.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The subprotocols offered, most preferred first.
    pub fn subprotocols(&self) -> &[String] {
        self.offer.subprotocols()
    }

    /// The custom extensions offered.
    pub fn extensions(&self) -> &[CustomExtension] {
        self.offer.extensions()
    }

    /// The whole offer: this request's subprotocols and extensions, and
    /// permessage-deflate as `deflate` says (RFC 7692 §5).
    pub fn offer(&self, deflate: &DeflateConfig) -> ClientOffer {
        self.offer.clone().deflate(deflate.clone())
    }

    /// The HTTP/1.1 request's header fields (RFC 6455 §4.1), in their
    /// registered case, for an HTTP stack that writes the head itself:
    /// `Host`, `Upgrade`, `Connection`, `Sec-WebSocket-Key` (`key`: the
    /// base64 of 16 random bytes, item 7), `Sec-WebSocket-Version`,
    /// `Origin`, `offer`'s fields, then the extra headers. The request line
    /// is `GET` [`target`](Self::target) `HTTP/1.1`.
    pub fn head_fields(&self, key: &str, offer: &ClientOffer) -> Vec<(&str, String)> {
        let mut fields = vec![
            ("Host", self.authority.clone()),
            ("Upgrade", "websocket".to_owned()),
            ("Connection", "Upgrade".to_owned()),
            ("Sec-WebSocket-Key", key.to_owned()),
            ("Sec-WebSocket-Version", VERSION.to_owned()),
        ];
        if let Some(origin) = &self.origin {
            fields.push(("Origin", origin.clone()));
        }
        fields.extend(offer.headers());
        fields.extend(self.headers.iter().map(|(n, v)| (n.as_str(), v.clone())));
        fields
    }

    /// The extended CONNECT's fields over HTTP/2 or HTTP/3 (RFC 8441 §4,
    /// §5; RFC 9220): [`h2::request_fields`](crate::handshake::h2::request_fields)
    /// for `scheme` (`https` for `wss`, `http` for `ws`), this request's
    /// authority and target and `offer`, then `origin` and the extra
    /// headers. Names of the extra headers are as given: HTTP/2 sends them
    /// in lowercase (RFC 9113 §8.2.1).
    pub fn connect_fields(&self, scheme: &str, offer: &ClientOffer) -> Vec<(&str, String)> {
        let mut fields: Vec<(&str, String)> =
            crate::handshake::h2::request_fields(scheme, &self.authority, &self.target, offer);
        if let Some(origin) = &self.origin {
            fields.push(("origin", origin.clone()));
        }
        fields.extend(self.headers.iter().map(|(n, v)| (n.as_str(), v.clone())));
        fields
    }

    /// The request head, with `key` as `Sec-WebSocket-Key` (RFC 6455 §4.1),
    /// and the negotiation headers of `offer`.
    pub(super) fn encode(&self, key: &str, offer: &ClientOffer) -> Bytes {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(self.target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        for (name, value) in self.head_fields(key, offer) {
            write_header(&mut out, name, value.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        Bytes::from(out)
    }
}

/// Splits `host[:port]` or `[v6]:port` (RFC 3986 §3.2.2, §3.2.3) into the
/// host, without brackets, and the port if one is given.
fn parse_authority(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        v6.parse::<Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        (v6, port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        // reg-name or IPv4address: unreserved, pct-encoded, sub-delims.
        let valid = |b: u8| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b);
        if host.is_empty() || !host.bytes().all(valid) {
            return None;
        }
        (host, port)
    };
    let port = match port {
        // RFC 3986 §3.2.3: an empty port is the default one.
        None | Some("") => None,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse::<u16>().ok()?),
        Some(_) => return None,
    };
    if port == Some(0) {
        return None;
    }
    Some((host, port))
}

/// RFC 6455 §3: the resource name is an absolute path and optional query,
/// with no fragment; a request target holds no spaces or controls
/// (RFC 9112 §3.2).
fn check_target(target: &str) -> Result<(), BuildError> {
    if !target.starts_with('/') || !target.bytes().all(|b| b > b' ' && b < 0x7f && b != b'#') {
        return Err(BuildError::InvalidPath(escape(target.as_bytes())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> ClientRequest {
        ClientRequest::from_url("ws://example.com/chat").unwrap()
    }

    #[test]
    fn from_url_defaults_port_80_and_leaves_it_out_of_host() {
        let r = ClientRequest::from_url("ws://example.com").unwrap();
        assert_eq!(
            (r.host(), r.port(), r.authority(), r.target()),
            ("example.com", 80, "example.com", "/")
        );
        let r = ClientRequest::from_url("WS://example.com:80/a").unwrap();
        assert_eq!(r.authority(), "example.com");
    }

    #[test]
    fn from_url_keeps_other_ports_path_and_query() {
        let r = ClientRequest::from_url("ws://127.0.0.1:9001/runCase?case=1&agent=x").unwrap();
        assert_eq!((r.host(), r.port()), ("127.0.0.1", 9001));
        assert_eq!(r.authority(), "127.0.0.1:9001");
        assert_eq!(r.target(), "/runCase?case=1&agent=x");
        let r = ClientRequest::from_url("ws://h?x=1").unwrap();
        assert_eq!(r.target(), "/?x=1");
    }

    #[test]
    fn from_url_reads_ipv6_literals() {
        let r = ClientRequest::from_url("ws://[::1]:9001/x").unwrap();
        assert_eq!(
            (r.host(), r.port(), r.authority()),
            ("::1", 9001, "[::1]:9001")
        );
        let r = ClientRequest::from_url("ws://[2001:db8::1]").unwrap();
        assert_eq!(
            (r.host(), r.port(), r.authority()),
            ("2001:db8::1", 80, "[2001:db8::1]")
        );
        assert!(ClientRequest::from_url("ws://[::1/").is_err());
        assert!(ClientRequest::from_url("ws://[nothex]/").is_err());
        assert!(ClientRequest::from_url("ws://::1/").is_err());
    }

    #[test]
    fn from_url_refuses_wss_because_tls_is_not_provided() {
        let err = ClientRequest::from_url("wss://example.com/").unwrap_err();
        assert_eq!(err, BuildError::TlsNotProvided);
        assert!(err.to_string().contains("TLS"));
    }

    #[test]
    fn from_url_refuses_bad_urls() {
        for url in [
            "http://example.com/",
            "example.com/",
            "ws:///path",
            "ws://user:pw@example.com/",
            "ws://example.com/#frag",
            "ws://example.com:99999/",
            "ws://example.com:0/",
            "ws://example.com:8o/",
            "ws://exa mple.com/",
            "ws://example.com/a b",
            "ws://example.com/\r\nX: y",
        ] {
            assert!(ClientRequest::from_url(url).is_err(), "{url}");
        }
    }

    #[test]
    fn new_sends_host_as_given() {
        let r = ClientRequest::new("example.com:8443", "/x?y").unwrap();
        assert_eq!(
            (r.host(), r.port(), r.authority()),
            ("example.com", 8443, "example.com:8443")
        );
        assert!(matches!(
            ClientRequest::new("a\r\nb", "/"),
            Err(BuildError::InvalidHost(_))
        ));
        assert!(matches!(
            ClientRequest::new("a", "x"),
            Err(BuildError::InvalidPath(_))
        ));
    }

    #[test]
    fn request_builder_refuses_injection_and_owned_headers() {
        assert!(matches!(
            plain().header("X", "a\r\nb: c"),
            Err(BuildError::InvalidHeaderValue(_))
        ));
        assert!(matches!(
            plain().header("X\n", "a"),
            Err(BuildError::InvalidHeaderName(_))
        ));
        for name in [
            "Host",
            "sec-websocket-key",
            "Sec-WebSocket-Version",
            "Origin",
            "Connection",
        ] {
            assert!(
                matches!(
                    plain().header(name, "x"),
                    Err(BuildError::ReservedHeader { .. })
                ),
                "{name}"
            );
        }
        assert!(matches!(
            plain().subprotocol("a,b"),
            Err(BuildError::InvalidSubprotocol(_))
        ));
        assert!(matches!(
            plain().subprotocol(""),
            Err(BuildError::InvalidSubprotocol(_))
        ));
        assert_eq!(
            plain()
                .subprotocol("a")
                .unwrap()
                .subprotocol("a")
                .unwrap_err(),
            BuildError::DuplicateSubprotocol("a".into())
        );
        assert!(plain().origin("http://a\r\nX: y").is_err());
    }
}
