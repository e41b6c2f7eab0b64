//! The `Sec-WebSocket-Extensions` header (RFC 6455 §9.1) and the negotiation
//! of permessage-deflate (RFC 7692 §5, §7.1), for both roles.
//!
//! Three layers, each usable on its own:
//!
//! 1. [`parse_extensions`]: the header grammar. Any extension, any parameter;
//!    one linear pass, no allocation beyond the returned list (and a string
//!    for a quoted value that contains a backslash escape).
//! 2. [`DeflateParams`]: the four permessage-deflate parameters of one offer
//!    or one response (RFC 7692 §7.1), checked for unknown and duplicate
//!    parameters and malformed values.
//! 3. [`DeflateConfig`]: what we want, and the two sides of the negotiation:
//!    [`offer_header`](DeflateConfig::offer_header) and
//!    [`accept_response`](DeflateConfig::accept_response) for a client,
//!    [`negotiate`](DeflateConfig::negotiate) for a server. Both give a
//!    [`NegotiatedDeflate`]: the agreed parameters as seen by one endpoint,
//!    ready for the codec in `deflate` (feature `deflate`).
//!
//! ```
//! use wsproto::extensions::DeflateConfig;
//!
//! let client = DeflateConfig::default().enabled(true);
//! let server = DeflateConfig::default().enabled(true);
//! let offer = client.offer_header();
//! assert_eq!(offer, "permessage-deflate; client_max_window_bits, permessage-deflate");
//!
//! let (server_side, response) = server.negotiate(&[&offer]).unwrap().unwrap();
//! assert_eq!(response, "permessage-deflate");
//! let client_side = client.accept_response(&[&response]).unwrap().unwrap();
//! assert_eq!(client_side.compress_window_bits, server_side.decompress_window_bits);
//! ```
//!
//! # Window bits 8
//!
//! zlib, and so every zlib-based peer and our own compressor, cannot compress
//! with a 256-byte window: asked for 8 it uses 9 (or refuses). We never
//! compress with a larger window than the peer allowed (RFC 7692 §7.2.1), so
//! an agreement that limits *our* compressor to 8 bits is one we cannot keep:
//! a server declines such an offer, a client fails on such a response with
//! [`NegotiationError::Unsupported`]. A server never asks a client for 8
//! either (it answers 9 to a hint or a setting of 8), since that client may
//! be zlib-based too. The other direction is fine: our decompressor inflates
//! a peer's 8-bit stream with a 9-bit window, which also copes with a peer
//! that was told 8 and silently used 9.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// The registered name of the permessage-deflate extension (RFC 7692 §9.1).
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// The smallest window our own compressor can use (zlib cannot do 8).
const MIN_COMPRESS_WINDOW_BITS: u8 = 9;

/// The largest LZ77 window, 32 KiB (RFC 7692 §7.2.1).
const MAX_WINDOW_BITS: u8 = 15;

// ---------------------------------------------------------------------------
// The header grammar
// ---------------------------------------------------------------------------

/// One element of a `Sec-WebSocket-Extensions` header: an extension
/// negotiation offer in a request, or a response in a response (RFC 7692 §3).
///
/// Strings borrow from the header value, except a quoted value that
/// contained backslash escapes, which is unescaped into an owned string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionOffer<'a> {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: &'a str,
    /// The parameters in the order they were written.
    pub params: Vec<ExtensionParam<'a>>,
}

/// One `extension-param`: `token [ "=" (token | quoted-string) ]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionParam<'a> {
    /// The parameter name.
    pub name: &'a str,
    /// The value, unquoted and unescaped, if the parameter had one.
    pub value: Option<Cow<'a, str>>,
}

/// What the parser expected where it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expected {
    /// A header value with no extension at all (`1#extension`).
    Extension,
    /// An extension name (a token).
    ExtensionName,
    /// A parameter name (a token) after `;`.
    ParamName,
    /// A parameter value (a token or a quoted-string) after `=`.
    ParamValue,
    /// `;`, `,` or the end of the value, after an extension or parameter.
    Separator,
    /// The `"` closing a quoted-string.
    ClosingQuote,
    /// A quoted value that is a token once unescaped (RFC 6455 §9.1).
    TokenInQuotes,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Extension => "at least one extension",
            Self::ExtensionName => "an extension name (token)",
            Self::ParamName => "a parameter name (token)",
            Self::ParamValue => "a parameter value (token or quoted-string)",
            Self::Separator => "';', ',' or the end of the value",
            Self::ClosingQuote => "a closing '\"'",
            Self::TokenInQuotes => "a quoted value that is a token once unescaped",
        })
    }
}

/// A `Sec-WebSocket-Extensions` value that does not match the grammar of
/// RFC 6455 §9.1; the recipient "MUST immediately _Fail the WebSocket
/// Connection_".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "malformed Sec-WebSocket-Extensions (header line {header}, byte {position}): expected {expected}{}",
    match found { Some(c) => format!(", found {c:?}"), None => ", found the end".to_owned() }
)]
pub struct ExtensionParseError {
    /// Which header line (index into the slice given to the parser).
    pub header: usize,
    /// The byte offset in that line where parsing stopped.
    pub position: usize,
    /// What would have been valid there.
    pub expected: Expected,
    /// The character found there, `None` at the end of the line.
    pub found: Option<char>,
}

/// `tchar` (RFC 7230 §3.2.6).
fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
        | b'^' | b'_' | b'`' | b'|' | b'~'
        | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

#[cfg(test)]
thread_local! {
    /// Bytes looked at by the parser, to pin that it is linear.
    static WORK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A forward-only cursor over one header line: every method moves `pos`
/// forward or looks at one byte, so a parse is linear in the line's length.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    header: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        #[cfg(test)]
        WORK.with(|w| w.set(w.get() + 1));
        self.text.as_bytes().get(self.pos).copied()
    }

    /// OWS = *( SP / HTAB ) (RFC 7230 §3.2.3; RFC 6455 §9.1's implied *LWS).
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn error(&self, expected: Expected) -> ExtensionParseError {
        ExtensionParseError {
            header: self.header,
            position: self.pos,
            expected,
            found: self.text[self.pos..].chars().next(),
        }
    }

    fn token(&mut self, expected: Expected) -> Result<&'a str, ExtensionParseError> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error(expected));
        }
        Ok(&self.text[start..self.pos])
    }

    /// `quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE`, with the
    /// cursor on the opening quote. The unescaped value must be a token
    /// (RFC 6455 §9.1).
    fn quoted(&mut self) -> Result<Cow<'a, str>, ExtensionParseError> {
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        loop {
            match self.peek() {
                None => return Err(self.error(Expected::ClosingQuote)),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    self.pos += 1;
                    if self.peek().is_none() {
                        return Err(self.error(Expected::ClosingQuote));
                    }
                    // Step over the escaped character, whole (it may be non-ASCII).
                    self.pos += self.text[self.pos..]
                        .chars()
                        .next()
                        .map_or(1, char::len_utf8);
                }
                Some(_) => self.pos += 1,
            }
        }
        let raw = &self.text[start..self.pos];
        self.pos += 1;
        let value = if escaped {
            let mut out = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' {
                    chars.next().unwrap_or('\\')
                } else {
                    c
                });
            }
            Cow::Owned(out)
        } else {
            Cow::Borrowed(raw)
        };
        if !is_token(&value) {
            return Err(ExtensionParseError {
                header: self.header,
                position: open,
                expected: Expected::TokenInQuotes,
                found: Some('"'),
            });
        }
        Ok(value)
    }

    /// `extension = extension-token *( ";" extension-param )`, with the
    /// cursor on its first byte.
    fn extension(&mut self) -> Result<ExtensionOffer<'a>, ExtensionParseError> {
        let name = self.token(Expected::ExtensionName)?;
        let mut params = Vec::new();
        loop {
            self.skip_ows();
            match self.peek() {
                None | Some(b',') => return Ok(ExtensionOffer { name, params }),
                Some(b';') => self.pos += 1,
                Some(_) => return Err(self.error(Expected::Separator)),
            }
            self.skip_ows();
            let name = self.token(Expected::ParamName)?;
            self.skip_ows();
            let value = if self.peek() == Some(b'=') {
                self.pos += 1;
                self.skip_ows();
                Some(match self.peek() {
                    Some(b'"') => self.quoted()?,
                    _ => Cow::Borrowed(self.token(Expected::ParamValue)?),
                })
            } else {
                None
            };
            params.push(ExtensionParam { name, value });
        }
    }
}

/// Parses every `Sec-WebSocket-Extensions` line of a request or response,
/// in order, into one list (RFC 6455 §9.1: the header "MAY be split or
/// combined across multiple lines").
///
/// ```text
/// Sec-WebSocket-Extensions = extension-list
/// extension-list = 1#extension
/// extension = extension-token *( ";" extension-param )
/// extension-param = token [ "=" (token | quoted-string) ]
/// ```
///
/// Whitespace (SP, HTAB) is allowed around every separator, and empty list
/// elements (`a, , b`) are skipped as RFC 7230 §7 asks of recipients; a line
/// with no extension at all is an error (`1#`). A quoted value is unescaped
/// (RFC 7230 quoted-pair) and must then be a token (RFC 6455 §9.1).
///
/// The parse is a single forward pass: time is linear in the input, whatever
/// its shape.
///
/// ```
/// let list = wsproto::extensions::parse_extensions(&[
///     "permessage-deflate; client_max_window_bits=\"10\"",
///     "x-foo, permessage-deflate",
/// ])
/// .unwrap();
/// assert_eq!(list.len(), 3);
/// assert_eq!(list[0].params[0].value.as_deref(), Some("10"));
/// ```
pub fn parse_extensions<'a>(
    header_values: &[&'a str],
) -> Result<Vec<ExtensionOffer<'a>>, ExtensionParseError> {
    let mut list = Vec::new();
    for (header, text) in header_values.iter().enumerate() {
        let mut cursor = Cursor {
            text,
            pos: 0,
            header,
        };
        let mut elements = 0;
        loop {
            cursor.skip_ows();
            match cursor.peek() {
                None => break,
                // RFC 7230 §7: a recipient MUST accept empty list elements.
                Some(b',') => cursor.pos += 1,
                Some(_) => {
                    list.push(cursor.extension()?);
                    elements += 1;
                }
            }
        }
        if elements == 0 {
            cursor.pos = 0;
            return Err(cursor.error(Expected::Extension));
        }
    }
    Ok(list)
}

// ---------------------------------------------------------------------------
// permessage-deflate parameters
// ---------------------------------------------------------------------------

/// The four parameters of permessage-deflate (RFC 7692 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeflateParam {
    /// `server_no_context_takeover` (§7.1.1.1).
    ServerNoContextTakeover,
    /// `client_no_context_takeover` (§7.1.1.2).
    ClientNoContextTakeover,
    /// `server_max_window_bits` (§7.1.2.1).
    ServerMaxWindowBits,
    /// `client_max_window_bits` (§7.1.2.2).
    ClientMaxWindowBits,
}

impl DeflateParam {
    /// The parameter's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServerNoContextTakeover => "server_no_context_takeover",
            Self::ClientNoContextTakeover => "client_no_context_takeover",
            Self::ServerMaxWindowBits => "server_max_window_bits",
            Self::ClientMaxWindowBits => "client_max_window_bits",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "server_no_context_takeover" => Self::ServerNoContextTakeover,
            "client_no_context_takeover" => Self::ClientNoContextTakeover,
            "server_max_window_bits" => Self::ServerMaxWindowBits,
            "client_max_window_bits" => Self::ClientMaxWindowBits,
            _ => return None,
        })
    }
}

impl fmt::Display for DeflateParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `client_max_window_bits` as it appears in an offer or a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientMaxWindowBits {
    /// The parameter without a value, offers only: the client supports the
    /// parameter in the response (RFC 7692 §7.1.2.2).
    Supported,
    /// With a value, 8..=15: a hint in an offer, a limit in a response.
    Bits(u8),
}

/// The permessage-deflate parameters of one offer or one response
/// (RFC 7692 §7.1); `Display` writes the header element.
///
/// ```
/// use wsproto::extensions::{ClientMaxWindowBits, DeflateParams};
///
/// let offer = DeflateParams {
///     server_max_window_bits: Some(10),
///     client_max_window_bits: Some(ClientMaxWindowBits::Supported),
///     ..DeflateParams::default()
/// };
/// assert_eq!(
///     offer.to_string(),
///     "permessage-deflate; server_max_window_bits=10; client_max_window_bits"
/// );
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DeflateParams {
    /// `server_no_context_takeover`: the server resets its compressor after
    /// each message (§7.1.1.1).
    pub server_no_context_takeover: bool,
    /// `client_no_context_takeover`: the client resets its compressor after
    /// each message; a hint in an offer, binding in a response (§7.1.1.2).
    pub client_no_context_takeover: bool,
    /// `server_max_window_bits`, 8..=15: the largest window the server
    /// compresses with (§7.1.2.1).
    pub server_max_window_bits: Option<u8>,
    /// `client_max_window_bits` (§7.1.2.2).
    pub client_max_window_bits: Option<ClientMaxWindowBits>,
}

/// A permessage-deflate element with a parameter RFC 7692 §7 does not allow.
/// A server declines such an offer; a client fails on such a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeflateParamError {
    /// A parameter permessage-deflate does not define (RFC 7692 §7).
    #[error("unknown permessage-deflate parameter {0:?} (RFC 7692 §7)")]
    Unknown(String),
    /// The same parameter twice (RFC 7692 §7).
    #[error("duplicate permessage-deflate parameter {0} (RFC 7692 §7)")]
    Duplicate(DeflateParam),
    /// A parameter that needs a value has none (`server_max_window_bits`,
    /// or `client_max_window_bits` in a response; RFC 7692 §7.1.2).
    #[error("permessage-deflate parameter {0} needs a value (RFC 7692 §7.1.2)")]
    MissingValue(DeflateParam),
    /// A value on a parameter that has none (`*_no_context_takeover`, RFC 7692 §7.1.1).
    #[error("permessage-deflate parameter {0} takes no value (RFC 7692 §7.1.1)")]
    UnexpectedValue(DeflateParam),
    /// A window size that is not a decimal 8..=15 without leading zeroes
    /// (RFC 7692 §7.1.2).
    #[error("permessage-deflate parameter {param} has invalid value {value:?}, expected 8..=15 without leading zeroes (RFC 7692 §7.1.2)")]
    InvalidValue {
        /// The parameter.
        param: DeflateParam,
        /// The value as received (unquoted).
        value: String,
    },
}

impl DeflateParamError {
    /// The parameter at fault, if it is one permessage-deflate defines.
    pub fn param(&self) -> Option<DeflateParam> {
        match self {
            Self::Unknown(_) => None,
            Self::Duplicate(p) | Self::MissingValue(p) | Self::UnexpectedValue(p) => Some(*p),
            Self::InvalidValue { param, .. } => Some(*param),
        }
    }
}

/// `1*DIGIT` without leading zeroes, 8..=15 (RFC 7692 §7.1.2.1, §7.1.2.2).
fn window_bits(param: DeflateParam, value: &str) -> Result<u8, DeflateParamError> {
    match value.as_bytes() {
        [d @ b'8'..=b'9'] => Ok(d - b'0'),
        [b'1', d @ b'0'..=b'5'] => Ok(10 + d - b'0'),
        _ => Err(DeflateParamError::InvalidValue {
            param,
            value: value.to_owned(),
        }),
    }
}

impl DeflateParams {
    /// The parameters of a permessage-deflate offer (the caller checks the
    /// name). `client_max_window_bits` may come without a value.
    pub fn from_offer(offer: &ExtensionOffer<'_>) -> Result<Self, DeflateParamError> {
        Self::parse(offer, false)
    }

    /// The parameters of a permessage-deflate response (the caller checks
    /// the name). Every window-bits parameter needs a value (RFC 7692 §7.1.2.2:
    /// in a response, `client_max_window_bits` "has a decimal integer value").
    pub fn from_response(response: &ExtensionOffer<'_>) -> Result<Self, DeflateParamError> {
        Self::parse(response, true)
    }

    fn parse(element: &ExtensionOffer<'_>, response: bool) -> Result<Self, DeflateParamError> {
        let mut params = Self::default();
        let mut seen = [false; 4];
        for ExtensionParam { name, value } in &element.params {
            let param = DeflateParam::from_name(name)
                .ok_or_else(|| DeflateParamError::Unknown((*name).to_owned()))?;
            // RFC 7692 §7: "multiple extension parameters with the same name".
            if std::mem::replace(&mut seen[param as usize], true) {
                return Err(DeflateParamError::Duplicate(param));
            }
            let value = value.as_deref();
            match param {
                DeflateParam::ServerNoContextTakeover | DeflateParam::ClientNoContextTakeover => {
                    // RFC 7692 §7.1.1: "This extension parameter has no value."
                    if value.is_some() {
                        return Err(DeflateParamError::UnexpectedValue(param));
                    }
                    if param == DeflateParam::ServerNoContextTakeover {
                        params.server_no_context_takeover = true;
                    } else {
                        params.client_no_context_takeover = true;
                    }
                }
                DeflateParam::ServerMaxWindowBits => {
                    let value = value.ok_or(DeflateParamError::MissingValue(param))?;
                    params.server_max_window_bits = Some(window_bits(param, value)?);
                }
                DeflateParam::ClientMaxWindowBits => {
                    params.client_max_window_bits = Some(match value {
                        Some(value) => ClientMaxWindowBits::Bits(window_bits(param, value)?),
                        None if response => return Err(DeflateParamError::MissingValue(param)),
                        None => ClientMaxWindowBits::Supported,
                    });
                }
            }
        }
        Ok(params)
    }

    fn check_range(&self) {
        let ok = |b: u8| (8..=MAX_WINDOW_BITS).contains(&b);
        assert!(
            self.server_max_window_bits.is_none_or(ok),
            "server_max_window_bits must be in 8..=15"
        );
        assert!(
            !matches!(self.client_max_window_bits, Some(ClientMaxWindowBits::Bits(b)) if !ok(b)),
            "client_max_window_bits must be in 8..=15"
        );
    }
}

impl fmt::Display for DeflateParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PERMESSAGE_DEFLATE)?;
        if self.server_no_context_takeover {
            f.write_str("; server_no_context_takeover")?;
        }
        if self.client_no_context_takeover {
            f.write_str("; client_no_context_takeover")?;
        }
        if let Some(bits) = self.server_max_window_bits {
            write!(f, "; server_max_window_bits={bits}")?;
        }
        match self.client_max_window_bits {
            Some(ClientMaxWindowBits::Supported) => f.write_str("; client_max_window_bits"),
            Some(ClientMaxWindowBits::Bits(bits)) => write!(f, "; client_max_window_bits={bits}"),
            None => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------
// Negotiation
// ---------------------------------------------------------------------------

/// The outcome of a permessage-deflate negotiation, from one endpoint's
/// side: how our compressor and our decompressor are set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NegotiatedDeflate {
    /// The window our compressor uses, 9..=15: never larger than the peer
    /// allowed (RFC 7692 §7.2.1), never 8 (see the module doc).
    pub compress_window_bits: u8,
    /// Reset our compressor after every message (RFC 7692 §7.2.1).
    pub compress_no_context_takeover: bool,
    /// The largest window the peer compresses with, 8..=15; 15 unless the
    /// agreed parameters say less (RFC 7692 §7.2.2).
    pub decompress_window_bits: u8,
    /// The peer resets its compressor after every message, so our
    /// decompressor may too (RFC 7692 §7.2.2).
    pub decompress_no_context_takeover: bool,
}

/// Why a permessage-deflate negotiation failed the handshake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The header does not match RFC 6455 §9.1; the recipient MUST fail the
    /// connection.
    #[error(transparent)]
    Malformed(#[from] ExtensionParseError),
    /// The server's response names an extension the client did not offer
    /// (RFC 6455 §4.1, §9.1).
    #[error("the server accepted extension {0:?}, which was not offered (RFC 6455 §9.1)")]
    NotOffered(String),
    /// The server's response lists permessage-deflate more than once
    /// (RFC 7692 §5: both would claim RSV1).
    #[error("the server accepted permessage-deflate more than once (RFC 7692 §5)")]
    Duplicate,
    /// The server's permessage-deflate response is malformed (RFC 7692 §7).
    #[error("invalid permessage-deflate response: {0}")]
    InvalidResponse(#[from] DeflateParamError),
    /// The server's response does not answer any of the client's offers
    /// (RFC 7692 §5: "accepting a PMCE that the client did not offer").
    #[error("permessage-deflate response does not match the offer: {param} {reason} ({rfc})")]
    Mismatch {
        /// The parameter at fault.
        param: DeflateParam,
        /// What is wrong with it.
        reason: &'static str,
        /// The RFC clause.
        rfc: &'static str,
    },
    /// The response is valid but asks for something we cannot do
    /// (RFC 7692 §7: "the client does not support the configuration").
    #[error("unsupported permessage-deflate response: {param} {reason}")]
    Unsupported {
        /// The parameter at fault.
        param: DeflateParam,
        /// Why we cannot honour it.
        reason: &'static str,
    },
}

impl NegotiationError {
    /// The permessage-deflate parameter at fault, when there is one.
    pub fn param(&self) -> Option<DeflateParam> {
        match self {
            Self::InvalidResponse(e) => e.param(),
            Self::Mismatch { param, .. } | Self::Unsupported { param, .. } => Some(*param),
            _ => None,
        }
    }
}

/// What this endpoint wants from permessage-deflate, and the negotiation in
/// both roles. A `Default` struct with setters, like [`Config`](crate::Config).
///
/// Parameters are named after the direction they govern, as in RFC 7692:
/// `server_*` is the server-to-client direction, `client_*` the
/// client-to-server one, whichever role we play.
///
/// Memory per connection, measured with zlib-rs (see `deflate`): a
/// compressor takes 245 KiB at 9 window bits, 259 KiB at 12 and 371 KiB at
/// 15; a decompressor takes 46 KiB whatever the window, since zlib-rs
/// allocates the full 32 KiB window up front. Window bits therefore save
/// memory on the compressing side only.
///
/// ```
/// use wsproto::extensions::DeflateConfig;
///
/// let config = DeflateConfig::default()
///     .enabled(true)
///     .level(1)
///     .server_max_window_bits(12)
///     .client_no_context_takeover(true);
/// assert_eq!(
///     config.offer_header(),
///     "permessage-deflate; client_no_context_takeover; server_max_window_bits=12; \
///      client_max_window_bits, \
///      permessage-deflate; client_no_context_takeover; server_max_window_bits=12"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflateConfig {
    enabled: bool,
    level: u32,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    compression_threshold: usize,
    client_offers: Option<Vec<DeflateParams>>,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            enabled: cfg!(feature = "deflate"),
            level: 6,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            compression_threshold: 32,
            client_offers: None,
        }
    }
}

fn assert_window_bits(bits: u8) {
    assert!(
        (8..=MAX_WINDOW_BITS).contains(&bits),
        "window bits must be in 8..=15 (RFC 7692 §7.1.2), got {bits}"
    );
}

impl DeflateConfig {
    /// Offer (client) or accept (server) permessage-deflate at all. Default
    /// on when the crate is built with the `deflate` feature, off without it.
    ///
    /// Off, a client sends no offer and a server declines every offer.
    pub fn enabled(mut self, on: bool) -> Self {
        self.enabled = on;
        self
    }

    /// The compression level, 0 (stored blocks only) to 9. Default 6, zlib's
    /// default. Level 1 is about two to three times faster at a somewhat worse
    /// ratio. The level does not change memory use.
    ///
    /// # Panics
    ///
    /// If `level` is over 9.
    pub fn level(mut self, level: u32) -> Self {
        assert!(level <= 9, "compression level must be 0..=9, got {level}");
        self.level = level;
        self
    }

    /// `server_max_window_bits`, 8..=15: the window of the server-to-client
    /// direction. Default 15 (32 KiB, and the parameter is left out).
    ///
    /// As a server: the largest window our compressor uses, and announced
    /// when below 15 (RFC 7692 §7.1.2.1 lets a server include it
    /// unasked). Our compressor then takes 245 KiB at 9 bits, 259 KiB at 12,
    /// 371 KiB at 15; 8 is raised to 9, since zlib cannot compress with a
    /// 256-byte window.
    ///
    /// As a client: the value we ask the server to stay within. It spares
    /// the server memory, not us (our decompressor takes 46 KiB whatever
    /// the window). A server that cannot honour it declines the offer.
    ///
    /// # Panics
    ///
    /// If `bits` is not in 8..=15.
    pub fn server_max_window_bits(mut self, bits: u8) -> Self {
        assert_window_bits(bits);
        self.server_max_window_bits = bits;
        self
    }

    /// `client_max_window_bits`, 8..=15: the window of the client-to-server
    /// direction. Default 15.
    ///
    /// As a client: the largest window our compressor uses (8 is raised to
    /// 9), sent as the hint in our offer's `client_max_window_bits`: 245 KiB
    /// at 9 bits, 259 KiB at 12, 371 KiB at 15.
    ///
    /// As a server: the largest window we let a client use. It spares the
    /// client memory, not us (our decompressor takes 46 KiB whatever the
    /// window), and the client's window bounds how far back its messages
    /// refer, so keep 15 unless clients ask for less; 8 is sent as 9, since
    /// zlib-based clients cannot compress with 8 bits. Below 15, an offer
    /// without `client_max_window_bits` is declined, because the server could
    /// not limit that client's window (RFC 7692 §7.1.2.2: the response "MUST
    /// NOT include" the parameter then).
    ///
    /// # Panics
    ///
    /// If `bits` is not in 8..=15.
    pub fn client_max_window_bits(mut self, bits: u8) -> Self {
        assert_window_bits(bits);
        self.client_max_window_bits = bits;
        self
    }

    /// `server_no_context_takeover`: the server resets its compressor after
    /// each message. Default off.
    ///
    /// As a server: we reset and say so (RFC 7692 §7.1.1.1 lets a server add
    /// it unasked). As a client: we ask for it; our decompressor's window is
    /// then needed only within a message. Either way it costs ratio on
    /// similar messages and saves no allocation (windows are kept, not freed,
    /// between messages), but it makes each message independent, which is
    /// what encode-once broadcast needs.
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// `client_no_context_takeover`: the client resets its compressor after
    /// each message. Default off.
    ///
    /// As a client: we reset, and offer the parameter as the hint
    /// (RFC 7692 §7.1.1.2). As a server: we ask every client for it in our
    /// response. Memory as for
    /// [`server_no_context_takeover`](Self::server_no_context_takeover).
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// Messages shorter than this many bytes are sent uncompressed (RSV1
    /// unset, RFC 7692 §6). Default 32.
    ///
    /// Below about 32 bytes a DEFLATE block (3 header bits, the end-of-block
    /// code, byte alignment) saves at most a few bytes even with context
    /// takeover, while a deflate call costs a hundred times what the rest of
    /// sending a small message does. Uncompressed messages do not enter the
    /// LZ77 window (RFC 7692 §7.2.3.2). No memory implication.
    pub fn compression_threshold(mut self, bytes: usize) -> Self {
        self.compression_threshold = bytes;
        self
    }

    /// The client's offers, most preferred first (RFC 7692 §5). Default: one
    /// offer built from the settings above, with `client_max_window_bits`,
    /// and a fallback without it for servers that decline that parameter.
    ///
    /// # Panics
    ///
    /// If the list is empty or a window-bits value is not in 8..=15.
    pub fn client_offers(mut self, offers: Vec<DeflateParams>) -> Self {
        assert!(
            !offers.is_empty(),
            "at least one offer is needed; use enabled(false) for none"
        );
        offers.iter().for_each(DeflateParams::check_range);
        self.client_offers = Some(offers);
        self
    }

    /// Whether permessage-deflate is offered or accepted at all.
    pub fn get_enabled(&self) -> bool {
        self.enabled
    }

    /// The compression level, 0..=9.
    pub fn get_level(&self) -> u32 {
        self.level
    }

    /// The configured `server_max_window_bits`.
    pub fn get_server_max_window_bits(&self) -> u8 {
        self.server_max_window_bits
    }

    /// The configured `client_max_window_bits`.
    pub fn get_client_max_window_bits(&self) -> u8 {
        self.client_max_window_bits
    }

    /// Whether `server_no_context_takeover` is asked for or announced.
    pub fn get_server_no_context_takeover(&self) -> bool {
        self.server_no_context_takeover
    }

    /// Whether `client_no_context_takeover` is asked for or announced.
    pub fn get_client_no_context_takeover(&self) -> bool {
        self.client_no_context_takeover
    }

    /// The size under which messages go uncompressed.
    pub fn get_compression_threshold(&self) -> usize {
        self.compression_threshold
    }

    /// Whether a message of `len` bytes is worth compressing.
    pub fn should_compress(&self, len: usize) -> bool {
        len >= self.compression_threshold
    }

    /// The client's offers, most preferred first: the list set with
    /// [`client_offers`](Self::client_offers), or the default pair.
    /// Empty when disabled.
    pub fn get_client_offers(&self) -> Vec<DeflateParams> {
        if !self.enabled {
            return Vec::new();
        }
        if let Some(offers) = &self.client_offers {
            return offers.clone();
        }
        let own = self.client_max_window_bits.max(MIN_COMPRESS_WINDOW_BITS);
        let primary = DeflateParams {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: (self.server_max_window_bits < MAX_WINDOW_BITS)
                .then_some(self.server_max_window_bits),
            client_max_window_bits: Some(if own < MAX_WINDOW_BITS {
                ClientMaxWindowBits::Bits(own)
            } else {
                ClientMaxWindowBits::Supported
            }),
        };
        let fallback = DeflateParams {
            client_max_window_bits: None,
            ..primary
        };
        vec![primary, fallback]
    }

    // -- Client ------------------------------------------------------------

    /// The client's `Sec-WebSocket-Extensions` value: every offer, most
    /// preferred first. Empty when disabled (send no header then).
    pub fn offer_header(&self) -> String {
        let mut header = String::new();
        for offer in self.get_client_offers() {
            if !header.is_empty() {
                header.push_str(", ");
            }
            let _ = write!(header, "{offer}");
        }
        header
    }

    /// Checks the server's `Sec-WebSocket-Extensions` lines (all of them,
    /// in order; none if the response had no such header) against our
    /// offers, and says how to compress and decompress.
    ///
    /// `Ok(None)`: the server declined; no compression (RFC 7692 §5). An
    /// `Err` fails the connection, as RFC 6455 §9.1 and RFC 7692 §5, §7
    /// require, for: a malformed header; an extension we did not offer;
    /// permessage-deflate twice; an unknown, duplicate or malformed
    /// parameter; a response that answers none of our offers (it lacks a
    /// `server_no_context_takeover` we asked for, its
    /// `server_max_window_bits` is missing or above what we asked for, or it
    /// has a `client_max_window_bits` that offer lacked); or a
    /// `client_max_window_bits=8`, which zlib cannot honour.
    pub fn accept_response(
        &self,
        header_values: &[&str],
    ) -> Result<Option<NegotiatedDeflate>, NegotiationError> {
        let elements = parse_extensions(header_values)?;
        let offers = self.get_client_offers();
        let mut response = None;
        for element in &elements {
            // RFC 6455 §9.1: the server may only list what the client requested.
            if element.name != PERMESSAGE_DEFLATE || offers.is_empty() {
                return Err(NegotiationError::NotOffered(element.name.to_owned()));
            }
            if response.is_some() {
                return Err(NegotiationError::Duplicate);
            }
            response = Some(DeflateParams::from_response(element)?);
        }
        let Some(response) = response else {
            return Ok(None);
        };
        // The response must be a corresponding response to one of the offers
        // (RFC 7692 §3, §5); the first mismatch is reported.
        let mut first_mismatch = None;
        for offer in &offers {
            match response_matches(offer, &response) {
                Ok(()) => {
                    first_mismatch = None;
                    break;
                }
                Err(e) => {
                    first_mismatch.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_mismatch {
            return Err(e);
        }
        // RFC 7692 §7.2.1: the client MUST NOT use a window larger than the
        // agreed client_max_window_bits; we never use one smaller than 9.
        let mut compress_window_bits = self.client_max_window_bits.max(MIN_COMPRESS_WINDOW_BITS);
        if let Some(ClientMaxWindowBits::Bits(bits)) = response.client_max_window_bits {
            if bits < MIN_COMPRESS_WINDOW_BITS {
                return Err(NegotiationError::Unsupported {
                    param: DeflateParam::ClientMaxWindowBits,
                    reason: "of 8: zlib cannot compress with a 256-byte window",
                });
            }
            compress_window_bits = compress_window_bits.min(bits);
        }
        Ok(Some(NegotiatedDeflate {
            compress_window_bits,
            // RFC 7692 §7.2.1: binding if agreed; otherwise resetting is our choice.
            compress_no_context_takeover: response.client_no_context_takeover
                || self.client_no_context_takeover,
            // RFC 7692 §7.2.2: without server_max_window_bits, a 32 KiB window.
            decompress_window_bits: response.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
            decompress_no_context_takeover: response.server_no_context_takeover,
        }))
    }

    // -- Server ------------------------------------------------------------

    /// Answers a client's `Sec-WebSocket-Extensions` lines (all of them, in
    /// order): accepts the first permessage-deflate offer we can honour and
    /// returns how to compress and decompress, with the header value to
    /// send back. `Ok(None)`: decline, answer without the header (or
    /// without a permessage-deflate element).
    ///
    /// Other extensions are ignored, which declines them. A permessage-deflate
    /// offer with an unknown or duplicate parameter or an invalid value is
    /// declined, and the next offer tried: RFC 7692 §7 says "a server MUST
    /// decline an extension negotiation offer" then, which is not failing
    /// the handshake. Also declined: an offer whose `server_max_window_bits`
    /// is 8 (zlib cannot honour it), and, when our
    /// [`client_max_window_bits`](Self::client_max_window_bits) is below 15,
    /// an offer without `client_max_window_bits`.
    ///
    /// The one error is a header that breaks the grammar of RFC 6455 §9.1,
    /// whose recipient "MUST immediately _Fail the WebSocket Connection_".
    pub fn negotiate(
        &self,
        offers_header_values: &[&str],
    ) -> Result<Option<(NegotiatedDeflate, String)>, NegotiationError> {
        let elements = parse_extensions(offers_header_values)?;
        if !self.enabled {
            return Ok(None);
        }
        Ok(elements
            .iter()
            .filter(|element| element.name == PERMESSAGE_DEFLATE)
            // RFC 7692 §7: a malformed offer is declined, not fatal.
            .filter_map(|element| DeflateParams::from_offer(element).ok())
            .find_map(|offer| self.answer(&offer))
            .map(|(negotiated, response)| (negotiated, response.to_string())))
    }

    /// The response to one valid offer, or `None` to decline it.
    fn answer(&self, offer: &DeflateParams) -> Option<(NegotiatedDeflate, DeflateParams)> {
        let mut response = DeflateParams::default();

        // Server-to-client: our compressor.
        // RFC 7692 §7.1.2.1: accept with "the same or smaller value".
        let limit = offer.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS);
        if limit < MIN_COMPRESS_WINDOW_BITS {
            return None; // zlib cannot compress with 8 bits: "doesn't support" (§7).
        }
        let compress_window_bits = self
            .server_max_window_bits
            .max(MIN_COMPRESS_WINDOW_BITS)
            .min(limit);
        if offer.server_max_window_bits.is_some() || compress_window_bits < MAX_WINDOW_BITS {
            response.server_max_window_bits = Some(compress_window_bits);
        }
        // RFC 7692 §7.1.1.1: accepted by echoing it; a server MAY add it unasked.
        response.server_no_context_takeover =
            offer.server_no_context_takeover || self.server_no_context_takeover;

        // Client-to-server: our decompressor.
        // RFC 7692 §7.1.1.2: the client's hint may be echoed to make it binding.
        response.client_no_context_takeover =
            offer.client_no_context_takeover || self.client_no_context_takeover;
        let want = self.client_max_window_bits;
        let limit = match offer.client_max_window_bits {
            // RFC 7692 §7.1.2.2: no parameter in the offer, none in the response;
            // a server that must bound the client's window cannot accept.
            None if want < MAX_WINDOW_BITS => return None,
            None => MAX_WINDOW_BITS,
            Some(ClientMaxWindowBits::Supported) => want,
            // The hint spares us a window larger than the client uses.
            Some(ClientMaxWindowBits::Bits(hint)) => want.min(hint),
        }
        // Never 8: our decompressor uses 9 bits anyway, and a zlib-based
        // client cannot compress with 8 (it would fail or break the limit).
        .max(MIN_COMPRESS_WINDOW_BITS);
        if limit < MAX_WINDOW_BITS {
            response.client_max_window_bits = Some(ClientMaxWindowBits::Bits(limit));
        }

        let negotiated = NegotiatedDeflate {
            compress_window_bits,
            compress_no_context_takeover: response.server_no_context_takeover,
            decompress_window_bits: limit,
            decompress_no_context_takeover: response.client_no_context_takeover,
        };
        Some((negotiated, response))
    }
}

/// Whether `response` is a corresponding response to `offer` (RFC 7692 §3).
fn response_matches(
    offer: &DeflateParams,
    response: &DeflateParams,
) -> Result<(), NegotiationError> {
    // RFC 7692 §7.1.1.1: a server accepts the offer's
    // server_no_context_takeover "by including" it.
    if offer.server_no_context_takeover && !response.server_no_context_takeover {
        return Err(NegotiationError::Mismatch {
            param: DeflateParam::ServerNoContextTakeover,
            reason: "was offered but is missing",
            rfc: "RFC 7692 §7.1.1.1",
        });
    }
    // RFC 7692 §7.1.2.1: accepted "with the same or smaller value as the offer".
    if let Some(asked) = offer.server_max_window_bits {
        match response.server_max_window_bits {
            None => {
                return Err(NegotiationError::Mismatch {
                    param: DeflateParam::ServerMaxWindowBits,
                    reason: "was offered but is missing",
                    rfc: "RFC 7692 §7.1.2.1",
                })
            }
            Some(bits) if bits > asked => {
                return Err(NegotiationError::Mismatch {
                    param: DeflateParam::ServerMaxWindowBits,
                    reason: "is larger than offered",
                    rfc: "RFC 7692 §7.1.2.1",
                })
            }
            Some(_) => {}
        }
    }
    // RFC 7692 §7.1.2.2: without it in the offer, the response "MUST NOT include" it.
    if offer.client_max_window_bits.is_none() && response.client_max_window_bits.is_some() {
        return Err(NegotiationError::Mismatch {
            param: DeflateParam::ClientMaxWindowBits,
            reason: "was not offered",
            rfc: "RFC 7692 §7.1.2.2",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn on() -> DeflateConfig {
        DeflateConfig::default().enabled(true)
    }

    fn p(name: &str, value: Option<&str>) -> (String, Option<String>) {
        (name.to_owned(), value.map(str::to_owned))
    }

    type Flat = Vec<(String, Vec<(String, Option<String>)>)>;

    fn flat(list: &[ExtensionOffer<'_>]) -> Flat {
        list.iter()
            .map(|e| {
                let params = e
                    .params
                    .iter()
                    .map(|q| p(q.name, q.value.as_deref()))
                    .collect();
                (e.name.to_owned(), params)
            })
            .collect()
    }

    // -- RFC 6455 §9.1 grammar --

    #[test]
    fn rfc6455_9_1_grammar_accepts() {
        #[allow(clippy::type_complexity)]
        let cases: &[(&[&str], Vec<(&str, Vec<(String, Option<String>)>)>)] = &[
            (
                &["permessage-deflate"],
                vec![("permessage-deflate", vec![])],
            ),
            (
                &["permessage-deflate; client_max_window_bits=\"10\""],
                vec![(
                    "permessage-deflate",
                    vec![p("client_max_window_bits", Some("10"))],
                )],
            ),
            (
                &["  a ;b= 1 ;\tc , d;e=\"f\"  "],
                vec![
                    ("a", vec![p("b", Some("1")), p("c", None)]),
                    ("d", vec![p("e", Some("f"))]),
                ],
            ),
            // RFC 6455 §9.1: several lines are one list.
            (
                &["foo", "bar; baz=2"],
                vec![("foo", vec![]), ("bar", vec![p("baz", Some("2"))])],
            ),
            // RFC 7230 §7: empty list elements are skipped.
            (&[", a ,, ,b,"], vec![("a", vec![]), ("b", vec![])]),
            // Quoted-pair escapes are undone.
            (&[r#"x; v="1\0\x""#], vec![("x", vec![p("v", Some("10x"))])]),
            (
                &["mux; max-channels=4; flow-control, deflate-stream"],
                vec![
                    (
                        "mux",
                        vec![p("max-channels", Some("4")), p("flow-control", None)],
                    ),
                    ("deflate-stream", vec![]),
                ],
            ),
        ];
        for (input, expected) in cases {
            let got = flat(&parse_extensions(input).unwrap_or_else(|e| panic!("{input:?}: {e}")));
            let expected: Flat = expected
                .iter()
                .map(|(n, ps)| ((*n).to_owned(), ps.clone()))
                .collect();
            assert_eq!(got, expected, "{input:?}");
        }
    }

    #[test]
    fn rfc6455_9_1_grammar_rejects_with_position() {
        use Expected::*;
        let cases: &[(&[&str], usize, usize, Expected)] = &[
            (&[""], 0, 0, Extension),
            (&["a", " , ,"], 1, 0, Extension),
            (&["a;"], 0, 2, ParamName),
            (&["a; =1"], 0, 3, ParamName),
            (&["a; b="], 0, 5, ParamValue),
            (&["a; b=,"], 0, 5, ParamValue),
            (&["a b"], 0, 2, Separator),
            (&["a; b c"], 0, 5, Separator),
            (&["a; b=1 2"], 0, 7, Separator),
            (&[";a"], 0, 0, ExtensionName),
            (&["a, ;b"], 0, 3, ExtensionName),
            (&["a; b=\"10"], 0, 8, ClosingQuote),
            (&["a; b=\"1\\"], 0, 8, ClosingQuote),
            (&["a; b=\"\""], 0, 5, TokenInQuotes),
            (&["a; b=\"1 0\""], 0, 5, TokenInQuotes),
            (&["a; b=\"é\""], 0, 5, TokenInQuotes),
            (&["ä"], 0, 0, ExtensionName),
            (&["a; b=c\r\n"], 0, 6, Separator),
        ];
        for &(input, header, position, expected) in cases {
            let err = parse_extensions(input).expect_err(input[header]);
            assert_eq!(
                (err.header, err.position, err.expected),
                (header, position, expected),
                "{input:?}"
            );
            // The message names the place and what was expected.
            assert!(
                err.to_string().contains(&format!("byte {position}")),
                "{err}"
            );
        }
    }

    #[test]
    fn parser_is_linear_on_pathological_headers() {
        let n = 100_000;
        let inputs = [
            ",".repeat(n),
            ", ".repeat(n / 2) + "a",
            format!("a{}", ";b".repeat(n / 2)),
            format!("a{}", "; b=c".repeat(n / 5)),
            format!("a; b=\"{}\"", "\\c".repeat(n / 2)),
            format!("a; b=\"{}", "c".repeat(n)),
            " ".repeat(n),
            format!("a{}", ", a".repeat(n / 3)),
        ];
        for input in &inputs {
            WORK.with(|w| w.set(0));
            let _ = parse_extensions(&[input]);
            let work = WORK.with(|w| w.get());
            assert!(
                work <= 4 * input.len() + 10,
                "{work} steps for {} bytes",
                input.len()
            );
        }
    }

    // -- RFC 7692 §7.1 parameters --

    fn offer(s: &str) -> Result<DeflateParams, DeflateParamError> {
        DeflateParams::from_offer(&parse_extensions(&[s]).unwrap()[0])
    }

    fn response(s: &str) -> Result<DeflateParams, DeflateParamError> {
        DeflateParams::from_response(&parse_extensions(&[s]).unwrap()[0])
    }

    #[test]
    fn rfc7692_7_1_parameters_parse() {
        let all = offer(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=8; client_max_window_bits=\"15\"",
        )
        .unwrap();
        assert_eq!(
            all,
            DeflateParams {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: Some(8),
                client_max_window_bits: Some(ClientMaxWindowBits::Bits(15)),
            }
        );
        assert_eq!(
            offer("permessage-deflate; client_max_window_bits")
                .unwrap()
                .client_max_window_bits,
            Some(ClientMaxWindowBits::Supported)
        );
        for bits in 8..=15u8 {
            let got = offer(&format!(
                "permessage-deflate; server_max_window_bits={bits}"
            ))
            .unwrap();
            assert_eq!(got.server_max_window_bits, Some(bits));
        }
        // Display writes what parsing reads.
        assert_eq!(offer(&all.to_string()).unwrap(), all);
    }

    #[test]
    fn rfc7692_7_1_invalid_parameters_name_the_parameter() {
        use DeflateParam::*;
        use DeflateParamError as E;
        let invalid = |param, value: &str| E::InvalidValue {
            param,
            value: value.to_owned(),
        };
        #[rustfmt::skip]
        let cases: Vec<(&str, E)> = vec![
            ("permessage-deflate; foo", E::Unknown("foo".into())),
            ("permessage-deflate; Server_No_Context_Takeover", E::Unknown("Server_No_Context_Takeover".into())),
            ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", E::Duplicate(ServerNoContextTakeover)),
            ("permessage-deflate; client_max_window_bits; client_max_window_bits=9", E::Duplicate(ClientMaxWindowBits)),
            ("permessage-deflate; server_max_window_bits=9; server_max_window_bits=9", E::Duplicate(ServerMaxWindowBits)),
            ("permessage-deflate; client_no_context_takeover=1", E::UnexpectedValue(ClientNoContextTakeover)),
            ("permessage-deflate; server_no_context_takeover=\"x\"", E::UnexpectedValue(ServerNoContextTakeover)),
            ("permessage-deflate; server_max_window_bits", E::MissingValue(ServerMaxWindowBits)),
            ("permessage-deflate; server_max_window_bits=08", invalid(ServerMaxWindowBits, "08")),
            ("permessage-deflate; server_max_window_bits=+9", invalid(ServerMaxWindowBits, "+9")),
            ("permessage-deflate; server_max_window_bits=16", invalid(ServerMaxWindowBits, "16")),
            ("permessage-deflate; server_max_window_bits=7", invalid(ServerMaxWindowBits, "7")),
            ("permessage-deflate; server_max_window_bits=0", invalid(ServerMaxWindowBits, "0")),
            ("permessage-deflate; client_max_window_bits=015", invalid(ClientMaxWindowBits, "015")),
            ("permessage-deflate; client_max_window_bits=1e1", invalid(ClientMaxWindowBits, "1e1")),
            ("permessage-deflate; client_max_window_bits=\"16\"", invalid(ClientMaxWindowBits, "16")),
            ("permessage-deflate; client_max_window_bits=99999999999999999999", invalid(ClientMaxWindowBits, "99999999999999999999")),
        ];
        for (input, expected) in cases {
            let err = offer(input).expect_err(input);
            assert_eq!(err, expected, "{input}");
            if let Some(param) = err.param() {
                assert!(err.to_string().contains(param.as_str()), "{err}");
            }
        }
        // An empty value cannot be written unquoted, and "" is not a token (RFC 6455 §9.1).
        assert!(parse_extensions(&["permessage-deflate; server_max_window_bits=\"\""]).is_err());
        // In a response, client_max_window_bits needs a value (§7.1.2.2).
        assert_eq!(
            response("permessage-deflate; client_max_window_bits"),
            Err(E::MissingValue(ClientMaxWindowBits))
        );
    }

    // -- Server negotiation, RFC 7692 §5, §7.1 --

    fn neg(cb: u8, cn: bool, db: u8, dn: bool) -> NegotiatedDeflate {
        NegotiatedDeflate {
            compress_window_bits: cb,
            compress_no_context_takeover: cn,
            decompress_window_bits: db,
            decompress_no_context_takeover: dn,
        }
    }

    /// The client side of one of the server's cases: the same offers.
    fn offering(offers: &str) -> DeflateConfig {
        on().client_offers(
            parse_extensions(&[offers])
                .unwrap()
                .iter()
                .filter(|e| e.name == PERMESSAGE_DEFLATE)
                .filter_map(|e| DeflateParams::from_offer(e).ok())
                .collect(),
        )
    }

    #[test]
    fn server_negotiation_table() {
        let default = on();
        let small = on().server_max_window_bits(10).client_max_window_bits(11);
        let reset_both = on()
            .server_no_context_takeover(true)
            .client_no_context_takeover(true);
        let raised = on().server_max_window_bits(8);
        let eight = on().client_max_window_bits(8);
        let off = DeflateConfig::default().enabled(false);
        let pmd = "permessage-deflate";
        // offer → Some((response, negotiated)) or None for declined.
        type Case<'a> = (
            &'a DeflateConfig,
            &'a str,
            Option<(&'a str, NegotiatedDeflate)>,
        );
        #[rustfmt::skip]
        let cases: Vec<Case<'_>> = vec![
            // §7.1.3: the simplest offer and answer.
            (&default, pmd, Some((pmd, neg(15, false, 15, false)))),
            (&default, "permessage-deflate; client_max_window_bits", Some((pmd, neg(15, false, 15, false)))),
            // §7.1.1.1: accepted by echoing it.
            (&default, "permessage-deflate; server_no_context_takeover",
                Some(("permessage-deflate; server_no_context_takeover", neg(15, true, 15, false)))),
            // §7.1.1.2: the hint is echoed, which makes it binding.
            (&default, "permessage-deflate; client_no_context_takeover",
                Some(("permessage-deflate; client_no_context_takeover", neg(15, false, 15, true)))),
            // §7.1.2.1: the same or a smaller value.
            (&default, "permessage-deflate; server_max_window_bits=10",
                Some(("permessage-deflate; server_max_window_bits=10", neg(10, false, 15, false)))),
            (&small, "permessage-deflate; server_max_window_bits=12; client_max_window_bits",
                Some(("permessage-deflate; server_max_window_bits=10; client_max_window_bits=11", neg(10, false, 11, false)))),
            (&small, "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
                Some(("permessage-deflate; server_max_window_bits=9; client_max_window_bits=9", neg(9, false, 9, false)))),
            // §7.1.2.1: a server MAY add it unasked.
            (&small, "permessage-deflate; client_max_window_bits",
                Some(("permessage-deflate; server_max_window_bits=10; client_max_window_bits=11", neg(10, false, 11, false)))),
            // §7.1.2.2: the client's hint spares us a larger window.
            (&default, "permessage-deflate; client_max_window_bits=12",
                Some(("permessage-deflate; client_max_window_bits=12", neg(15, false, 12, false)))),
            // ... but never down to 8, which zlib-based clients cannot honour.
            (&default, "permessage-deflate; client_max_window_bits=8",
                Some(("permessage-deflate; client_max_window_bits=9", neg(15, false, 9, false)))),
            (&eight, "permessage-deflate; client_max_window_bits",
                Some(("permessage-deflate; client_max_window_bits=9", neg(15, false, 9, false)))),
            // Window 8 for our compressor cannot be honoured: declined.
            (&default, "permessage-deflate; server_max_window_bits=8", None),
            // §7.1.2.2: we want to limit the client but cannot: declined.
            (&small, pmd, None),
            // Our own settings, announced (§7.1.1.1, §7.1.1.2 allow it).
            (&reset_both, pmd,
                Some(("permessage-deflate; server_no_context_takeover; client_no_context_takeover", neg(15, true, 15, true)))),
            (&raised, pmd, Some(("permessage-deflate; server_max_window_bits=9", neg(9, false, 15, false)))),
            // §7: malformed offers are declined, and the next one is tried.
            (&default, "permessage-deflate; foo", None),
            (&default, "permessage-deflate; foo, permessage-deflate; server_no_context_takeover",
                Some(("permessage-deflate; server_no_context_takeover", neg(15, true, 15, false)))),
            (&default, "permessage-deflate; server_max_window_bits=16, permessage-deflate",
                Some((pmd, neg(15, false, 15, false)))),
            (&default, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", None),
            (&default, "permessage-deflate; server_max_window_bits", None),
            (&default, "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9",
                Some(("permessage-deflate; server_max_window_bits=9", neg(9, false, 15, false)))),
            // Other extensions are ignored.
            (&default, "x-webkit-deflate-frame", None),
            (&default, "x-foo; bar, permessage-deflate", Some((pmd, neg(15, false, 15, false)))),
            // §5: the first acceptable offer wins (the §7.1.3 example).
            (&default, "permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate; client_max_window_bits",
                Some(("permessage-deflate; server_max_window_bits=10", neg(10, false, 15, false)))),
            // Disabled: every offer is declined.
            (&off, pmd, None),
        ];
        for (config, offers, expected) in cases {
            let got = config.negotiate(&[offers]).unwrap();
            let expected = expected.map(|(r, n)| (n, r.to_owned()));
            assert_eq!(got, expected, "offer {offers:?} with {config:?}");
            // Whatever we answer, a client that made the offer accepts, and
            // the two sides mirror each other.
            if let Some((negotiated, response)) = got {
                let mirror = offering(offers)
                    .accept_response(&[&response])
                    .unwrap()
                    .unwrap();
                assert_eq!(
                    mirror.decompress_window_bits, negotiated.compress_window_bits,
                    "{response}"
                );
                assert_eq!(
                    mirror.decompress_no_context_takeover,
                    negotiated.compress_no_context_takeover
                );
                assert!(mirror.compress_window_bits <= negotiated.decompress_window_bits.max(9));
                assert_eq!(
                    mirror.compress_no_context_takeover,
                    negotiated.decompress_no_context_takeover
                );
            }
        }
    }

    #[test]
    fn server_fails_only_on_a_malformed_header() {
        let err = on()
            .negotiate(&["permessage-deflate", "permessage-deflate; x=\"a"])
            .unwrap_err();
        assert!(
            matches!(
                err,
                NegotiationError::Malformed(ExtensionParseError { header: 1, .. })
            ),
            "{err}"
        );
        // RFC 6455 §9.1 covers the whole header, whatever the extension.
        assert!(on().negotiate(&["x-foo;", "permessage-deflate"]).is_err());
        // No header at all: nothing offered.
        assert_eq!(on().negotiate(&[]), Ok(None));
    }

    // -- Client negotiation, RFC 7692 §5, §7.1 --

    #[test]
    fn client_default_offers_and_settings() {
        assert_eq!(
            on().offer_header(),
            "permessage-deflate; client_max_window_bits, permessage-deflate"
        );
        assert_eq!(DeflateConfig::default().enabled(false).offer_header(), "");
        assert_eq!(
            on().server_max_window_bits(10)
                .client_max_window_bits(8)
                .server_no_context_takeover(true)
                .offer_header(),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; \
             client_max_window_bits=9, \
             permessage-deflate; server_no_context_takeover; server_max_window_bits=10"
        );
        let custom = on().client_offers(vec![DeflateParams::default()]);
        assert_eq!(custom.offer_header(), "permessage-deflate");
        // Our own offer header parses, and a default server accepts it.
        assert!(on().negotiate(&[&on().offer_header()]).unwrap().is_some());
        assert!(on().should_compress(32) && !on().should_compress(31));
    }

    #[test]
    fn client_accepts_valid_responses() {
        let default = on();
        let asks = on()
            .server_max_window_bits(10)
            .server_no_context_takeover(true)
            .client_max_window_bits(12);
        let resets = on().client_no_context_takeover(true);
        #[rustfmt::skip]
        let cases: Vec<(&DeflateConfig, &[&str], Option<NegotiatedDeflate>)> = vec![
            (&default, &[], None),
            (&default, &["permessage-deflate"], Some(neg(15, false, 15, false))),
            (&default, &["permessage-deflate; server_no_context_takeover"], Some(neg(15, false, 15, true))),
            (&default, &["permessage-deflate; client_no_context_takeover"], Some(neg(15, true, 15, false))),
            (&default, &["permessage-deflate; server_max_window_bits=8"], Some(neg(15, false, 8, false))),
            (&default, &["permessage-deflate; client_max_window_bits=9"], Some(neg(9, false, 15, false))),
            (&default, &["permessage-deflate; client_max_window_bits=\"10\""], Some(neg(10, false, 15, false))),
            (&default, &["permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=13"],
                Some(neg(13, true, 11, true))),
            (&default, &["permessage-deflate;client_max_window_bits=13 ;server_max_window_bits=11"],
                Some(neg(13, false, 11, false))),
            // Our own limits hold whatever the server allows.
            (&asks, &["permessage-deflate; server_no_context_takeover; server_max_window_bits=10"], Some(neg(12, false, 10, true))),
            (&asks, &["permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=14"],
                Some(neg(12, false, 9, true))),
            (&resets, &["permessage-deflate"], Some(neg(15, true, 15, false))),
            // Empty lines around the one element.
            (&default, &[", permessage-deflate"], Some(neg(15, false, 15, false))),
            (&default, &[" ,permessage-deflate , "], Some(neg(15, false, 15, false))),
        ];
        for (config, response, expected) in cases {
            assert_eq!(
                config.accept_response(response),
                Ok(expected),
                "{response:?}"
            );
        }
    }

    #[test]
    fn client_rejects_invalid_responses_naming_the_parameter() {
        use DeflateParam::*;
        let default = on();
        let asks = on()
            .server_max_window_bits(10)
            .server_no_context_takeover(true);
        let no_cmwb = on().client_offers(vec![DeflateParams::default()]);
        #[rustfmt::skip]
        let cases: Vec<(&DeflateConfig, &str, Option<DeflateParam>)> = vec![
            // §7: unknown, duplicate, malformed.
            (&default, "permessage-deflate; foo", None),
            (&default, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", Some(ServerNoContextTakeover)),
            (&default, "permessage-deflate; server_max_window_bits=16", Some(ServerMaxWindowBits)),
            (&default, "permessage-deflate; server_max_window_bits", Some(ServerMaxWindowBits)),
            (&default, "permessage-deflate; client_max_window_bits", Some(ClientMaxWindowBits)),
            (&default, "permessage-deflate; client_max_window_bits=08", Some(ClientMaxWindowBits)),
            (&default, "permessage-deflate; client_no_context_takeover=1", Some(ClientNoContextTakeover)),
            // §7.1.1.1: asked for, missing.
            (&asks, "permessage-deflate; server_max_window_bits=10", Some(ServerNoContextTakeover)),
            // §7.1.2.1: asked for, missing or larger.
            (&asks, "permessage-deflate; server_no_context_takeover", Some(ServerMaxWindowBits)),
            (&asks, "permessage-deflate; server_no_context_takeover; server_max_window_bits=11", Some(ServerMaxWindowBits)),
            // §7.1.2.2: not offered.
            (&no_cmwb, "permessage-deflate; client_max_window_bits=10", Some(ClientMaxWindowBits)),
            // 8 bits for our compressor: unsupported.
            (&default, "permessage-deflate; client_max_window_bits=8", Some(ClientMaxWindowBits)),
        ];
        for (config, response, param) in cases {
            let err = config.accept_response(&[response]).expect_err(response);
            assert_eq!(err.param(), param, "{response}: {err}");
            if let Some(param) = param {
                assert!(err.to_string().contains(param.as_str()), "{err}");
            }
        }
        // RFC 6455 §9.1: only offered extensions; RFC 7692 §5: once.
        assert_eq!(
            default.accept_response(&["x-foo"]),
            Err(NegotiationError::NotOffered("x-foo".into()))
        );
        assert_eq!(
            default.accept_response(&["permessage-deflate", "permessage-deflate"]),
            Err(NegotiationError::Duplicate)
        );
        assert_eq!(
            DeflateConfig::default()
                .enabled(false)
                .accept_response(&["permessage-deflate"]),
            Err(NegotiationError::NotOffered("permessage-deflate".into()))
        );
        assert!(matches!(
            default.accept_response(&["permessage-deflate;"]),
            Err(NegotiationError::Malformed(_))
        ));
    }

    #[test]
    fn client_accepts_a_response_to_any_of_its_offers() {
        // RFC 7692 §7.1.3: an offer with a fallback; either answer is fine.
        let config = on().client_offers(vec![
            offer("permessage-deflate; client_max_window_bits; server_max_window_bits=10").unwrap(),
            offer("permessage-deflate; client_max_window_bits").unwrap(),
        ]);
        assert_eq!(
            config.offer_header(),
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits, \
             permessage-deflate; client_max_window_bits"
        );
        for response in [
            "permessage-deflate; server_max_window_bits=10",
            "permessage-deflate",
        ] {
            assert!(
                config.accept_response(&[response]).unwrap().is_some(),
                "{response}"
            );
        }
    }

    proptest! {
        #[test]
        fn arbitrary_headers_never_panic(values in prop::collection::vec(".{0,40}", 0..4)) {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            let _ = parse_extensions(&values);
            let _ = on().negotiate(&values);
            let _ = on().accept_response(&values);
        }

        #[test]
        fn grammar_shaped_headers_never_panic(
            values in prop::collection::vec("[a-z_ ;,=\"\\\\0-9\t]{0,60}", 0..4),
        ) {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            if let Ok(list) = parse_extensions(&values) {
                for element in &list {
                    prop_assert!(is_token(element.name));
                    let _ = DeflateParams::from_offer(element);
                }
            }
            let _ = on().negotiate(&values);
            let _ = on().accept_response(&values);
        }

        #[test]
        fn every_server_answer_is_accepted_by_the_offering_client(
            sn: bool,
            cn: bool,
            sb in prop::option::of(8u8..=15),
            cb in prop::option::of(prop::option::of(8u8..=15)),
            server_sb in 8u8..=15,
            server_cb in 8u8..=15,
            server_sn: bool,
            server_cn: bool,
        ) {
            let params = DeflateParams {
                server_no_context_takeover: sn,
                client_no_context_takeover: cn,
                server_max_window_bits: sb,
                client_max_window_bits: cb
                    .map(|b| b.map_or(ClientMaxWindowBits::Supported, ClientMaxWindowBits::Bits)),
            };
            let client = on().client_offers(vec![params]);
            let server = on()
                .server_max_window_bits(server_sb)
                .client_max_window_bits(server_cb)
                .server_no_context_takeover(server_sn)
                .client_no_context_takeover(server_cn);
            if let Some((negotiated, response)) = server.negotiate(&[&client.offer_header()]).unwrap() {
                prop_assert!(negotiated.compress_window_bits >= 9);
                // Both sides mirror each other; the server never asks for 8.
                let mirror = client.accept_response(&[&response]).unwrap().unwrap();
                prop_assert_eq!(mirror.decompress_window_bits, negotiated.compress_window_bits);
                prop_assert!(mirror.compress_window_bits <= negotiated.decompress_window_bits);
            }
        }
    }
}
