//! ISO 9660 reader against real and self-built images, compared with the host tree they were
//! built from and with `isoinfo` (cdrkit), the independent reference, including `isoinfo -d`.

mod fs_common;
use fs_common as common;

use std::collections::BTreeMap;
use std::path::Path;

use altrepodb_image::iso9660::{Iso9660, Names};
use altrepodb_image::{walk, Error, FileKind, FileTree, TreePath};
use common::{assert_same, host_listing, make_rootfs, md5_hex, run, tool, tree_listing, Entry};

/// Mode bits from isoinfo's permission string (`drwxr-xr-x`; setuid and sticky are not shown).
fn parse_mode(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut mode = match b[0] {
        b'd' => 0o040000,
        b'-' => 0o100000,
        b'l' => 0o120000,
        b'c' => 0o020000,
        b'b' => 0o060000,
        b'f' => 0o010000,
        b's' => 0o140000,
        c => panic!("type {c}"),
    };
    for (i, &c) in b[1..10].iter().enumerate() {
        if c != b'-' {
            mode |= 1 << (8 - i);
        }
    }
    mode
}

/// What `isoinfo -l` (with `-R` or `-J`) lists, with file contents from `isoinfo -x`; zisofs
/// files are decompressed with `mkzftree -u`.
fn isoinfo_listing(img: &Path, flag: &str, scratch: &Path) -> BTreeMap<String, Entry> {
    let imgs = img.to_str().unwrap();
    let text = run("isoinfo", &[flag, "-l", "-i", imgs]);
    let mut out = BTreeMap::new();
    let mut dir = String::new();
    for line in text.lines() {
        if let Some(d) = line.strip_prefix("Directory listing of ") {
            dir = d.to_owned();
            continue;
        }
        if line.len() < 67 {
            continue;
        }
        let f: Vec<&str> = line[..66].split_whitespace().collect();
        let rest = &line[67..];
        if matches!(rest.trim_end_matches(' '), "" | "." | "..") {
            continue;
        }
        assert!(!f[0].starts_with('?'), "isoinfo cannot classify: {line}");
        let mode = parse_mode(f[0]);
        let (name, target) = match rest.split_once(" -> ") {
            Some((n, t)) if mode & 0o170000 == 0o120000 => (n.to_owned(), Some(t.to_owned())),
            _ => (rest.trim_end_matches(' ').to_owned(), None),
        };
        if name.is_empty() || name == "." || name == ".." {
            continue;
        }
        let path = format!("{dir}{name}");
        let mut e = Entry {
            mode,
            uid: u32::from_str_radix(f[2], 8).unwrap(),
            gid: u32::from_str_radix(f[3], 8).unwrap(),
            size: None,
            mtime: None,
            target: None,
            md5: None,
        };
        match mode & 0o170000 {
            0o100000 => {
                let x = scratch.join("x");
                let raw = std::process::Command::new("isoinfo")
                    .args([flag, "-i", imgs, "-x", &path])
                    .output()
                    .unwrap()
                    .stdout;
                assert_eq!(raw.len() as u64, f[4].parse::<u64>().unwrap(), "{path}");
                let data = if raw.starts_with(&[0x37, 0xE4, 0x53, 0x96, 0xC9, 0xDB, 0xD6, 0x07]) {
                    let _ = std::fs::remove_dir_all(&x);
                    std::fs::create_dir_all(x.join("in")).unwrap();
                    std::fs::write(x.join("in/f"), &raw).unwrap();
                    run(
                        "mkzftree",
                        &[
                            "-u",
                            x.join("in").to_str().unwrap(),
                            x.join("out").to_str().unwrap(),
                        ],
                    );
                    std::fs::read(x.join("out/f")).unwrap()
                } else {
                    raw
                };
                e.size = Some(data.len() as u64);
                e.md5 = Some(md5_hex(&data));
            }
            0o120000 => {
                e.target = target;
                e.size = e.target.as_ref().map(|t| t.len() as u64);
            }
            _ => {}
        }
        out.insert(path, e);
    }
    out
}

fn without(mut l: BTreeMap<String, Entry>, owners: bool) -> BTreeMap<String, Entry> {
    for e in l.values_mut() {
        e.mtime = None;
        if !owners {
            e.uid = 0;
            e.gid = 0;
            // Plain ISO 9660 and Joliet have no permissions; isoinfo shows none.
            e.mode &= 0o170000;
        } else {
            // isoinfo does not show setuid, setgid and sticky bits.
            e.mode &= !0o7000;
        }
    }
    l
}

#[test]
fn real_samples_match_isoinfo() {
    let Some(dir) = altrepodb_testdata::corpus::root()
        .join("images")
        .is_dir()
        .then(|| altrepodb_testdata::corpus::root().join("images"))
    else {
        altrepodb_testdata::corpus::dir("iso samples", "images");
        return;
    };
    if !tool("iso samples", "isoinfo") || !tool("iso samples", "mkzftree") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    for name in [
        "pypi-diffoscope/test1.iso",
        "debian-libarchive/test_read_format_iso_xorriso.iso",
        "debian-libarchive/test_read_format_iso_zisofs.iso",
        "debian-libarchive/test_read_format_iso_joliet.iso",
    ] {
        let img = dir.join(name);
        let file = || std::fs::File::open(&img).unwrap();
        let iso = Iso9660::open(file()).unwrap();
        assert_eq!(iso.names(), Names::RockRidge, "{name}");
        let ours = without(tree_listing(&iso), true);
        assert_same(
            &ours,
            &without(isoinfo_listing(&img, "-R", scratch.path()), true),
            name,
        );
        let text = run("isoinfo", &["-d", "-i", img.to_str().unwrap()]);
        assert_eq!(
            iso.volume_info().unwrap().isoinfo_text(),
            text,
            "{name}: isoinfo -d"
        );
        if name.contains("joliet") {
            let j = Iso9660::open_with(file(), Some(Names::Joliet)).unwrap();
            let ours = without(tree_listing(&j), false);
            assert_same(
                &ours,
                &without(isoinfo_listing(&img, "-J", scratch.path()), false),
                "joliet",
            );
            assert!(ours.contains_key("/long-joliet-file-name.textfile"));
        }
    }
    // zisofs: the file is stored compressed and read back whole.
    let iso = Iso9660::open(
        std::fs::File::open(dir.join("debian-libarchive/test_read_format_iso_zisofs.iso")).unwrap(),
    )
    .unwrap();
    let meta = iso.metadata(&TreePath::new("/file")).unwrap();
    assert!(meta.size > 1590, "uncompressed size {}", meta.size);
}

/// Builds `root` into an ISO with `builder args…` and checks it against the host tree (Rock
/// Ridge) and isoinfo (Rock Ridge, Joliet, `-d`).
fn check_built(
    t: &Path,
    root: &Path,
    builder: &str,
    args: &[&str],
    host_root: &Path,
) -> std::path::PathBuf {
    let img = t.join(format!(
        "{builder}{}.iso",
        args.join("").replace(['/', ' ', '\''], "_")
    ));
    let mut a: Vec<&str> = if builder == "xorriso" {
        vec!["-as", "mkisofs"]
    } else {
        vec!["-quiet"]
    };
    a.extend_from_slice(args);
    a.extend_from_slice(&["-o", img.to_str().unwrap(), root.to_str().unwrap()]);
    run(builder, &a);
    let what = format!("{builder} {args:?}");
    let iso = Iso9660::open(std::fs::File::open(&img).unwrap()).unwrap();
    assert_eq!(iso.names(), Names::RockRidge);
    let ours = tree_listing(&iso);
    let mut host = host_listing(host_root);
    let mut ours_cmp = ours.clone();
    ours_cmp.remove("/rr_moved");
    ours_cmp.remove("/boot.cat");
    ours_cmp.remove("/boot.catalog");
    for l in [&mut host, &mut ours_cmp] {
        // Directory times and sizes are the builder's own.
        l.values_mut()
            .filter(|e| e.mode & 0o170000 == 0o040000)
            .for_each(|e| e.mtime = None);
        if args.contains(&"-z") {
            // mkzftree copies symlinks without their times.
            l.values_mut()
                .filter(|e| e.mode & 0o170000 == 0o120000)
                .for_each(|e| e.mtime = None);
        }
    }
    assert_same(&ours_cmp, &host, &format!("host tree, {what}"));
    // isoinfo does not follow Rock Ridge child links: the relocated directory shows under
    // /rr_moved; put it back where the CL entry (and the host tree) has it.
    let reference: BTreeMap<String, Entry> = isoinfo_listing(&img, "-R", t)
        .into_iter()
        .filter(|(k, _)| k != "/rr_moved")
        .map(|(k, v)| match k.strip_prefix("/rr_moved/h") {
            Some(rest) => (format!("/a/b/c/d/e/f/g/h{rest}"), v),
            None => (k, v),
        })
        .collect();
    if !args.contains(&"-z") {
        let mut ours_r = without(ours.clone(), true);
        ours_r.remove("/rr_moved");
        assert_same(
            &ours_r,
            &without(reference, true),
            &format!("isoinfo -R, {what}"),
        );
    }
    assert_eq!(
        iso.volume_info().unwrap().isoinfo_text(),
        run("isoinfo", &["-d", "-i", img.to_str().unwrap()]),
        "isoinfo -d, {what}"
    );
    img
}

#[test]
fn built_isos_match_source_and_isoinfo() {
    if !tool("built iso", "xorriso")
        || !tool("built iso", "genisoimage")
        || !tool("built iso", "isoinfo")
    {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    make_rootfs(&root);
    // Deeper than 8 levels: genisoimage relocates it (CL/PL/RE), xorriso keeps it.
    let deep = root.join("a/b/c/d/e/f/g/h/i/j");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("deep.txt"), b"deep\n").unwrap();
    std::fs::remove_file(root.join("fifo")).unwrap();
    check_built(
        t.path(),
        &root,
        "xorriso",
        &[
            "-R",
            "-J",
            "-V",
            "ALT p10 x86_64",
            "-publisher",
            "BaseALT Ltd",
        ],
        &root,
    );
    check_built(
        t.path(),
        &root,
        "genisoimage",
        &[
            "-R",
            "-J",
            "-joliet-long",
            "-V",
            "ALT",
            "-p",
            "preparer",
            "-A",
            "app",
        ],
        &root,
    );
    // Bootable (El Torito) with BIOS and EFI entries, as ALT ISOs are.
    std::fs::create_dir_all(root.join("boot")).unwrap();
    std::fs::write(root.join("boot/boot.img"), [0x90u8; 4096]).unwrap();
    std::fs::write(root.join("boot/efi.img"), [0xEFu8; 8192]).unwrap();
    check_built(
        t.path(),
        &root,
        "xorriso",
        &[
            "-R",
            "-J",
            "-b",
            "boot/boot.img",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-eltorito-alt-boot",
            "-e",
            "boot/efi.img",
            "-no-emul-boot",
        ],
        &root,
    );
    check_built(
        t.path(),
        &root,
        "genisoimage",
        &[
            "-R",
            "-b",
            "boot/boot.img",
            "-c",
            "boot.cat",
            "-no-emul-boot",
        ],
        &root,
    );
    // A 1.44 MB floppy-emulation boot image (isoinfo names the media).
    std::fs::write(root.join("boot/floppy.img"), vec![0u8; 1_474_560]).unwrap();
    check_built(
        t.path(),
        &root,
        "genisoimage",
        &["-R", "-b", "boot/floppy.img", "-c", "boot.cat"],
        &root,
    );
}

#[test]
fn zisofs_files_read_decompressed() {
    if !tool("zisofs", "mkzftree") || !tool("zisofs", "genisoimage") || !tool("zisofs", "isoinfo") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    make_rootfs(&root);
    std::fs::remove_file(root.join("fifo")).unwrap();
    // Larger than one zisofs block, compressible, with a zero block in the middle.
    let mut big: Vec<u8> = (0..100_000u32).map(|i| (i % 97) as u8).collect();
    big.extend(vec![0u8; 70_000]);
    big.extend((0..50_000u32).map(|i| (i % 13) as u8));
    std::fs::write(root.join("big.bin"), &big).unwrap();
    let z = t.path().join("z");
    run("mkzftree", &[root.to_str().unwrap(), z.to_str().unwrap()]);
    let img = check_built(t.path(), &z, "genisoimage", &["-R", "-J", "-z"], &root);
    let iso = Iso9660::open(std::fs::File::open(&img).unwrap()).unwrap();
    assert_eq!(
        iso.read_file(&TreePath::new("/big.bin"), 1 << 20).unwrap(),
        big
    );
    // The stored (compressed) file is not one plain range.
    assert_eq!(
        iso.contiguous_range(&TreePath::new("/big.bin")).unwrap(),
        None
    );
    // isoinfo lists the compressed bytes; decompressed with mkzftree -u they are ours.
    let reference = isoinfo_listing(&img, "-R", t.path());
    let ours = tree_listing(&iso);
    for (path, e) in &reference {
        if e.mode & 0o170000 == 0o100000 {
            assert_eq!(ours[path].md5, e.md5, "{path}");
        }
    }
}

#[test]
fn squashfs_member_range_is_in_place() {
    if !tool("member range", "xorriso") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31) as u8).collect();
    std::fs::write(root.join("live"), &data).unwrap();
    let img = t.path().join("m.iso");
    run(
        "xorriso",
        &[
            "-as",
            "mkisofs",
            "-R",
            "-o",
            img.to_str().unwrap(),
            root.to_str().unwrap(),
        ],
    );
    let bytes = std::fs::read(&img).unwrap();
    let iso = Iso9660::open(bytes.clone()).unwrap();
    let (start, len) = iso
        .contiguous_range(&TreePath::new("/live"))
        .unwrap()
        .unwrap();
    assert_eq!(&bytes[start as usize..(start + len) as usize], &data[..]);
}

#[test]
fn looping_directory_is_an_error() {
    if !tool("iso loop", "genisoimage") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    std::fs::create_dir_all(root.join("sub/inner")).unwrap();
    std::fs::write(root.join("sub/inner/f"), b"x").unwrap();
    let img = t.path().join("l.iso");
    run(
        "genisoimage",
        &[
            "-quiet",
            "-R",
            "-o",
            img.to_str().unwrap(),
            root.to_str().unwrap(),
        ],
    );
    let mut bytes = std::fs::read(&img).unwrap();
    let root_extent =
        u32::from_le_bytes(bytes[16 * 2048 + 158..16 * 2048 + 162].try_into().unwrap());
    // The record of "INNER" (its plain name) in /sub: point its extent back at the root.
    let name_at = bytes.windows(6).position(|w| w == b"\x05INNER").unwrap() + 1;
    let rec = name_at - 33;
    bytes[rec + 2..rec + 6].copy_from_slice(&root_extent.to_le_bytes());
    bytes[rec + 6..rec + 10].copy_from_slice(&root_extent.to_be_bytes());
    let iso = Iso9660::open(bytes).unwrap();
    let err = walk(&iso, &TreePath::root(), 1000, 100).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, Error::Corrupt { what: "iso9660 directory record", offset, .. } if offset == rec as u64),
        "{msg}"
    );
    assert!(msg.contains("directory cycle"), "{msg}");
    assert_eq!(
        iso.metadata(&TreePath::new("/sub")).unwrap().kind,
        FileKind::Directory
    );
}

#[test]
fn not_iso_is_a_clear_error() {
    let err = Iso9660::open(vec![0u8; 40_000]).err().unwrap();
    assert_eq!(
        err.to_string(),
        "corrupt iso9660 primary volume descriptor at offset 32768: no \\x01CD001\\x01 signature"
    );
    let err = Iso9660::open(vec![0u8; 100]).err().unwrap();
    assert!(
        err.to_string()
            .starts_with("corrupt iso9660 primary volume descriptor at offset 32768: truncated"),
        "{err}"
    );
}

#[test]
fn multi_extent_file_reads_as_one() {
    if !tool("multi-extent", "genisoimage") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let a: Vec<u8> = (0..4096u32).map(|i| (i * 7) as u8).collect();
    let b: Vec<u8> = (0..1000u32).map(|i| (i * 13) as u8).collect();
    std::fs::write(root.join("a"), &a).unwrap();
    std::fs::write(root.join("b"), &b).unwrap();
    let img = t.path().join("m.iso");
    run(
        "genisoimage",
        &[
            "-quiet",
            "-R",
            "-o",
            img.to_str().unwrap(),
            root.to_str().unwrap(),
        ],
    );
    let mut bytes = std::fs::read(&img).unwrap();
    // No tool writes extents smaller than 4 GiB, so make "a" a multi-extent file whose second
    // extent is b's: flag 0x80 on a's record, and b's record renamed to "a" (ISO and NM names).
    let rec_a = bytes.windows(4).position(|w| w == b"A.;1").unwrap() - 33;
    let rec_b = bytes.windows(4).position(|w| w == b"B.;1").unwrap() - 33;
    bytes[rec_a + 25] |= 0x80;
    bytes[rec_b + 33] = b'A';
    let nm = rec_b
        + bytes[rec_b..rec_b + 60]
            .windows(2)
            .position(|w| w == b"NM")
            .unwrap();
    bytes[nm + 5] = b'a';
    let extent_a = u32::from_le_bytes(bytes[rec_a + 2..rec_a + 6].try_into().unwrap()) as u64;
    let whole: Vec<u8> = a.iter().chain(&b).copied().collect();
    // Plain ISO 9660 names keep their case and lose ";1" and the empty extension's dot.
    for (names, name) in [(Names::RockRidge, "a"), (Names::Plain, "A")] {
        let iso = Iso9660::open_with(bytes.clone(), Some(names)).unwrap();
        let listing = iso.read_dir(&TreePath::root()).unwrap();
        let names_seen: Vec<&str> = listing.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names_seen, [name], "{names:?}");
        assert_eq!(listing[0].metadata.size, 5096);
        let path = TreePath::root().join(name);
        assert_eq!(iso.read_file(&path, 1 << 20).unwrap(), whole);
        assert_eq!(
            iso.contiguous_range(&path).unwrap(),
            Some((extent_a * 2048, 5096))
        );
    }
}
