//! The wire format of one frame (RFC 6455 §5.2), and nothing else.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```
//!
//! [`FrameHeader::parse`] reads a header from the front of a byte slice and
//! says how many more bytes it needs when the slice is too short, in the
//! manner of `httparse`'s `Status::Partial`. It checks only what one header can
//! show on its own (the 64-bit length's top bit, reserved opcodes, control
//! frame rules); rules that need the connection's state (masking direction,
//! fragmentation, RSV bits an extension gives meaning to) are the
//! [`Connection`](crate::Connection)'s.

/// The largest header: 2 bytes, an 8-byte extended length and a 4-byte mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload of a control frame (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A rule that one frame header breaks on its own (RFC 6455 §5.2, §5.5).
///
/// The [`Connection`](crate::Connection) reports each as the matching
/// [`ProtocolError`](crate::ProtocolError), which says the close code it earns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A reserved opcode (RFC 6455 §5.2).
    #[error("reserved opcode {0:#x} (RFC 6455 §5.2)")]
    ReservedOpcode(u8),
    /// A 64-bit payload length with its most significant bit set (RFC 6455 §5.2).
    #[error("64-bit payload length has its most significant bit set (RFC 6455 §5.2)")]
    LengthTopBitSet,
    /// A control frame with a payload over 125 bytes (RFC 6455 §5.5).
    #[error("control frame payload of {0} bytes exceeds 125 (RFC 6455 §5.5)")]
    ControlFrameTooLong(u64),
    /// A control frame without FIN (RFC 6455 §5.5).
    #[error("fragmented control frame (RFC 6455 §5.5)")]
    FragmentedControlFrame,
}

/// A frame's opcode (RFC 6455 §5.2, §11.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// `0x0`: continues a fragmented message.
    Continuation,
    /// `0x1`: the first frame of a text message.
    Text,
    /// `0x2`: the first frame of a binary message.
    Binary,
    /// `0x8`: the closing handshake.
    Close,
    /// `0x9`: a ping.
    Ping,
    /// `0xA`: a pong.
    Pong,
}

impl OpCode {
    /// Decodes the low four bits; reserved opcodes (`0x3`–`0x7`, `0xB`–`0xF`) are `None`.
    pub fn from_u8(bits: u8) -> Option<Self> {
        Some(match bits {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    /// The four bits on the wire.
    pub fn as_u8(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Close, ping and pong are control frames (RFC 6455 §5.5): the opcode's high bit is set.
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

/// A parsed or to-be-encoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FrameHeader {
    /// The FIN bit: this is the last frame of its message.
    pub fin: bool,
    /// RSV1 (permessage-deflate marks compressed messages with it, RFC 7692 §6).
    pub rsv1: bool,
    /// RSV2, reserved.
    pub rsv2: bool,
    /// RSV3, reserved.
    pub rsv3: bool,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present on every client-to-server frame (RFC 6455 §5.3).
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes.
    pub payload_len: u64,
}

/// The outcome of [`FrameHeader::parse`] on a slice that is not (yet) invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed<T> {
    /// A whole value and the number of bytes it took.
    Complete(T, usize),
    /// The slice ends too early; at least this many more bytes are needed.
    Partial(usize),
}

impl FrameHeader {
    /// A header for a frame with no mask and no RSV bits.
    pub fn new(fin: bool, opcode: OpCode, payload_len: u64) -> Self {
        Self {
            fin,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask: None,
            payload_len,
        }
    }

    /// Parses a header from the front of `buf`.
    ///
    /// Errors are the rules that one header shows on its own: a reserved
    /// opcode, a 64-bit length with its most significant bit set (RFC 6455
    /// §5.2), a fragmented control frame or one with a payload over 125 bytes
    /// (§5.5). Nothing is allocated and nothing is copied.
    #[inline]
    pub fn parse(buf: &[u8]) -> Result<Parsed<Self>, FrameError> {
        let [b0, b1, ..] = *buf else {
            return Ok(Parsed::Partial(2 - buf.len()));
        };
        let opcode = OpCode::from_u8(b0 & 0x0F).ok_or(FrameError::ReservedOpcode(b0 & 0x0F))?;
        let fin = b0 & 0x80 != 0;
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        let ext = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header_len = 2 + ext + if masked { 4 } else { 0 };
        // The length is checked as soon as it is there, before the mask key.
        if buf.len() < 2 + ext {
            return Ok(Parsed::Partial(header_len - buf.len()));
        }
        let payload_len = match ext {
            0 => u64::from(len7),
            2 => u64::from(u16::from_be_bytes([buf[2], buf[3]])),
            _ => {
                let mut be = [0u8; 8];
                be.copy_from_slice(&buf[2..10]);
                let len = u64::from_be_bytes(be);
                // RFC 6455 §5.2: "the most significant bit MUST be 0".
                if len >> 63 != 0 {
                    return Err(FrameError::LengthTopBitSet);
                }
                len
            }
        };
        if opcode.is_control() {
            // RFC 6455 §5.5: "All control frames MUST have a payload length of
            // 125 bytes or less and MUST NOT be fragmented."
            if payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(FrameError::ControlFrameTooLong(payload_len));
            }
            if !fin {
                return Err(FrameError::FragmentedControlFrame);
            }
        }
        if buf.len() < header_len {
            return Ok(Parsed::Partial(header_len - buf.len()));
        }
        let mask = masked.then(|| {
            let at = 2 + ext;
            [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]
        });
        let header = Self {
            fin,
            rsv1: b0 & 0x40 != 0,
            rsv2: b0 & 0x20 != 0,
            rsv3: b0 & 0x10 != 0,
            opcode,
            mask,
            payload_len,
        };
        Ok(Parsed::Complete(header, header_len))
    }

    /// How many bytes [`encode`](Self::encode) writes for this header.
    pub fn encoded_len(&self) -> usize {
        let ext = match self.payload_len {
            0..=125 => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        2 + ext + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Writes the header into `out` with the shortest length encoding
    /// (RFC 6455 §5.2: "the minimal number of bytes MUST be used") and
    /// returns the number of bytes written.
    ///
    /// # Panics
    ///
    /// If `out` is shorter than [`encoded_len`](Self::encoded_len), or the
    /// payload length has its top bit set; both are caller bugs.
    pub fn encode(&self, out: &mut [u8]) -> usize {
        assert!(self.payload_len >> 63 == 0, "payload length over 2^63 - 1");
        let mut b0 = self.opcode.as_u8();
        if self.fin {
            b0 |= 0x80;
        }
        if self.rsv1 {
            b0 |= 0x40;
        }
        if self.rsv2 {
            b0 |= 0x20;
        }
        if self.rsv3 {
            b0 |= 0x10;
        }
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        out[0] = b0;
        let mut at = 2;
        match self.payload_len {
            len @ 0..=125 => out[1] = mask_bit | len as u8,
            len @ 126..=0xFFFF => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                at = 4;
            }
            len => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&len.to_be_bytes());
                at = 10;
            }
        }
        if let Some(key) = self.mask {
            out[at..at + 4].copy_from_slice(&key);
            at += 4;
        }
        at
    }
}

/// Appends `data` to `out` masked with `key` (RFC 6455 §5.3). A large
/// payload is masked piece by piece into a small stack buffer, still in
/// cache, and appended from there: one pass over memory, not a copy and
/// then a second pass to mask; a small one is copied and masked in place,
/// where it is in cache anyway.
pub fn extend_masked(out: &mut bytes::BytesMut, data: &[u8], key: [u8; 4]) {
    const PIECE: usize = 4096;
    out.reserve(data.len());
    if data.len() <= PIECE {
        let start = out.len();
        out.extend_from_slice(data);
        apply_mask(&mut out[start..], key, 0);
        return;
    }
    let mut scratch = [0u8; PIECE];
    for (i, piece) in data.chunks(PIECE).enumerate() {
        let buf = &mut scratch[..piece.len()];
        buf.copy_from_slice(piece);
        // PIECE is a multiple of 4: every piece starts at key offset 0.
        debug_assert_eq!((i * PIECE) % 4, 0);
        apply_mask(buf, key, 0);
        out.extend_from_slice(buf);
    }
}

/// From this length on, [`apply_mask`] takes the vectorised loop.
const LONG_MASK: usize = 256;

/// XORs `data` with the masking key (RFC 6455 §5.3), starting at byte
/// `offset` of the key cycle, so that a payload can be unmasked piece by
/// piece as it arrives. Masking and unmasking are the same operation.
///
/// The loop works on 8- or 16-byte words with a rotated key (vector
/// instructions for long payloads); there is no `unsafe`.
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    // The key as a word in memory order, rotated so that its first byte is
    // the one for `data[0]`: a byte rotation of the word, whose direction
    // follows the endianness.
    let word = u32::from_ne_bytes(key);
    let shift = 8 * (offset % 4) as u32;
    let word = if cfg!(target_endian = "little") {
        word.rotate_right(shift)
    } else {
        word.rotate_left(shift)
    };
    // Both halves equal: the same in memory order whatever the endianness.
    let wide = u64::from(word) << 32 | u64::from(word);
    if data.len() <= 16 {
        // The commonest small payloads: at most two words, then bytes.
        let [k0, k1, k2, k3] = word.to_ne_bytes();
        let key = [k0, k1, k2, k3, k0, k1, k2, k3];
        let (words, rest) = data.as_chunks_mut::<8>();
        for chunk in words {
            *chunk = (u64::from_ne_bytes(*chunk) ^ wide).to_ne_bytes();
        }
        for (byte, k) in rest.iter_mut().zip(key) {
            *byte ^= k;
        }
        return;
    }
    let rest = if data.len() >= LONG_MASK {
        // Words, which the compiler turns into 16-byte vector XORs four
        // words a step, for the throughput of long payloads.
        let (words, rest) = data.as_chunks_mut::<8>();
        for chunk in words {
            *chunk = (u64::from_ne_bytes(*chunk) ^ wide).to_ne_bytes();
        }
        rest
    } else {
        // Short payloads: 16 bytes a step as two XORs into memory, with no
        // vector set-up to pay for.
        let wider = u128::from(wide) << 64 | u128::from(wide);
        let (blocks, rest) = data.as_chunks_mut::<16>();
        for block in blocks {
            *block = (u128::from_ne_bytes(*block) ^ wider).to_ne_bytes();
        }
        let (words, rest) = rest.as_chunks_mut::<8>();
        if let Some(chunk) = words.first_mut() {
            *chunk = (u64::from_ne_bytes(*chunk) ^ wide).to_ne_bytes();
        }
        rest
    };
    let (four, tail) = rest.split_at_mut(if rest.len() >= 4 { 4 } else { 0 });
    if let Ok(four) = <&mut [u8; 4]>::try_from(four) {
        *four = (u32::from_ne_bytes(*four) ^ word).to_ne_bytes();
    }
    for (byte, k) in tail.iter_mut().zip(word.to_ne_bytes()) {
        *byte ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(buf: &[u8]) -> (FrameHeader, usize) {
        match FrameHeader::parse(buf).unwrap() {
            Parsed::Complete(h, n) => (h, n),
            Parsed::Partial(n) => panic!("partial, {n} more"),
        }
    }

    // RFC 6455 §5.7: the example frames.
    #[test]
    fn rfc6455_5_7_unmasked_text_hello() {
        let wire = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let (h, n) = parse_ok(&wire);
        assert_eq!(n, 2);
        assert!(h.fin);
        assert_eq!(h.opcode, OpCode::Text);
        assert_eq!(h.mask, None);
        assert_eq!(h.payload_len, 5);
        assert_eq!(&wire[n..], b"Hello");
        let mut out = [0u8; MAX_HEADER_LEN];
        assert_eq!(h.encode(&mut out), 2);
        assert_eq!(out[..2], wire[..2]);
    }

    #[test]
    fn rfc6455_5_7_masked_text_hello() {
        let wire = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (h, n) = parse_ok(&wire);
        assert_eq!(n, 6);
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        let mut payload = wire[n..].to_vec();
        apply_mask(&mut payload, h.mask.unwrap(), 0);
        assert_eq!(payload, b"Hello");
        let mut out = [0u8; MAX_HEADER_LEN];
        assert_eq!(h.encode(&mut out), 6);
        assert_eq!(out[..6], wire[..6]);
    }

    #[test]
    fn rfc6455_5_7_fragmented_unmasked_text() {
        let first = [0x01, 0x03, 0x48, 0x65, 0x6c];
        let second = [0x80, 0x02, 0x6c, 0x6f];
        let (h1, _) = parse_ok(&first);
        let (h2, _) = parse_ok(&second);
        assert!(!h1.fin && h1.opcode == OpCode::Text);
        assert!(h2.fin && h2.opcode == OpCode::Continuation);
    }

    #[test]
    fn rfc6455_5_7_ping_and_pong() {
        let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let (h, _) = parse_ok(&ping);
        assert_eq!((h.opcode, h.payload_len, h.mask), (OpCode::Ping, 5, None));
        let pong = [
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (h, n) = parse_ok(&pong);
        assert_eq!(h.opcode, OpCode::Pong);
        let mut payload = pong[n..].to_vec();
        apply_mask(&mut payload, h.mask.unwrap(), 0);
        assert_eq!(payload, b"Hello");
    }

    #[test]
    fn rfc6455_5_7_binary_256_and_64k() {
        let (h, n) = parse_ok(&[0x82, 0x7E, 0x01, 0x00]);
        assert_eq!((h.payload_len, n), (256, 4));
        let (h, n) = parse_ok(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
        assert_eq!((h.payload_len, n), (65536, 10));
        let mut out = [0u8; MAX_HEADER_LEN];
        assert_eq!(
            FrameHeader::new(true, OpCode::Binary, 256).encode(&mut out),
            4
        );
        assert_eq!(out[..4], [0x82, 0x7E, 0x01, 0x00]);
        assert_eq!(
            FrameHeader::new(true, OpCode::Binary, 65536).encode(&mut out),
            10
        );
        assert_eq!(out[..10], [0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
    }

    #[test]
    fn partial_header_reports_missing_bytes() {
        assert_eq!(FrameHeader::parse(&[]).unwrap(), Parsed::Partial(2));
        assert_eq!(FrameHeader::parse(&[0x82]).unwrap(), Parsed::Partial(1));
        assert_eq!(
            FrameHeader::parse(&[0x82, 0xFE]).unwrap(),
            Parsed::Partial(6)
        );
        assert_eq!(
            FrameHeader::parse(&[0x82, 0x7F, 0]).unwrap(),
            Parsed::Partial(7)
        );
    }

    #[test]
    fn sixty_four_bit_length_with_top_bit_set_is_rejected() {
        let wire = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(FrameHeader::parse(&wire), Err(FrameError::LengthTopBitSet));
    }

    #[test]
    fn reserved_opcodes_are_rejected() {
        for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assert_eq!(
                FrameHeader::parse(&[0x80 | op, 0]),
                Err(FrameError::ReservedOpcode(op))
            );
        }
    }

    #[test]
    fn control_frame_over_125_bytes_is_rejected() {
        assert_eq!(
            FrameHeader::parse(&[0x89, 126, 0, 126]),
            Err(FrameError::ControlFrameTooLong(126))
        );
    }

    #[test]
    fn fragmented_control_frame_is_rejected() {
        assert_eq!(
            FrameHeader::parse(&[0x09, 0]),
            Err(FrameError::FragmentedControlFrame)
        );
    }

    #[test]
    fn rsv_bits_are_parsed_and_encoded() {
        let (h, _) = parse_ok(&[0xF2, 0]);
        assert!(h.rsv1 && h.rsv2 && h.rsv3);
        let mut out = [0u8; 2];
        h.encode(&mut out);
        assert_eq!(out, [0xF2, 0]);
    }

    #[test]
    fn mask_with_offset_matches_bytewise_mask() {
        let key = [0x01, 0x23, 0x45, 0x67];
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for offset in 0..8 {
            for len in [
                0, 1, 3, 7, 8, 9, 15, 16, 17, 23, 24, 31, 32, 33, 63, 64, 65, 255, 256, 257, 999,
            ] {
                let mut fast = data[..len].to_vec();
                apply_mask(&mut fast, key, offset);
                let slow: Vec<u8> = data[..len]
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b ^ key[(i + offset) % 4])
                    .collect();
                assert_eq!(fast, slow, "offset {offset} len {len}");
            }
        }
    }

    #[test]
    fn extend_masked_is_copy_then_mask_at_every_size() {
        for len in [0, 1, 3, 4095, 4096, 4097, 10_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let key = [0x12, 0x34, 0x56, 0x78];
            let mut out = bytes::BytesMut::from(&b"head"[..]);
            extend_masked(&mut out, &data, key);
            let mut want = data.clone();
            apply_mask(&mut want, key, 0);
            assert_eq!(&out[..4], b"head");
            assert_eq!(&out[4..], &want[..], "len {len}");
        }
    }
}
