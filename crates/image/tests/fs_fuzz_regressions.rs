//! Replays the committed fuzz inputs (`fuzz/corpus-regressions/{ext4,iso9660,squashfs}/`)
//! through the entry points of the cargo-fuzz targets, so a normal `cargo test` catches a
//! reintroduced crash or hang. The `synthetic-*` seeds are images `fuzz/seed_images.sh
//! --regressions` built with mke2fs, mksquashfs and genisoimage from a tree it wrote itself;
//! they must also read as that tree.

use std::path::Path;

use altrepodb_image::ext4::Ext4;
use altrepodb_image::iso9660::Iso9660;
use altrepodb_image::squashfs::Squashfs;
use altrepodb_image::{resolve, FileTree, TreePath};

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

/// The tree seed_images.sh writes.
fn check_seed(name: &str, tree: &dyn FileTree) {
    let read = |p: &str| {
        tree.read_file(&TreePath::new(p), 1 << 20)
            .unwrap_or_else(|e| panic!("{name}: {p}: {e}"))
    };
    assert_eq!(read("/etc/os-release"), b"ID=altlinux\n", "{name}");
    assert_eq!(read("/d/e/f"), b"abc", "{name}");
    assert_eq!(read("/d/big"), vec![b'x'; 5000], "{name}");
    assert_eq!(
        tree.read_link(&TreePath::new("/d/link")).unwrap(),
        "../etc/os-release",
        "{name}"
    );
    let (target, _) = resolve(tree, &TreePath::new("/d/link")).unwrap();
    assert_eq!(target.as_str(), "/etc/os-release", "{name}");
    assert!(
        tree.read_link(&TreePath::new("/slow"))
            .unwrap()
            .ends_with("/i_block"),
        "{name}"
    );
}

fn replay(target: &str, run: fn(&[u8]), open: fn(Vec<u8>) -> Box<dyn FileTree>) {
    let all = inputs(target);
    assert!(!all.is_empty(), "no {target} regression inputs");
    for (name, data) in &all {
        assert!(
            std::panic::catch_unwind(|| run(data)).is_ok(),
            "{target}/{name} panics"
        );
        if name.starts_with("synthetic-") {
            check_seed(name, &*open(data.clone()));
        }
    }
}

#[test]
fn ext4_regressions() {
    replay("ext4", altrepodb_image::fuzz_fs::ext4, |d| {
        Box::new(Ext4::open(d).unwrap())
    });
}

#[test]
fn iso9660_regressions() {
    replay("iso9660", altrepodb_image::fuzz_fs::iso9660, |d| {
        Box::new(Iso9660::open(d).unwrap())
    });
}

#[test]
fn squashfs_regressions() {
    replay("squashfs", altrepodb_image::fuzz_fs::squashfs, |d| {
        Box::new(Squashfs::open(d).unwrap())
    });
}
