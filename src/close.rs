//! The closing handshake's vocabulary (RFC 6455 §5.5.1, §7.4): status
//! codes, and the payload of a close frame.
//!
//! A codec-layer module: it imports nothing above it. The
//! [`Connection`](crate::Connection) turns a [`CloseError`] into the matching
//! [`ProtocolError`](crate::ProtocolError) and decides what to answer.

use std::fmt;

use crate::utf8::Utf8Bytes;

/// A close status code (RFC 6455 §7.4): an open code space, so a newtype
/// with the registered codes as constants.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose for which the connection was established is fulfilled.
    pub const NORMAL: Self = Self(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1005: no status code was present. Never sent on the wire.
    pub const NO_STATUS: Self = Self(1005);
    /// 1006: closed without a close frame. Never sent on the wire.
    pub const ABNORMAL: Self = Self(1006);
    /// 1007: data inconsistent with the message type (invalid UTF-8 in text).
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: a message violates the endpoint's policy.
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: Self = Self(1009);
    /// 1010: the client expected the server to negotiate an extension.
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: Self = Self(1011);
    /// 1012: the service is restarting (IANA registry).
    pub const SERVICE_RESTART: Self = Self(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// 1014: the gateway or proxy got an invalid response (IANA registry).
    pub const BAD_GATEWAY: Self = Self(1014);
    /// 1015: the TLS handshake failed. Never sent on the wire.
    pub const TLS_HANDSHAKE: Self = Self(1015);

    /// Whether the code may appear in a close frame (RFC 6455 §7.4.1, §7.4.2):
    /// 1000–1003 and 1007–1014 of the registered range, and 3000–4999.
    /// 1004, 1005, 1006 and 1015 are reserved or for local use only;
    /// 0–999 and 1016–2999 are not used; 5000 and up are out of range.
    pub fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// The code's registered name (`"NORMAL"`, `"GOING_AWAY"`, ...), or
    /// `None` for an unregistered code.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1000 => "NORMAL",
            1001 => "GOING_AWAY",
            1002 => "PROTOCOL_ERROR",
            1003 => "UNSUPPORTED_DATA",
            1005 => "NO_STATUS",
            1006 => "ABNORMAL",
            1007 => "INVALID_PAYLOAD",
            1008 => "POLICY_VIOLATION",
            1009 => "MESSAGE_TOO_BIG",
            1010 => "MANDATORY_EXTENSION",
            1011 => "INTERNAL_ERROR",
            1012 => "SERVICE_RESTART",
            1013 => "TRY_AGAIN_LATER",
            1014 => "BAD_GATEWAY",
            1015 => "TLS_HANDSHAKE",
            _ => return None,
        })
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseCode({})", self.0)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        Self(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

/// The code and reason of a close frame.
///
/// A close frame without a status code is `None` where an
/// `Option<CloseFrame>` is given (RFC 6455 §7.1.5 names that case 1005,
/// [`CloseCode::NO_STATUS`], which never appears on the wire).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, at most 123 bytes of UTF-8.
    pub reason: Utf8Bytes,
}

impl CloseFrame {
    /// A close frame with `code` and `reason`.
    pub fn new(code: CloseCode, reason: impl Into<Utf8Bytes>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }

    /// Parses a close frame's payload (RFC 6455 §5.5.1): empty, or a 2-byte
    /// code followed by a UTF-8 reason.
    ///
    /// Returns `None` for an empty payload. A 1-byte payload, a code that may
    /// not appear on the wire and a reason that is not UTF-8 are errors.
    pub fn parse_payload(payload: &[u8]) -> Result<Option<(CloseCode, &str)>, CloseError> {
        match payload {
            [] => Ok(None),
            [_] => Err(CloseError::OneBytePayload),
            [hi, lo, reason @ ..] => {
                let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
                if !code.is_valid_on_wire() {
                    return Err(CloseError::InvalidCode(code.0));
                }
                let reason =
                    simdutf8::basic::from_utf8(reason).map_err(|_| CloseError::InvalidReason)?;
                Ok(Some((code, reason)))
            }
        }
    }

    /// Writes a close payload into `out`: the code in network byte order,
    /// then the reason. Returns the number of bytes written.
    ///
    /// # Panics
    ///
    /// If `out` is shorter than two bytes plus the reason.
    pub fn encode_payload(code: CloseCode, reason: &str, out: &mut [u8]) -> usize {
        out[..2].copy_from_slice(&code.0.to_be_bytes());
        out[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
        2 + reason.len()
    }
}

/// A close frame's payload breaks RFC 6455 §5.5.1 or §7.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseError {
    /// A payload of one byte: too short for a code.
    #[error("close frame payload of one byte (RFC 6455 §5.5.1)")]
    OneBytePayload,
    /// A code that may not appear on the wire (RFC 6455 §7.4).
    #[error("close code {0} may not appear in a close frame (RFC 6455 §7.4)")]
    InvalidCode(u16),
    /// A reason that is not valid UTF-8 (RFC 6455 §5.5.1).
    #[error("close reason is not valid UTF-8 (RFC 6455 §5.5.1)")]
    InvalidReason,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_valid_on_the_wire() {
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999,
        ] {
            assert!(CloseCode(code).is_valid_on_wire(), "{code}");
        }
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            assert!(!CloseCode(code).is_valid_on_wire(), "{code}");
        }
    }

    #[test]
    fn close_payload_rules() {
        assert_eq!(CloseFrame::parse_payload(b""), Ok(None));
        assert_eq!(
            CloseFrame::parse_payload(&[0x03]),
            Err(CloseError::OneBytePayload)
        );
        assert_eq!(
            CloseFrame::parse_payload(&[0x03, 0xE8, b'o', b'k']),
            Ok(Some((CloseCode::NORMAL, "ok")))
        );
        assert_eq!(
            CloseFrame::parse_payload(&[0x03, 0xED]),
            Err(CloseError::InvalidCode(1005))
        );
        assert_eq!(
            CloseFrame::parse_payload(&[0x03, 0xE8, 0xff]),
            Err(CloseError::InvalidReason)
        );
        let mut out = [0u8; 8];
        assert_eq!(
            CloseFrame::encode_payload(CloseCode::GOING_AWAY, "bye", &mut out),
            5
        );
        assert_eq!(out[..5], [0x03, 0xE9, b'b', b'y', b'e']);
    }

    #[test]
    fn registered_codes_have_names() {
        assert_eq!(CloseCode::NORMAL.name(), Some("NORMAL"));
        assert_eq!(CloseCode(1014).name(), Some("BAD_GATEWAY"));
        assert_eq!(CloseCode(4000).name(), None);
    }
}
