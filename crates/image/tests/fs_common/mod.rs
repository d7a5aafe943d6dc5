//! Helpers shared by the filesystem reader tests: listings of a tree read through our readers
//! and of the independent references (the host directory an image was built from, Debian tools).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use altrepodb_image::{walk, FileKind, FileTree, TreePath};
use md5::{Digest, Md5};

/// What the tests compare of one entry. `None` fields are not compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Full POSIX mode (type and permission bits).
    pub mode: u32,
    /// Owner id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Size for regular files and symlinks.
    pub size: Option<u64>,
    /// Modification time.
    pub mtime: Option<i64>,
    /// Symlink target.
    pub target: Option<String>,
    /// MD5 (hex) of a regular file's content.
    pub md5: Option<String>,
}

/// Hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every entry below the root of `tree`, with content hashes and link targets.
pub fn tree_listing(tree: &dyn FileTree) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    for (path, meta) in walk(tree, &TreePath::root(), 1_000_000, 256).expect("walk") {
        let mut e = Entry {
            mode: meta.mode(),
            uid: meta.uid,
            gid: meta.gid,
            size: None,
            mtime: Some(meta.mtime),
            target: None,
            md5: None,
        };
        match meta.kind {
            FileKind::Regular => {
                let data = tree.read_file(&path, 1 << 30).expect("read file");
                assert_eq!(data.len() as u64, meta.size, "{path}");
                e.size = Some(meta.size);
                e.md5 = Some(md5_hex(&data));
            }
            FileKind::Symlink => {
                let t = tree.read_link(&path).expect("read link");
                assert_eq!(t.len() as u64, meta.size, "{path}: symlink size");
                e.size = Some(meta.size);
                e.target = Some(t);
            }
            _ => {}
        }
        // Directory lookups must agree with the listing.
        assert_eq!(tree.metadata(&path).expect("metadata"), meta, "{path}");
        out.insert(path.to_string(), e);
    }
    out
}

/// Every entry below `dir` on the host, as `lstat` and the file contents say.
pub fn host_listing(dir: &Path) -> BTreeMap<String, Entry> {
    fn visit(base: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
        for ent in std::fs::read_dir(dir).unwrap() {
            let ent = ent.unwrap();
            let p = ent.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = format!("/{}", p.strip_prefix(base).unwrap().to_str().unwrap());
            let mut e = Entry {
                mode: m.mode(),
                uid: m.uid(),
                gid: m.gid(),
                size: None,
                mtime: Some(m.mtime()),
                target: None,
                md5: None,
            };
            if m.file_type().is_file() {
                e.size = Some(m.len());
                e.md5 = Some(md5_hex(&std::fs::read(&p).unwrap()));
            } else if m.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                e.size = Some(m.len());
                e.target = Some(t.to_str().unwrap().to_owned());
            }
            out.insert(rel, e);
            if m.is_dir() {
                visit(base, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    visit(dir, dir, &mut out);
    out
}

/// Asserts two listings are equal, reporting the first differing path.
pub fn assert_same(
    ours: &BTreeMap<String, Entry>,
    reference: &BTreeMap<String, Entry>,
    what: &str,
) {
    let only_ours: Vec<_> = ours
        .keys()
        .filter(|k| !reference.contains_key(*k))
        .collect();
    let only_ref: Vec<_> = reference
        .keys()
        .filter(|k| !ours.contains_key(*k))
        .collect();
    assert!(
        only_ours.is_empty() && only_ref.is_empty(),
        "{what}: paths only we list: {only_ours:?}; only the reference lists: {only_ref:?}"
    );
    for (k, v) in reference {
        assert_eq!(&ours[k], v, "{what}: {k}");
    }
}

/// True when `name` is on `PATH`. Otherwise prints a skip line, or panics when every
/// prerequisite is required (CI).
pub fn tool(test: &str, name: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
        || Path::new("/usr/sbin").join(name).is_file()
        || Path::new("/sbin").join(name).is_file();
    if !found {
        let msg = format!("{test}: {name} is not installed");
        if altrepodb_testdata::corpus::required() {
            panic!("{msg}");
        }
        eprintln!("{test}: skipped: {msg}");
    }
    found
}

/// Runs `program args…`, asserts success, returns stdout.
pub fn run(program: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(program);
    cmd.args(args);
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{path}:/usr/sbin:/sbin"));
    // Image builders would otherwise stamp every file with it.
    cmd.env_remove("SOURCE_DATE_EPOCH");
    let out = cmd.output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A rootfs with every kind of entry the readers must handle: files of several sizes (empty,
/// one byte, block-sized, multi-block, sparse), nested directories, a directory of many entries,
/// fast and slow symlinks, a fifo, odd permission bits, owners, and a non-ASCII name.
pub fn make_rootfs(dir: &Path) {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let w = |rel: &str, data: &[u8]| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
    };
    w(
        "etc/os-release",
        b"NAME=\"ALT\"\nID=altlinux\nVERSION_ID=p10\n",
    );
    w("empty", b"");
    w("one", b"x");
    w("block4k", &[7u8; 4096]);
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    w("var/lib/rpm/Packages", &big);
    w(
        "usr/share/doc/\u{442}\u{435}\u{441}\u{442}.txt",
        "проверка\n".as_bytes(),
    );
    for i in 0..300 {
        w(
            &format!("usr/bin/prog-with-a-longish-name-{i:04}"),
            format!("#!/bin/sh\necho {i}\n").as_bytes(),
        );
    }
    // Data every other 8 KiB: many extents (an extent tree with an index level in ext4).
    let mut sparse = Vec::new();
    for i in 0..40u8 {
        sparse.extend(std::iter::repeat_n(0u8, 8192));
        sparse.extend(std::iter::repeat_n(i + 1, 8192));
    }
    w("sparse", &sparse);
    symlink("os-release", dir.join("etc/fast-link")).unwrap();
    symlink(
        "/usr/share/doc/a/very/long/target/path/that/does/not/fit/into/sixty/bytes/of/i_block",
        dir.join("slow-link"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("empty-dir")).unwrap();
    let fifo = dir.join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o640) }, 0);
    std::fs::set_permissions(dir.join("one"), std::fs::Permissions::from_mode(0o4755)).unwrap();
    std::fs::set_permissions(
        dir.join("empty-dir"),
        std::fs::Permissions::from_mode(0o1777),
    )
    .unwrap();
    // SAFETY: a valid NUL-terminated path; fails harmlessly when not root.
    let owned = std::ffi::CString::new(dir.join("block4k").to_str().unwrap()).unwrap();
    unsafe { libc::chown(owned.as_ptr(), 1234, 5678) };
}
