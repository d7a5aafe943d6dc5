//! Replays the committed fuzz inputs (`fuzz/corpus-regressions/rpmdb_{bdb,ndb,sqlite}/`)
//! through the entry points of the cargo-fuzz targets, so a normal `cargo test` catches a
//! reintroduced crash or hang. The `synthetic-3*` seeds are databases of three fictional
//! packages made by `fuzz/seed_rpmdb.sh` (Berkeley DB by `db5.3_load`, SQLite by Python's
//! sqlite3, NDB by the script); they must also read correctly.

use std::path::Path;

use altrepodb_rpm::{Header, Tag};

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus-regressions")
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn replay(target: &str, run: fn(&[u8])) {
    let all = inputs(target);
    assert!(!all.is_empty(), "no {target} regression inputs");
    for (name, data) in &all {
        let r = std::panic::catch_unwind(|| run(data));
        assert!(r.is_ok(), "{target}/{name} panics");
        if name.starts_with("synthetic-3") {
            let mut got: Vec<(u32, String)> = altrepodb_rpmdb::open(data)
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .map(|h| {
                    let h = h.unwrap_or_else(|e| panic!("{name}: {e}"));
                    let hdr = Header::from_blob(&h.blob).unwrap();
                    (h.instance, hdr.text(Tag::NAME).unwrap().into_owned())
                })
                .collect();
            got.sort();
            assert_eq!(
                got,
                [
                    (1, "alpha".to_string()),
                    (2, "beta-with-a-longer-name".to_string()),
                    (5, "gamma".to_string())
                ],
                "{name}"
            );
        }
    }
}

#[test]
fn bdb_regressions() {
    replay("rpmdb_bdb", altrepodb_rpmdb::fuzzing::bdb);
}

#[test]
fn ndb_regressions() {
    replay("rpmdb_ndb", altrepodb_rpmdb::fuzzing::ndb);
}

#[test]
fn sqlite_regressions() {
    replay("rpmdb_sqlite", altrepodb_rpmdb::fuzzing::sqlite);
}
