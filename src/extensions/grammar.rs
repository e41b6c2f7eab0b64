//! The `Sec-WebSocket-Extensions` header grammar (RFC 6455 §9.1): any
//! extension, any parameter, every header line in one linear pass.

use std::borrow::Cow;
use std::fmt;

/// One element of a `Sec-WebSocket-Extensions` header: an extension
/// negotiation offer in a request, or a response in a response (RFC 7692 §3).
///
/// Strings borrow from the header value, except a quoted value that
/// contained backslash escapes, which is unescaped into an owned string.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExtensionOffer<'a> {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: &'a str,
    /// The parameters in the order they were written.
    pub params: Vec<ExtensionParam<'a>>,
}

impl<'a> ExtensionOffer<'a> {
    /// An element called `name` with `params`, as [`parse_extensions`]
    /// would return it (to feed [`DeflateParams::from_offer`](super::DeflateParams::from_offer)
    /// an element built by hand). Nothing is checked.
    pub fn new(name: &'a str, params: Vec<ExtensionParam<'a>>) -> Self {
        Self { name, params }
    }
}

/// One `extension-param`: `token [ "=" (token | quoted-string) ]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExtensionParam<'a> {
    /// The parameter name.
    pub name: &'a str,
    /// The value, unquoted and unescaped, if the parameter had one.
    pub value: Option<Cow<'a, str>>,
}

impl<'a> ExtensionParam<'a> {
    /// A parameter called `name`, with `value` if it has one. Nothing is checked.
    pub fn new(name: &'a str, value: Option<&'a str>) -> Self {
        Self {
            name,
            value: value.map(Cow::Borrowed),
        }
    }
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
#[non_exhaustive]
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

pub(super) fn is_token(s: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
