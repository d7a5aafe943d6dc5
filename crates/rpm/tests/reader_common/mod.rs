//! Shared helpers for the reader tests: where the third-party test data lives.
//!
//! Environment: `ALTREPODB_TESTDATA` = the `shared/testdata` directory (default:
//! `<workspace>/../shared/testdata`). When it is absent the tests print that they were
//! skipped and pass. Test data is referenced by path only, never copied into the repository.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

// The skip-or-fail rule of altrepodb-testdata (which depends on this crate, so it is included
// by path rather than as a dependency).
#[path = "../../../testdata/src/corpus.rs"]
pub mod corpus;

/// The test-data root, or `None` after a skip notice naming `test` (a failure under CI).
pub fn testdata(test: &str) -> Option<PathBuf> {
    corpus::dir(test, "rpm").map(|rpm| rpm.parent().map(Path::to_path_buf).unwrap_or(rpm))
}

/// Every `.rpm` under `dir`, sorted.
pub fn rpm_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rpm") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Files the MANIFEST lists as invalid packages that a reader must reject.
pub const MUST_FAIL: &[&str] = &["broken.rpm"];

/// True for a file that must be rejected.
pub fn must_fail(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| MUST_FAIL.contains(&n))
}
