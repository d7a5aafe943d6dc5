//! The bytes as a ext4 image (see `altrepodb_image::fuzz_fs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_image::fuzz_fs::ext4(data);
});
