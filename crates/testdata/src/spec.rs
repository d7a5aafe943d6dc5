//! The contents of generated source packages: a spec file consistent with the headers, a
//! small (valid) upstream tarball, and build requirements.

use std::fmt::Write as _;

use altrepodb_rpm::writer::Dependency;

use crate::build::{spec_changelog_head, JobView};
use crate::plan::{BinKind, Family};
use crate::rng::Rng;
use crate::words;

/// The `.spec` text of a source package.
pub(crate) fn spec_text(j: &JobView<'_>, binaries: &[String]) -> String {
    let s = j.shape;
    let r = j.recipe;
    let mut t = String::with_capacity(4096);
    // Writing to a String cannot fail.
    let _ = writeln!(t, "%define _unpackaged_files_terminate_build 1\n");
    let _ = writeln!(
        t,
        "Name: {}\nVersion: {}\nRelease: {}",
        s.name, r.version, r.release
    );
    if let Some(e) = r.epoch {
        let _ = writeln!(t, "Epoch: {e}");
    }
    let _ = writeln!(
        t,
        "\nSummary: {}\nLicense: {}\nGroup: {}\nUrl: {}\n",
        s.summary, s.license, s.group, s.url
    );
    let _ = writeln!(t, "Source: %name-%version.tar");
    if s.patch {
        let _ = writeln!(t, "Patch: %name-%version-alt.patch");
    }
    if s.all_noarch() {
        let _ = writeln!(t, "BuildArch: noarch");
    }
    let _ = writeln!(t, "Packager: {}\n", r.packager);
    let _ = writeln!(t, "%description\n{}\n", s.description);
    for b in &s.binaries {
        if b.kind == BinKind::Main || !binaries.contains(&b.name) {
            continue;
        }
        let _ = writeln!(
            t,
            "%package -n {}\nSummary: {} ({:?})",
            b.name, s.summary, b.kind
        );
        if b.noarch && !s.all_noarch() {
            let _ = writeln!(t, "BuildArch: noarch");
        }
        if matches!(b.kind, BinKind::Devel | BinKind::Utils) {
            let _ = writeln!(t, "Requires: lib{} = %EVR", s.base);
        }
        let _ = writeln!(t, "\n%description -n {}\n{}\n", b.name, s.description);
    }
    let _ = writeln!(t, "%prep\n%setup");
    if s.patch {
        let _ = writeln!(t, "%patch -p1");
    }
    let (build, install) = match s.family {
        Family::C => (
            "%autoreconf\n%configure --disable-static\n%make_build",
            "%makeinstall_std",
        ),
        Family::Python => ("%pyproject_build", "%pyproject_install"),
        Family::Perl => ("%perl_vendor_build", "%perl_vendor_install"),
        Family::Fonts => ("", "%ttf_fonts_install %name"),
        Family::Scripts => ("", "install -Dm755 %name %buildroot%_bindir/%name"),
    };
    let _ = writeln!(t, "\n%build\n{build}\n\n%install\n{install}\n");
    let _ = writeln!(t, "%files\n%_bindir/*\n");
    for b in &s.binaries {
        if b.kind != BinKind::Main && binaries.contains(&b.name) {
            let _ = writeln!(t, "%files -n {}\n%_datadir/{}/*\n", b.name, s.base);
        }
    }
    let _ = writeln!(t, "%changelog");
    for c in &r.changelog {
        let _ = writeln!(
            t,
            "{}\n{}\n",
            spec_changelog_head(c.date, &c.name, &c.evr),
            c.text
        );
    }
    t
}

/// Build requirements (REQUIRENAME of the source package).
pub(crate) fn build_requires(j: &JobView<'_>, rng: &mut Rng) -> Vec<Dependency> {
    let mut v: Vec<Dependency> = Vec::new();
    let mut add = |d: Dependency| {
        if !v.iter().any(|x| x.name == d.name) {
            v.push(d);
        }
    };
    match j.shape.family {
        Family::C => {
            for _ in 0..rng.range_usize(1, 4) {
                add(Dependency::any(*rng.pick(words::BUILD_TOOLS)));
            }
            let libs = &j.ctx.libs;
            if !libs.is_empty() {
                for _ in 0..rng.weighted(&[30, 40, 20, 10]) {
                    let l = &libs[rng.below(libs.len() as u64) as usize];
                    if l.index == j.recipe.gen.index {
                        continue;
                    }
                    let devel = format!("{}-devel", l.soname.split(".so").next().unwrap_or("lib"));
                    if rng.chance(300) {
                        add(Dependency::ge(
                            devel,
                            format!("{}.{}", rng.below(4), rng.below(10)),
                        ));
                    } else {
                        add(Dependency::any(devel));
                    }
                }
            }
        }
        Family::Python => {
            add(Dependency::any("rpm-build-python3"));
            add(Dependency::any("python3-module-setuptools"));
            add(Dependency::any("python3-module-wheel"));
            if rng.chance(400) {
                add(Dependency::any("python3(pytest)"));
            }
        }
        Family::Perl => {
            add(Dependency::any("rpm-build-perl"));
            add(Dependency::any("perl-devel"));
            if rng.chance(500) {
                add(Dependency::any("perl(Test/More.pm)"));
            }
        }
        Family::Fonts => add(Dependency::any("rpm-build-fonts")),
        Family::Scripts => {
            if rng.chance(300) {
                add(Dependency::any("help2man"));
            }
        }
    }
    v
}

/// One ustar header block.
fn tar_header(name: &str, size: usize, mode: u32, mtime: u32, dir: bool) -> [u8; 512] {
    let mut h = [0u8; 512];
    let put = |h: &mut [u8; 512], off: usize, s: &[u8]| {
        let n = s.len().min(h.len() - off);
        h[off..off + n].copy_from_slice(&s[..n]);
    };
    put(&mut h, 0, &name.as_bytes()[..name.len().min(99)]);
    put(&mut h, 100, format!("{mode:07o}\0").as_bytes());
    put(&mut h, 108, b"0000000\0");
    put(&mut h, 116, b"0000000\0");
    put(&mut h, 124, format!("{size:011o}\0").as_bytes());
    put(&mut h, 136, format!("{mtime:011o}\0").as_bytes());
    put(&mut h, 148, b"        ");
    h[156] = if dir { b'5' } else { b'0' };
    put(&mut h, 257, b"ustar\0");
    put(&mut h, 263, b"00");
    put(&mut h, 265, b"builder");
    put(&mut h, 297, b"builder");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A small, valid, uncompressed tarball `<name>-<version>.tar` (gear makes those), padded
/// to tar's 10 KiB record size.
pub(crate) fn tarball(name: &str, version: &str, mtime: u32, rng: &mut Rng) -> Vec<u8> {
    let top = format!("{name}-{version}");
    let mut out = Vec::with_capacity(10240);
    out.extend_from_slice(&tar_header(&format!("{top}/"), 0, 0o755, mtime, true));
    let members = [
        ("README", format!("{name} {version}\n\nSynthetic upstream sources for tests.\n")),
        ("Makefile", format!("all:\n\t@echo building {name}\n\ninstall:\n\t@true\n")),
        (
            "main.c",
            format!(
                "/* {name} {version} */\n#include <stdio.h>\nint main(void) {{ puts(\"{name} {}\"); return 0; }}\n",
                rng.below(1_000_000)
            ),
        ),
    ];
    for (file, body) in members {
        out.extend_from_slice(&tar_header(
            &format!("{top}/{file}"),
            body.len(),
            0o644,
            mtime,
            false,
        ));
        out.extend_from_slice(body.as_bytes());
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out.resize(out.len().div_ceil(10240) * 10240, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_checksum_is_valid() {
        let h = tar_header("a/b", 5, 0o644, 1_700_000_000, false);
        let stored = std::str::from_utf8(&h[148..154]).unwrap();
        let mut copy = h;
        copy[148..156].copy_from_slice(b"        ");
        let sum: u32 = copy.iter().map(|&b| u32::from(b)).sum();
        assert_eq!(u32::from_str_radix(stored, 8).unwrap(), sum);
        let t = tarball("foo", "1.0", 1_700_000_000, &mut Rng::new(1));
        assert_eq!(t.len() % 10240, 0);
    }
}
