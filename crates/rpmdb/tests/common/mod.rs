//! Shared by the rpmdb tests: our view and Debian rpm's view of a database, as lines of
//! the same fields.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use altrepodb_rpm::{Header, Tag};
use altrepodb_rpmdb::open;

/// Fields compared, tab-separated. Conditionals give "" for absent tags, as we do.
pub const QF: &str = concat!(
    "%{DBINSTANCE}\t%|EPOCH?{%{EPOCH}}:{}|\t%{NAME}\t%{VERSION}\t%{RELEASE}\t",
    "%|ARCH?{%{ARCH}}:{}|\t%|SOURCERPM?{%{SOURCERPM}}:{}|\t%{SIZE}\t",
    "%|SIGMD5?{%{SIGMD5}}:{}|\t%|SHA1HEADER?{%{SHA1HEADER}}:{}|\t",
    "%|SIGGPG?{%{SIGGPG}}:{}|\t%|BUILDTIME?{%{BUILDTIME}}:{}|\t%{FILENAMES:arraysize}\n"
);

/// The database file of a corpus directory, decompressed into `tmp` when stored as `.xz`.
pub fn db_file(dir: &Path, name: &str, tmp: &Path) -> PathBuf {
    let plain = dir.join(name);
    if plain.exists() {
        return plain;
    }
    let xz = dir.join(format!("{name}.xz"));
    let mut out = Vec::new();
    liblzma::read::XzDecoder::new(std::fs::File::open(&xz).unwrap())
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", xz.display()));
    let p = tmp.join(name);
    std::fs::write(&p, out).unwrap();
    p
}

/// Our view: one QF-shaped line per installed header, plus pkg_hash from the blob.
pub fn ours(bytes: &[u8], what: &str) -> Vec<(String, String)> {
    let reader = open(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
    reader
        .map(|r| {
            let inst = r.unwrap_or_else(|e| panic!("{what}: {e}"));
            let h = Header::from_blob(&inst.blob)
                .unwrap_or_else(|e| panic!("{what}: instance {}: {e}", inst.instance));
            (line(inst.instance, &h), hash(h.pkg_hash()))
        })
        .collect()
}

pub fn hash<E: std::fmt::Display>(r: Result<u64, E>) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(_) => "error".into(),
    }
}

pub fn line(instance: u32, h: &Header<'_>) -> String {
    let t = |tag| {
        if h.contains(tag) {
            h.text(tag).unwrap().into_owned()
        } else {
            String::new()
        }
    };
    let hexbin = |tag| hex::encode(h.bin(tag).unwrap().unwrap_or_default());
    let n = h.file_count().unwrap();
    [
        instance.to_string(),
        h.epoch()
            .unwrap()
            .map(|e| e.to_string())
            .unwrap_or_default(),
        t(Tag::NAME),
        t(Tag::VERSION),
        t(Tag::RELEASE),
        t(Tag::ARCH),
        t(Tag::SOURCERPM),
        h.u64(Tag::SIZE)
            .unwrap()
            .map_or_else(|| "(none)".into(), |v| v.to_string()),
        hexbin(Tag::SIGMD5),
        t(Tag::SHA1HEADER),
        hexbin(Tag::SIGGPG),
        h.u32(Tag::BUILDTIME)
            .unwrap()
            .map(|v| v.to_string())
            .unwrap_or_default(),
        if n == 0 {
            "(none)".into()
        } else {
            n.to_string()
        },
    ]
    .join("\t")
}

/// Debian rpm's view of the database in `dir`, and pkg_hash computed from its fields.
pub fn rpms(dir: &Path, backend: &str) -> Vec<(String, String)> {
    let out = Command::new("rpm")
        .env("LC_ALL", "C")
        .env("HOME", dir)
        .arg("--dbpath")
        .arg(dir)
        .args(["--define", &format!("_db_backend {backend}")])
        .args(["-qa", "--qf", QF])
        .output()
        .unwrap_or_else(|e| panic!("cannot run Debian `rpm` ({e}); install it"));
    assert!(
        out.status.success(),
        "rpm -qa {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let h = altrepodb_rpm::pkg_hash(
                f[11].parse().unwrap_or(0),
                f[9].as_bytes(),
                &hex::decode(f[8]).unwrap(),
                &hex::decode(f[10]).unwrap(),
            );
            (l.to_string(), hash(h))
        })
        .collect()
}
