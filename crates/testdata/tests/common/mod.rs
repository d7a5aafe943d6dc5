//! Shared checks for generated snapshots: digests of trees, list/hash consistency.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use altrepodb_rpm::tags::Tag;
use altrepodb_rpm::{apt_headers, digest_bytes, DigestAlgo};
use sha2::Digest as _;

/// Decompresses an `.xz` file.
pub fn unxz(path: &Path) -> Vec<u8> {
    let f = fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    liblzma::read::XzDecoder::new(f)
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

/// Every regular file, symlink and directory under `root`, as relative path → kind and
/// content digest (symlinks by target); sorted, so two trees compare as maps.
pub fn tree(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let meta = fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(
                    rel,
                    format!("link {}", fs::read_link(&p).unwrap().display()),
                );
            } else if meta.is_dir() {
                out.insert(rel.clone(), "dir".into());
                walk(root, &p, out);
            } else {
                out.insert(
                    rel,
                    hex::encode(sha2::Sha256::digest(fs::read(&p).unwrap())),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// One digest of a whole tree.
pub fn tree_digest(root: &Path) -> String {
    let mut h = sha2::Sha256::new();
    for (k, v) in tree(root) {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([b'\n']);
    }
    hex::encode(h.finalize())
}

/// The `rpm` program; the tests need it and say so loudly.
pub fn rpm() -> Command {
    let ok = Command::new("rpm")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "the `rpm` program (Debian package `rpm`) is required by these tests but is not runnable"
    );
    Command::new("rpm")
}

/// Checks every package with `rpm -qp --qf '%{NAME}'` (against `names`) and `rpm -K`.
pub fn rpm_check(files: &[PathBuf], names: &[String], dbpath: &Path) {
    for (chunk, names) in files.chunks(200).zip(names.chunks(200)) {
        let out = rpm()
            .arg("--dbpath")
            .arg(dbpath)
            .args(["-qp", "--qf", "%{NAME}\\n"])
            .args(chunk)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "rpm -qp failed: {stderr}");
        let got: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
        assert_eq!(
            got,
            names.iter().map(String::as_str).collect::<Vec<_>>(),
            "{stderr}"
        );
        let out = rpm()
            .arg("--dbpath")
            .arg(dbpath)
            .arg("-K")
            .args(chunk)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "rpm -K failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout.lines().count(), chunk.len(), "{stdout}");
        for line in stdout.lines() {
            assert!(line.ends_with("digests OK"), "{line}");
        }
    }
}

/// What one APT list record says about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    pub file_name: String,
    pub size: u64,
    pub md5: String,
    pub blake2b: String,
    pub name: String,
    pub directory: String,
}

/// Parses an APT header list with the reader.
pub fn list_entries(path: &Path) -> Vec<ListEntry> {
    let buf = unxz(path);
    apt_headers(&buf)
        .map(|h| {
            let h = h.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            ListEntry {
                file_name: h.text(Tag::APTINDEXLEGACYFILENAME).unwrap().into_owned(),
                size: h.u64(Tag::APTINDEXLEGACYFILESIZE).unwrap().unwrap(),
                md5: h.text(Tag::APTINDEXLEGACYMD5).unwrap().into_owned(),
                blake2b: h.text(Tag::APTINDEXLEGACYBLAKE2B).unwrap().into_owned(),
                name: h.text(Tag::NAME).unwrap().into_owned(),
                directory: h.text(Tag::APTINDEXLEGACYDIRECTORY).unwrap().into_owned(),
            }
        })
        .collect()
}

/// Checks lists, hash lists and release files of the snapshot at `root` against the
/// files; returns the number of binaries listed.
pub fn check_lists(root: &Path, arches: &[String]) -> usize {
    let mut binaries = 0;
    let src_bytes = fs::read(root.join(&arches[0]).join("base/srclist.classic.xz")).unwrap();
    for a in arches {
        let base = root.join(a).join("base");
        // srclist: the same in every arch dir, matching files/SRPMS.
        assert_eq!(
            fs::read(base.join("srclist.classic.xz")).unwrap(),
            src_bytes,
            "{a}"
        );
        let release = fs::read_to_string(base.join("release")).unwrap();
        assert!(release.contains("Origin: ALT Linux Team\n"), "{release}");
        assert!(
            release.lines().any(|l| l == "Components: classic"),
            "{release}"
        );
        assert!(release
            .lines()
            .any(|l| l.split(':').next() == Some("BLAKE2b")));
        assert!(release.contains(&format!("Architectures: {a}\n")));
        // The release file's digests of the xz lists are right.
        let xz = fs::read(base.join("pkglist.classic.xz")).unwrap();
        let d = digest_bytes(&xz, &[DigestAlgo::Md5, DigestAlgo::Blake2b512]);
        let md5 = d.hex(DigestAlgo::Md5).unwrap();
        assert!(
            release.contains(&format!(" {md5} {} base/pkglist.classic.xz\n", xz.len())),
            "{release}"
        );
        let b2 = d.hex(DigestAlgo::Blake2b512).unwrap();
        assert!(release.contains(&format!(" {b2} {} base/pkglist.classic.xz\n", xz.len())));

        let entries = list_entries(&base.join("pkglist.classic.xz"));
        let mut listed = BTreeSet::new();
        for e in &entries {
            assert_eq!(e.directory, "RPMS.classic");
            let path = root.join(a).join("RPMS.classic").join(&e.file_name);
            let link = fs::read_link(&path).unwrap();
            assert_eq!(
                link,
                PathBuf::from(format!("../../files/{a}/RPMS/{}", e.file_name))
            );
            check_file(&path, e);
            listed.insert(e.file_name.clone());
        }
        let on_disk: BTreeSet<String> = fs::read_dir(root.join(a).join("RPMS.classic"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(listed, on_disk, "{a}: pkglist vs RPMS.classic");
        check_hash_list(root, a, &on_disk, &root.join("files").join(a).join("RPMS"));
        binaries += entries.len();
    }
    let entries = list_entries(&root.join(&arches[0]).join("base/srclist.classic.xz"));
    let mut listed = BTreeSet::new();
    for e in &entries {
        assert_eq!(e.directory, "SRPMS.classic");
        check_file(&root.join("files/SRPMS").join(&e.file_name), e);
        // And through the arch dirs' SRPMS.classic symlinks.
        assert!(root
            .join(&arches[0])
            .join("SRPMS.classic")
            .join(&e.file_name)
            .is_file());
        listed.insert(e.file_name.clone());
    }
    let on_disk: BTreeSet<String> = fs::read_dir(root.join("files/SRPMS"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, on_disk, "srclist vs files/SRPMS");
    check_hash_list(root, "src", &on_disk, &root.join("files/SRPMS"));
    binaries
}

fn check_file(path: &Path, e: &ListEntry) {
    let bytes = fs::read(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let d = digest_bytes(&bytes, &[DigestAlgo::Md5, DigestAlgo::Blake2b512]);
    assert_eq!(e.size, bytes.len() as u64, "{}", e.file_name);
    assert_eq!(e.md5, d.hex(DigestAlgo::Md5).unwrap(), "{}", e.file_name);
    assert_eq!(
        e.blake2b,
        d.hex(DigestAlgo::Blake2b512).unwrap(),
        "{}",
        e.file_name
    );
}

fn check_hash_list(root: &Path, arch: &str, names: &BTreeSet<String>, dir: &Path) {
    let text = String::from_utf8(unxz(
        &root.join("files/list").join(format!("{arch}.hash.xz")),
    ))
    .unwrap();
    let mut seen = BTreeSet::new();
    for line in text.lines() {
        let (sha, name) = line.split_once(' ').unwrap();
        let bytes = fs::read(dir.join(name)).unwrap();
        assert_eq!(
            sha,
            hex::encode(sha2::Sha256::digest(&bytes)),
            "{arch}: {name}"
        );
        seen.insert(name.to_string());
    }
    assert_eq!(&seen, names, "{arch}.hash.xz");
}
