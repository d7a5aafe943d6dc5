//! Generated snapshots (synthetic, not real ALT data) checked against Debian's `rpm` and
//! against this project's own reader: packages, lists, hashes, manifest, determinism and
//! next-day mode. Needs the `rpm` program (Debian package `rpm`).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use altrepodb_rpm::meta::{self, DepKind, PackageMeta};
use altrepodb_rpm::tags::Tag;
use altrepodb_rpm::{digest_bytes, extract_spec, rpmvercmp, DigestAlgo, Package};
use altrepodb_testdata::{
    generate_next_day, generate_repo, GenError, PackageKind, PackageRecord, RepoManifest, RepoSpec,
};

use common::*;

fn spec(sources: usize, seed: u64) -> RepoSpec {
    RepoSpec {
        sources,
        seed,
        arches: vec!["x86_64".into(), "noarch".into(), "x86_64-i586".into()],
        ..RepoSpec::default()
    }
}

/// The file kind from FILEMODES' type bits, named like `Files.file_class`.
fn kind_of(mode: u16) -> &'static str {
    match u32::from(mode) & 0o170_000 {
        0o100_000 => "file",
        0o040_000 => "directory",
        0o120_000 => "symlink",
        0o140_000 => "socket",
        0o060_000 => "block",
        0o020_000 => "char",
        0o010_000 => "fifo",
        _ => "?",
    }
}

/// Compares one manifest record with what the reader reads from the file.
fn check_record(root: &Path, r: &PackageRecord, classes: &mut BTreeSet<&'static str>) {
    let bytes = fs::read(root.join(&r.path)).unwrap();
    let pkg = Package::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", r.path));
    let h = pkg.header();
    let m = PackageMeta::from_header(h).unwrap();
    let f = &r.file_name;
    assert_eq!(m.name, r.name, "{f}");
    assert_eq!(m.epoch, r.epoch, "{f}");
    assert_eq!(m.version, r.version, "{f}");
    assert_eq!(m.release, r.release, "{f}");
    assert_eq!(m.arch, r.arch, "{f}");
    assert_eq!(m.pkg_arch, r.pkg_arch, "{f}");
    assert_eq!(m.buildtime, r.buildtime, "{f}");
    assert_eq!(m.buildhost, r.buildhost, "{f}");
    assert_eq!(m.disttag, r.disttag, "{f}");
    assert_eq!(m.summary, r.summary, "{f}");
    assert_eq!(m.group, r.group, "{f}");
    assert_eq!(m.license, r.license, "{f}");
    assert_eq!(m.payloadcompressor, r.payload_compressor, "{f}");
    assert_eq!(hex::encode(&m.sha1header), r.sha1header, "{f}");
    assert_eq!(hex::encode(&m.sigmd5), r.sigmd5, "{f}");
    assert_eq!(h.pkg_hash().unwrap(), r.pkg_hash, "{f}");
    assert_eq!(m.sourcepackage, r.kind == PackageKind::Source, "{f}");
    match r.kind {
        PackageKind::Source => {
            assert_eq!(r.sourcerpm, r.file_name);
            assert_eq!(r.srcrpm_hash, r.pkg_hash);
            assert!(r.gen.is_some());
            let payload = &bytes[pkg.payload_offset() as usize..];
            let spec = extract_spec(payload).unwrap().expect("spec file");
            assert_eq!(spec.name_lossy(), format!("{}.spec", r.name));
            let text = String::from_utf8(spec.content).unwrap();
            assert!(text.contains(&format!("Name: {}\n", r.name)), "{text}");
            assert!(text.contains(&r.changelog[0].text), "{text}");
        }
        PackageKind::Binary => assert_eq!(m.sourcerpm, r.sourcerpm, "{f}"),
    }
    assert!(r.buildtime > 1_000_000_000);
    let (name, email) = meta::parse_packager(&r.packager);
    assert!(!name.is_empty() && email.contains('@'), "{}", r.packager);
    let cl: Vec<_> = m
        .changelog
        .iter()
        .map(|c| (c.date, c.name.clone(), c.evr.clone(), c.text.clone()))
        .collect();
    let want: Vec<_> = r
        .changelog
        .iter()
        .map(|c| (c.date, c.name.clone(), c.evr.clone(), c.text.clone()))
        .collect();
    assert_eq!(cl, want, "{f}");
    assert_eq!(r.changelog[0].evr, r.evr(), "{f}: newest entry is this EVR");
    assert!(
        r.changelog.windows(2).all(|w| w[0].date >= w[1].date),
        "{f}: newest first"
    );
    let count = |k| meta::dependencies(h, k).unwrap().len() as u32;
    assert_eq!(count(DepKind::Require), r.requires, "{f}");
    assert_eq!(count(DepKind::Provide), r.provides, "{f}");
    assert_eq!(count(DepKind::Conflict), r.conflicts, "{f}");
    assert_eq!(count(DepKind::Obsolete), r.obsoletes, "{f}");
    let files = meta::files(h).unwrap();
    assert_eq!(files.len() as u64, r.files, "{f}");
    assert_eq!(h.contains(Tag::FILECLASS), r.file_classes, "{f}");
    for fe in &files {
        let kind = kind_of(fe.mode);
        // With or without FILECLASS strings the class follows the mode: librpm reports
        // an empty class string as the file type's word (issue 11 §1).
        assert_eq!(fe.class.as_str(), kind, "{f}: {}", fe.name);
        classes.insert(kind);
    }
    let d = digest_bytes(
        &bytes,
        &[DigestAlgo::Md5, DigestAlgo::Sha256, DigestAlgo::Blake2b512],
    );
    assert_eq!(d.hex(DigestAlgo::Md5).unwrap(), r.md5, "{f}");
    assert_eq!(d.hex(DigestAlgo::Sha256).unwrap(), r.sha256, "{f}");
    assert_eq!(d.hex(DigestAlgo::Blake2b512).unwrap(), r.blake2b, "{f}");
    assert_eq!(bytes.len() as u64, r.file_size, "{f}");
}

/// Everything about one snapshot: rpm acceptance, lists, hashes, manifest vs reader.
fn check_snapshot(root: &Path) -> (RepoManifest, Vec<PackageRecord>) {
    let m = RepoManifest::read(root).unwrap();
    let recs = m.load_packages().unwrap();
    assert_eq!(recs.len() as u64, m.sources + m.binaries);
    let binaries = check_lists(root, &m.arches);
    assert_eq!(binaries as u64, m.binaries);
    let mut classes = BTreeSet::new();
    let mut total_files = 0;
    let by_file: HashMap<&str, &PackageRecord> =
        recs.iter().map(|r| (r.file_name.as_str(), r)).collect();
    for r in &recs {
        check_record(root, r, &mut classes);
        total_files += r.files;
        if r.kind == PackageKind::Binary {
            let src = by_file[r.sourcerpm.as_str()];
            assert_eq!(r.srcrpm_hash, src.pkg_hash, "{}", r.file_name);
            assert!(src.binaries.contains(&r.name), "{}", r.file_name);
            assert_eq!(
                r.classic_path.as_deref(),
                Some(format!("{}/RPMS.classic/{}", r.arch_dir, r.file_name).as_str())
            );
        }
    }
    assert_eq!(total_files, m.files);
    assert_eq!(recs.iter().map(|r| r.file_size).sum::<u64>(), m.bytes);
    let task_info = fs::read_to_string(root.join("files/list/task.info")).unwrap();
    assert_eq!(
        task_info,
        format!("task {}\nprev {}\n", m.task, m.prev_task)
    );

    let files: Vec<PathBuf> = recs.iter().map(|r| root.join(&r.path)).collect();
    let names: Vec<String> = recs.iter().map(|r| r.name.clone()).collect();
    let db = tempfile::tempdir().unwrap();
    rpm_check(&files, &names, db.path());
    (m, recs)
}

#[test]
fn snapshot_is_consistent_and_realistic() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("snap");
    let m = generate_repo(&root, &spec(40, 7)).unwrap();
    assert_eq!(m.sources, 40);
    assert_eq!(m.arches, ["x86_64", "x86_64-i586", "noarch"]);
    let (_, recs) = check_snapshot(&root);

    // Realism: what the loader must cope with is actually there.
    let bins: Vec<&PackageRecord> = recs
        .iter()
        .filter(|r| r.kind == PackageKind::Binary)
        .collect();
    let per_source: BTreeMap<&str, usize> = bins.iter().fold(BTreeMap::new(), |mut acc, r| {
        *acc.entry(r.sourcerpm.as_str()).or_default() += 1;
        acc
    });
    assert!(
        per_source.values().all(|&n| (1..=7).contains(&n)),
        "{per_source:?}"
    );
    assert!(per_source.values().any(|&n| n >= 3));
    assert!(recs.iter().any(|r| r.epoch.is_some()), "an epoch");
    assert!(bins.iter().any(|r| r.arch == "noarch") && bins.iter().any(|r| r.arch == "x86_64"));
    assert!(
        bins.iter().any(|r| r.name.starts_with("i586-")
            && r.arch == "i586"
            && r.pkg_arch == "x86_64-i586"
            && r.arch_dir == "x86_64-i586"),
        "an i586- compat package"
    );
    assert!(recs.iter().any(|r| r.changelog.len() >= 4));
    assert!(
        recs.iter()
            .any(|r| r.changelog.iter().any(|c| !c.text.is_ascii())),
        "non-ASCII text"
    );
    assert!(
        recs.iter().any(|r| r.packager.contains(" at altlinux")),
        "'at' e-mail form"
    );
    assert!(recs.iter().all(|r| r.disttag.starts_with("sisyphus+")));
    assert!(recs.iter().any(|r| r.files == 0), "an empty package");
    assert!(recs.iter().any(|r| r.files >= 100), "a big package");
    let comps: BTreeSet<&str> = recs.iter().map(|r| r.payload_compressor.as_str()).collect();
    assert!(comps.len() >= 3, "{comps:?}");

    // Set-versions, file classes, shared paths: read the headers.
    let mut set_versions = 0;
    let mut classes = BTreeSet::new();
    let mut owners: HashMap<String, usize> = HashMap::new();
    for r in &bins {
        let bytes = fs::read(root.join(&r.path)).unwrap();
        let pkg = Package::parse(&bytes).unwrap();
        let h = pkg.header();
        for d in meta::dependencies(h, DepKind::Require)
            .unwrap()
            .into_iter()
            .chain(meta::dependencies(h, DepKind::Provide).unwrap())
        {
            if d.version.starts_with("set:") {
                set_versions += 1;
            }
        }
        for f in meta::files(h).unwrap() {
            classes.insert(kind_of(f.mode));
            *owners.entry(f.name).or_default() += 1;
        }
    }
    assert!(set_versions > 10, "{set_versions}");
    for c in ["file", "directory", "symlink"] {
        assert!(classes.contains(c), "{classes:?}");
    }
    assert!(
        owners.values().any(|&n| n > 1),
        "a path owned by two packages"
    );
    assert!(bins.iter().any(|r| r.file_classes) && bins.iter().any(|r| !r.file_classes));
}

#[test]
fn device_nodes_fifos_and_sockets() {
    // Every snapshot of four or more sources has a `-devices` package (index 3).
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("snap");
    let m = generate_repo(&root, &RepoSpec::new(4, 3)).unwrap();
    let recs = m.load_packages().unwrap();
    let dev: Vec<&PackageRecord> = recs
        .iter()
        .filter(|r| r.name.ends_with("-devices"))
        .collect();
    assert_eq!(dev.len(), 1);
    let bytes = fs::read(root.join(&dev[0].path)).unwrap();
    let pkg = Package::parse(&bytes).unwrap();
    let classes: BTreeSet<&str> = meta::files(pkg.header())
        .unwrap()
        .iter()
        .map(|f| kind_of(f.mode))
        .collect();
    for c in ["char", "block", "fifo", "socket", "directory"] {
        assert!(classes.contains(c), "{classes:?}");
    }
    let db = tempfile::tempdir().unwrap();
    rpm_check(
        &[root.join(&dev[0].path)],
        &[dev[0].name.clone()],
        db.path(),
    );
}

#[test]
fn same_seed_gives_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let c = dir.path().join("c");
    generate_repo(&a, &spec(15, 11)).unwrap();
    // One worker thread instead of many: scheduling must not matter.
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| generate_repo(&b, &spec(15, 11)))
        .unwrap();
    generate_repo(&c, &spec(15, 12)).unwrap();
    assert_eq!(tree(&a), tree(&b));
    assert_eq!(tree_digest(&a), tree_digest(&b));
    assert_ne!(tree_digest(&a), tree_digest(&c));
}

#[test]
fn next_day_changes_about_p_percent_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let d0 = dir.path().join("d0");
    let d1 = dir.path().join("d1");
    let d1b = dir.path().join("d1b");
    let m0 = generate_repo(&d0, &spec(200, 5)).unwrap();
    let m1 = generate_next_day(&d0, &d1, 10.0, 99).unwrap();
    let (_, recs1) = check_snapshot(&d1);
    let recs0 = m0.load_packages().unwrap();
    let ch = m1.changes.clone().unwrap();
    assert_eq!(ch.prev_date, "2024-01-15");
    assert_eq!(m1.date, "2024-01-16");
    assert_eq!(ch.upgraded.len(), 20, "10% of 200");
    assert_eq!(ch.removed.len(), 1);
    assert_eq!(ch.added.len(), 2);
    assert_eq!(ch.unchanged, 200 - 20 - 1);
    assert_eq!(m1.sources, 200 - 1 + 2);
    assert!(m1.task > m0.task && m1.prev_task == m0.task);
    assert!(m1.next_index == m0.next_index + 2);

    let src0: HashMap<&str, &PackageRecord> = recs0
        .iter()
        .filter(|r| r.kind == PackageKind::Source)
        .map(|r| (r.name.as_str(), r))
        .collect();
    let src1: HashMap<&str, &PackageRecord> = recs1
        .iter()
        .filter(|r| r.kind == PackageKind::Source)
        .map(|r| (r.name.as_str(), r))
        .collect();
    for n in &ch.removed {
        assert!(
            src0.contains_key(n.as_str()) && !src1.contains_key(n.as_str()),
            "{n}"
        );
    }
    for n in &ch.added {
        assert!(!src0.contains_key(n.as_str()), "{n}");
        let r = src1[n.as_str()];
        assert!(
            r.buildtime < 1_705_363_200 && r.buildtime > 1_705_276_800,
            "{n}: built on the 15th"
        );
    }
    for n in &ch.upgraded {
        let (old, new) = (src0[n.as_str()], src1[n.as_str()]);
        assert_eq!(
            rpmvercmp(
                format!("{}-{}", new.version, new.release),
                format!("{}-{}", old.version, old.release)
            ),
            std::cmp::Ordering::Greater,
            "{n}"
        );
        assert_eq!(new.changelog.len(), old.changelog.len() + 1, "{n}");
        assert_eq!(new.changelog[1..], old.changelog[..], "{n}");
        assert!(
            new.buildtime > old.buildtime && new.buildtime > 1_705_276_800,
            "{n}"
        );
        assert_ne!(new.disttag, old.disttag);
        assert!(!d1.join(&old.path).exists(), "{n}: old srpm gone");
    }
    // Unchanged packages: same records, same bytes, hard-linked.
    let by_path0: HashMap<&str, &PackageRecord> =
        recs0.iter().map(|r| (r.path.as_str(), r)).collect();
    let mut kept = 0;
    for r in &recs1 {
        let src_name = recs1
            .iter()
            .find(|s| s.kind == PackageKind::Source && s.file_name == r.sourcerpm)
            .map(|s| s.name.clone())
            .unwrap();
        if ch.upgraded.contains(&src_name) || ch.added.contains(&src_name) {
            assert!(!by_path0.contains_key(r.path.as_str()), "{}", r.path);
            continue;
        }
        let old = by_path0[r.path.as_str()];
        assert_eq!(old, r, "{}", r.path);
        let (a, b) = (
            fs::metadata(d0.join(&r.path)).unwrap(),
            fs::metadata(d1.join(&r.path)).unwrap(),
        );
        assert_eq!(
            (a.dev(), a.ino()),
            (b.dev(), b.ino()),
            "{}: hard link",
            r.path
        );
        kept += 1;
    }
    assert!(kept > recs1.len() * 3 / 4, "{kept} of {}", recs1.len());

    // Deterministic too.
    generate_next_day(&d0, &d1b, 10.0, 99).unwrap();
    assert_eq!(tree_digest(&d1), tree_digest(&d1b));

    // And it chains.
    let d2 = dir.path().join("d2");
    let m2 = generate_next_day(&d1, &d2, 3.0, 100).unwrap();
    assert_eq!(m2.date, "2024-01-17");
    assert_eq!(m2.changes.unwrap().upgraded.len(), 6);
}

#[test]
fn bad_requests_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = RepoSpec::new(2, 1);
    s.arches = vec!["sparc".into()];
    assert!(matches!(
        generate_repo(&dir.path().join("x"), &s),
        Err(GenError::Spec(_))
    ));
    s.arches = vec!["x86_64-i586".into()];
    assert!(matches!(
        generate_repo(&dir.path().join("x"), &s),
        Err(GenError::Spec(_))
    ));
    s.arches = vec!["noarch".into()];
    assert!(matches!(
        generate_repo(&dir.path().join("x"), &s),
        Err(GenError::Spec(_))
    ));
    let mut s = RepoSpec::new(2, 1);
    s.date = Some("2024-02-30".into());
    assert!(matches!(
        generate_repo(&dir.path().join("x"), &s),
        Err(GenError::Spec(_))
    ));
    // Non-empty output directory.
    fs::write(dir.path().join("junk"), b"x").unwrap();
    let e = generate_repo(dir.path(), &RepoSpec::new(2, 1)).unwrap_err();
    assert!(e.to_string().contains("not empty"), "{e}");
    // Missing previous snapshot: the error names the manifest.
    let e = generate_next_day(&dir.path().join("nope"), &dir.path().join("y"), 5.0, 1).unwrap_err();
    assert!(e.to_string().contains("manifest.json"), "{e}");
}

#[test]
fn other_arches_and_dates() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("snap");
    let s = RepoSpec {
        sources: 12,
        seed: 2,
        arches: vec!["aarch64".into(), "x86_64".into()],
        date: Some("2023-06-01".into()),
        branch: "p10".into(),
    };
    let m = generate_repo(&root, &s).unwrap();
    assert_eq!(m.arches, ["aarch64", "x86_64", "noarch"]);
    let (_, recs) = check_snapshot(&root);
    assert!(recs.iter().all(|r| r.disttag.starts_with("p10+")));
    assert!(recs.iter().all(|r| r.buildtime < 1_685_577_600));
    let arches: BTreeSet<&str> = recs.iter().map(|r| r.arch.as_str()).collect();
    assert!(
        arches.contains("aarch64") && arches.contains("x86_64"),
        "{arches:?}"
    );
    let release = fs::read_to_string(root.join("aarch64/base/release")).unwrap();
    assert!(release.contains("Label: p10\n"), "{release}");
}
