//! squashfs reader against real and self-built images, compared with the host tree they were
//! built from and with `unsquashfs` (squashfs-tools), the independent references.

mod fs_common;
use fs_common as common;

use std::collections::BTreeMap;
use std::path::Path;

use altrepodb_image::squashfs::{Compressor, Squashfs};
use altrepodb_image::{Error, FileTree, TreePath};
use common::{assert_same, host_listing, make_rootfs, md5_hex, run, tool, tree_listing, Entry};

/// Mode bits from an `ls -l`-style permission string (`drwxr-sr-t`, `crw-r--r--`, …).
fn parse_mode(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut mode = match b[0] {
        b'd' => 0o040000,
        b'-' => 0o100000,
        b'l' => 0o120000,
        b'c' => 0o020000,
        b'b' => 0o060000,
        b'p' => 0o010000,
        b's' => 0o140000,
        c => panic!("type {c}"),
    };
    for (i, &c) in b[1..10].iter().enumerate() {
        let bit = 1 << (8 - i);
        let special = [0o4000, 0o2000, 0o1000][i / 3];
        match c {
            b'-' => {}
            b'S' | b'T' => mode |= special,
            b's' | b't' => mode |= special | bit,
            _ => mode |= bit,
        }
    }
    mode
}

/// What `unsquashfs -lln` lists and `unsquashfs -d` extracts.
fn unsquashfs_listing(img: &Path, scratch: &Path) -> BTreeMap<String, Entry> {
    let out_dir = scratch.join("x");
    let _ = std::fs::remove_dir_all(&out_dir);
    let imgs = img.to_str().unwrap();
    run(
        "unsquashfs",
        &[
            "-q",
            "-n",
            "-no-xattrs",
            "-ignore-errors",
            "-d",
            out_dir.to_str().unwrap(),
            imgs,
        ],
    );
    let mut out = BTreeMap::new();
    for line in run("unsquashfs", &["-lln", imgs]).lines() {
        let Some(pos) = line.find(" squashfs-root") else {
            continue;
        };
        let f: Vec<&str> = line[..pos].split_whitespace().collect();
        let rest = &line[pos + " squashfs-root".len()..];
        if rest.is_empty() {
            continue;
        }
        let (path, target) = match rest.split_once(" -> ") {
            Some((p, t)) => (p.to_owned(), Some(t.to_owned())),
            None => (rest.to_owned(), None),
        };
        let mode = parse_mode(f[0]);
        let (uid, gid) = f[1].split_once('/').unwrap();
        let mut e = Entry {
            mode,
            uid: uid.parse().unwrap(),
            gid: gid.parse().unwrap(),
            size: None,
            mtime: None,
            target: None,
            md5: None,
        };
        match mode & 0o170000 {
            0o100000 => {
                let data = std::fs::read(out_dir.join(&path[1..])).unwrap();
                e.size = Some(f[2].parse().unwrap());
                assert_eq!(e.size, Some(data.len() as u64), "{path}");
                e.md5 = Some(md5_hex(&data));
            }
            0o120000 => {
                e.size = Some(f[2].parse().unwrap());
                e.target = target;
            }
            _ => {}
        }
        out.insert(path, e);
    }
    out
}

fn without_mtime(mut l: BTreeMap<String, Entry>) -> BTreeMap<String, Entry> {
    l.values_mut().for_each(|e| e.mtime = None);
    l
}

#[test]
fn real_samples_match_unsquashfs() {
    let Some(dir) = altrepodb_testdata::corpus::dir("squashfs samples", "images/pypi-diffoscope")
    else {
        return;
    };
    if !tool("squashfs samples", "unsquashfs") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    for name in ["test1.squashfs", "test1_root.squashfs"] {
        let img = dir.join(name);
        let fs = Squashfs::open(std::fs::File::open(&img).unwrap()).unwrap();
        assert_eq!(fs.compressor(), Compressor::Gzip);
        let ours = without_mtime(tree_listing(&fs));
        assert_same(&ours, &unsquashfs_listing(&img, scratch.path()), name);
        assert_eq!(fs.read_link(&TreePath::new("/link")).unwrap(), "broken");
    }
}

/// Builds the standard rootfs (plus a device from a pseudo definition) with `args`, checks our
/// reading against the host tree and `unsquashfs`; returns the image path.
fn check_built(t: &Path, args: &[&str]) -> std::path::PathBuf {
    let root = t.join("root");
    if !root.exists() {
        make_rootfs(&root);
    }
    let img = t.join(format!("fs{}.sqfs", args.join("").replace(['/', ' '], "_")));
    let mut a = vec![
        root.to_str().unwrap(),
        img.to_str().unwrap(),
        "-noappend",
        "-quiet",
        "-no-progress",
        "-p",
        "/dev-null c 644 0 0 1 3",
    ];
    a.extend_from_slice(args);
    run("mksquashfs", &a);
    let fs = Squashfs::open(std::fs::File::open(&img).unwrap()).unwrap();
    let ours = tree_listing(&fs);
    let mut ours_wo = ours.clone();
    let dev = ours_wo.remove("/dev-null").expect("pseudo device");
    assert_eq!(dev.mode, 0o020644);
    let mut host = host_listing(&root);
    // mksquashfs stores the root's own times; directories compare without mtime.
    host.values_mut()
        .filter(|e| e.mode & 0o170000 == 0o040000)
        .for_each(|e| e.mtime = None);
    ours_wo
        .values_mut()
        .filter(|e| e.mode & 0o170000 == 0o040000)
        .for_each(|e| e.mtime = None);
    assert_same(&ours_wo, &host, &format!("mksquashfs {args:?}"));
    assert_same(
        &without_mtime(ours),
        &unsquashfs_listing(&img, t),
        &format!("unsquashfs, mksquashfs {args:?}"),
    );
    img
}

#[test]
fn every_compressor_matches_source_and_unsquashfs() {
    if !tool("squashfs compressors", "mksquashfs") || !tool("squashfs compressors", "unsquashfs") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    for (comp, expect) in [
        ("gzip", Compressor::Gzip),
        ("xz", Compressor::Xz),
        ("lzo", Compressor::Lzo),
        ("lz4", Compressor::Lz4),
        ("zstd", Compressor::Zstd),
        ("lzma", Compressor::Lzma),
    ] {
        let img = check_built(t.path(), &["-comp", comp]);
        let fs = Squashfs::open(std::fs::File::open(&img).unwrap()).unwrap();
        assert_eq!(fs.compressor(), expect);
    }
    // xz with a BCJ filter, lz4 high compression, small blocks.
    check_built(t.path(), &["-comp", "xz", "-Xbcj", "x86"]);
    check_built(t.path(), &["-comp", "lz4", "-Xhc"]);
}

#[test]
fn layouts_match_source_and_unsquashfs() {
    if !tool("squashfs layouts", "mksquashfs") || !tool("squashfs layouts", "unsquashfs") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    // Uncompressed tables and data, no fragments, fragments for every tail, 4 KiB blocks
    // (sparse blocks in /sparse), 1 MiB blocks.
    check_built(t.path(), &["-noI", "-noD", "-noF", "-noId"]);
    check_built(t.path(), &["-no-fragments"]);
    check_built(t.path(), &["-always-use-fragments", "-b", "4096"]);
    check_built(t.path(), &["-b", "1M", "-comp", "zstd"]);
}

#[test]
fn bad_fragment_is_an_error_naming_the_block() {
    if !tool("squashfs bad fragment", "mksquashfs") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("a"), b"tail of a file in a fragment ".repeat(40)).unwrap();
    let img = t.path().join("f.sqfs");
    run(
        "mksquashfs",
        &[
            root.to_str().unwrap(),
            img.to_str().unwrap(),
            "-noappend",
            "-quiet",
            "-no-progress",
            "-noF",
        ],
    );
    let mut bytes = std::fs::read(&img).unwrap();
    // fragment_table_start (superblock byte 80) points at the u64 index of metadata blocks;
    // with -noF the one block is stored uncompressed (header bit 15).
    let index_at = u64::from_le_bytes(bytes[80..88].try_into().unwrap()) as usize;
    let block_at = u64::from_le_bytes(bytes[index_at..index_at + 8].try_into().unwrap()) as usize;
    assert_ne!(
        u16::from_le_bytes([bytes[block_at], bytes[block_at + 1]]) & 0x8000,
        0
    );
    let entry = block_at + 2;
    let frag_start = u64::from_le_bytes(bytes[entry..entry + 8].try_into().unwrap());
    // Point fragment 0 past the end of the image.
    bytes[entry..entry + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let fs = Squashfs::open(bytes.clone()).unwrap();
    let err = fs.read_file(&TreePath::new("/a"), 1 << 20).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, Error::Corrupt { what: "squashfs fragment block", offset, .. } if offset == 1 << 40),
        "{msg}"
    );
    // A compressed fragment that does not decompress.
    bytes[entry..entry + 8].copy_from_slice(&frag_start.to_le_bytes());
    // With -noF the fragment is stored uncompressed; mark it compressed so the plain text
    // goes through the gzip decoder.
    let size = u32::from_le_bytes(bytes[entry + 8..entry + 12].try_into().unwrap());
    assert_ne!(size & (1 << 24), 0, "the fragment is stored uncompressed");
    bytes[entry + 8..entry + 12].copy_from_slice(&(size & !(1 << 24)).to_le_bytes());
    let fs = Squashfs::open(bytes).unwrap();
    let msg = fs
        .read_file(&TreePath::new("/a"), 1 << 20)
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with(&format!(
            "corrupt squashfs fragment block at offset {frag_start}: Gzip"
        )),
        "{msg}"
    );
}

#[test]
fn directory_cycle_is_an_error() {
    if !tool("squashfs dir cycle", "mksquashfs") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    std::fs::create_dir_all(root.join("d/e")).unwrap();
    let img = t.path().join("c.sqfs");
    run(
        "mksquashfs",
        &[
            root.to_str().unwrap(),
            img.to_str().unwrap(),
            "-noappend",
            "-quiet",
            "-no-progress",
            "-noI",
            "-noD",
            "-noF",
            "-noId",
        ],
    );
    let mut bytes = std::fs::read(&img).unwrap();
    // Make the entry "e" in /d name the root inode: its listing entry's offset and the
    // header's start block must become the root reference's.
    let root_ref = u64::from_le_bytes(bytes[32..40].try_into().unwrap());
    let dir_table = u64::from_le_bytes(bytes[72..80].try_into().unwrap()) as usize;
    let e_at = bytes[dir_table..]
        .windows(2)
        .position(|w| w == b"\x00e")
        .unwrap()
        + dir_table
        + 1;
    // entry = offset u16, inode_offset i16, type u16, name_size u16, name: the entry starts 8 before the name.
    let entry = e_at - 8;
    let header = entry - 12;
    bytes[entry..entry + 2].copy_from_slice(&((root_ref & 0xFFFF) as u16).to_le_bytes());
    bytes[header + 4..header + 8].copy_from_slice(&((root_ref >> 16) as u32).to_le_bytes());
    let fs = Squashfs::open(bytes).unwrap();
    let err = altrepodb_image::walk(&fs, &TreePath::root(), 1000, 100).unwrap_err();
    assert!(err.to_string().contains("directory cycle"), "{err}");
}

#[test]
fn not_squashfs_is_a_clear_error() {
    let err = Squashfs::open(vec![0u8; 4096]).err().unwrap();
    assert_eq!(
        err.to_string(),
        "corrupt squashfs superblock at offset 0: magic: 0x00000000 is not hsqs"
    );
}

#[test]
fn squashfs_member_of_an_iso_reads_in_place() {
    if !tool("squashfs in iso", "mksquashfs") || !tool("squashfs in iso", "xorriso") {
        return;
    }
    use altrepodb_image::iso9660::Iso9660;
    use altrepodb_image::Slice;
    use std::sync::Arc;
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    make_rootfs(&root);
    let iso_root = t.path().join("iso");
    std::fs::create_dir_all(iso_root.join(".disk")).unwrap();
    std::fs::write(iso_root.join(".disk/arch"), b"x86_64\n").unwrap();
    run(
        "mksquashfs",
        &[
            root.to_str().unwrap(),
            iso_root.join("live").to_str().unwrap(),
            "-noappend",
            "-quiet",
            "-no-progress",
            "-comp",
            "xz",
        ],
    );
    let img = t.path().join("m.iso");
    run(
        "xorriso",
        &[
            "-as",
            "mkisofs",
            "-R",
            "-J",
            "-o",
            img.to_str().unwrap(),
            iso_root.to_str().unwrap(),
        ],
    );
    let file = Arc::new(std::fs::File::open(&img).unwrap());
    let iso = Iso9660::open(file.clone()).unwrap();
    let (start, len) = iso
        .contiguous_range(&TreePath::new("/live"))
        .unwrap()
        .unwrap();
    let fs = Squashfs::open(Slice::new(file, start, len).unwrap()).unwrap();
    let mut ours = tree_listing(&fs);
    ours.remove("/fifo");
    let mut host = host_listing(&root);
    host.remove("/fifo");
    for l in [&mut ours, &mut host] {
        l.values_mut()
            .filter(|e| e.mode & 0o170000 == 0o040000)
            .for_each(|e| e.mtime = None);
    }
    assert_same(&ours, &host, "live inside the ISO");
}
