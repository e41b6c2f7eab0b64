//! The machine's limits: the bare operations a receive or a send cannot
//! avoid, on the same sizes and inputs as `receive` and `send`, so their
//! numbers can be read against these. No protocol logic, no state.
//!
//! - `apply_mask/*`: `wsproto::frame::apply_mask` in place over a buffer
//!   (unmasking a received payload; masking a client's).
//! - `copy/*`: `copy_from_slice` into a preallocated buffer: the copy that
//!   `handle_read` (or a socket read) makes of received bytes.
//! - `utf8/*_simdutf8`: `simdutf8::basic::from_utf8`, what a text message's
//!   validation costs at best.
//! - `utf8/*_std`: `std::str::from_utf8` on the same text, which is what
//!   `bytestring::ByteString::try_from` (behind `wsproto::Utf8Bytes`) runs on
//!   non-ASCII text.
//! - `header_encode/16B_server`: `FrameHeader::encode` of an unmasked
//!   16-byte binary frame's header into a stack buffer (a bare header writer).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wsproto::frame::{apply_mask, FrameHeader, OpCode, MAX_HEADER_LEN};
use wsproto_benches::{ascii_text, binary_payload, multibyte_text, MASK_KEY, MIB};

fn baseline(c: &mut Criterion) {
    for (name, len) in [("16B", 16), ("128B", 128), ("1MiB", MIB)] {
        let mut group = c.benchmark_group(format!("baseline/{name}"));
        group.throughput(Throughput::Bytes(len as u64));
        group
            .sample_size(30)
            .measurement_time(Duration::from_secs(2))
            .warm_up_time(Duration::from_millis(500));

        let mut data = binary_payload(len);
        group.bench_function("apply_mask", |b| {
            b.iter(|| apply_mask(black_box(&mut data[..]), MASK_KEY, 0))
        });

        let src = binary_payload(len);
        let mut dst = vec![0u8; len];
        group.bench_function("copy", |b| {
            b.iter(|| dst.copy_from_slice(black_box(&src[..])))
        });

        let text = if len >= MIB {
            multibyte_text(len)
        } else {
            ascii_text(len)
        };
        let kind = if len >= MIB { "multibyte" } else { "ascii" };
        group.bench_function(format!("utf8_{kind}_simdutf8"), |b| {
            b.iter(|| simdutf8::basic::from_utf8(black_box(text.as_bytes())).is_ok())
        });
        group.bench_function(format!("utf8_{kind}_std"), |b| {
            b.iter(|| std::str::from_utf8(black_box(text.as_bytes())).is_ok())
        });
        group.finish();
    }

    let mut group = c.benchmark_group("baseline/header_encode");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    group.bench_function("16B_server", |b| {
        let mut out = [0u8; MAX_HEADER_LEN];
        b.iter(|| {
            let header = FrameHeader::new(true, OpCode::Binary, black_box(16));
            header.encode(black_box(&mut out))
        })
    });
    group.finish();
}

criterion_group!(benches, baseline);
criterion_main!(benches);
