//! Feed parser `bugzilla_csv` (see `altrepodb_load::fuzzing::bugzilla_csv`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_load::fuzzing::bugzilla_csv(data);
});
