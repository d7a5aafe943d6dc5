//! The bytes as one image format (see `altrepodb_image::fuzzing::oci`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_image::fuzzing::oci(data);
});
