//! The permessage-deflate parameters of one offer or one response
//! (RFC 7692 §7.1): read from a parsed header element, checked for unknown
//! and duplicate parameters and malformed values, and written back.

use std::fmt;

use super::{ExtensionOffer, ExtensionParam, MAX_WINDOW_BITS, PERMESSAGE_DEFLATE};

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
/// Build one from [`DeflateParams::default`] (no parameter) and set the
/// fields:
///
/// ```
/// use wsproto::extensions::{ClientMaxWindowBits, DeflateParams};
///
/// let mut offer = DeflateParams::default();
/// offer.server_max_window_bits = Some(10);
/// offer.client_max_window_bits = Some(ClientMaxWindowBits::Supported);
/// assert_eq!(
///     offer.to_string(),
///     "permessage-deflate; server_max_window_bits=10; client_max_window_bits"
/// );
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
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

    pub(super) fn check_range(&self) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extensions::parse_extensions;

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
}
