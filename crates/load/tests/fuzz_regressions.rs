//! Replays the committed fuzz inputs (`fuzz/corpus-regressions/{apt_list,hash_list,payload,
//! task_files}/`) through the same entry points as the cargo-fuzz targets, so a normal
//! `cargo test` catches a reintroduced crash or disagreement. The inputs are tiny, self-made
//! or fuzzer-made (no third-party data).

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus-regressions")
        .join(target);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no {target} regression inputs");
    for p in entries {
        let data = std::fs::read(&p).unwrap();
        let r = std::panic::catch_unwind(|| run(&data));
        assert!(r.is_ok(), "{} fails", p.display());
    }
}

#[test]
fn apt_list_regressions() {
    replay("apt_list", altrepodb_load::fuzzing::apt_list);
}

#[test]
fn hash_list_regressions() {
    replay("hash_list", altrepodb_load::fuzzing::hash_list);
}

#[test]
fn payload_regressions() {
    replay("payload", altrepodb_load::fuzzing::payload);
}

#[test]
fn task_files_regressions() {
    replay("task_files", altrepodb_load::fuzzing::task_files);
}

#[test]
fn listing_regressions() {
    replay("listing", altrepodb_load::fuzzing::listing);
}

#[test]
fn bugzilla_csv_regressions() {
    replay("bugzilla_csv", altrepodb_load::fuzzing::bugzilla_csv);
}

#[test]
fn feed_lines_regressions() {
    replay("feed_lines", altrepodb_load::fuzzing::feed_lines);
}

#[test]
fn feed_json_regressions() {
    replay("feed_json", altrepodb_load::fuzzing::feed_json);
}
