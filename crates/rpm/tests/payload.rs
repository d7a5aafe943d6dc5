//! Payload decompression, cpio reading and spec extraction.
//!
//! Real source packages are read from the shared test data (`$ALTREPODB_TESTDATA`, default
//! `<workspace>/../shared/testdata`; skipped with a message when absent) and compared with
//! what Debian's `rpm2cpio | cpio` extracts. Writer-made source packages cover every
//! compressor; hand-made archives cover odc, stripped entries, limits and truncation.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use altrepodb_rpm::cpio::{
    CpioEntry, CpioError, CpioReader, CpioWriter, StrippedFile, S_IFDIR, S_IFLNK, S_IFREG,
};
use altrepodb_rpm::payload::{
    extract_spec_from_package, extract_spec_with, payload_reader_from, PayloadError, SpecLimits,
};
use altrepodb_rpm::writer::{FileSpec, PackageBuilder};
use altrepodb_rpm::{extract_spec, Compression, Package, Tag};

// The skip-or-fail rule of altrepodb-testdata, included by path (that crate depends on this one).
#[path = "../../testdata/src/corpus.rs"]
#[allow(dead_code)]
mod corpus;

fn testdata() -> Option<PathBuf> {
    corpus::dir("real_source_packages_match_rpm2cpio", "rpm")
        .map(|rpm| rpm.parent().map(Path::to_path_buf).unwrap_or(rpm))
}

fn find_srpms(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            find_srpms(&p, out);
        } else if p.to_string_lossy().ends_with(".src.rpm") {
            out.push(p);
        }
    }
}

/// What `rpm2cpio | cpio` sees: the first regular `*.spec` entry and its content, or
/// `None` if rpm cannot unpack the archive completely.
fn spec_by_rpm(path: &Path) -> Option<(String, Vec<u8>)> {
    let archive = Command::new("rpm2cpio")
        .arg(path)
        .output()
        .expect("Debian rpm2cpio is required for this test (the set-up script installs it)");
    if !archive.status.success() {
        return None;
    }
    let cpio = |args: &[&str]| {
        let mut c = Command::new("cpio")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cpio is required for this test");
        let mut stdin = c.stdin.take().unwrap();
        let data = archive.stdout.clone();
        let feeder = std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
        let out = c.wait_with_output().unwrap();
        let _ = feeder.join();
        out
    };
    let list = cpio(&["-itv", "--quiet"]);
    if !list.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&list.stdout).into_owned();
    let name = text.lines().find_map(|l| {
        let name = l.split_whitespace().last()?;
        (l.starts_with('-') && (name.ends_with(".spec") || name == "spec"))
            .then(|| name.to_string())
    })?;
    let content = cpio(&["-i", "--quiet", "--to-stdout", &name]);
    content.status.success().then_some((name, content.stdout))
}

#[test]
fn real_source_packages_match_rpm2cpio() {
    let Some(dir) = testdata() else {
        return;
    };
    let mut srpms = Vec::new();
    find_srpms(&dir.join("rpm"), &mut srpms);
    assert!(!srpms.is_empty(), "no .src.rpm under {dir:?}");
    let mut compared = 0;
    for path in &srpms {
        let bytes = std::fs::read(path).unwrap();
        let ours = extract_spec_from_package(&bytes);
        let label = path
            .strip_prefix(&dir)
            .unwrap_or(path)
            .display()
            .to_string();
        match (spec_by_rpm(path), &ours) {
            (Some((name, content)), Ok(Some(spec))) => {
                assert_eq!(spec.name, name.as_bytes(), "{label}");
                assert_eq!(spec.content, content, "{label}");
                // The entry mtime is the header's FILEMTIMES for that file.
                let pkg = Package::parse(&bytes).unwrap();
                let names = pkg.header().file_names().unwrap();
                let i = names.iter().position(|n| **n == *name.as_bytes()).unwrap();
                let mtime = pkg.header().u32_array(Tag::FILEMTIMES).unwrap().get(i);
                assert_eq!(Some(spec.mtime), mtime.map(u64::from), "{label}");
                compared += 1;
                eprintln!("{label}: {name} ({} bytes) matches rpm2cpio", content.len());
            }
            (Some((name, _)), other) => panic!("{label}: rpm finds {name}, we got {other:?}"),
            (None, Ok(Some(spec))) => {
                // rpm 4.18 cannot unpack rpm 6's stripped cpio; we can, with the header.
                assert!(
                    spec.content.starts_with(b"Name:") || spec.content.contains(&b'%'),
                    "{label}"
                );
                eprintln!("{label}: rpm2cpio fails, we find {}", spec.name_lossy());
            }
            (None, Ok(None)) => panic!("{label}: no spec found and rpm cannot unpack it either"),
            (None, Err(e)) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("offset"),
                    "{label}: error without offset: {msg}"
                );
                eprintln!("{label}: damaged, as for rpm: {msg}");
            }
        }
    }
    assert!(compared >= 5, "only {compared} packages compared with rpm");
    // The rpm 6 source package must be readable through the stripped-entry path.
    let v6 = dir.join("rpm/crate-rpm-0.30.2/srpm-v6/rpm-basic-2.3.4-5.el9.src.rpm");
    if v6.exists() {
        let spec = extract_spec_from_package(&std::fs::read(&v6).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(spec.name, b"rpm-basic.spec");
        assert!(String::from_utf8_lossy(&spec.content).contains("rpm-basic"));
    }
}

#[test]
fn writer_source_packages_every_compressor() {
    let spec = b"Name: x\nVersion: 1\n# non-ASCII: \xd0\xaf\n".to_vec();
    for c in Compression::ALL {
        let pkg = PackageBuilder::new_source("x", "1", "alt1", "x86_64")
            .compressor(c)
            .buildtime(1_234_567_890)
            .source_file("a-tarball.tar", vec![7u8; 100_000])
            .spec_file("x.spec", spec.clone())
            .source_file("zz.patch", b"patch".to_vec())
            .build_package()
            .unwrap();
        for got in [
            extract_spec(pkg.payload_bytes()).unwrap(),
            extract_spec_from_package(&pkg.bytes).unwrap(),
            extract_spec_with(
                payload_reader_from(pkg.payload_bytes()).unwrap(),
                SpecLimits::default(),
            )
            .unwrap(),
        ] {
            let got = got.expect("spec found");
            assert_eq!(got.name, b"x.spec", "{c}");
            assert_eq!(got.content, spec, "{c}");
            assert_eq!(got.mtime, 1_234_567_890, "{c}");
        }
        // A binary package has no spec.
        let bin = PackageBuilder::new("x", "1", "alt1", "x86_64")
            .compressor(c)
            .file(FileSpec::file("/usr/share/doc/x/README", b"r".to_vec()))
            .build_package()
            .unwrap();
        assert_eq!(extract_spec(bin.payload_bytes()).unwrap(), None, "{c}");
    }
}

fn entry(name: &str, mode: u32) -> CpioEntry {
    CpioEntry {
        name: name.as_bytes().to_vec(),
        mode,
        nlink: 1,
        mtime: 42,
        ..CpioEntry::default()
    }
}

#[test]
fn only_regular_spec_entries_count() {
    let mut w = CpioWriter::new(Vec::new());
    w.write_entry(&entry("dir.spec", S_IFDIR | 0o755), b"")
        .unwrap();
    w.write_entry(&entry("link.spec", S_IFLNK | 0o777), b"spec")
        .unwrap();
    w.write_entry(&entry("notes.specs", S_IFREG | 0o644), b"no")
        .unwrap();
    w.write_entry(&entry("./spec", S_IFREG | 0o644), b"bare spec")
        .unwrap();
    w.write_entry(&entry("later.spec", S_IFREG | 0o644), b"second")
        .unwrap();
    let archive = w.finish().unwrap();
    let got = extract_spec(&archive).unwrap().unwrap();
    assert_eq!(got.name, b"./spec");
    assert_eq!(got.content, b"bare spec");
    assert_eq!(got.mtime, 42);
    let none = CpioWriter::new(Vec::new()).finish().unwrap();
    assert_eq!(extract_spec(&none).unwrap(), None);
}

/// Archives written by GNU cpio itself, in newc and odc formats.
#[test]
fn gnu_cpio_archives() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/a.txt"), b"aaa").unwrap();
    std::fs::write(dir.path().join("pkg.spec"), b"Name: pkg\n").unwrap();
    for format in ["newc", "odc"] {
        let mut c = Command::new("cpio")
            .args(["-o", "--quiet", "-H", format])
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cpio is required for this test");
        c.stdin
            .take()
            .unwrap()
            .write_all(b"sub\nsub/a.txt\npkg.spec\n")
            .unwrap();
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        let mut r = CpioReader::new(&out.stdout[..]);
        let mut names = Vec::new();
        while let Some(e) = r.next_entry().unwrap() {
            if e.is_trailer() {
                break;
            }
            if e.name == b"sub/a.txt" {
                assert_eq!(r.read_data(10).unwrap(), b"aaa", "{format}");
                assert!(e.is_regular());
            }
            names.push(String::from_utf8(e.name).unwrap());
        }
        assert_eq!(names, ["sub", "sub/a.txt", "pkg.spec"], "{format}");
        let spec = extract_spec(&out.stdout).unwrap().unwrap();
        assert_eq!(
            (spec.name, spec.content),
            (b"pkg.spec".to_vec(), b"Name: pkg\n".to_vec())
        );
    }
}

#[test]
fn stripped_entries_need_the_file_list() {
    // "07070X" + index, padded to 16, then data padded to 4; the trailer is plain newc.
    let mut a = Vec::new();
    for (i, data) in [(1u32, &b"Name: s\n"[..]), (0, &b"xyz"[..])] {
        a.extend_from_slice(format!("07070X{i:08x}\0\0").as_bytes());
        a.extend_from_slice(data);
        a.resize(a.len().div_ceil(4) * 4, 0);
    }
    a.extend(CpioWriter::new(Vec::new()).finish().unwrap());
    let files = vec![
        StrippedFile {
            name: b"x.tar".to_vec(),
            mode: S_IFREG | 0o644,
            size: 3,
            mtime: 5,
        },
        StrippedFile {
            name: b"s.spec".to_vec(),
            mode: S_IFREG | 0o644,
            size: 8,
            mtime: 6,
        },
    ];
    let spec = extract_spec_with(
        CpioReader::new(&a[..]).with_stripped_files(files.clone()),
        SpecLimits::default(),
    )
    .unwrap()
    .unwrap();
    assert_eq!((spec.name.as_slice(), spec.mtime), (&b"s.spec"[..], 6));
    assert_eq!(spec.content, b"Name: s\n");
    assert!(matches!(
        extract_spec(&a),
        Err(PayloadError::Cpio(CpioError::Stripped { offset: 0 }))
    ));
    let short = vec![files[0].clone()];
    assert!(matches!(
        extract_spec_with(
            CpioReader::new(&a[..]).with_stripped_files(short),
            SpecLimits::default()
        ),
        Err(PayloadError::Cpio(CpioError::BadField { offset: 0, .. }))
    ));
}

#[test]
fn bad_input_errors_name_offsets() {
    assert!(matches!(
        extract_spec(b"PK\x03\x04zip"),
        Err(PayloadError::UnknownCompression { .. })
    ));
    assert!(matches!(
        extract_spec(b""),
        Err(PayloadError::UnknownCompression { .. })
    ));
    // Starts like cpio, isn't.
    let e = extract_spec(b"07xxxxxxxxxxxxxxxx").unwrap_err();
    assert!(
        matches!(e, PayloadError::Cpio(CpioError::BadMagic { offset: 0, .. })),
        "{e}"
    );
    // A bad hex field in the second entry names that entry's offset.
    let mut w = CpioWriter::new(Vec::new());
    w.write_entry(&entry("a", S_IFREG | 0o644), b"12345")
        .unwrap();
    let mut a = w.finish().unwrap();
    let second = 120; // 110-byte header + "a\0", then 5 data bytes padded to 4
    a[second + 6] = b'g';
    let e = extract_spec(&a).unwrap_err();
    assert!(
        matches!(e, PayloadError::Cpio(CpioError::BadField { offset, field: "ino" }) if offset == second as u64),
        "{e}"
    );
    // A corrupt gzip stream is an I/O error with an offset, not a panic.
    let mut gz = altrepodb_rpm::payload::compress(&a, Compression::Gzip, 6).unwrap();
    let n = gz.len();
    gz[n / 2] ^= 0xff;
    gz[n / 2 + 1] ^= 0xff;
    if let Err(e) = extract_spec(&gz) {
        assert!(e.to_string().contains("offset"), "{e}");
    }
}

#[test]
fn limits() {
    let mut w = CpioWriter::new(Vec::new());
    w.write_entry(&entry("big.spec", S_IFREG | 0o644), &[b'x'; 1000])
        .unwrap();
    let a = w.finish().unwrap();
    let small = SpecLimits {
        max_spec_size: 999,
        ..SpecLimits::default()
    };
    assert!(matches!(
        extract_spec_with(CpioReader::new(&a[..]), small),
        Err(PayloadError::Cpio(CpioError::TooLarge {
            offset: 0,
            size: 1000,
            ..
        }))
    ));
    let mut w = CpioWriter::new(Vec::new());
    for i in 0..10 {
        w.write_entry(&entry(&format!("f{i}"), S_IFREG), b"")
            .unwrap();
    }
    let a = w.finish().unwrap();
    let few = SpecLimits {
        max_entries: 5,
        ..SpecLimits::default()
    };
    assert!(matches!(
        extract_spec_with(CpioReader::new(&a[..]), few),
        Err(PayloadError::Cpio(CpioError::TooLarge {
            what: "entry count",
            ..
        }))
    ));
    // A name-size field far beyond the limit is refused before allocating.
    let mut h = b"070701".to_vec();
    for v in [0u32, S_IFREG, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x7fff_ffff, 0] {
        h.extend_from_slice(format!("{v:08x}").as_bytes());
    }
    assert!(matches!(
        extract_spec(&h),
        Err(PayloadError::Cpio(CpioError::TooLarge {
            what: "entry name",
            ..
        }))
    ));
}

/// Cutting a payload anywhere gives the right spec (if it was complete before the cut) or
/// an error naming an offset; never a wrong spec, "no spec", or a panic.
#[test]
fn truncated_payloads() {
    let spec = b"Name: t\n".repeat(300);
    for c in Compression::ALL {
        let pkg = PackageBuilder::new_source("t", "1", "alt1", "x86_64")
            .compressor(c)
            .source_file(
                "t.tar",
                (0..20_000u32).map(|i| (i % 253) as u8).collect::<Vec<_>>(),
            )
            .spec_file("t.spec", spec.clone())
            .build_package()
            .unwrap();
        let p = pkg.payload_bytes();
        let step = (p.len() / 150).max(1);
        for cut in (0..p.len()).step_by(step) {
            match extract_spec(&p[..cut]) {
                Ok(Some(s)) => assert_eq!(s.content, spec, "{c} cut at {cut}"),
                Ok(None) => panic!("{c} cut at {cut}: truncation reported as no spec"),
                Err(PayloadError::UnknownCompression { .. }) if cut < 2 => {}
                Err(e) => assert!(e.to_string().contains("offset"), "{c} cut at {cut}: {e}"),
            }
        }
    }
}
