//! Replays the committed fuzz regression inputs (`fuzz/corpus-regressions/{header,package}/`)
//! through the same entry points as the cargo-fuzz targets, so a normal `cargo test` catches
//! a reintroduced crash. These inputs are small and synthetic or fuzzer-made (no test data).

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus-regressions")
        .join(target);
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    for p in entries {
        let data = std::fs::read(&p).unwrap();
        let r = std::panic::catch_unwind(|| run(&data));
        assert!(r.is_ok(), "{} panics", p.display());
        n += 1;
    }
    n
}

#[test]
fn header_regressions() {
    let n = replay("header", altrepodb_rpm::fuzzing::header);
    assert!(n > 0, "no header regression inputs");
}

#[test]
fn package_regressions() {
    let n = replay("package", altrepodb_rpm::fuzzing::package);
    assert!(n > 0, "no package regression inputs");
}
