//! Replays the committed fuzz inputs (`fuzz/corpus-regressions/image_*/`) through the entry
//! points of the cargo-fuzz targets, so a normal `cargo test` catches a reintroduced crash
//! or hang. The seeds are small self-made images (see `fuzz/seed_image.sh`); the valid
//! ones must also read.

use std::path::Path;
use std::sync::Arc;

use altrepodb_image::fuzzing;
use altrepodb_image::tartree::{open_tar_source, Limits, Select};
use altrepodb_image::{resolve, FileTree, ReadAt, TreePath};

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
    assert!(!out.is_empty(), "no {target} regression inputs");
    out
}

fn replay(target: &str, run: fn(&[u8])) -> Vec<(String, Vec<u8>)> {
    let all = inputs(target);
    for (name, data) in &all {
        let r = std::panic::catch_unwind(|| run(data));
        assert!(r.is_ok(), "{target}/{name} panics");
    }
    all
}

#[test]
fn tar_regressions() {
    for (name, data) in replay("image_tar", fuzzing::tar) {
        if name.starts_with("bad-") {
            // A fuzzer find: it must fail cleanly (checked by the replay), not open.
            continue;
        }
        let tree = open_tar_source(
            Arc::new(data),
            &Select::rpmdb_and_os_release(),
            Limits::default(),
        )
        .unwrap();
        if name.starts_with("ustar-symlink") {
            // Only etc/ is in it: the link dangles.
            assert_eq!(
                tree.read_link(&TreePath::new("/etc/os-release")).unwrap(),
                "../usr/lib/os-release"
            );
            assert!(resolve(&tree, &TreePath::new("/etc/os-release")).is_err());
            continue;
        }
        let (real, _) = resolve(&tree, &TreePath::new("/etc/os-release"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(tree.read_file(&real, 100).unwrap(), b"ID=alt\n", "{name}");
    }
}

#[test]
fn oci_regressions() {
    replay("image_oci", fuzzing::oci);
}

#[test]
fn qcow2_regressions() {
    for (name, data) in replay("image_qcow2", fuzzing::qcow2) {
        let q = altrepodb_image::qcow2::Qcow2::open(data).unwrap();
        let mut buf = [0u8; 5];
        q.read_exact_at(40000, &mut buf, "disk").unwrap();
        assert_eq!(&buf, b"hello", "{name}");
    }
}

#[test]
fn partition_regressions() {
    for (name, data) in replay("image_partitions", fuzzing::partitions) {
        let (_, parts) = altrepodb_image::partition::read_partitions(&data).unwrap();
        let numbers: Vec<u32> = parts.iter().map(|p| p.number).collect();
        let want: &[u32] = if name.starts_with("gpt") {
            &[1]
        } else {
            &[1, 2, 5, 6]
        };
        assert_eq!(numbers, want, "{name}");
    }
}

#[test]
fn xz_regressions() {
    for (name, data) in replay("image_xz", fuzzing::xz) {
        let x = altrepodb_image::xz::XzIndexed::new(Arc::new(data), 1 << 20).unwrap();
        assert!(x.len() > 0, "{name}");
    }
}
