//! HTTP plumbing shared by both roles: reading an HTTP/1.1 head
//! incrementally, header lists (parsed from a head or given by another
//! HTTP stack), comma-separated token lists, and writing heads.
//!
//! A leaf: it imports nothing else from the crate, and its errors are its
//! own ([`HeadError`]), which the request and response errors absorb.

use std::ops::Range;

use bytes::{Bytes, BytesMut};

/// What is wrong with a head or one of its header fields, before any
/// WebSocket rule is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// The head did not end within the byte limit.
    TooLarge { limit: usize },
    /// More header lines than the limit.
    TooManyHeaders { limit: usize },
    /// Not HTTP/1.1 syntax; the text says which part.
    Malformed(&'static str),
    /// A header the handshake needs is absent.
    Missing(&'static str),
    /// A header that may appear once appears more than once.
    Duplicate(&'static str),
    /// A header whose value is not allowed.
    Invalid {
        name: &'static str,
        reason: &'static str,
    },
}

/// Collects a head until the blank line that ends it, scanning each byte
/// about once.
///
/// Each [`handle_read`](Self::handle_read) scans only the bytes not scanned
/// before (plus the two after a line feed, to see whether a blank line
/// follows), and never parses: the quadratic pattern of re-parsing the
/// whole buffer on every read (tungstenite's CVE-2023-43669) cannot happen.
#[derive(Debug, Default)]
pub(crate) struct HeadReader {
    buf: BytesMut,
    /// Everything before this index has been scanned.
    scan_from: usize,
    /// A byte other than CR or LF was seen. Blank lines before it are the
    /// empty lines that may precede a request line (RFC 9112 §2.2), not the
    /// end of a head.
    seen_content: bool,
    /// Bytes examined by the scan, to prove it is linear.
    #[cfg(test)]
    pub(crate) scanned: usize,
}

impl HeadReader {
    /// Appends `data` and looks in the new bytes for the end of the head.
    ///
    /// Returns the head's length once it has ended within `max_head` bytes;
    /// `Ok(None)` if more bytes are needed; an error as soon as `max_head`
    /// bytes are there without an end.
    pub(crate) fn handle_read(
        &mut self,
        data: &[u8],
        max_head: usize,
    ) -> Result<Option<usize>, HeadError> {
        self.buf.extend_from_slice(data);
        // The whole head, blank line included, must fit in `max_head`.
        let window = &self.buf[..self.buf.len().min(max_head)];
        let mut i = self.scan_from;
        while i < window.len() {
            if !self.seen_content {
                if !matches!(window[i], b'\r' | b'\n') {
                    self.seen_content = true;
                }
                i += 1;
                #[cfg(test)]
                {
                    self.scanned += 1;
                }
                continue;
            }
            let Some(lf) = window[i..].iter().position(|&b| b == b'\n') else {
                #[cfg(test)]
                {
                    self.scanned += window.len() - i;
                }
                i = window.len();
                break;
            };
            #[cfg(test)]
            {
                self.scanned += lf + 1;
            }
            i += lf;
            // httparse accepts LF as well as CRLF line ends (RFC 9112 §2.2),
            // so a head ends at LF LF or LF CR LF.
            match (window.get(i + 1), window.get(i + 2)) {
                (Some(b'\n'), _) => return Ok(Some(i + 2)),
                (Some(b'\r'), Some(b'\n')) => return Ok(Some(i + 3)),
                // Not decided yet: look at this line feed again next time.
                (None, _) | (Some(b'\r'), None) => break,
                _ => i += 1,
            }
        }
        self.scan_from = i;
        if self.buf.len() >= max_head {
            return Err(HeadError::TooLarge { limit: max_head });
        }
        Ok(None)
    }

    /// Splits the buffer into the head (`len` bytes) and what followed it.
    pub(crate) fn take(&mut self, len: usize) -> (Bytes, BytesMut) {
        let head = self.buf.split_to(len).freeze();
        (head, std::mem::take(&mut self.buf))
    }
}

/// Maps an `httparse` error to a head error.
pub(crate) fn parse_error(e: httparse::Error, max_headers: usize) -> HeadError {
    HeadError::Malformed(match e {
        httparse::Error::TooManyHeaders => return HeadError::TooManyHeaders { limit: max_headers },
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status code",
        httparse::Error::Token => "invalid method or request target",
        httparse::Error::Version => "invalid HTTP version",
    })
}

/// Where `part` starts inside `base`; `part` must be a sub-slice of it.
fn offset(base: &[u8], part: &[u8]) -> Range<usize> {
    let start = (part.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
    // A slice not from `base` (never the case) becomes an empty range rather
    // than a panic later.
    if start > base.len() || base.len() - start < part.len() {
        return 0..0;
    }
    start..start + part.len()
}

/// Where the `&str` `part` lies inside `base`.
pub(crate) fn str_range(base: &[u8], part: &str) -> Range<usize> {
    offset(base, part.as_bytes())
}

/// The header fields of a head, in the order received, sharing the head's
/// buffer.
///
/// Names compare ASCII case-insensitively (RFC 9110 §5.1). Values are bytes:
/// HTTP allows bytes above 0x7F in them (RFC 9110 §5.5); the handshake's own
/// headers are checked to be ASCII.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Headers {
    head: Bytes,
    fields: Vec<(Range<usize>, Range<usize>)>,
}

impl Headers {
    /// The fields `httparse` found in `head`.
    pub(crate) fn from_parsed(head: &Bytes, parsed: &[httparse::Header<'_>]) -> Self {
        let fields = parsed
            .iter()
            .map(|h| (str_range(head, h.name), offset(head, h.value)))
            .collect();
        Self {
            head: head.clone(),
            fields,
        }
    }

    /// How many header lines there are.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Every field as (name, value), in the order received.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.fields.iter().map(|(name, value)| {
            // httparse only accepts token characters (ASCII) in names.
            let name = std::str::from_utf8(&self.head[name.clone()]).unwrap_or_default();
            (name, trim(&self.head[value.clone()]))
        })
    }

    /// The value of the first field called `name`, if any.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The value of the first field called `name`, if it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The values of every field called `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The elements of the comma-separated list in the fields called `name`,
    /// trimmed, with repeated fields joined into one list and empty elements
    /// skipped (RFC 9110 §5.3, §5.6.1). Quoted strings are not understood: a
    /// comma inside one splits it.
    pub fn tokens<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.get_all(name)
            .flat_map(|v| v.split(|&b| b == b','))
            .map(trim)
            .filter(|t| !t.is_empty())
    }

    /// Whether the list in the fields called `name` holds `token`, compared
    /// ASCII case-insensitively (as for `Connection: keep-alive, Upgrade`).
    pub fn contains_token(&self, name: &str, token: &str) -> bool {
        self.tokens(name)
            .any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
    }

    /// The fields as a [`Fields`] list, for the handshake's checks.
    pub(crate) fn fields(&self) -> Fields<'_> {
        Fields::new(self.iter())
    }
}

/// A list of header fields from anywhere (an HTTP/1.1 head, an HTTP/2
/// header block), values trimmed, with the checks the handshakes share.
/// Names compare ASCII case-insensitively.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields<'a>(Vec<(&'a str, &'a [u8])>);

impl<'a> Fields<'a> {
    pub(crate) fn new<I: IntoIterator<Item = (&'a str, &'a [u8])>>(fields: I) -> Self {
        Self(fields.into_iter().map(|(n, v)| (n, trim(v))).collect())
    }

    /// Every field's name, in order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.0.iter().map(|&(n, _)| n)
    }

    /// The values of every field called `name`, in order.
    pub(crate) fn get_all<'b>(&'b self, name: &'b str) -> impl Iterator<Item = &'a [u8]> + 'b {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, v)| v)
    }

    /// The elements of the comma-separated list in the fields called `name`
    /// (RFC 9110 §5.3, §5.6.1), as [`Headers::tokens`].
    pub(crate) fn tokens<'b>(&'b self, name: &'b str) -> impl Iterator<Item = &'a [u8]> + 'b {
        self.get_all(name)
            .flat_map(|v| v.split(|&b| b == b','))
            .map(trim)
            .filter(|t| !t.is_empty())
    }

    /// Whether the list in the fields called `name` holds `token`, any case.
    pub(crate) fn contains_token(&self, name: &str, token: &str) -> bool {
        self.tokens(name)
            .any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
    }

    /// How many fields are called `name`.
    pub(crate) fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// RFC 6455 §4.1 (response check 3) and §4.2.1 (item 4): `Connection`
    /// is present and holds the token `Upgrade`, in any case.
    pub(crate) fn require_connection_upgrade(&self) -> Result<(), HeadError> {
        if self.count("Connection") == 0 {
            return Err(HeadError::Missing("Connection"));
        }
        if !self.contains_token("Connection", "upgrade") {
            return Err(HeadError::Invalid {
                name: "Connection",
                reason: "it does not hold the token Upgrade",
            });
        }
        Ok(())
    }

    /// The single field called `name`, checked to be visible ASCII.
    pub(crate) fn single(&self, name: &'static str) -> Result<Option<&'a str>, HeadError> {
        let mut values = self.get_all(name);
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(HeadError::Duplicate(name));
        }
        ascii(value, name).map(Some)
    }

    /// Checks every field called `name` is visible ASCII (the handshake's
    /// headers all are, RFC 6455 §4.3).
    pub(crate) fn check_ascii(&self, name: &'static str) -> Result<(), HeadError> {
        self.get_all(name)
            .try_for_each(|v| ascii(v, name).map(drop))
    }
}

/// `value` as a `&str`, if it is visible ASCII, spaces and tabs.
pub(crate) fn ascii<'a>(value: &'a [u8], name: &'static str) -> Result<&'a str, HeadError> {
    if value
        .iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        // ASCII is UTF-8.
        Ok(std::str::from_utf8(value).unwrap_or_default())
    } else {
        Err(HeadError::Invalid {
            name,
            reason: "the value is not ASCII",
        })
    }
}

/// Strips optional whitespace (SP, HTAB) from both ends (RFC 9110 §5.6.3).
pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// [`trim`] for a `&str`.
pub(crate) fn trim_str(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// `tchar` (RFC 9110 §5.6.2): `!#$%&'*+-.^_`|~`, digits and letters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `token = 1*tchar` (RFC 9110 §5.6.2).
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// A header value we may write: no control characters but HTAB, so no CR or
/// LF can end the line early and inject a header (RFC 9110 §5.5).
pub(crate) fn is_field_value(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (b >= b' ' && b != 0x7f))
}

/// Appends `name: value` CRLF.
pub(crate) fn write_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Peer text made safe to show and log: printable ASCII is kept, anything
/// else becomes `\xNN`, and more than 64 bytes are cut to 64 and `...`.
pub(crate) fn escape(bytes: &[u8]) -> String {
    const MAX: usize = 64;
    let mut out = String::new();
    for &b in bytes.iter().take(MAX) {
        if (b' '..=b'~').contains(&b) && b != b'\\' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if bytes.len() > MAX {
        out.push_str("...");
    }
    out
}

/// The reason phrase for a status, or "" for one this crate does not name
/// (an empty reason is valid, RFC 9112 §4).
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        414 => "URI Too Long",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(head: &'static [u8]) -> Headers {
        let head = Bytes::from_static(head);
        let mut parsed = [httparse::EMPTY_HEADER; 16];
        let mut req = httparse::Request::new(&mut parsed);
        assert!(req.parse(&head).unwrap().is_complete());
        Headers::from_parsed(&head, req.headers)
    }

    #[test]
    fn head_reader_finds_crlf_blank_line() {
        let mut r = HeadReader::default();
        assert_eq!(
            r.handle_read(b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest", 1024),
            Ok(Some(24))
        );
        let (head, rest) = r.take(24);
        assert!(head.ends_with(b"\r\n\r\n"));
        assert_eq!(&rest[..], b"rest");
    }

    #[test]
    fn head_reader_finds_blank_line_split_across_reads() {
        let input = b"GET / HTTP/1.1\r\nA: b\r\n\r\n";
        for cut in 0..input.len() {
            let mut r = HeadReader::default();
            let first = r.handle_read(&input[..cut], 1024).unwrap();
            let end = first.or_else(|| r.handle_read(&input[cut..], 1024).unwrap());
            assert_eq!(end, Some(input.len()), "cut at {cut}");
        }
    }

    #[test]
    fn head_reader_accepts_bare_lf_line_ends() {
        let mut r = HeadReader::default();
        assert_eq!(
            r.handle_read(b"GET / HTTP/1.1\nA: b\n\n", 1024),
            Ok(Some(21))
        );
    }

    #[test]
    fn head_reader_skips_leading_empty_lines() {
        let mut r = HeadReader::default();
        assert_eq!(r.handle_read(b"\r\n\r\n", 1024), Ok(None));
        assert_eq!(r.handle_read(b"GET / HTTP/1.1\r\n\r\n", 1024), Ok(Some(22)));
    }

    #[test]
    fn head_reader_fails_at_the_limit_without_waiting_for_more() {
        let mut r = HeadReader::default();
        assert_eq!(r.handle_read(&[b'a'; 99], 100), Ok(None));
        assert_eq!(
            r.handle_read(b"a", 100),
            Err(HeadError::TooLarge { limit: 100 })
        );
    }

    #[test]
    fn head_reader_rejects_an_end_just_past_the_limit() {
        let mut r = HeadReader::default();
        let head = b"GET / HTTP/1.1\r\n\r\n";
        assert_eq!(r.handle_read(head, head.len()), Ok(Some(head.len())));
        let mut r = HeadReader::default();
        assert_eq!(
            r.handle_read(head, head.len() - 1),
            Err(HeadError::TooLarge {
                limit: head.len() - 1
            })
        );
    }

    #[test]
    fn head_reader_scans_linearly_when_fed_one_byte_at_a_time() {
        // 16 KiB of header lines, one byte per read: a re-scan (or re-parse)
        // of the buffer on each read would examine ~n²/2 = 134M bytes.
        let mut input = b"GET / HTTP/1.1\r\n".to_vec();
        while input.len() < 16 * 1024 - 100 {
            input.extend_from_slice(b"X-Filler: abcdefghijklmnopqrstuvwxyz\r\n");
        }
        input.extend_from_slice(b"\r\n");
        let n = input.len();
        let mut r = HeadReader::default();
        let mut end = None;
        for b in &input {
            end = r.handle_read(std::slice::from_ref(b), 16 * 1024).unwrap();
        }
        assert_eq!(end, Some(n));
        assert!(r.scanned <= 2 * n, "scanned {} bytes for {n}", r.scanned);
    }

    #[test]
    fn tokens_join_repeated_lines_and_ignore_case() {
        let h = headers(
            b"GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nP: a, b\r\np:c,,\t d \r\n\r\n",
        );
        assert!(h.contains_token("connection", "upgrade"));
        assert!(!h.contains_token("connection", "close"));
        let tokens: Vec<&[u8]> = h.tokens("P").collect();
        assert_eq!(tokens, [&b"a"[..], b"b", b"c", b"d"]);
    }

    #[test]
    fn headers_keep_order_and_compare_names_case_insensitively() {
        let h = headers(b"GET / HTTP/1.1\r\nB: 1\r\nA: 2\r\nb: 3\r\n\r\n");
        let all: Vec<(&str, &[u8])> = h.iter().collect();
        assert_eq!(all, [("B", &b"1"[..]), ("A", b"2"), ("b", b"3")]);
        assert_eq!(h.get("b"), Some(&b"1"[..]));
        let f = h.fields();
        assert_eq!(f.count("B"), 2);
        assert_eq!(f.single("A"), Ok(Some("2")));
        assert_eq!(f.single("B"), Err(HeadError::Duplicate("B")));
    }

    #[test]
    fn fields_from_another_stack_are_trimmed_and_checked_alike() {
        let f = Fields::new([
            ("connection", &b" keep-alive, Upgrade "[..]),
            ("sec-websocket-protocol", b"\tchat"),
        ]);
        assert!(f.require_connection_upgrade().is_ok());
        assert_eq!(f.single("Sec-WebSocket-Protocol"), Ok(Some("chat")));
        let f = Fields::new([("x", &b"\xff"[..])]);
        assert!(matches!(f.check_ascii("x"), Err(HeadError::Invalid { .. })));
    }

    #[test]
    fn escape_keeps_printable_ascii_and_hex_escapes_the_rest() {
        assert_eq!(escape(b"GET\r\n\xff\\"), "GET\\x0d\\x0a\\xff\\x5c");
        assert_eq!(escape(&[b'a'; 70]).len(), 67);
    }
}
