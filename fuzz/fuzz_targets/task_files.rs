//! Every task file parser: plan files and diffs, approvals, the three log formats, chroot lists, sid, nevr, depends, info.json.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    altrepodb_load::fuzzing::task_files(data);
});
