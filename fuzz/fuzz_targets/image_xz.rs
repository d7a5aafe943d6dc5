//! The bytes as one image format (see `altrepodb_image::fuzzing::xz`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_image::fuzzing::xz(data);
});
