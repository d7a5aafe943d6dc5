//! The package reader streams a source package's payload up to its spec file (issue 10 §5):
//! the spec it finds is the one Debian's `rpm2cpio | cpio` finds first, for every source
//! package of the corpus, and a spec over its cap is an error naming the file and the limit.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use altrepodb_load::bounded::ReadLimits;
use altrepodb_load::package::{read_package_file, PackageError};
use altrepodb_rpm::writer::PackageBuilder;

fn source_rpms(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            source_rpms(&p, out);
        } else if p.to_string_lossy().ends_with(".src.rpm") {
            out.push(p);
        }
    }
}

/// The first archive member named `*.spec` (or `spec`) and its content, by rpm2cpio and
/// cpio; `Err` when Debian's rpm2cpio cannot read the package (rpm 6 stripped archives).
fn first_spec_by_cpio(rpm: &Path) -> Result<Option<(String, Vec<u8>)>, String> {
    let archive = Command::new("rpm2cpio").arg(rpm).output().unwrap();
    if !archive.status.success() || archive.stdout.is_empty() {
        return Err(String::from_utf8_lossy(&archive.stderr).into_owned());
    }
    let cpio = |args: &[&str]| {
        let mut child = Command::new("cpio")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let data = archive.stdout.clone();
        let feed = std::thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut stdin, &data);
        });
        let out = child.wait_with_output().unwrap();
        feed.join().unwrap();
        out.stdout
    };
    let list = String::from_utf8(cpio(&["-t", "--quiet"])).unwrap();
    let Some(name) = list
        .lines()
        .find(|n| n.ends_with(".spec") || n.trim_start_matches("./") == "spec")
    else {
        return Ok(None);
    };
    let content = cpio(&["-i", "--quiet", "--to-stdout", name]);
    Ok(Some((name.to_owned(), content)))
}

#[test]
fn specs_of_corpus_source_packages_match_cpio() {
    let Some(dir) = altrepodb_testdata::corpus::dir("specs_match_cpio", "rpm") else {
        return;
    };
    let mut rpms = Vec::new();
    source_rpms(&dir, &mut rpms);
    rpms.sort();
    assert!(rpms.len() >= 5, "corpus source packages: {rpms:?}");
    let (mut with_spec, mut compared) = (0, 0);
    for rpm in &rpms {
        let rows = match read_package_file(rpm, &ReadLimits::default()) {
            Ok(rows) => rows,
            // Headers the loader refuses (truncated files, pre-2001 build times) have no rows.
            Err(e @ PackageError::Rpm { .. }) => {
                println!("{e}: not a loadable package, skipped");
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        let got = rows.specfile.as_ref().map(|s| {
            use base64::Engine as _;
            let content = base64::engine::general_purpose::STANDARD
                .decode(&s.specfile_content_base64)
                .unwrap();
            (s.specfile_name.clone(), content)
        });
        with_spec += usize::from(got.is_some());
        match first_spec_by_cpio(rpm) {
            Ok(want) => {
                let show =
                    |v: &Option<(String, Vec<u8>)>| v.as_ref().map(|(n, c)| (n.clone(), c.len()));
                assert!(
                    got == want,
                    "{}: {:?} vs cpio {:?}",
                    rpm.display(),
                    show(&got),
                    show(&want)
                );
                compared += 1;
            }
            Err(why) => println!(
                "{}: rpm2cpio cannot read it ({}), not compared",
                rpm.display(),
                why.trim()
            ),
        }
    }
    assert!(compared >= 5, "{compared} of {} compared", rpms.len());
    assert!(with_spec >= 4, "{with_spec} of {} have a spec", rpms.len());
}

#[test]
fn a_spec_over_its_cap_is_an_error_naming_the_file_and_the_limit() {
    let d = tempfile::tempdir().unwrap();
    let spec = format!("Name: big\n%description\n{}\n", "x".repeat(10_000));
    let pkg = PackageBuilder::new_source("big", "1.0", "alt1", "x86_64")
        .spec_file("big.spec", spec.clone())
        .source_file("big-1.0.tar", vec![7u8; 3000])
        .build_package()
        .unwrap();
    let path = d.path().join(&pkg.file_name);
    pkg.write_to(&path).unwrap();
    let limits = ReadLimits {
        spec_bytes: 1024,
        ..ReadLimits::default()
    };
    let e = read_package_file(&path, &limits).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}: spec file: spec file of {} bytes is larger than the limit of 1024 bytes \
             (set ALTREPODB_MAX_SPEC_BYTES to change it)",
            path.display(),
            spec.len()
        )
    );
    let exact = ReadLimits {
        spec_bytes: spec.len() as u64,
        ..ReadLimits::default()
    };
    let rows = read_package_file(&path, &exact).unwrap();
    assert_eq!(rows.specfile.unwrap().specfile_name, "big.spec");
}
