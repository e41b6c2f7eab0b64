//! [`CustomExtension`]: an extension this crate does not implement, offered
//! by a client or accepted by a server on the application's behalf
//! (RFC 6455 §9). The application runs it; the connection only negotiates it.

use std::fmt;

use super::grammar::is_token;
use super::{ExtensionOffer, PERMESSAGE_DEFLATE};

/// An extension the built-in codec does not handle: a name and its
/// parameters, as one element of `Sec-WebSocket-Extensions` (RFC 6455 §9.1).
///
/// It can never be named `permessage-deflate`: that extension is negotiated
/// from [`DeflateConfig`](super::DeflateConfig), so that an agreement on it
/// always turns the codec on.
///
/// ```
/// use wsproto::extensions::CustomExtension;
///
/// let ext = CustomExtension::new("x-webkit-deflate-frame")?.param("no_context_takeover", None)?;
/// assert_eq!(ext.to_string(), "x-webkit-deflate-frame; no_context_takeover");
/// assert!(CustomExtension::new("permessage-deflate").is_err());
/// # Ok::<(), wsproto::extensions::CustomExtensionError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomExtension {
    name: String,
    params: Vec<(String, Option<String>)>,
}

/// Why a [`CustomExtension`] cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CustomExtensionError {
    /// A name or parameter name or value that is not a token (RFC 6455 §9.1).
    #[error("{0:?} is not a token (RFC 6455 §9.1)")]
    NotAToken(String),
    /// `permessage-deflate`, which is configured with
    /// [`DeflateConfig`](super::DeflateConfig) instead.
    #[error("permessage-deflate is negotiated from DeflateConfig, not as a custom extension")]
    PermessageDeflate,
}

impl CustomExtension {
    /// An extension called `name`, without parameters. `name` must be a
    /// token and not `permessage-deflate` (in any case).
    pub fn new(name: &str) -> Result<Self, CustomExtensionError> {
        if !is_token(name) {
            return Err(CustomExtensionError::NotAToken(name.to_owned()));
        }
        if name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) {
            return Err(CustomExtensionError::PermessageDeflate);
        }
        Ok(Self {
            name: name.to_owned(),
            params: Vec::new(),
        })
    }

    /// Adds a parameter, with or without a value; both are tokens
    /// (RFC 6455 §9.1: a quoted value must be a token once unquoted, so
    /// nothing is lost by writing it bare).
    pub fn param(mut self, name: &str, value: Option<&str>) -> Result<Self, CustomExtensionError> {
        for s in std::iter::once(name).chain(value) {
            if !is_token(s) {
                return Err(CustomExtensionError::NotAToken(s.to_owned()));
            }
        }
        self.params
            .push((name.to_owned(), value.map(str::to_owned)));
        Ok(self)
    }

    /// An element read from a peer's header, which the grammar has checked.
    /// `None` for permessage-deflate.
    pub(crate) fn from_element(element: &ExtensionOffer<'_>) -> Option<Self> {
        if element.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) {
            return None;
        }
        Some(Self {
            name: element.name.to_owned(),
            params: element
                .params
                .iter()
                .map(|p| (p.name.to_owned(), p.value.as_deref().map(str::to_owned)))
                .collect(),
        })
    }

    /// The extension's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parameters, in order, each with its value if it has one.
    pub fn params(&self) -> impl Iterator<Item = (&str, Option<&str>)> + '_ {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_deref()))
    }
}

/// The element as written in `Sec-WebSocket-Extensions`.
impl fmt::Display for CustomExtension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            write!(f, "; {name}")?;
            if let Some(value) = value {
                write!(f, "={value}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extensions::parse_extensions;

    #[test]
    fn custom_extension_refuses_permessage_deflate_in_any_case() {
        for name in ["permessage-deflate", "PerMessage-Deflate"] {
            assert_eq!(
                CustomExtension::new(name),
                Err(CustomExtensionError::PermessageDeflate)
            );
        }
    }

    #[test]
    fn custom_extension_refuses_what_is_not_a_token() {
        assert!(CustomExtension::new("a b").is_err());
        assert!(CustomExtension::new("").is_err());
        let ext = CustomExtension::new("x").unwrap();
        assert!(ext.clone().param("a,b", None).is_err());
        assert!(ext.param("a", Some("\"q\"")).is_err());
    }

    #[test]
    fn custom_extension_round_trips_through_the_grammar() {
        let ext = CustomExtension::new("x-foo")
            .unwrap()
            .param("a", None)
            .unwrap()
            .param("b", Some("10"))
            .unwrap();
        let text = ext.to_string();
        assert_eq!(text, "x-foo; a; b=10");
        let parsed = parse_extensions(&[&text]).unwrap();
        assert_eq!(CustomExtension::from_element(&parsed[0]), Some(ext));
    }
}
