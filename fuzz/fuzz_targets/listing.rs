//! Feed parser `listing` (see `altrepodb_load::fuzzing::listing`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_load::fuzzing::listing(data);
});
