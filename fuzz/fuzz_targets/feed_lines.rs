//! Feed parser `feed_lines` (see `altrepodb_load::fuzzing::feed_lines`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_load::fuzzing::feed_lines(data);
});
