//! Tar images built by GNU tar (gnu, pax and ustar headers; with and without the `./`
//! prefix; plain, gzip, xz, zstd and bzip2) read back as trees and compared member for
//! member with `tar -tv`, and file contents with the files they were made from.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use altrepodb_image::tartree::{open_tar, Limits, Select};
use altrepodb_image::{resolve, walk, Error, FileKind, FileTree, TreePath};
use common::{alt_packages, have, make_rootfs, sh};

/// Per path: type char, permissions, size, uid, gid, link target.
type Listing = BTreeMap<String, (char, u32, Option<u64>, u32, u32, Option<String>)>;

/// (type char, permissions, size for regular files, uid, gid, link target) per path, as
/// `tar -tv --numeric-owner` lists the archive.
fn tar_listing(dir: &Path, archive: &str) -> Listing {
    let out = sh(dir, &format!("tar -tv --numeric-owner -f {archive}"));
    let mut map = BTreeMap::new();
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let mode = f[0];
        let (uid, gid) = f[1].split_once('/').unwrap();
        let size: u64 = f[2].parse().unwrap();
        let rest = f[5..].join(" ");
        let kind = mode.chars().next().unwrap();
        let (name, link) = match kind {
            'l' => {
                let (n, l) = rest.split_once(" -> ").unwrap();
                (n.to_owned(), Some(l.to_owned()))
            }
            'h' => {
                let (n, l) = rest.split_once(" link to ").unwrap();
                (n.to_owned(), Some(l.to_owned()))
            }
            _ => (rest, None),
        };
        let path = TreePath::new(&name);
        if path.is_root() {
            continue;
        }
        let mut perms = 0u32;
        for (i, c) in mode[1..].chars().enumerate() {
            let bit = 1 << (8 - i);
            match c {
                'r' | 'w' | 'x' => perms |= bit,
                's' | 't' => perms |= bit | [0o4000, 0o2000, 0o1000][i / 3],
                'S' | 'T' => perms |= [0o4000, 0o2000, 0o1000][i / 3],
                _ => {}
            }
        }
        let kind = if kind == 'h' { '-' } else { kind };
        map.insert(
            path.to_string(),
            (
                kind,
                perms,
                (kind == '-' && link.is_none()).then_some(size),
                uid.parse().unwrap(),
                gid.parse().unwrap(),
                link.filter(|_| kind == 'l'),
            ),
        );
    }
    map
}

fn our_listing(tree: &dyn FileTree) -> Listing {
    walk(tree, &TreePath::root(), 10_000, 64)
        .unwrap()
        .into_iter()
        .map(|(p, m)| {
            let kind = match m.kind {
                FileKind::Regular => '-',
                FileKind::Directory => 'd',
                FileKind::Symlink => 'l',
                FileKind::Fifo => 'p',
                FileKind::CharDevice => 'c',
                FileKind::BlockDevice => 'b',
                FileKind::Socket => 's',
            };
            let link = (m.kind == FileKind::Symlink).then(|| tree.read_link(&p).unwrap());
            (
                p.to_string(),
                (kind, m.permissions, None, m.uid, m.gid, link),
            )
        })
        .collect()
}

#[test]
fn gnu_tar_archives_read_member_for_member() {
    if !have(
        "tar_images",
        &["tar", "gzip", "xz", "zstd", "bzip2", "date"],
    ) {
        return;
    }
    let Some(packages) = alt_packages("tar_images") else {
        return;
    };
    let packages_bytes = std::fs::read(&packages).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    make_rootfs(&root, &packages);
    let mtime: i64 = sh(tmp.path(), "date -u -d '2024-05-06 07:08:09' +%s")
        .trim()
        .parse()
        .unwrap();
    sh(
        tmp.path(),
        "TZ=UTC touch -d '2024-05-06 07:08:09' root/usr/lib/os-release",
    );
    let deep = "/a/very/long/directory/name/that/goes/on/and/on/for/more/than/one/hundred/bytes/in/total/file-with-a-long-name";
    let mut checked = 0;
    for format in ["gnu", "pax", "ustar"] {
        for (prefix, members) in [("dot", "."), ("bare", "etc usr var a empty")] {
            for (ext, compress) in [
                ("", "cat"),
                (".gz", "gzip"),
                (".xz", "xz"),
                (".zst", "zstd -q"),
                (".bz2", "bzip2"),
            ] {
                let name = format!("{format}-{prefix}.tar{ext}");
                sh(
                    tmp.path(),
                    &format!("tar --format={format} -C root -cf - {members} | {compress} > {name}"),
                );
                let plain = format!("{format}-{prefix}.tar");
                if ext.is_empty() {
                    // tar -tv lists the plain archive; the compressed ones hold the same members.
                } else {
                    sh(tmp.path(), &format!("test -e {plain}"));
                }
                let tree = open_tar(
                    &tmp.path().join(&name),
                    &Select::rpmdb_and_os_release(),
                    Limits::default(),
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"));
                let mut want = tar_listing(tmp.path(), &plain);
                let mut got = our_listing(&tree);
                // Sizes of regular files: compared through metadata below.
                for (p, v) in want.iter_mut() {
                    if let Some(size) = v.2.take() {
                        assert_eq!(
                            tree.metadata(&TreePath::new(p)).unwrap().size,
                            size,
                            "{name}: size of {p}"
                        );
                    }
                }
                for v in got.values_mut() {
                    v.2 = None;
                }
                assert_eq!(got, want, "{name}: listing differs from tar -tv");

                let (real, meta) = resolve(&tree, &TreePath::new("etc/os-release")).unwrap();
                assert_eq!(real.as_str(), "/usr/lib/os-release", "{name}");
                assert_eq!(meta.mtime, mtime, "{name}");
                let text = tree.read_file(&real, 1 << 20).unwrap();
                assert!(text.starts_with(b"NAME=\"ALT Workstation\"\n"), "{name}");
                assert_eq!(
                    tree.read_file(&TreePath::new("/var/lib/rpm/Packages"), 1 << 30)
                        .unwrap(),
                    packages_bytes,
                    "{name}"
                );
                assert_eq!(
                    tree.read_file(&TreePath::new("/var/lib/rpm/Name.hardlink"), 100)
                        .unwrap(),
                    b"index",
                    "{name}"
                );
                let deep_read = tree.read_file(&TreePath::new(deep), 100);
                if ext.is_empty() {
                    // A plain tar serves every member from the file.
                    assert_eq!(deep_read.unwrap(), b"deep", "{name}");
                } else {
                    // Compressed: only the selection was kept.
                    assert!(
                        matches!(deep_read, Err(Error::Unsupported { .. })),
                        "{name}: {deep_read:?}"
                    );
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 30);
}

#[test]
fn a_link_out_of_the_selection_is_read_in_a_second_pass() {
    if !have("tar_images", &["tar", "gzip"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    sh(
        tmp.path(),
        "mkdir -p r/etc r/opt/release && printf 'ID=altlinux\\n' > r/opt/release/os-release \
         && ln -s /opt/release/os-release r/etc/os-release && tar -C r -czf t.tar.gz .",
    );
    let tree = open_tar(
        &tmp.path().join("t.tar.gz"),
        &Select::none().path("/etc/os-release"),
        Limits::default(),
    )
    .unwrap();
    let (real, _) = resolve(&tree, &TreePath::new("/etc/os-release")).unwrap();
    assert_eq!(real.as_str(), "/opt/release/os-release");
    assert_eq!(tree.read_file(&real, 100).unwrap(), b"ID=altlinux\n");
}

#[test]
fn corrupt_archives_fail_with_the_structure_and_offset() {
    if !have("tar_images", &["tar", "gzip", "head", "dd"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    sh(
        tmp.path(),
        "mkdir -p r/var/lib/rpm && head -c 100000 /dev/urandom > r/var/lib/rpm/Packages \
         && tar -C r -cf t.tar . && head -c 60000 t.tar > cut.tar \
         && gzip -c t.tar > t.tar.gz && head -c 50000 t.tar.gz > cut.tar.gz \
         && cp t.tar.gz bad.tar.gz && printf 'garbage!garbage!' | dd of=bad.tar.gz bs=1 seek=4000 conv=notrunc 2>/dev/null \
         && printf 'not a tar archive at all' > notar && head -c 10240 /dev/zero >> notar",
    );
    let open = |n: &str| {
        open_tar(
            &tmp.path().join(n),
            &Select::rpmdb_and_os_release(),
            Limits::default(),
        )
    };
    let e = open("cut.tar")
        .err()
        .expect("a truncated tar is an error")
        .to_string();
    assert!(e.contains("tar") && e.contains("offset"), "{e}");
    let e = open("cut.tar.gz")
        .err()
        .expect("a truncated tar.gz is an error")
        .to_string();
    assert!(e.contains("offset"), "{e}");
    let e = open("bad.tar.gz")
        .err()
        .expect("a damaged gzip stream is an error")
        .to_string();
    assert!(
        e.contains("gzip") || e.contains("deflate") || e.contains("corrupt"),
        "{e}"
    );
    let e = open("notar").err().expect("not a tar").to_string();
    assert!(e.contains("corrupt tar header at offset 0"), "{e}");
}
