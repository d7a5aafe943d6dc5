//! Bare header blobs, magic-prefixed records, signature headers and APT lists.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_rpm::fuzzing::header(data);
});
