//! The bytes as one image format (see `altrepodb_image::fuzzing::partitions`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_image::fuzzing::partitions(data);
});
