//! The package reader streams a source package's payload up to its spec file (issue 10 §5):
//! the spec it finds is the one Debian's `rpm2cpio | cpio` finds first, for every source
//! package of the corpus, and a spec over its cap is an error naming the file and the limit.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use altrepodb_load::bounded::ReadLimits;
use altrepodb_load::package::read_package_file;
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

/// The first archive member named `*.spec` (or `spec`) and its content, by rpm2cpio and cpio.
fn first_spec_by_cpio(rpm: &Path) -> Option<(String, Vec<u8>)> {
    let sh = |script: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(rpm)
            .stderr(Stdio::null())
            .output()
            .unwrap();
        out.stdout
    };
    let list = String::from_utf8(sh("rpm2cpio \"$1\" | cpio -t --quiet")).unwrap();
    let name = list
        .lines()
        .find(|n| n.ends_with(".spec") || n.trim_start_matches("./") == "spec")?
        .to_owned();
    let content = sh(&format!(
        "rpm2cpio \"$1\" | cpio -i --quiet --to-stdout '{}'",
        name.replace('\'', "'\\''")
    ));
    Some((name, content))
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
    let mut with_spec = 0;
    for rpm in &rpms {
        let rows = read_package_file(rpm, &ReadLimits::default()).unwrap_or_else(|e| panic!("{e}"));
        let want = first_spec_by_cpio(rpm);
        let got = rows.specfile.as_ref().map(|s| {
            use base64::Engine as _;
            let content = base64::engine::general_purpose::STANDARD
                .decode(&s.specfile_content_base64)
                .unwrap();
            (s.specfile_name.clone(), content)
        });
        assert_eq!(got, want, "{}", rpm.display());
        with_spec += usize::from(got.is_some());
    }
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
