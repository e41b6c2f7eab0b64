//! UTF-8 for text messages: a streaming validator that fails fast, and the
//! validated text type handed to the application.
//!
//! RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8
//! but finds that the byte stream is not, in fact, a valid UTF-8 stream, that
//! endpoint MUST _Fail the WebSocket Connection_." The validator reports an
//! invalid byte as soon as it arrives: in the middle of a fragmented message,
//! and in the middle of a frame whose payload has only partly arrived. A code
//! point split across frames or reads is carried over in four bytes of state.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use bytestring::ByteString;

/// A streaming UTF-8 validator.
///
/// Feed it consecutive pieces of one text message with [`feed`](Self::feed);
/// call [`finish`](Self::finish) at the end of the message. Each byte is
/// examined once, so validation is linear in the message size however it is
/// split.
#[derive(Debug, Default, Clone)]
pub struct Utf8Validator {
    /// The start of a code point whose remaining bytes have not arrived yet.
    pending: [u8; 4],
    pending_len: u8,
}

/// The bytes seen so far are not the beginning of any valid UTF-8 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

impl fmt::Display for InvalidUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8")
    }
}

impl std::error::Error for InvalidUtf8 {}

/// The length of the sequence a leading byte starts, for bytes that can lead one.
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates the next piece of the message.
    ///
    /// Fails as soon as the bytes seen so far cannot start valid UTF-8 text,
    /// even if the piece ends in the middle of a code point.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), InvalidUtf8> {
        if self.pending_len > 0 {
            let have = usize::from(self.pending_len);
            let need = sequence_len(self.pending[0]) - have;
            let take = need.min(data.len());
            let mut joined = self.pending;
            joined[have..have + take].copy_from_slice(&data[..take]);
            match std::str::from_utf8(&joined[..have + take]) {
                Ok(_) => self.pending_len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still a valid prefix, still incomplete: `take` was all of `data`.
                    self.pending = joined;
                    self.pending_len = (have + take) as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
            data = &data[take..];
        }
        if simdutf8::basic::from_utf8(data).is_ok() {
            return Ok(());
        }
        // The slow path runs once per piece at most: find out whether the
        // piece is invalid or merely ends inside a code point.
        match simdutf8::compat::from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                let tail = &data[e.valid_up_to()..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.pending_len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Ends the message: a code point still incomplete is an error. The
    /// validator is then ready for the next message.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.pending_len == 0;
        self.pending_len = 0;
        if complete {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }

    /// Forgets any partial code point.
    pub fn reset(&mut self) {
        self.pending_len = 0;
    }
}

/// Validated UTF-8 text backed by [`Bytes`]: a received text message, handed
/// out without copying. It dereferences to [`str`].
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(ByteString);

impl Utf8Bytes {
    /// An empty text.
    pub const fn new() -> Self {
        Self(ByteString::new())
    }

    /// Text from a static string, without copying.
    pub const fn from_static(text: &'static str) -> Self {
        Self(ByteString::from_static(text))
    }

    /// Validates `bytes` as UTF-8 (once, with SIMD) and wraps them without
    /// copying.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Self, InvalidUtf8> {
        if simdutf8::basic::from_utf8(&bytes).is_err() {
            return Err(InvalidUtf8);
        }
        // The crate's only `unsafe`, and why it is here: `bytestring` builds
        // its `ByteString` from `Bytes` safely only through
        // `std::str::from_utf8`, which runs at about 0.4 GB/s on multi-byte
        // text, against about 13 GB/s for `simdutf8`; validating twice would
        // cost every text message the slower pass.
        #[allow(unsafe_code)]
        // SAFETY: `simdutf8::basic::from_utf8` returned `Ok` for exactly these
        // bytes just above, so they are valid UTF-8, which is the one
        // requirement of `ByteString::from_bytes_unchecked`. `Bytes` is
        // immutable, so they cannot change in between.
        let text = unsafe { ByteString::from_bytes_unchecked(bytes) };
        Ok(Self(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The underlying bytes, sharing the same buffer.
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }

    /// A view of the underlying bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl Deref for Utf8Bytes {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl From<String> for Utf8Bytes {
    fn from(text: String) -> Self {
        Self(ByteString::from(text))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(text: &str) -> Self {
        Self(ByteString::from(text))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(text: Utf8Bytes) -> Self {
        text.into_bytes()
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(pieces: &[&[u8]]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::new();
        for piece in pieces {
            v.feed(piece)?;
        }
        v.finish()
    }

    #[test]
    fn valid_text_in_one_piece() {
        assert_eq!(feed_all(&["Hello-µ@ßöäüàá-UTF-8!!".as_bytes()]), Ok(()));
    }

    #[test]
    fn code_point_split_across_every_boundary() {
        let text = "κόσμε 𝄞 €".as_bytes();
        for cut in 0..=text.len() {
            assert_eq!(
                feed_all(&[&text[..cut], &text[cut..]]),
                Ok(()),
                "cut at {cut}"
            );
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(feed_all(&bytes), Ok(()));
    }

    #[test]
    fn fails_fast_in_the_middle_of_a_piece() {
        let mut v = Utf8Validator::new();
        // "κόσμε" then an invalid continuation start: detected before any end.
        assert_eq!(
            v.feed(&[
                0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80
            ]),
            Err(InvalidUtf8)
        );
    }

    #[test]
    fn fails_fast_on_an_impossible_prefix_at_the_end_of_a_piece() {
        // 0xF4 0x90 would encode a code point above U+10FFFF; no later byte can fix it.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[b'a', 0xF4, 0x90]), Err(InvalidUtf8));
        // A carried lead byte, then an impossible second byte in the next piece.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[0xF4]), Ok(()));
        assert_eq!(v.feed(&[0x90]), Err(InvalidUtf8));
        // A surrogate, split after its lead byte.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[0xED]), Ok(()));
        assert_eq!(v.feed(&[0xA0, 0x80]), Err(InvalidUtf8));
    }

    #[test]
    fn incomplete_code_point_at_message_end_fails() {
        assert_eq!(feed_all(&[&[b'a', 0xE2, 0x82]]), Err(InvalidUtf8));
    }

    #[test]
    fn finish_resets_for_the_next_message() {
        let mut v = Utf8Validator::new();
        v.feed(&[0xE2]).unwrap();
        assert_eq!(v.finish(), Err(InvalidUtf8));
        assert_eq!(v.feed(b"ok"), Ok(()));
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn carried_code_point_completed_by_a_piece_with_more_after_it() {
        let mut v = Utf8Validator::new();
        v.feed(&[0xF0, 0x9D]).unwrap();
        v.feed(&[0x84]).unwrap();
        v.feed(&[0x9E, b'x', 0xC3]).unwrap();
        v.feed(&[0xA9]).unwrap();
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn utf8_bytes_wraps_without_copying() {
        let bytes = Bytes::from_static("grüße".as_bytes());
        let text = Utf8Bytes::try_from_bytes(bytes.clone()).unwrap();
        assert_eq!(text, "grüße");
        assert_eq!(text.as_bytes().as_ptr(), bytes.as_ptr());
        assert!(Utf8Bytes::try_from_bytes(Bytes::from_static(&[0xff])).is_err());
    }
}
