//! Whole `.rpm` files through the package reader (payload streamed to the spec file), and bare payloads through the streaming and in-memory spec searches.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_load::fuzzing::payload(data);
});
