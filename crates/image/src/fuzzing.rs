//! Entry points of the cargo-fuzz targets (`fuzz/fuzz_targets/image_*.rs`), also replayed
//! over the committed regression inputs by `cargo test`. Each reads the bytes as one
//! format and exercises everything a loader would call; none may panic, hang or allocate
//! without bound, and errors must name an offset inside the input where there is one.

use std::sync::Arc;

use crate::error::Error;
use crate::fs::{resolve, walk, FileKind, FileTree, TreePath};
use crate::tar::{Streamed, TarReader};
use crate::tartree::{open_tar_source, read_tar_stream, Builder, Limits, Select};

fn limits() -> Limits {
    Limits {
        max_entries: 20_000,
        max_kept_bytes: 16 << 20,
        max_walk_entries: 20_000,
    }
}

/// Lists, reads and resolves everything in `tree` (bounded).
pub fn exercise(tree: &dyn FileTree) {
    let Ok(all) = walk(tree, &TreePath::root(), 20_000, 64) else {
        return;
    };
    for (path, meta) in all {
        match meta.kind {
            FileKind::Regular => {
                let _ = tree.read_file(&path, 1 << 20);
            }
            FileKind::Symlink => {
                let _ = tree.read_link(&path);
                let _ = resolve(tree, &path);
            }
            _ => {}
        }
    }
    for p in ["/etc/os-release", "/var/lib/rpm/Packages", "/var/lib/rpm"] {
        let _ = resolve(tree, &TreePath::new(p));
    }
}

fn check_offset(e: &Error, len: usize) {
    if let Error::Corrupt { offset, .. } = e {
        assert!(
            *offset <= len as u64,
            "error offset {offset} past the input ({len}): {e}"
        );
    }
}

/// True when `data` starts with the magic of a compression the tar readers undo (gzip, xz,
/// zstd, bzip2): their error offsets are then offsets in the decompressed stream.
fn compressed(data: &[u8]) -> bool {
    const MAGICS: [&[u8]; 4] = [b"\x1f\x8b", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd", b"BZh"];
    MAGICS.iter().any(|m| data.starts_with(m))
}

/// The bytes as a tar image: served in place, and streamed with the loader's selection.
pub fn tar(data: &[u8]) {
    // A compressed tar's offsets count decompressed bytes, which may exceed the input.
    let bound = if compressed(data) {
        usize::MAX
    } else {
        data.len()
    };
    match open_tar_source(Arc::new(data.to_vec()), &Select::all(), limits()) {
        Ok(t) => exercise(&t),
        Err(e) => check_offset(&e, bound),
    }
    match read_tar_stream(data, &Select::rpmdb_and_os_release(), limits()) {
        Ok(t) => exercise(&t),
        Err(e) => check_offset(&e, bound),
    }
}

/// The bytes as a container archive (an OCI layout or docker save in a tar), and split at
/// `--layer--` lines as a stack of layer tars merged with the whiteout rules.
pub fn oci(data: &[u8]) {
    if let Ok(a) = crate::oci::ContainerArchive::from_tar_bytes(data.to_vec()) {
        for image in a.images() {
            if let Ok(i) = a.load(image, &Select::all(), limits()) {
                exercise(&i.tree);
            }
        }
    }
    let select = Select::all();
    let mut b = Builder::new(&select, limits());
    for (n, layer) in split(data, b"--layer--\n").enumerate() {
        let mut tar = TarReader::new(Streamed(layer), "tar");
        if b.apply(&mut tar, n as u32 + 1, None, true).is_err() {
            break;
        }
    }
    exercise(&b.tree);
}

fn split<'a>(data: &'a [u8], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.windows(sep.len()).position(|w| w == sep) {
            Some(i) => {
                rest = Some(&r[i + sep.len()..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// Reads up to `budget` bytes of `src` at offsets the input suggests, and its start.
fn read_some(src: &dyn crate::source::ReadAt, data: &[u8], budget: usize) {
    let mut buf = vec![0u8; 64 << 10];
    let len = src.len();
    let mut offsets = vec![0u64];
    for c in data.chunks(8).take(16) {
        let mut b = [0u8; 8];
        b[..c.len()].copy_from_slice(c);
        if len > 0 {
            offsets.push(u64::from_le_bytes(b) % len);
        }
    }
    let mut spent = 0;
    for o in offsets {
        if spent >= budget {
            break;
        }
        if let Ok(n) = src.read_at(o, &mut buf) {
            assert!(n <= buf.len());
            spent += n.max(1);
        }
    }
}

/// The bytes as a qcow2 image: the header and tables parsed, some of the disk read.
pub fn qcow2(data: &[u8]) {
    match crate::qcow2::Qcow2::open(data.to_vec()) {
        Ok(q) => {
            read_some(&q, data, 4 << 20);
            let _ = crate::partition::read_partitions(&q);
        }
        Err(e) => check_offset(&e, data.len().max(1 << 20)),
    }
}

/// The bytes as a disk: MBR/GPT parsed, every partition probed.
pub fn partitions(data: &[u8]) {
    let disk: &dyn crate::source::ReadAt = &data;
    match crate::partition::read_partitions(disk) {
        Ok((_, parts)) => {
            for p in &parts {
                assert!(
                    p.start + p.size <= data.len() as u64,
                    "partition beyond the disk: {p:?}"
                );
            }
        }
        Err(e) => check_offset(&e, data.len()),
    }
    let _ = crate::partition::find_partition(disk, |_, w| {
        let mut b = [0u8; 16];
        Ok(crate::source::ReadAt::read_at(w, 0, &mut b).is_ok_and(|n| n > 0 && b[0] == 0x53))
    });
}

/// The bytes as an `.xz` file read through its index; what it reads must equal a plain
/// decompression of the same bytes.
pub fn xz(data: &[u8]) {
    use crate::source::ReadAt;
    use std::io::Read;
    let Ok(x) = crate::xz::XzIndexed::new(Arc::new(data.to_vec()), 1 << 20) else {
        return;
    };
    let len = x.len();
    if len > 8 << 20 {
        read_some(&x, data, 4 << 20);
        return;
    }
    let mut indexed = vec![0u8; len as usize];
    if x.read_exact_at(0, &mut indexed, "xz").is_err() {
        return;
    }
    let mut plain = Vec::new();
    let dec = crate::compress::Compression::Xz.decoder(data);
    if let Ok(mut d) = dec {
        if d.by_ref().take(len + 1).read_to_end(&mut plain).is_ok() {
            assert_eq!(plain, indexed, "indexed and streamed xz reads differ");
        }
    }
}
