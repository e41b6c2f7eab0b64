#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| wsproto_fuzz::event_ref::run(data));
