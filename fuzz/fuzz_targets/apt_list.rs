//! APT header lists (plain or xz): the streaming reader against the in-memory splitter, and the scan's entry reader.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_load::fuzzing::apt_list(data);
});
