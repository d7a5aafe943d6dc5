//! The bytes as an rpm database of one format (see `altrepodb_rpmdb::fuzzing`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_rpmdb::fuzzing::bdb(data);
});
