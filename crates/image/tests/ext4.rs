//! ext4 reader against real and self-built images, compared with the host tree they were built
//! from and with `debugfs` (e2fsprogs), the independent references.

mod fs_common;
use fs_common as common;

use std::collections::BTreeMap;
use std::path::Path;

use altrepodb_image::ext4::Ext4;
use altrepodb_image::{walk, Error, FileTree, TreePath};
use common::{assert_same, host_listing, make_rootfs, md5_hex, run, tool, tree_listing, Entry};

/// The listing `debugfs` gives of the whole filesystem in `img` (`ls -p` per directory, file
/// contents through `dump`).
fn debugfs_listing(img: &Path, scratch: &Path) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    let mut dirs = vec!["/".to_owned()];
    let img = img.to_str().unwrap();
    while let Some(dir) = dirs.pop() {
        let text = run("debugfs", &["-R", &format!("ls -p \"{dir}\""), img]);
        for line in text.lines().filter(|l| l.starts_with('/')) {
            // /ino/mode/uid/gid/name/size/
            let f: Vec<&str> = line.split('/').collect();
            let name = f[5..f.len() - 2].join("/");
            if name.is_empty() || name == "." || name == ".." {
                continue;
            }
            let mode = u32::from_str_radix(f[2], 8).unwrap();
            let path = if dir == "/" {
                format!("/{name}")
            } else {
                format!("{dir}/{name}")
            };
            let mut e = Entry {
                mode,
                uid: f[3].parse().unwrap(),
                gid: f[4].parse().unwrap(),
                size: None,
                mtime: None,
                target: None,
                md5: None,
            };
            match mode & 0o170000 {
                0o040000 => dirs.push(path.clone()),
                0o100000 => {
                    let dump = scratch.join("dump");
                    run(
                        "debugfs",
                        &["-R", &format!("dump \"{path}\" {}", dump.display()), img],
                    );
                    let mut data = std::fs::read(&dump).unwrap();
                    let size: u64 = f[f.len() - 2].parse().unwrap();
                    // debugfs 1.47 dumps all 60 bytes of i_block for inline files shorter
                    // than that; the size it lists is right.
                    assert!(
                        data.len() as u64 == size || (size < 60 && data.len() == 60),
                        "{path}"
                    );
                    data.truncate(size as usize);
                    e.size = Some(size);
                    e.md5 = Some(md5_hex(&data));
                }
                0o120000 => {
                    let stat = run("debugfs", &["-R", &format!("stat \"{path}\""), img]);
                    let size: u64 = f[f.len() - 2].parse().unwrap();
                    e.size = Some(size);
                    if let Some(t) = stat
                        .lines()
                        .find_map(|l| l.strip_prefix("Fast link dest: "))
                    {
                        e.target = Some(t.trim_matches('"').to_owned());
                    } else {
                        let dump = scratch.join("dump");
                        run(
                            "debugfs",
                            &["-R", &format!("dump \"{path}\" {}", dump.display()), img],
                        );
                        e.target = Some(String::from_utf8(std::fs::read(&dump).unwrap()).unwrap());
                    }
                }
                _ => {}
            }
            out.insert(path, e);
        }
    }
    out
}

fn without_mtime(mut l: BTreeMap<String, Entry>) -> BTreeMap<String, Entry> {
    l.values_mut().for_each(|e| e.mtime = None);
    l
}

#[test]
fn real_sample_matches_debugfs() {
    let Some(dir) = altrepodb_testdata::corpus::dir("ext4 sample", "images/pypi-diffoscope") else {
        return;
    };
    if !tool("ext4 sample", "debugfs") {
        return;
    }
    let img = dir.join("test1.ext4");
    let scratch = tempfile::tempdir().unwrap();
    let fs = Ext4::open(std::fs::File::open(&img).unwrap()).unwrap();
    let ours = without_mtime(tree_listing(&fs));
    let reference = debugfs_listing(&img, scratch.path());
    assert_same(&ours, &reference, "test1.ext4");
    assert_eq!(ours["/date.txt"].size, Some(28));
    assert_eq!(fs.block_size(), 1024);
}

/// Builds `rootfs` into an image with `mkfs_args`, then checks our reading against the host
/// tree and `debugfs`.
fn check_built(mkfs_args: &[&str], fsck_d: bool) {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    make_rootfs(&root);
    let img = t.path().join("fs.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(24 << 20)
        .unwrap();
    let mut args: Vec<&str> = vec!["-q", "-F", "-L", "ALTROOT", "-d", root.to_str().unwrap()];
    args.extend_from_slice(mkfs_args);
    args.push(img.to_str().unwrap());
    run("mke2fs", &args);
    if fsck_d {
        // Rebuilds every directory as an htree index.
        let _ = std::process::Command::new("e2fsck")
            .env("PATH", "/usr/sbin:/sbin:/usr/bin:/bin")
            .args(["-fyD", img.to_str().unwrap()])
            .status();
    }
    let fs = Ext4::open(std::fs::File::open(&img).unwrap()).unwrap();
    assert_eq!(fs.volume_name(), "ALTROOT");
    let ours = tree_listing(&fs);
    let mut host = host_listing(&root);
    // Our reader sees lost+found, which mke2fs adds.
    let mut ours_wo = ours.clone();
    ours_wo.remove("/lost+found");
    host.values_mut()
        .filter(|e| e.mode & 0o170000 == 0o040000)
        .for_each(|e| e.mtime = None);
    ours_wo
        .values_mut()
        .filter(|e| e.mode & 0o170000 == 0o040000)
        .for_each(|e| e.mtime = None);
    assert_same(&ours_wo, &host, &format!("mke2fs {mkfs_args:?}"));
    let reference = debugfs_listing(&img, t.path());
    assert_same(
        &without_mtime(ours),
        &reference,
        &format!("debugfs, mke2fs {mkfs_args:?}"),
    );
}

#[test]
fn built_ext4_4k_matches_source_and_debugfs() {
    if tool("ext4 4k", "mke2fs") && tool("ext4 4k", "debugfs") {
        check_built(&["-t", "ext4"], false);
    }
}

#[test]
fn built_ext4_1k_64bit_htree() {
    if tool("ext4 1k", "mke2fs") && tool("ext4 1k", "e2fsck") {
        check_built(
            &["-t", "ext4", "-b", "1024", "-O", "64bit,metadata_csum"],
            true,
        );
    }
}

#[test]
fn built_ext4_inline_data() {
    if tool("ext4 inline", "mke2fs") {
        check_built(&["-t", "ext4", "-O", "inline_data", "-I", "256"], false);
    }
}

#[test]
fn built_ext4_meta_bg() {
    if tool("ext4 meta_bg", "mke2fs") {
        check_built(
            &["-t", "ext4", "-b", "1024", "-O", "meta_bg,^resize_inode"],
            false,
        );
    }
}

#[test]
fn built_ext2_and_ext3_indirect_blocks() {
    if tool("ext2", "mke2fs") {
        check_built(&["-t", "ext2", "-b", "1024"], false);
        check_built(&["-t", "ext3"], false);
    }
}

/// Builds the standard rootfs as ext4 with 1 KiB blocks and returns (dir guard, image bytes).
fn built_image() -> (tempfile::TempDir, std::path::PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    make_rootfs(&root);
    let img = t.path().join("fs.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    run(
        "mke2fs",
        &[
            "-q",
            "-F",
            "-t",
            "ext4",
            "-b",
            "1024",
            "-d",
            root.to_str().unwrap(),
            img.to_str().unwrap(),
        ],
    );
    (t, img)
}

#[test]
fn extent_loop_is_an_error_naming_the_block() {
    if !tool("ext4 extent loop", "mke2fs") || !tool("ext4 extent loop", "debugfs") {
        return;
    }
    let (_t, img) = built_image();
    let stat = run("debugfs", &["-R", "stat /sparse", img.to_str().unwrap()]);
    // "(ETB0):1639, (0-3):…": the leaf block under the inode's index root.
    let etb: u64 = stat
        .split("(ETB0):")
        .nth(1)
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut bytes = std::fs::read(&img).unwrap();
    let at = etb as usize * 1024;
    // Make the leaf an index node (depth 1) whose one entry points back at itself.
    bytes[at + 2..at + 4].copy_from_slice(&1u16.to_le_bytes());
    bytes[at + 6..at + 8].copy_from_slice(&1u16.to_le_bytes());
    bytes[at + 12..at + 16].copy_from_slice(&0u32.to_le_bytes());
    bytes[at + 16..at + 20].copy_from_slice(&(etb as u32).to_le_bytes());
    bytes[at + 20..at + 22].copy_from_slice(&0u16.to_le_bytes());
    let fs = Ext4::open(bytes).unwrap();
    let err = fs
        .read_file(&TreePath::new("/sparse"), 1 << 30)
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, Error::Corrupt { what: "ext4 extent header", offset, .. } if offset == at as u64),
        "{msg}"
    );
    assert!(msg.contains("loop"), "{msg}");
    // The rest of the filesystem still reads.
    assert_eq!(fs.read_file(&TreePath::new("/one"), 10).unwrap(), b"x");
}

#[test]
fn directory_cycle_is_an_error() {
    if !tool("ext4 dir cycle", "mke2fs") || !tool("ext4 dir cycle", "debugfs") {
        return;
    }
    let (_t, img) = built_image();
    // A hard link to the root inside /usr: /usr/loop/usr/loop/… would never end.
    run(
        "debugfs",
        &["-w", "-R", "ln / /usr/loop", img.to_str().unwrap()],
    );
    let fs = Ext4::open(std::fs::File::open(&img).unwrap()).unwrap();
    let err = walk(&fs, &TreePath::root(), 1_000_000, 256).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            Error::Corrupt {
                what: "ext4 directory",
                ..
            }
        ),
        "{msg}"
    );
    assert!(msg.contains("cycle"), "{msg}");
}

#[test]
fn not_ext4_is_a_clear_error() {
    let err = Ext4::open(vec![0u8; 4096]).err().unwrap();
    assert_eq!(
        err.to_string(),
        "corrupt ext4 superblock at offset 1024: s_magic: 0x0000 is not 0xef53"
    );
    let err = Ext4::open(vec![0u8; 100]).err().unwrap();
    assert!(
        err.to_string()
            .starts_with("corrupt ext4 superblock at offset 1024: truncated"),
        "{err}"
    );
}
