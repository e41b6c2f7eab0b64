//! Writes seed corpora into `fuzz/corpus/<target>/`: the frames of RFC 6455
//! §5.7, the handshake of RFC 6455 §1.2, the payloads of RFC 7692 §7.2.3.
//! `cargo run --example seed` from `fuzz/`. The committed corpora hold
//! these seeds and a minimized set of inputs that fuzzing found.

use std::fs;
use std::path::Path;

use wsproto::deflate::Compressor;
use wsproto::entropy::SeededEntropy;
use wsproto::extensions::DeflateConfig;
use wsproto::extensions::NegotiatedDeflate;
use wsproto::frame::{apply_mask, FrameHeader, OpCode};
use wsproto::handshake::{Accept, ClientHandshake, ClientRequest, ServerHandshake};
use wsproto::Config;
use wsproto_fuzz::{
    connection, connection_deflate, differential, event_ref, extensions, h2, handshake, inflate,
    knobs_len, prepared, tokio_framing,
};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// One frame, masked with [`KEY`] when `masked`.
fn frame(fin: bool, opcode: OpCode, payload: &[u8], masked: bool) -> Vec<u8> {
    frame_rsv1(fin, false, opcode, payload, masked)
}

/// One frame with RSV1 (a compressed message's first frame) as given.
fn frame_rsv1(fin: bool, rsv1: bool, opcode: OpCode, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut header = FrameHeader::new(fin, opcode, payload.len() as u64);
    header.rsv1 = rsv1;
    header.mask = masked.then_some(KEY);
    let mut out = vec![0; header.encoded_len()];
    header.encode(&mut out);
    let mut payload = payload.to_vec();
    if masked {
        apply_mask(&mut payload, KEY, 0);
    }
    out.extend_from_slice(&payload);
    out
}

/// A conversation from a peer: text, fragments, ping, binary, close.
fn frames(masked: bool) -> Vec<Vec<u8>> {
    let f = |fin, op, p: &[u8]| frame(fin, op, p, masked);
    let mut fragmented = f(false, OpCode::Text, b"Hel");
    fragmented.extend(f(true, OpCode::Ping, b"ping"));
    fragmented.extend(f(true, OpCode::Continuation, "lo \u{e9}".as_bytes()));
    let mut all = f(true, OpCode::Text, b"Hello");
    all.extend(f(true, OpCode::Binary, &[0xab; 256]));
    all.extend(&fragmented);
    all.extend(f(true, OpCode::Pong, b"pong"));
    all.extend(f(true, OpCode::Close, &[0x03, 0xe8, b'b', b'y', b'e']));
    vec![
        f(true, OpCode::Text, b"Hello"),
        fragmented,
        f(true, OpCode::Binary, &[0xab; 256]),
        f(true, OpCode::Binary, &[0xcd; 4097]),
        f(true, OpCode::Close, &[0x03, 0xe8]),
        all,
    ]
}

/// Compressed conversations from a peer: the examples of RFC 7692 §7.2.3
/// (server-style unmasked, or masked as a client sends them), then a ping, a
/// large compressed binary message, a bomb past the 16 KiB limit, a close.
fn deflate_frames(masked: bool) -> Vec<(&'static str, Vec<u8>)> {
    let f = |fin, rsv1, op, p: &[u8]| frame_rsv1(fin, rsv1, op, p, masked);
    let hello = b"\xf2\x48\xcd\xc9\xc9\x07\x00";
    let params = NegotiatedDeflate::new(15, true, 15, true);
    let compress = |message: &[u8]| {
        let mut out = Vec::new();
        Compressor::new(&params, 6).compress(message, &mut out);
        out
    };
    let close = f(true, false, OpCode::Close, &[0x03, 0xe8, b'b', b'y', b'e']);
    let mut all = Vec::new();
    // §7.2.3.1, one frame.
    let single = f(true, true, OpCode::Text, hello);
    // §7.2.3.1, fragmented, with a ping between the fragments.
    let mut fragmented = f(false, true, OpCode::Text, &hello[..3]);
    fragmented.extend(f(true, false, OpCode::Ping, b"ping"));
    fragmented.extend(f(true, false, OpCode::Continuation, &hello[3..]));
    // §7.2.3.2, the second "Hello" refers back to the first.
    let mut takeover = single.clone();
    takeover.extend(f(true, true, OpCode::Text, b"\xf2\x00\x11\x00\x00"));
    // §7.2.3.3, a stored block.
    let stored = f(
        true,
        true,
        OpCode::Text,
        b"\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00",
    );
    // §7.2.3.4, BFINAL set.
    let bfinal = f(
        true,
        true,
        OpCode::Text,
        b"\xf3\x48\xcd\xc9\xc9\x07\x00\x00",
    );
    // §7.2.3.5, two blocks.
    let two_blocks = f(
        true,
        true,
        OpCode::Text,
        b"\xf2\x48\x05\x00\x00\x00\xff\xff\xca\xc9\xc9\x07\x00",
    );
    // §7.2.3.6, an empty message.
    let empty = f(true, true, OpCode::Binary, b"\x00");
    // A large binary message in three frames; an uncompressed one after it.
    let large = compress(
        &(0..6000u32)
            .map(|i| (i * i % 251) as u8)
            .collect::<Vec<_>>(),
    );
    let third = large.len() / 3;
    let mut binary = f(false, true, OpCode::Binary, &large[..third]);
    binary.extend(f(
        false,
        false,
        OpCode::Continuation,
        &large[third..2 * third],
    ));
    binary.extend(f(true, false, OpCode::Continuation, &large[2 * third..]));
    binary.extend(f(true, false, OpCode::Binary, &[0xab; 300]));
    // Past the message limit once inflated.
    let bomb = f(true, true, OpCode::Binary, &compress(&[0; 20000]));
    for wire in [
        &single,
        &fragmented,
        &takeover,
        &stored,
        &bfinal,
        &two_blocks,
        &empty,
        &binary,
    ] {
        all.extend_from_slice(wire);
    }
    all.extend_from_slice(&close);
    vec![
        ("single", single),
        ("fragmented", fragmented),
        ("takeover", takeover),
        ("stored", stored),
        ("bfinal", bfinal),
        ("two_blocks", two_blocks),
        ("empty", empty),
        ("binary", binary),
        ("bomb", bomb),
        ("all", all),
    ]
}

fn write(target: &str, name: &str, input: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), input).unwrap();
}

fn main() {
    let conn_prefix = vec![0u8; knobs_len::<connection::Knobs>()];
    assert_eq!(conn_prefix.len(), 10, "the offsets below");
    let with = |prefix: &[u8], wire: &[u8]| [prefix, wire].concat();

    // frame_header: the headers of RFC 6455 §5.7, and some errors.
    for (i, wire) in frames(true).iter().chain(&frames(false)).enumerate() {
        write(
            "frame_header",
            &format!("rfc{i}"),
            &wire[..wire.len().min(14)],
        );
    }
    write(
        "frame_header",
        "len64",
        &[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0],
    );
    write(
        "frame_header",
        "top_bit",
        &[0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0],
    );
    write("frame_header", "long_ping", &[0x89, 0x7e, 0, 126]);

    // connection_*: one read, then the same cut in reads of 1, 3, 7 and 64
    // bytes, half through recv_buffer, and with streaming.
    let mut cut = conn_prefix.clone();
    cut[5..10].copy_from_slice(&[1, 3, 7, 64, 0b1010_1010]);
    let mut streaming = cut.clone();
    streaming[0] = 1;
    for (target, masked) in [("connection_server", true), ("connection_client", false)] {
        for (i, wire) in frames(masked).iter().enumerate() {
            write(target, &format!("one{i}"), &with(&conn_prefix, wire));
            write(target, &format!("cut{i}"), &with(&cut, wire));
            write(target, &format!("stream{i}"), &with(&streaming, wire));
        }
    }

    // connection_deflate: the server (masked frames) and the client
    // (unmasked), each in one read, in reads of 1, 3, 7 and 64 bytes half
    // through recv_buffer, and streaming with no context takeover, 9-bit
    // windows, level 1 and a threshold of 8 bytes.
    let deflate_prefix = vec![0u8; knobs_len::<connection_deflate::Knobs>()];
    assert_eq!(deflate_prefix.len(), 13, "the offsets below");
    for (role, client) in [("server", 0u8), ("client", 1)] {
        let mut one = deflate_prefix.clone();
        one[0] = client;
        let mut cut = one.clone();
        cut[8..13].copy_from_slice(&[1, 3, 7, 64, 0b1010_1010]);
        let mut other = cut.clone();
        other[1..8].copy_from_slice(&[6, 1, 6, 1, 1, 2, 8]);
        for (name, wire) in deflate_frames(client == 0) {
            for (variant, prefix) in [("one", &one), ("cut", &cut), ("other", &other)] {
                write(
                    "connection_deflate",
                    &format!("{role}_{variant}_{name}"),
                    &with(prefix, &wire),
                );
            }
        }
    }

    // handshake_server: the request of RFC 6455 §1.2, then frames.
    let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";
    write("handshake_server", "rfc", &with(&conn_prefix, request));
    for (i, wire) in frames(true).iter().enumerate() {
        write(
            "handshake_server",
            &format!("frames{i}"),
            &with(&cut, &[&request[..], wire].concat()),
        );
    }
    write(
        "handshake_server",
        "bad",
        &with(&conn_prefix, b"GET / HTTP/1.0\r\nHost: \x01\r\n\r\n"),
    );

    // handshake_client: our server's 101 to the target's request, then frames.
    // permessage-deflate is offered and answered as the default
    // configuration says.
    let ours = ClientRequest::from_url("ws://localhost/chat")
        .and_then(|r| r.subprotocol("chat"))
        .unwrap();
    let entropy = Box::new(SeededEntropy::new(handshake::CLIENT_SEED));
    let mut client = ClientHandshake::with_entropy(ours, Config::default(), entropy);
    let mut server = ServerHandshake::new(Config::default());
    server.handle_read(&client.poll_transmit().unwrap());
    server.poll_request().unwrap().unwrap();
    let accept = Accept::new().subprotocol("chat").unwrap();
    let (response, _) = server.accept(accept).unwrap();
    write("handshake_client", "101", &with(&conn_prefix, &response));
    for (i, wire) in frames(false).iter().enumerate() {
        write(
            "handshake_client",
            &format!("frames{i}"),
            &with(&cut, &[&response[..], wire].concat()),
        );
    }
    write(
        "handshake_client",
        "404",
        &with(
            &conn_prefix,
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\n",
        ),
    );

    // extensions: offers and answers of RFC 7692 §5, §7.1.
    let deflate = DeflateConfig::default().enabled(true);
    let (_, answer) = deflate
        .negotiate(&[&deflate.offer_header()])
        .unwrap()
        .unwrap();
    let ext_prefix = vec![0u8; knobs_len::<extensions::Knobs>()];
    for (i, text) in [
        deflate.offer_header(),
        answer.clone(),
        "permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate".into(),
        "permessage-deflate; server_no_context_takeover; client_max_window_bits=\"12\"\nx-foo; a=\"b\\c\"".into(),
        "permessage-deflate; client_no_context_takeover; server_max_window_bits=8".into(),
    ]
    .iter()
    .enumerate()
    {
        write("extensions", &format!("ext{i}"), &with(&ext_prefix, text.as_bytes()));
    }

    // inflate: the payloads of RFC 7692 §7.2.3; two messages where the cut
    // knobs say so (piece 0 of 7 bytes ends a message).
    let inflate_prefix = vec![0u8; knobs_len::<inflate::Knobs>()];
    assert_eq!(inflate_prefix.len(), 16, "the offsets below");
    let mut two = inflate_prefix.clone();
    two[4] = 1; // `last`: piece 0 ends a message
    two[5] = 7; // `cuts.lens[0]`
    for (name, prefix, payload) in [
        (
            "hello",
            &inflate_prefix,
            &b"\xf2\x48\xcd\xc9\xc9\x07\x00"[..],
        ),
        (
            "takeover",
            &two,
            b"\xf2\x48\xcd\xc9\xc9\x07\x00\xf2\x00\x11\x00\x00",
        ),
        (
            "stored",
            &inflate_prefix,
            b"\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00",
        ),
        (
            "bfinal",
            &two,
            b"\xf3\x48\xcd\xc9\xc9\x07\x00\xf2\x00\x11\x00\x00",
        ),
        (
            "two_blocks",
            &inflate_prefix,
            b"\xf2\x48\x05\x00\x00\x00\xff\xff\xca\xc9\xc9\x07\x00",
        ),
    ] {
        write("inflate", name, &with(prefix, payload));
    }
    write(
        "deflate_roundtrip",
        "hello",
        &with(&inflate_prefix, b"Hello"),
    );
    write(
        "deflate_roundtrip",
        "two",
        &with(&two, b"Hello, Hello, world"),
    );
    write(
        "deflate_roundtrip",
        "text",
        &with(&inflate_prefix, include_bytes!("../../LICENSE")),
    );
    // event_ref: the connection seeds (both roles, one read, cut, streaming)
    // and the compressed conversations with permessage-deflate on (15-bit
    // windows, our compressor without context takeover).
    let ref_prefix = vec![0u8; knobs_len::<event_ref::Knobs>()];
    assert_eq!(ref_prefix.len(), 11, "the offsets below");
    for (role, client) in [("server", 0u8), ("client", 1)] {
        let mut one = ref_prefix.clone();
        one[0] = client;
        let mut cut = one.clone();
        cut[6..11].copy_from_slice(&[1, 3, 7, 64, 0b1010_1010]);
        cut[5] = 0b0110_0110; // some calls owned
        let mut streaming = cut.clone();
        streaming[1] = 1;
        for (i, wire) in frames(client == 0).iter().enumerate() {
            for (variant, prefix) in [("one", &one), ("cut", &cut), ("stream", &streaming)] {
                write(
                    "event_ref",
                    &format!("{role}_{variant}{i}"),
                    &with(prefix, wire),
                );
            }
        }
        for (name, wire) in deflate_frames(client == 0) {
            for (variant, prefix) in [("one", &one), ("stream", &streaming)] {
                let mut prefix = prefix.clone();
                prefix[4] = 1;
                write(
                    "event_ref",
                    &format!("{role}_deflate_{variant}_{name}"),
                    &with(&prefix, &wire),
                );
            }
        }
    }

    // differential: the same conversations, and the cases the two parsers
    // must agree on: invalid UTF-8 (whole and across fragments), a code
    // point split across fragments, close codes valid and not, 1014, a
    // one-byte close payload, a reserved opcode, RSV bits.
    let diff_prefix = vec![0u8; knobs_len::<differential::Knobs>()];
    assert_eq!(diff_prefix.len(), 8, "the offsets below");
    for (role, client) in [("server", 0u8), ("client", 1)] {
        let masked = client == 0;
        let mut one = diff_prefix.clone();
        one[0] = client;
        let mut cut = one.clone();
        cut[3..8].copy_from_slice(&[1, 3, 7, 64, 0b1010_1010]);
        let mut streaming = cut.clone();
        streaming[2] = 1;
        let mut cases = frames(masked);
        let f = |fin, op, p: &[u8]| frame(fin, op, p, masked);
        cases.push(f(true, OpCode::Text, b"ab\xff"));
        cases.push(
            [
                f(false, OpCode::Text, b"\xe2\x82"),
                f(true, OpCode::Continuation, b"\xac!"),
            ]
            .concat(),
        );
        cases.push(
            [
                f(false, OpCode::Text, b"\xf4\x90"),
                f(true, OpCode::Ping, b"p"),
            ]
            .concat(),
        );
        for code in [
            1000u16, 1004, 1005, 1012, 1014, 1016, 2999, 3000, 4999, 5000,
        ] {
            let [hi, lo] = code.to_be_bytes();
            cases.push(f(true, OpCode::Close, &[hi, lo, b'o', b'k']));
        }
        cases.push(f(true, OpCode::Close, &[0x03]));
        cases.push(f(true, OpCode::Close, &[0x03, 0xe8, 0xff]));
        let mut reserved = f(true, OpCode::Binary, b"x");
        reserved[0] = 0x83;
        cases.push(reserved);
        let mut rsv = f(true, OpCode::Binary, b"x");
        rsv[0] |= 0x40;
        cases.push(rsv);
        for (i, wire) in cases.iter().enumerate() {
            for (variant, prefix) in [("one", &one), ("cut", &cut), ("stream", &streaming)] {
                write(
                    "differential",
                    &format!("{role}_{variant}{i}"),
                    &with(prefix, wire),
                );
            }
        }
    }

    // prepared_deflate: a short and a long message, as binary and text,
    // with four connections: 15 bits without context takeover and a
    // message of its own before and after; 9 bits (smaller than the
    // message's 15: plain); context takeover (plain); no deflate.
    let prepared_prefix = vec![0u8; knobs_len::<prepared::Knobs>()];
    assert_eq!(prepared_prefix.len(), 24, "the offsets below");
    let mut peers = prepared_prefix.clone();
    peers[4..24].copy_from_slice(&[
        1, 1, 0, 3, 0, // 15 bits, no context takeover, before and after
        7, 1, 1, 1, 16, // 9 bits
        1, 0, 0, 2, 0, // context takeover
        0, 0, 0, 0, 0, // no deflate
    ]);
    let mut small = peers.clone();
    small[2] = 6; // 9 bits: fits every connection without context takeover
    small[3] = 2; // level 1
    for (name, prefix, payload) in [
        ("hello", &peers, &b"Hello"[..]),
        ("license", &peers, include_bytes!("../../LICENSE")),
        ("small_window", &small, include_bytes!("../../LICENSE")),
        ("empty", &peers, b""),
    ] {
        write("prepared_deflate", name, &with(prefix, payload));
        let mut text = prefix.clone();
        text[0] = 1;
        write(
            "prepared_deflate",
            &format!("{name}_text"),
            &with(&text, payload),
        );
        let mut plain = prefix.clone();
        plain[1] = 1;
        write(
            "prepared_deflate",
            &format!("{name}_plain"),
            &with(&plain, payload),
        );
    }

    // h2_connect: the generated request alone, with a key, an origin and
    // other fields, and each rule broken once; RFC 8441 §5.1's request as
    // raw lines.
    let h2_prefix = vec![0u8; knobs_len::<h2::Knobs>()];
    assert_eq!(h2_prefix.len(), 10, "the offsets below");
    let mut chosen = h2_prefix.clone();
    chosen[8] = 2; // the second subprotocol
    chosen[4] = 6; // the client asks for no context takeover both ways
    let mut raw = h2_prefix.clone();
    raw[0] = 1;
    let rfc = ":method CONNECT\n:protocol websocket\n:scheme https\n:path /chat\n\
        :authority server.example.com\nsec-websocket-protocol chat, superchat\n\
        sec-websocket-extensions permessage-deflate\nsec-websocket-version 13\n\
        origin http://www.example.com";
    for (name, prefix, lines) in [
        ("generated", &h2_prefix, ""),
        ("chosen", &chosen, "sec-websocket-key dGhlIHNhbXBsZSBub25jZQ==\norigin http://x\nx-extra 1"),
        ("uppercase", &h2_prefix, "Sec-WebSocket-Version 13"),
        ("connection", &h2_prefix, "connection upgrade"),
        ("twice", &h2_prefix, ":path /other"),
        ("version", &raw, &rfc.replace("version 13", "version 8")),
        ("method", &raw, &rfc.replace("CONNECT", "GET")),
        ("protocol", &raw, &rfc.replace(":protocol websocket", ":protocol connect-udp")),
        ("rfc8441", &raw, rfc),
        ("no_path", &raw, &rfc.replace(":path /chat\n", "")),
        ("extensions", &raw, &format!("{rfc}\nsec-websocket-extensions permessage-deflate; client_max_window_bits=10, x-foo")),
    ] {
        write("h2_connect", name, &with(prefix, lines.as_bytes()));
    }

    // tokio_framing: the conversations in both roles, in one read, then in
    // reads of 1, 3, 7 and 64 bytes with Pending before every other one
    // and writes taken 1 and 5 bytes at a time, Pending before the others.
    let tokio_prefix = vec![0u8; knobs_len::<tokio_framing::Knobs>()];
    assert_eq!(tokio_prefix.len(), 10, "the offsets below");
    for (role, client) in [("server", 0u8), ("client", 1)] {
        let mut one = tokio_prefix.clone();
        one[0] = client;
        let mut cut = one.clone();
        cut[2..10].copy_from_slice(&[1, 3, 7, 64, 0b1010_1010, 1, 5, 0b0101_0101]);
        for (i, wire) in frames(client == 0).iter().enumerate() {
            for (variant, prefix) in [("one", &one), ("cut", &cut)] {
                write(
                    "tokio_framing",
                    &format!("{role}_{variant}{i}"),
                    &with(prefix, wire),
                );
            }
        }
    }

    println!(
        "seeded fuzz/corpus/ (knobs: connection {} bytes)",
        knobs_len::<connection::Knobs>()
    );
}
