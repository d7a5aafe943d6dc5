//! Synthetic rpm databases built from RPM files, for image and rpmdb tests.
//!
//! The results are **synthetic**: real headers of the given packages, put into a database by
//! Debian's rpm 4.18 and (for Berkeley DB) by Debian's `db5.3_load`, not databases taken
//! from an installed system. Headers carry rpm 4.18's install-time tags (INSTALLTIME,
//! INSTALLTID, …), the signature tags merged into the main header (SHA1HEADER, SIGMD5, …)
//! and no file states of a real install.
//!
//! * [`sqlite_rpmdb`]: `rpm --root R --dbpath /var/lib/rpm --initdb`, then
//!   `rpm -i --justdb --nodeps --noscripts …` of the packages → `R/var/lib/rpm/rpmdb.sqlite`
//!   (checked to have no pending WAL; rpm's lock, `-shm` and empty `-wal` files removed).
//! * [`export_rpmdb`]: the installed headers of such a database, with their instance
//!   numbers, as rpm itself exports them (`rpmdb --exportdb`, `%{DBINSTANCE}`).
//! * [`bdb_dump`] / [`bdb_packages`]: a Berkeley DB hash `Packages` from header blobs, written
//!   as a `db_load` "bytevalue" dump (key 0 → the next free instance; key N → the blob;
//!   keys in the database's byte order, as rpm on such a machine writes them) and loaded
//!   with `db5.3_load`. rpm 4.18 cannot write Berkeley DB; this is the way to get one.
//! * [`bdb_rpmdb`]: both steps: `R/var/lib/rpm/Packages` from RPM files.
//!
//! Needs Debian's `rpm` (with `rpmdb`) and `db5.3-util` on `PATH`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use altrepodb_rpm::apt_headers;

use crate::error::GenError;

/// Where rpm keeps its database inside a root.
pub const DBPATH: &str = "/var/lib/rpm";

/// One installed header: its database instance number and its blob (no magic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledBlob {
    /// rpm's `%{DBINSTANCE}`.
    pub instance: u32,
    /// The header blob as rpm exports it.
    pub blob: Vec<u8>,
}

/// How to lay out a Berkeley DB `Packages` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BdbOptions {
    /// Big-endian integers (as written on s390x); little-endian otherwise.
    pub big_endian: bool,
    /// Page size (512 to 65536, a power of two). Small pages make many overflow pages.
    pub page_size: u32,
    /// Berkeley DB page checksums (`chksum=1`).
    pub checksums: bool,
}

impl Default for BdbOptions {
    fn default() -> Self {
        BdbOptions {
            big_endian: false,
            page_size: 4096,
            checksums: false,
        }
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<Vec<u8>, GenError> {
    let out = cmd
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| GenError::Spec(format!("{what}: cannot run {cmd:?}: {e}")))?;
    if !out.status.success() {
        return Err(GenError::Spec(format!(
            "{what}: {cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

/// `rpm --root ROOT --dbpath /var/lib/rpm` with `HOME` inside the root, so no user
/// configuration (`~/.rpmmacros`) leaks in.
fn rpm_in(root: &Path, program: &str) -> Command {
    let mut c = Command::new(program);
    c.env("HOME", root)
        .arg("--root")
        .arg(root)
        .args(["--dbpath", DBPATH]);
    c
}

/// Installs the headers of `rpms` into a new SQLite rpmdb `root/var/lib/rpm/rpmdb.sqlite`
/// with Debian's rpm (`--justdb --nodeps --noscripts --notriggers --ignorearch --ignoreos
/// --nosignature --nodigest --replacefiles --replacepkgs`: headers only, so a package whose
/// payload is damaged is still recorded) and returns its path. `root` must not hold
/// an rpmdb yet. Binary packages only: rpm does not record source packages.
pub fn sqlite_rpmdb<P: AsRef<Path>>(root: &Path, rpms: &[P]) -> Result<PathBuf, GenError> {
    let dir = root.join(DBPATH.trim_start_matches('/'));
    let db = dir.join("rpmdb.sqlite");
    if db.exists() {
        return Err(GenError::Spec(format!("{} exists already", db.display())));
    }
    fs::create_dir_all(&dir).map_err(GenError::io(&dir))?;
    run(rpm_in(root, "rpm").arg("--initdb"), "rpm --initdb")?;
    if !rpms.is_empty() {
        let mut cmd = rpm_in(root, "rpm");
        cmd.args([
            "-i",
            "--justdb",
            "--nodeps",
            "--noscripts",
            "--notriggers",
            "--ignorearch",
            "--ignoreos",
            "--nosignature",
            "--nodigest",
            "--replacefiles",
            "--replacepkgs",
        ]);
        for p in rpms {
            cmd.arg(p.as_ref());
        }
        run(&mut cmd, "rpm -i --justdb")?;
    }
    // rpm checkpoints the WAL when it closes the database; a reader of the file alone
    // needs that.
    let wal = dir.join("rpmdb.sqlite-wal");
    if fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        return Err(GenError::Spec(format!(
            "{}: rpm left uncheckpointed transactions",
            wal.display()
        )));
    }
    for leftover in ["rpmdb.sqlite-wal", "rpmdb.sqlite-shm", ".rpm.lock"] {
        let p = dir.join(leftover);
        if p.exists() {
            fs::remove_file(&p).map_err(GenError::io(&p))?;
        }
    }
    Ok(db)
}

/// The installed headers of the rpmdb under `root` (`/var/lib/rpm`, any backend Debian's
/// rpm reads natively), in rpm's order, exported by rpm itself.
pub fn export_rpmdb(root: &Path) -> Result<Vec<InstalledBlob>, GenError> {
    let ids = run(
        rpm_in(root, "rpm").args(["-qa", "--qf", "%{DBINSTANCE}\\n"]),
        "rpm -qa",
    )?;
    let ids: Vec<u32> = String::from_utf8_lossy(&ids)
        .lines()
        .map(|l| {
            l.trim()
                .parse()
                .map_err(|_| GenError::Spec(format!("rpm -qa printed instance {l:?}")))
        })
        .collect::<Result<_, _>>()?;
    let export = run(rpm_in(root, "rpmdb").arg("--exportdb"), "rpmdb --exportdb")?;
    let mut out = Vec::with_capacity(ids.len());
    for (h, instance) in apt_headers(&export).zip(&ids) {
        let h = h.map_err(|e| GenError::Spec(format!("rpmdb --exportdb: {e}")))?;
        let start = h.offset() as usize + 8;
        let blob = export[start..h.offset() as usize + h.record_len()].to_vec();
        out.push(InstalledBlob {
            instance: *instance,
            blob,
        });
    }
    let exported = apt_headers(&export).count();
    if exported != ids.len() {
        return Err(GenError::Spec(format!(
            "rpmdb --exportdb gave {exported} headers, rpm -qa {} instances",
            ids.len()
        )));
    }
    Ok(out)
}

fn hex_line(out: &mut String, bytes: &[u8]) {
    out.push(' ');
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out.push('\n');
}

/// The `db_load` "bytevalue" dump of a hash `Packages` holding `headers`: key 0 → the next
/// free instance number, key N → blob N, every key and the counter in the database's byte
/// order.
pub fn bdb_dump(headers: &[InstalledBlob], opts: &BdbOptions) -> String {
    let word = |v: u32| {
        if opts.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize={}\ndb_lorder={}\n",
        opts.page_size,
        if opts.big_endian { 4321 } else { 1234 }
    );
    if opts.checksums {
        s.push_str("chksum=1\n");
    }
    s.push_str("HEADER=END\n");
    let next = headers.iter().map(|h| h.instance).max().unwrap_or(0) + 1;
    hex_line(&mut s, &word(0));
    hex_line(&mut s, &word(next));
    for h in headers {
        hex_line(&mut s, &word(h.instance));
        hex_line(&mut s, &h.blob);
    }
    s.push_str("DATA=END\n");
    s
}

/// Writes a Berkeley DB hash database `out` (which must not exist) holding `headers`, with
/// `db5.3_load`.
pub fn bdb_packages(
    out: &Path,
    headers: &[InstalledBlob],
    opts: &BdbOptions,
) -> Result<(), GenError> {
    if out.exists() {
        return Err(GenError::Spec(format!("{} exists already", out.display())));
    }
    let dump = out.with_extension("dump");
    fs::write(&dump, bdb_dump(headers, opts)).map_err(GenError::io(&dump))?;
    let r = run(
        Command::new("db5.3_load").arg("-f").arg(&dump).arg(out),
        "db5.3_load",
    );
    fs::remove_file(&dump).map_err(GenError::io(&dump))?;
    r.map(drop)
}

/// A Berkeley DB `root/var/lib/rpm/Packages` holding the headers of `rpms` as rpm installs
/// them (made through a scratch SQLite rpmdb under `root/.rpmdb-build`, removed afterwards).
/// Returns the path of `Packages`.
pub fn bdb_rpmdb<P: AsRef<Path>>(
    root: &Path,
    rpms: &[P],
    opts: &BdbOptions,
) -> Result<PathBuf, GenError> {
    let scratch = root.join(".rpmdb-build");
    if scratch.exists() {
        fs::remove_dir_all(&scratch).map_err(GenError::io(&scratch))?;
    }
    sqlite_rpmdb(&scratch, rpms)?;
    let headers = export_rpmdb(&scratch)?;
    fs::remove_dir_all(&scratch).map_err(GenError::io(&scratch))?;
    let dir = root.join(DBPATH.trim_start_matches('/'));
    fs::create_dir_all(&dir).map_err(GenError::io(&dir))?;
    let packages = dir.join("Packages");
    bdb_packages(&packages, &headers, opts)?;
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_layout() {
        let h = [
            InstalledBlob {
                instance: 1,
                blob: vec![0xab, 0x01],
            },
            InstalledBlob {
                instance: 3,
                blob: vec![0xff],
            },
        ];
        let le = bdb_dump(&h, &BdbOptions::default());
        assert_eq!(
            le,
            "VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize=4096\ndb_lorder=1234\n\
             HEADER=END\n 00000000\n 04000000\n 01000000\n ab01\n 03000000\n ff\nDATA=END\n"
        );
        let be = bdb_dump(
            &h,
            &BdbOptions {
                big_endian: true,
                page_size: 512,
                checksums: true,
            },
        );
        assert!(be.contains("db_pagesize=512\ndb_lorder=4321\nchksum=1\nHEADER=END\n 00000000\n 00000004\n 00000001\n"));
    }
}
