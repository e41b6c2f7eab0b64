//! `frame_header`: [`FrameHeader::parse`] on arbitrary bytes.
//!
//! Asserted:
//! - a complete header re-encodes to at most as many bytes, and the
//!   re-encoding parses to the same header; when the input used the minimal
//!   length encoding (same length), the re-encoding is byte-identical;
//! - every proper prefix of a complete header is `Partial(n)` with
//!   `prefix + n <= header length` ("incomplete is not invalid", and the
//!   count never overshoots);
//! - every prefix of an input that is an error is `Partial` or the same error.

use wsproto::frame::{FrameHeader, Parsed, MAX_HEADER_LEN};

/// The target.
pub fn run(data: &[u8]) {
    let data = &data[..data.len().min(MAX_HEADER_LEN + 2)];
    match FrameHeader::parse(data) {
        Ok(Parsed::Complete(header, len)) => {
            assert!((2..=MAX_HEADER_LEN).contains(&len));
            let mut out = [0u8; MAX_HEADER_LEN];
            let n = header.encode(&mut out);
            assert_eq!(n, header.encoded_len());
            assert!(n <= len, "re-encoding is longer: {n} > {len}");
            assert_eq!(
                FrameHeader::parse(&out[..n]),
                Ok(Parsed::Complete(header, n))
            );
            if n == len {
                assert_eq!(&out[..n], &data[..n], "minimal encoding round-trips");
            }
            for i in 0..len {
                match FrameHeader::parse(&data[..i]) {
                    Ok(Parsed::Partial(more)) => assert!(more >= 1 && i + more <= len),
                    other => panic!("prefix of {i} bytes of a header: {other:?}"),
                }
            }
        }
        Ok(Parsed::Partial(more)) => assert!(more >= 1 && data.len() + more <= MAX_HEADER_LEN),
        Err(error) => {
            for i in 0..data.len() {
                match FrameHeader::parse(&data[..i]) {
                    Ok(Parsed::Partial(_)) => {}
                    Err(e) => assert_eq!(e, error),
                    other => panic!("prefix of {i} bytes of an error: {other:?}"),
                }
            }
        }
    }
}
