//! Header-read throughput: this crate against Debian `rpm -qp --qf`, in the same run.
//!
//! ```text
//! cargo bench -p altrepodb-rpm --bench header_read -- [DIR] [--rounds N]
//! ```
//! DIR defaults to `$ALTREPODB_TESTDATA/rpm` (else `<workspace>/../shared/testdata/rpm`).
//! Every `.rpm` under DIR that both readers accept is read N times (default 200) in one
//! process each: ours single-threaded (open, read the headers, parse, take NEVRA and
//! BUILDTIME), then `rpm -qp --qf '%{NAME} %{VERSION} %{RELEASE} %{ARCH} %{BUILDTIME}\n'`
//! with the same file list repeated N times on its command line. Files are in the page cache
//! for both. MB/s counts header bytes (lead + signature + main header), the bytes a
//! header reader has to touch.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use altrepodb_rpm::meta::{self, DepKind, PackageMeta};
use altrepodb_rpm::{read_package_bytes, Package, Tag};

const QF: &str = "%{NAME} %{VERSION} %{RELEASE} %{ARCH} %{BUILDTIME}\n";

fn rpm_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rpm") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Ours, the `rpm -qp --qf` equivalent: returns output bytes (to keep the work observable).
fn read_nevra(path: &Path) -> Option<(usize, usize)> {
    let mut f = File::open(path).ok()?;
    let bytes = read_package_bytes(&mut f).ok()?;
    let pkg = Package::parse(&bytes).ok()?;
    let h = pkg.header();
    let line = format!(
        "{} {} {} {} {}\n",
        h.text(Tag::NAME).ok()?,
        h.text(Tag::VERSION).ok()?,
        h.text(Tag::RELEASE).ok()?,
        h.text(Tag::ARCH).ok()?,
        h.u32(Tag::BUILDTIME).ok()?.unwrap_or(0)
    );
    Some((bytes.len(), line.len()))
}

/// Ours, what a loader needs: every Packages field, files, dependencies, pkg_hash.
fn read_full(path: &Path) -> Option<usize> {
    let mut f = File::open(path).ok()?;
    let bytes = read_package_bytes(&mut f).ok()?;
    let pkg = Package::parse(&bytes).ok()?;
    let h = pkg.header();
    let m = PackageMeta::from_header(h).ok()?;
    let files = meta::files(h).ok()?;
    let deps: usize = DepKind::ALL
        .iter()
        .map(|&k| meta::dependencies(h, k).map(|d| d.len()).unwrap_or(0))
        .sum();
    let _ = h.pkg_hash();
    Some(m.changelog.len() + files.len() + deps)
}

fn rate(n: usize, bytes: u64, t: Duration) -> String {
    let s = t.as_secs_f64();
    format!(
        "{:>10.0} headers/s {:>9.1} MB/s  ({n} headers, {:.1} MB, {:.3} s)",
        n as f64 / s,
        bytes as f64 / s / 1e6,
        bytes as f64 / 1e6,
        s
    )
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut dir: Option<PathBuf> = None;
    let mut rounds = 200usize;
    while let Some(a) = args.next() {
        if a == "--rounds" {
            rounds = args.next().and_then(|v| v.parse().ok()).unwrap_or(rounds);
        } else {
            dir = Some(PathBuf::from(a));
        }
    }
    let dir = dir.unwrap_or_else(|| {
        std::env::var_os("ALTREPODB_TESTDATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
            })
            .join("rpm")
    });
    let all = rpm_files(&dir);
    if all.is_empty() {
        eprintln!(
            "header_read: skipped: no .rpm files under {}",
            dir.display()
        );
        return;
    }
    // Only files both readers accept, so both do the same work.
    let files: Vec<PathBuf> = all
        .into_iter()
        .filter(|p| read_nevra(p).is_some())
        .filter(|p| {
            Command::new("rpm")
                .args(["-qp", "--qf", "x"])
                .arg(p)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    let header_bytes: u64 = files
        .iter()
        .filter_map(|p| read_nevra(p))
        .map(|(b, _)| b as u64)
        .sum();
    println!(
        "{} packages from {}, {} rounds, {:.2} MB of headers per round",
        files.len(),
        dir.display(),
        rounds,
        header_bytes as f64 / 1e6
    );

    // Warm the page cache.
    for p in &files {
        let _ = std::fs::read(p);
    }

    let t = Instant::now();
    let mut sink = 0usize;
    for _ in 0..rounds {
        for p in &files {
            sink += read_nevra(p).map_or(0, |(_, l)| l);
        }
    }
    let ours = t.elapsed();
    let n = files.len() * rounds;
    let total = header_bytes * rounds as u64;
    println!("altrepodb-rpm  NEVRA        {}", rate(n, total, ours));

    let t = Instant::now();
    for _ in 0..rounds {
        for p in &files {
            sink += read_full(p).unwrap_or(0);
        }
    }
    let full = t.elapsed();
    println!("altrepodb-rpm  full meta    {}", rate(n, total, full));

    let mut times = Vec::new();
    for (label, extra) in [
        ("rpm -qp --qf               ", &[][..]),
        (
            "rpm -qp --qf --nodigest --nosignature",
            &["--nodigest", "--nosignature"][..],
        ),
    ] {
        let mut cmd = Command::new("rpm");
        cmd.arg("-qp").args(extra).args(["--qf", QF]);
        for _ in 0..rounds {
            cmd.args(&files);
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let t = Instant::now();
        match cmd.status() {
            Ok(s) if s.success() => {
                let e = t.elapsed();
                println!("{label}  {}", rate(n, total, e));
                times.push(e);
            }
            Ok(s) => println!("{label}  failed: {s}"),
            Err(e) => println!("{label}  cannot run rpm: {e}"),
        }
    }
    if let Some(rpm) = times.first() {
        println!(
            "speed-up: {:.1}x (NEVRA) / {:.1}x (full meta) over plain rpm -qp --qf",
            rpm.as_secs_f64() / ours.as_secs_f64(),
            rpm.as_secs_f64() / full.as_secs_f64()
        );
    }
    std::hint::black_box(sink);
}
