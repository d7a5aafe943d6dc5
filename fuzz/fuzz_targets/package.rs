//! Whole `.rpm` files (lead, signature, main header), from a buffer and from a stream.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_rpm::fuzzing::package(data);
});
