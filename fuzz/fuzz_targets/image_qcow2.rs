//! The bytes as one image format (see `altrepodb_image::fuzzing::qcow2`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_image::fuzzing::qcow2(data);
});
