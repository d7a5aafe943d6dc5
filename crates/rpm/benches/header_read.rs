//! Header-read throughput: this crate against Debian `rpm -qp --qf`, in the same run.
//!
//! ```text
//! cargo bench -p altrepodb-rpm --bench header_read -- [DIR] [--rounds N]
//! ```
//! DIR defaults to `$ALTREPODB_TESTDATA/rpm` (else `<workspace>/../shared/testdata/rpm`).
//! Every `.rpm` under DIR that both readers accept is read N times (default 100) in one
//! process each, three times alternately (best run kept): ours single-threaded (open, read the headers, parse, take NEVRA and
//! BUILDTIME), then `rpm -qp --qf '%{NAME} %{VERSION} %{RELEASE} %{ARCH} %{BUILDTIME}\n'`
//! with the same file list repeated N times on its command line. Files are in the page cache
//! for both. MB/s counts header bytes (lead + signature + main header), the bytes a
//! header reader has to touch.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use altrepodb_rpm::meta::{self, DepKind, PackageMeta};
use altrepodb_rpm::{read_package_bytes, read_package_into, Package, Tag};

/// Each contender runs this many times; the best run counts.
const REPEATS: usize = 3;

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
/// `buf` is reused across files, as a loader would.
fn read_nevra(path: &Path, buf: &mut Vec<u8>) -> Option<(usize, usize)> {
    let mut f = File::open(path).ok()?;
    read_package_into(&mut f, buf).ok()?;
    let bytes = &buf[..];
    let pkg = Package::parse(bytes).ok()?;
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

/// CPU time (user + system) of this process or of its waited-for children.
fn cpu_time(who: libc::c_int) -> Duration {
    // SAFETY: getrusage only writes the struct we pass; zeroed is a valid `rusage`.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Wall-clock and CPU time of one run.
#[derive(Clone, Copy)]
struct Run {
    wall: Duration,
    cpu: Duration,
}

/// Runs `f` in this process and measures it.
fn run_self(f: impl FnOnce()) -> Run {
    let (t, c) = (Instant::now(), cpu_time(libc::RUSAGE_SELF));
    f();
    Run {
        wall: t.elapsed(),
        cpu: cpu_time(libc::RUSAGE_SELF).saturating_sub(c),
    }
}

/// Keeps the best wall and the best CPU time seen.
fn best(a: Option<Run>, b: Option<Run>) -> Option<Run> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Run {
            wall: a.wall.min(b.wall),
            cpu: a.cpu.min(b.cpu),
        }),
        (a, b) => a.or(b),
    }
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
    let mut rounds = 100usize;
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
        .filter(|p| read_nevra(p, &mut Vec::new()).is_some())
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
        .filter_map(|p| read_nevra(p, &mut Vec::new()))
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

    let n = files.len() * rounds;
    let total = header_bytes * rounds as u64;
    let mut sink = 0usize;
    let mut buf = Vec::new();
    let mut ours_nevra = |sink: &mut usize| {
        run_self(|| {
            for _ in 0..rounds {
                for p in &files {
                    *sink += read_nevra(p, &mut buf).map_or(0, |(_, l)| l);
                }
            }
        })
    };
    let ours_full = |sink: &mut usize| {
        run_self(|| {
            for _ in 0..rounds {
                for p in &files {
                    *sink += read_full(p).unwrap_or(0);
                }
            }
        })
    };
    let rpm = |extra: &[&str]| -> Option<Run> {
        let mut cmd = Command::new("rpm");
        cmd.arg("-qp").args(extra).args(["--qf", QF]);
        for _ in 0..rounds {
            cmd.args(&files);
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let (t, c) = (Instant::now(), cpu_time(libc::RUSAGE_CHILDREN));
        let ok = cmd.status().is_ok_and(|s| s.success());
        ok.then(|| Run {
            wall: t.elapsed(),
            cpu: cpu_time(libc::RUSAGE_CHILDREN).saturating_sub(c),
        })
    };
    // Alternate the contenders and keep each one's best run, so load from other processes
    // on a shared machine hits both alike; CPU time is reported too, being less sensitive to
    // that load than wall time.
    // The parser alone, on headers already in memory (rpmdb blobs, decompressed APT lists,
    // or files a loader reads anyway to digest them).
    let bufs: Vec<Vec<u8>> = files
        .iter()
        .filter_map(|p| read_package_bytes(&mut File::open(p).ok()?).ok())
        .collect();
    let parse_only = |sink: &mut usize| {
        run_self(|| {
            for _ in 0..rounds {
                for b in &bufs {
                    if let Ok(pkg) = Package::parse(b) {
                        *sink += pkg.header().text(Tag::NAME).map_or(0, |t| t.len());
                    }
                }
            }
        })
    };
    let (mut t_nevra, mut t_full, mut t_rpm, mut t_rpm_nd) = (None, None, None, None);
    let mut t_parse = None;
    for _ in 0..REPEATS {
        t_nevra = best(t_nevra, Some(ours_nevra(&mut sink)));
        t_parse = best(t_parse, Some(parse_only(&mut sink)));
        t_rpm = best(t_rpm, rpm(&[]));
        t_full = best(t_full, Some(ours_full(&mut sink)));
        t_rpm_nd = best(t_rpm_nd, rpm(&["--nodigest", "--nosignature"]));
    }
    let line = |label: &str, r: Option<Run>| match r {
        Some(r) => {
            println!("{label:<44} wall {}", rate(n, total, r.wall));
            println!("{:<44} cpu  {}", "", rate(n, total, r.cpu));
        }
        None => println!("{label:<44} failed (is Debian rpm installed?)"),
    };
    println!("best of {REPEATS} alternating runs, single thread:");
    line("altrepodb-rpm: NEVRA + BUILDTIME", t_nevra);
    line("altrepodb-rpm: parse only, bytes in memory", t_parse);
    line("altrepodb-rpm: full meta (files, deps, ...)", t_full);
    line("rpm -qp --qf", t_rpm);
    line("rpm -qp --nodigest --nosignature --qf", t_rpm_nd);
    if let (Some(ours), Some(full), Some(rpm)) = (t_nevra, t_full, t_rpm) {
        let x = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
        println!(
            "speed-up over rpm -qp --qf, same fields: {:.1}x wall, {:.1}x cpu; full meta: {:.1}x wall",
            x(rpm.wall, ours.wall),
            x(rpm.cpu, ours.cpu),
            x(rpm.wall, full.wall)
        );
    }
    if let (Some(p), Some(rpm)) = (t_parse, t_rpm) {
        println!(
            "parser alone vs rpm -qp --qf: {:.1}x wall",
            rpm.wall.as_secs_f64() / p.wall.as_secs_f64().max(1e-9)
        );
    }
    std::hint::black_box(sink);
}
