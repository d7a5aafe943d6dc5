//! SHA-256 hash lists (plain or xz): the streaming line reader against whole-text reading.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_load::fuzzing::hash_list(data);
});
