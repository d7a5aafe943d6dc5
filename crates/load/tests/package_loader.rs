//! package_loader on a real source RPM of the corpus, its rows checked against Debian's
//! `rpm -qp`, `rpm2cpio`/`cpio` and `md5sum`/`sha256sum` on the same file.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use altrepodb_load::package_loader::{load_package, PackageLoadError, PackageLoadOptions};
use common::{rpm_qf, testdata, TestDb};

fn tool(cmd: &str, args: &[&str], file: &Path) -> String {
    let out = Command::new(cmd).args(args).arg(file).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn set(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_rpm_loads_as_rpm_describes_it() {
    let Some(root) = testdata() else { return };
    let dir = root.join("rpm/debian-rpm-4.18-tests");
    let file = dir.join("hello-1.0-1.src.rpm");
    let t = TestDb::new().await;
    let r = load_package(t.db(), &PackageLoadOptions::new(&file))
        .await
        .expect("load");
    assert_eq!(r.packages_new, 1, "{}", r.summary());

    let name = "hello-1.0-1.src.rpm";
    let pkg = t
        .lines(&format!(
            "SELECT pkg_hash, pkg_name, pkg_version, pkg_release, pkg_sourcepackage, pkg_sourcerpm, \
             pkg_srcrpm_hash FROM Packages_buffer WHERE pkg_filename = '{name}'"
        ))
        .await;
    assert_eq!(pkg.len(), 1, "{pkg:?}");
    let f: Vec<&str> = pkg[0].split('\t').collect();
    let hash = f[0];
    let want = rpm_qf(&file, "%{NAME}\t%{VERSION}\t%{RELEASE}");
    assert_eq!(f[1..4].join("\t"), want);
    assert_eq!(f[4], "1", "a source package");
    assert_eq!(f[5], name, "pkg_sourcerpm is the file name");
    assert_eq!(f[6], hash, "pkg_srcrpm_hash is its own hash");

    let files = t
        .lines(&format!(
            "SELECT DISTINCT fn_name FROM FileNames_buffer WHERE fn_hash IN \
             (SELECT file_hashname FROM Files_buffer WHERE pkg_hash = {hash})"
        ))
        .await;
    assert_eq!(
        files.into_iter().collect::<BTreeSet<_>>(),
        set(&tool(
            "rpm",
            &["-qpl", "--nosignature", "--nodigest"],
            &file
        ))
    );
    let requires = t
        .lines(&format!(
            "SELECT dp_name FROM Depends_buffer WHERE pkg_hash = {hash} AND dp_type = 'require'"
        ))
        .await;
    assert_eq!(
        requires.into_iter().collect::<BTreeSet<_>>(),
        set(&rpm_qf(&file, "[%{REQUIRENAME}\n]"))
    );
    let changelog = t
        .count(&format!(
            "SELECT count() FROM Packages_buffer ARRAY JOIN pkg_changelog.hash AS h \
             WHERE pkg_hash = {hash}"
        ))
        .await;
    assert_eq!(
        changelog as usize,
        rpm_qf(&file, "[%{CHANGELOGTIME}\n]").lines().count()
    );

    // The spec file, as cpio extracts it from the payload.
    let spec = t
        .lines(&format!(
            "SELECT specfile_name, hex(specfile_content) FROM Specfiles_buffer WHERE pkg_hash = {hash}"
        ))
        .await;
    assert_eq!(spec.len(), 1);
    let (spec_name, spec_hex) = spec[0].split_once('\t').unwrap();
    assert_eq!(spec_name, "hello.spec");
    let cpio = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "rpm2cpio '{}' | cpio -i --quiet --to-stdout hello.spec",
            file.display()
        ))
        .output()
        .unwrap();
    assert!(cpio.status.success());
    assert_eq!(spec_hex, hex::encode_upper(&cpio.stdout));

    // Digests computed from the file.
    let digests = t
        .lines(&format!(
            "SELECT lower(hex(pkgh_md5)), lower(hex(pkgh_sha256)) FROM PackageHash_buffer \
             WHERE pkgh_mmh = {hash}"
        ))
        .await;
    let md5 = tool("md5sum", &[], &file);
    let sha = tool("sha256sum", &[], &file);
    assert_eq!(
        digests,
        [format!(
            "{}\t{}",
            md5.split_whitespace().next().unwrap(),
            sha.split_whitespace().next().unwrap()
        )]
    );
    // Durable on return: nothing of it is left in a Buffer only.
    assert_eq!(
        t.count(&format!(
            "SELECT count() FROM PackageHash WHERE pkgh_mmh = {hash}"
        ))
        .await,
        1
    );

    // Again: stored under its file name, nothing written; -F checks every table and still
    // doubles nothing.
    let again = load_package(t.db(), &PackageLoadOptions::new(&file))
        .await
        .unwrap();
    assert_eq!(
        (again.packages_new, again.total_rows()),
        (0, 0),
        "{}",
        again.summary()
    );
    let mut forced = PackageLoadOptions::new(&file);
    forced.force = true;
    let forced = load_package(t.db(), &forced).await.unwrap();
    assert_eq!(forced.total_rows(), 0, "{}", forced.summary());

    // A binary package is refused, naming the file.
    let bin = dir.join("hello-1.0-1.ppc64.rpm");
    let err = load_package(t.db(), &PackageLoadOptions::new(&bin))
        .await
        .expect_err("a binary package");
    assert!(matches!(err, PackageLoadError::Source(_)), "{err}");
    assert!(err.to_string().contains("hello-1.0-1.ppc64.rpm"), "{err}");
}
