//! Feed parser `feed_json` (see `altrepodb_load::fuzzing::feed_json`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_load::fuzzing::feed_json(data);
});
