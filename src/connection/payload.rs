//! What the send commands take: bytes to copy, or shared bytes to queue
//! without copying.

use bytes::Bytes;

use crate::utf8::Utf8Bytes;

/// A payload to send: borrowed bytes (copied into the send queue) or shared
/// ones (a large shared payload is queued without copying when no mask must
/// be applied, that is in the server role). Made with `From`/`Into` from
/// `&[u8]`, `&str`, `Vec<u8>`, `String`, [`Bytes`] and [`Utf8Bytes`].
#[derive(Debug, Clone)]
pub struct Payload<'a>(Inner<'a>);

#[derive(Debug, Clone)]
enum Inner<'a> {
    Borrowed(&'a [u8]),
    Shared(Bytes),
}

impl<'a> Payload<'a> {
    pub(super) fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Inner::Borrowed(s) => s,
            Inner::Shared(b) => b,
        }
    }

    pub(super) fn borrowed(bytes: &'a [u8]) -> Self {
        Self(Inner::Borrowed(bytes))
    }

    pub(super) fn shared(bytes: Bytes) -> Self {
        Self(Inner::Shared(bytes))
    }

    /// The shared bytes, if the payload holds them by reference.
    pub(super) fn into_shared(self) -> Result<Bytes, Self> {
        match self.0 {
            Inner::Shared(b) => Ok(b),
            inner => Err(Self(inner)),
        }
    }
}

impl<'a> From<&'a [u8]> for Payload<'a> {
    fn from(s: &'a [u8]) -> Self {
        Self::borrowed(s)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Payload<'a> {
    fn from(s: &'a [u8; N]) -> Self {
        Self::borrowed(s)
    }
}

impl<'a> From<&'a Vec<u8>> for Payload<'a> {
    fn from(s: &'a Vec<u8>) -> Self {
        Self::borrowed(s)
    }
}

impl<'a> From<&'a str> for Payload<'a> {
    fn from(s: &'a str) -> Self {
        Self::borrowed(s.as_bytes())
    }
}

impl<'a> From<&'a String> for Payload<'a> {
    fn from(s: &'a String) -> Self {
        Self::borrowed(s.as_bytes())
    }
}

impl From<Bytes> for Payload<'_> {
    fn from(b: Bytes) -> Self {
        Self::shared(b)
    }
}

impl From<Vec<u8>> for Payload<'_> {
    fn from(v: Vec<u8>) -> Self {
        Self::shared(Bytes::from(v))
    }
}

impl From<String> for Payload<'_> {
    fn from(s: String) -> Self {
        Self::shared(Bytes::from(s))
    }
}

impl From<Utf8Bytes> for Payload<'_> {
    fn from(s: Utf8Bytes) -> Self {
        Self::shared(s.into_bytes())
    }
}

impl<'a> From<TextPayload<'a>> for Payload<'a> {
    fn from(text: TextPayload<'a>) -> Self {
        text.0
    }
}

/// A text payload, valid UTF-8 by construction: a `&str` (copied into the
/// send queue) or an owned text (a large one is queued without copying in
/// the server role).
#[derive(Debug, Clone)]
pub struct TextPayload<'a>(Payload<'a>);

impl<'a> From<&'a str> for TextPayload<'a> {
    fn from(s: &'a str) -> Self {
        Self(Payload::borrowed(s.as_bytes()))
    }
}

impl<'a> From<&'a String> for TextPayload<'a> {
    fn from(s: &'a String) -> Self {
        Self(Payload::borrowed(s.as_bytes()))
    }
}

impl From<String> for TextPayload<'_> {
    fn from(s: String) -> Self {
        Self(Payload::shared(Bytes::from(s)))
    }
}

impl From<Utf8Bytes> for TextPayload<'_> {
    fn from(s: Utf8Bytes) -> Self {
        Self(Payload::shared(s.into_bytes()))
    }
}

impl From<&Utf8Bytes> for TextPayload<'_> {
    fn from(s: &Utf8Bytes) -> Self {
        Self(Payload::shared(s.clone().into_bytes()))
    }
}
