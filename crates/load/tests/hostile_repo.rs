//! Hostile snapshots (issue 10 §4–5): generated snapshots edited by hand so that a list names
//! a path instead of a file, a symlink leads out of the snapshot, or a list or file is larger
//! than its cap. Each is refused with an error naming the file; links inside the snapshot
//! (and a root reached through a link) keep working.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use altrepodb_load::bounded::ReadLimits;
use altrepodb_load::repo::layout::read_layout;
use altrepodb_load::repo::scan::scan;
use altrepodb_load::repo::{load_repo, RepoLoadOptions};
use altrepodb_load::NoObserver;
use altrepodb_testdata::{generate_repo, RepoManifest, RepoSpec};
use common::TestDb;

fn snapshot(dir: &Path) -> RepoManifest {
    generate_repo(dir, &RepoSpec::new(5, 11)).unwrap()
}

fn unxz(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    liblzma::read::XzDecoder::new(fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn xz(path: &Path, data: &[u8]) {
    let mut e = liblzma::write::XzEncoder::new(fs::File::create(path).unwrap(), 6);
    e.write_all(data).unwrap();
    e.finish().unwrap();
}

/// Replaces every occurrence of `from` by `to` (same length) in the decompressed list.
fn edit_list(path: &Path, from: &str, to: &str) {
    assert_eq!(
        from.len(),
        to.len(),
        "same-length edits keep the header's offsets"
    );
    let mut data = unxz(path);
    let mut n = 0;
    let mut i = 0;
    while let Some(p) = find(&data[i..], from.as_bytes()) {
        data[i + p..i + p + from.len()].copy_from_slice(to.as_bytes());
        i += p + from.len();
        n += 1;
    }
    assert!(n > 0, "{from} not in {}", path.display());
    xz(path, &data);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn first_file(dir: &Path, suffix: &str) -> String {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    names.into_iter().next().expect("a package")
}

fn scan_err(root: &Path, limits: &ReadLimits) -> String {
    match scan(root, limits) {
        Ok(_) => panic!("{}: scan succeeded", root.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn names_from_lists_must_be_file_names() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    snapshot(root);
    // The original would have opened files/SRPMS/<name> for any name a list gave.
    let layout = read_layout(root).unwrap();
    for name in ["/etc/shadow", "../../etc/shadow", "..", ""] {
        let e = layout.srpm_path(name).unwrap_err().to_string();
        assert!(e.contains("is not a file name"), "{name}: {e}");
        let e = layout.rpm_path("x86_64", "classic", name).unwrap_err();
        assert!(e.to_string().contains("is not a file name"), "{e}");
    }

    // A source list naming a path.
    let src = first_file(&root.join("files/SRPMS"), ".src.rpm");
    let list = root.join("noarch/base/srclist.classic.xz");
    let hostile = format!("../{}", &src[3..]);
    edit_list(&list, &src, &hostile);
    let e = scan_err(root, &ReadLimits::default());
    assert!(
        e.contains(&list.display().to_string())
            && e.contains("header at offset")
            && e.contains(&format!("'{hostile}' is not a file name: contains '/'")),
        "{e}"
    );
    edit_list(&list, &hostile, &src);
    scan(root, &ReadLimits::default()).expect("repaired");

    // A binary list naming an absolute path.
    let rpm = first_file(&root.join("files/x86_64/RPMS"), ".rpm");
    let list = root.join("x86_64/base/pkglist.classic.xz");
    let hostile = format!("/{}", &rpm[1..]);
    edit_list(&list, &rpm, &hostile);
    let e = scan_err(root, &ReadLimits::default());
    assert!(
        e.contains("pkglist.classic.xz") && e.contains("is not a file name"),
        "{e}"
    );
    edit_list(&list, &hostile, &rpm);

    // A hash list naming a path (line 2 of three).
    let hashes = root.join("files/list/src.hash.xz");
    let good = unxz(&hashes);
    let digest = "ab".repeat(32);
    let text = String::from_utf8(good.clone()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let evil = format!("{digest} ../../../../etc/shadow");
    lines.insert(1, &evil);
    xz(&hashes, (lines.join("\n") + "\n").as_bytes());
    let e = scan_err(root, &ReadLimits::default());
    assert!(
        e.contains(&format!("{}: line 2: ", hashes.display()))
            && e.contains("'../../../../etc/shadow' is not a file name"),
        "{e}"
    );
    xz(&hashes, &good);

    // A component name is part of file names (RPMS.<comp>, pkglist.<comp>.xz).
    let release = root.join("x86_64/base/release");
    let text = fs::read_to_string(&release).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("Components:"))
        .unwrap()
        + 1;
    fs::write(
        &release,
        text.replace("Components: classic", "Components: classic ../../../tmp"),
    )
    .unwrap();
    let e = scan_err(root, &ReadLimits::default());
    assert!(
        e.contains(&format!(
            "{}: line {line}: component '../../../tmp'",
            release.display()
        )),
        "{e}"
    );
}

/// `dir/name` moved to `outside/name` and replaced by an absolute symlink to it.
fn move_out(path: &Path, outside: &Path) -> PathBuf {
    let target = outside.join(path.file_name().unwrap());
    fs::rename(path, &target).unwrap();
    symlink(&target, path).unwrap();
    target
}

fn undo_move(path: &Path, target: &Path) {
    fs::remove_file(path).unwrap();
    fs::rename(target, path).unwrap();
}

#[test]
fn symlinks_out_of_the_snapshot_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = d.path();
    snapshot(root);
    let limits = ReadLimits::default();
    for rel in [
        "files/list/task.info",
        "x86_64/base/release",
        "noarch/base/srclist.classic.xz",
        "x86_64/base/pkglist.classic.xz",
        "files/list/x86_64.hash.xz",
    ] {
        let path = root.join(rel);
        let target = move_out(&path, outside.path());
        let e = scan_err(root, &limits);
        assert!(
            e.contains(&format!("{}: resolves to ", path.display())) && e.contains("outside"),
            "{rel}: {e}"
        );
        undo_move(&path, &target);
    }
    // A source package: refused when its digests must be computed from it (no hash list)…
    let src = first_file(&root.join("files/SRPMS"), ".src.rpm");
    let path = root.join("files/SRPMS").join(&src);
    let target = move_out(&path, outside.path());
    let hashes = root.join("files/list/src.hash.xz");
    let saved = fs::read(&hashes).unwrap();
    fs::remove_file(&hashes).unwrap();
    let e = scan_err(root, &limits);
    assert!(
        e.contains(&path.display().to_string()) && e.contains("outside"),
        "{e}"
    );
    fs::write(&hashes, saved).unwrap();
    // …and by the loader's path lookup when the lists state every digest.
    let inv = scan(root, &limits).unwrap();
    let e = inv.layout.srpm_path(&src).unwrap_err().to_string();
    assert!(e.contains("outside"), "{e}");
    undo_move(&path, &target);
    // The root itself may be a link; relative links inside the tree stay usable.
    let links = tempfile::tempdir().unwrap();
    let latest = links.path().join("latest");
    symlink(root, &latest).unwrap();
    fs::create_dir(root.join("pool")).unwrap();
    fs::rename(&path, root.join("pool").join(&src)).unwrap();
    symlink(format!("../../pool/{src}"), &path).unwrap();
    let inv = scan(&latest, &limits).unwrap();
    assert_eq!(
        inv.layout.srpm_path(&src).unwrap(),
        latest.join("files/SRPMS").join(&src)
    );
}

/// One `.xz` file whose LZMA2 dictionary is declared as 4 GiB: decoding it would need that
/// much memory. The block header is edited and its CRC32 recomputed.
fn declare_huge_dictionary(path: &Path) {
    let mut b = fs::read(path).unwrap();
    let h = 12; // after the stream header
    let size = (usize::from(b[h]) + 1) * 4;
    let flags = b[h + 1];
    assert_eq!(flags & 0x03, 0, "one filter");
    let mut p = h + 2;
    for present in [flags & 0x40 != 0, flags & 0x80 != 0] {
        if present {
            while b[p] & 0x80 != 0 {
                p += 1;
            }
            p += 1;
        }
    }
    assert_eq!(&b[p..p + 2], [0x21, 0x01], "LZMA2 with one property byte");
    b[p + 2] = 40; // dictionary size 4 GiB - 1
    let crc = crc32(&b[h..h + size - 4]);
    b[h + size - 4..h + size].copy_from_slice(&crc.to_le_bytes());
    fs::write(path, b).unwrap();
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &x in data {
        c ^= u32::from(x);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[test]
fn lists_and_files_over_their_caps_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    snapshot(root);
    let list = root.join("x86_64/base/pkglist.classic.xz");
    // The largest list (header lists and hash lists) decides: at its size the scan passes,
    // one byte less is refused, naming the file, the limit and the knob.
    let layout = read_layout(root).unwrap();
    let mut lists: Vec<PathBuf> = layout.lists.iter().map(|l| l.path.clone()).collect();
    for e in fs::read_dir(root.join("files/list")).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with(".hash.xz") {
            lists.push(p);
        }
    }
    let (largest, path) = lists
        .iter()
        .map(|p| (unxz(p).len() as u64, p.clone()))
        .max()
        .unwrap();
    let at = ReadLimits {
        list_bytes: largest,
        ..ReadLimits::default()
    };
    scan(root, &at).expect("every list fits");
    let below = ReadLimits {
        list_bytes: largest - 1,
        ..ReadLimits::default()
    };
    let e = scan_err(root, &below);
    assert!(
        e.contains(&path.display().to_string())
            && e.contains(&format!(
                "decompressed list is larger than the limit of {} bytes (set ALTREPODB_MAX_LIST_BYTES to change it)",
                largest - 1
            )),
        "{e}"
    );
    // Hash lists are streamed line by line; a line has at most 4 KiB.
    let hashes = root.join("files/list/x86_64.hash.xz");
    let saved = fs::read(&hashes).unwrap();
    xz(
        &hashes,
        format!("{} {}\n", "ab".repeat(32), "x".repeat(5000)).as_bytes(),
    );
    let e = scan_err(root, &ReadLimits::default());
    assert!(
        e.contains("x86_64.hash.xz: line 1: line longer than 4096 bytes"),
        "{e}"
    );
    fs::write(&hashes, saved).unwrap();
    // A release file read whole is capped as a small file.
    let release = root.join("x86_64/base/release");
    let tiny = ReadLimits {
        small_file_bytes: 10,
        ..ReadLimits::default()
    };
    let e = scan_err(root, &tiny);
    assert!(
        e.contains(&release.display().to_string())
            && e.contains("larger than the limit of 10 bytes (set ALTREPODB_MAX_FILE_BYTES"),
        "{e}"
    );
    // An xz header asking for a 4 GiB dictionary is refused before anything is allocated.
    declare_huge_dictionary(&list);
    let e = scan_err(root, &ReadLimits::default());
    assert!(
        e.contains(&list.display().to_string()) && e.to_lowercase().contains("memory"),
        "{e}"
    );
}

fn opts(path: &Path) -> RepoLoadOptions {
    RepoLoadOptions {
        pkgset: "sisyphus".into(),
        path: path.to_owned(),
        date: "2024-05-01".into(),
        tag: String::new(),
        workers: 2,
        force: false,
        dry_run: false,
        limits: ReadLimits::default(),
        skip_bad: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loader_refuses_packages_outside_and_loads_through_links_inside() {
    let t = TestDb::new().await;
    let d = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = d.path();
    let m = snapshot(root);
    // RPMS.classic (a directory of links into files/x86_64/RPMS) replaced by a link to a
    // copy outside the snapshot: the first binary is refused.
    let classic = root.join("x86_64/RPMS.classic");
    let saved = root.join("x86_64/RPMS.classic.saved");
    fs::rename(&classic, &saved).unwrap();
    let copy = outside.path().join("RPMS");
    fs::create_dir(&copy).unwrap();
    for e in fs::read_dir(&saved).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    symlink(&copy, &classic).unwrap();
    let err = load_repo(t.db(), &opts(root), Arc::new(NoObserver))
        .await
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("{}/", classic.display())) && err.contains("outside"),
        "{err}"
    );
    assert_eq!(t.count("SELECT count() FROM PackageSetName").await, 0);
    // Restored (its entries are relative links into files/, as girar makes them) and read
    // through a linked root, everything loads.
    fs::remove_file(&classic).unwrap();
    fs::rename(&saved, &classic).unwrap();
    let links = tempfile::tempdir().unwrap();
    let latest = links.path().join("latest");
    symlink(root, &latest).unwrap();
    let report = load_repo(t.db(), &opts(&latest), Arc::new(NoObserver))
        .await
        .unwrap();
    let expected = m.sources + m.binaries;
    assert_eq!(report.packages_seen as u64, expected);
    assert_eq!(
        t.count("SELECT count(DISTINCT pkg_hash) FROM Packages_buffer")
            .await,
        expected
    );
}
