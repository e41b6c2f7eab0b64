//! The crate has exactly one `unsafe` block, in `src/utf8.rs`, wrapping text
//! validated just before it (`Utf8Bytes::try_from_bytes`); any other use of
//! `unsafe` anywhere in `src/` fails this test. Every text value the crate
//! hands out is valid UTF-8 by std's own judgement.

use std::path::Path;

use proptest::prelude::*;
use wsproto::Utf8Bytes;

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn unsafe_appears_once_in_utf8_rs_and_nowhere_else() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut found = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            // The keyword (`unsafe` not followed by `_`), or a lint that lets it in.
            let keyword = code.match_indices("unsafe").any(|(at, _)| {
                let after = code[at + 6..].chars().next();
                let before = code[..at].chars().next_back();
                !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if keyword || code.contains("allow(unsafe_code)") {
                found.push(format!("{}:{}", path.display(), n + 1));
            }
        }
    }
    // One `#[allow(unsafe_code)]` and one `unsafe { .. }`, both in utf8.rs.
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found.iter().all(|f| f.contains("utf8.rs")), "{found:#?}");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    assert!(lib.contains("#![deny(unsafe_code)]"));
}

proptest! {
    #[test]
    fn text_values_are_valid_utf8_whatever_the_input(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let from_std = std::str::from_utf8(&bytes).is_ok();
        match Utf8Bytes::try_from_bytes(bytes.clone().into()) {
            Ok(text) => {
                prop_assert!(from_std);
                prop_assert!(std::str::from_utf8(text.as_bytes()).is_ok());
                prop_assert_eq!(text.as_bytes(), &bytes[..]);
            }
            Err(_) => prop_assert!(!from_std),
        }
    }

    #[test]
    fn text_values_are_valid_for_utf8_like_input(s in "\\PC*", cut in any::<prop::sample::Index>()) {
        // Valid text, and the same text cut anywhere (often inside a code point).
        let bytes = s.as_bytes();
        let cut = cut.index(bytes.len() + 1);
        for piece in [bytes, &bytes[..cut]] {
            let ok = std::str::from_utf8(piece).is_ok();
            let got = Utf8Bytes::try_from_bytes(wsproto::Bytes::copy_from_slice(piece));
            prop_assert_eq!(got.is_ok(), ok);
        }
    }
}

/// Masked text frames (possibly fragmented) with arbitrary or near-valid payloads.
fn text_frames(payloads: &[(Vec<u8>, bool)]) -> Vec<u8> {
    use wsproto::frame::{apply_mask, FrameHeader, OpCode, MAX_HEADER_LEN};
    let mut wire = Vec::new();
    for (i, (payload, fin)) in payloads.iter().enumerate() {
        let opcode = if i == 0 {
            OpCode::Text
        } else {
            OpCode::Continuation
        };
        let mut header = FrameHeader::new(
            *fin || i + 1 == payloads.len(),
            opcode,
            payload.len() as u64,
        );
        header.mask = Some([9, 8, 7, 6]);
        let mut raw = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut raw);
        wire.extend_from_slice(&raw[..n]);
        let start = wire.len();
        wire.extend_from_slice(payload);
        apply_mask(&mut wire[start..], [9, 8, 7, 6], 0);
        if header.fin {
            break;
        }
    }
    wire
}

proptest! {
    #[test]
    fn every_text_message_a_connection_hands_out_is_valid_utf8(
        texts in proptest::collection::vec(("\\PC{0,40}", any::<bool>(), any::<u8>()), 1..5),
        streaming in any::<bool>(),
        step in 1usize..64,
    ) {
        use wsproto::{Config, Connection, Event, Message, Role};
        // Valid text, some of it with one byte flipped: cut into fragments anywhere.
        let payloads: Vec<(Vec<u8>, bool)> = texts
            .iter()
            .map(|(s, fin, flip)| {
                let mut b = s.as_bytes().to_vec();
                if *flip < 16 && !b.is_empty() {
                    let at = usize::from(*flip) % b.len();
                    b[at] ^= 0x80;
                }
                (b, *fin)
            })
            .collect();
        let wire = text_frames(&payloads);
        let mut conn = Connection::new(Role::Server, Config::default().streaming(streaming));
        let mut joined = Vec::new();
        for piece in wire.chunks(step) {
            conn.handle_read(piece);
            while let Some(event) = conn.poll_event() {
                match event {
                    Event::Message(Message::Text(text)) => {
                        prop_assert!(std::str::from_utf8(text.as_bytes()).is_ok());
                    }
                    Event::Chunk { data, last, .. } => {
                        joined.extend_from_slice(&data);
                        if last {
                            prop_assert!(std::str::from_utf8(&joined).is_ok());
                            joined.clear();
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}
