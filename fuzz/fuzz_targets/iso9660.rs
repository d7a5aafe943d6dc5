//! The bytes as a iso9660 image (see `altrepodb_image::fuzz_fs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_image::fuzz_fs::iso9660(data);
});
