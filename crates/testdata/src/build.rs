//! Building one source package and its binaries: file trees, dependencies, the `.rpm`
//! files themselves (written straight to disk), their APT list records and manifest
//! records. One call per source; sources are built in parallel.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::path::Path;

use altrepodb_rpm::digest::{digest_bytes, DigestAlgo};
use altrepodb_rpm::tags::Tag;
use altrepodb_rpm::writer::{
    apt_header_record, AptIndex, AptLayout, BuiltPackage, ChangelogEntry, Dependency, FileSpec,
    HeaderWriter, PackageBuilder, TagValue,
};
use altrepodb_rpm::Compression;

use crate::date::{self, DAY};
use crate::error::GenError;
use crate::manifest::{record_line, PackageKind, PackageRecord};
use crate::plan::{stream, BinKind, BinShape, Ctx, Family, Recipe, Shape};
use crate::rng::{derive, hash_str, Rng};
use crate::words;

/// The APT `directory` tag value and directory name of binary packages.
pub(crate) const RPMS_DIR: &str = "RPMS.classic";
/// The APT `directory` tag value of source packages.
pub(crate) const SRPMS_DIR: &str = "SRPMS.classic";

/// Tags genpkglist copies from a binary package's header (ALT apt-rpm), in its order.
const PKGLIST_TAGS: &[Tag] = &[
    Tag::NAME,
    Tag::EPOCH,
    Tag::VERSION,
    Tag::RELEASE,
    Tag::GROUP,
    Tag::ARCH,
    Tag::PACKAGER,
    Tag::SOURCERPM,
    Tag::SIZE,
    Tag::VENDOR,
    Tag::DESCRIPTION,
    Tag::SUMMARY,
    Tag::BUILDTIME,
    Tag::HEADERI18NTABLE,
    Tag::REQUIREFLAGS,
    Tag::REQUIRENAME,
    Tag::REQUIREVERSION,
    Tag::CONFLICTFLAGS,
    Tag::CONFLICTNAME,
    Tag::CONFLICTVERSION,
    Tag::PROVIDENAME,
    Tag::PROVIDEFLAGS,
    Tag::PROVIDEVERSION,
    Tag::OBSOLETENAME,
    Tag::OBSOLETEFLAGS,
    Tag::OBSOLETEVERSION,
];

/// Tags gensrclist copies from a source package's header.
const SRCLIST_TAGS: &[Tag] = &[
    Tag::NAME,
    Tag::EPOCH,
    Tag::VERSION,
    Tag::RELEASE,
    Tag::GROUP,
    Tag::ARCH,
    Tag::PACKAGER,
    Tag::SIZE,
    Tag::VENDOR,
    Tag::DESCRIPTION,
    Tag::SUMMARY,
    Tag::HEADERI18NTABLE,
    Tag::REQUIREFLAGS,
    Tag::REQUIRENAME,
    Tag::REQUIREVERSION,
];

/// genpkglist `--changelog-since`: entries newer than this before the build, plus one more.
const CHANGELOG_SINCE: u32 = 365 * DAY;

/// One written package, reduced to what the list/manifest writer needs.
#[derive(Debug)]
pub(crate) struct PkgOut {
    pub kind: PackageKind,
    pub arch_dir: String,
    pub file_name: String,
    pub sha256: String,
    /// The APT list record (magic included).
    pub apt: Vec<u8>,
    /// The manifest line.
    pub line: String,
    pub files: u64,
    pub bytes: u64,
    pub pkg_hash: u64,
}

/// One source package with its binaries (binaries sorted by arch dir, then file name).
#[derive(Debug)]
pub(crate) struct SourceOut {
    pub src: PkgOut,
    pub bins: Vec<PkgOut>,
}

/// Properties of a target architecture.
struct ArchInfo {
    /// Library directory.
    libdir: &'static str,
    /// `()(64bit)` suffix of sonames.
    bits64: bool,
    ld: &'static str,
    optflags: &'static str,
}

fn arch_info(arch: &str) -> ArchInfo {
    let (libdir, bits64, ld, optflags) = match arch {
        "x86_64" => (
            "/usr/lib64",
            true,
            "/lib64/ld-linux-x86-64.so.2",
            "-pipe -frecord-gcc-switches -Wall -g -O2 -march=x86-64 -mtune=generic",
        ),
        "aarch64" => (
            "/usr/lib64",
            true,
            "/lib/ld-linux-aarch64.so.1",
            "-pipe -frecord-gcc-switches -Wall -g -O2",
        ),
        "ppc64le" => (
            "/usr/lib64",
            true,
            "/lib64/ld64.so.2",
            "-pipe -frecord-gcc-switches -Wall -g -O2 -mcpu=power8",
        ),
        "riscv64" => (
            "/usr/lib64",
            true,
            "/lib/ld-linux-riscv64-lp64d.so.1",
            "-pipe -frecord-gcc-switches -Wall -g -O2",
        ),
        "e2k" | "e2kv4" | "e2kv5" | "e2kv6" => (
            "/usr/lib64",
            true,
            "/lib64/ld-linux.so.2",
            "-pipe -Wall -g -O2",
        ),
        "i586" => (
            "/usr/lib",
            false,
            "/lib/ld-linux.so.2",
            "-pipe -frecord-gcc-switches -Wall -g -O2 -march=i586 -mtune=generic",
        ),
        "armh" => (
            "/usr/lib",
            false,
            "/lib/ld-linux-armhf.so.3",
            "-pipe -frecord-gcc-switches -Wall -g -O2 -march=armv7-a -mfpu=vfpv3-d16",
        ),
        _ => ("/usr/lib", false, "/lib/ld.so.1", "-pipe -Wall -g -O2"),
    };
    ArchInfo {
        libdir,
        bits64,
        ld,
        optflags,
    }
}

const LOREM: &str = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod \
tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud \
exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in \
reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint \
occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.\n\
Съешь же ещё этих мягких французских булок, да выпей чаю.\n";

const SYMBOLS: &str = ".text\0.data\0.bss\0.rodata\0.dynsym\0.dynstr\0.plt\0.got\0\
__libc_start_main\0malloc\0free\0memcpy\0strlen\0printf\0__cxa_finalize\0_ITM_registerTMCloneTable\0";

/// Text of roughly `len` bytes starting with `head`.
fn text(rng: &mut Rng, head: &str, len: usize) -> Vec<u8> {
    let lorem = LOREM.as_bytes();
    let mut v = Vec::with_capacity(head.len() + len + 1);
    v.extend_from_slice(head.as_bytes());
    v.push(b'\n');
    let mut off = rng.below(lorem.len() as u64) as usize;
    let mut left = len;
    while left > 0 {
        let n = left.min(lorem.len() - off);
        v.extend_from_slice(&lorem[off..off + n]);
        left -= n;
        off = 0;
    }
    v
}

/// A length for a text file: mostly small, a long tail up to 30 kB.
fn text_len(rng: &mut Rng) -> usize {
    match rng.weighted(&[650, 280, 65, 5]) {
        0 => rng.range_usize(16, 160),
        1 => rng.range_usize(160, 1200),
        2 => rng.range_usize(1200, 6000),
        _ => rng.range_usize(6000, 30000),
    }
}

/// An ELF-looking blob: magic, some random bytes, then symbol-table-like filler.
fn elf(rng: &mut Rng, bits64: bool, tag: &str) -> Vec<u8> {
    let mut v = vec![0x7f, b'E', b'L', b'F', if bits64 { 2 } else { 1 }, 1, 1, 0];
    v.extend_from_slice(&[0; 8]);
    let n = rng.range_usize(32, 256);
    v.extend(rng.bytes(n));
    v.extend_from_slice(tag.as_bytes());
    let fill = rng.range_usize(200, 3000);
    let sym = SYMBOLS.as_bytes();
    while v.len() < fill {
        v.extend_from_slice(sym);
    }
    v
}

/// A package's files and dependencies while it is being assembled.
struct Pkg {
    files: Vec<FileSpec>,
    seen: HashSet<String>,
    requires: Vec<Dependency>,
    provides: Vec<Dependency>,
    conflicts: Vec<Dependency>,
    obsoletes: Vec<Dependency>,
    tags: Vec<(u32, TagValue)>,
    set_versions: bool,
}

impl Pkg {
    fn new() -> Pkg {
        Pkg {
            files: Vec::new(),
            seen: HashSet::new(),
            requires: Vec::new(),
            provides: Vec::new(),
            conflicts: Vec::new(),
            obsoletes: Vec::new(),
            tags: Vec::new(),
            set_versions: false,
        }
    }

    /// Adds a file unless its path is taken (generated names can repeat).
    fn add(&mut self, f: FileSpec) {
        if self.seen.insert(f.path.clone()) {
            self.files.push(f);
        }
    }

    fn dir(&mut self, path: &str) {
        if !self.seen.contains(path) {
            self.add(FileSpec::dir(path));
        }
    }

    fn require(&mut self, d: Dependency) {
        if d.version.starts_with("set:") {
            self.set_versions = true;
        }
        if !self.requires.iter().any(|r| r.name == d.name) {
            self.requires.push(d);
        }
    }

    fn provide(&mut self, d: Dependency) {
        if !self.provides.iter().any(|r| r.name == d.name) {
            self.provides.push(d);
        }
    }
}

const FIND_REQ: u32 = Dependency::FIND_REQUIRES;
const FIND_PROV: u32 = Dependency::FIND_PROVIDES;
const GE: u32 = Dependency::GREATER | Dependency::EQUAL;

/// Everything one source's build shares.
struct Job<'a> {
    ctx: &'a Ctx,
    recipe: &'a Recipe,
    shape: &'a Shape,
    evr: String,
    src_file: String,
    /// File mtimes of unpacked upstream files (the tarball's), before the build.
    upstream_mtime: u32,
}

impl Job<'_> {
    fn doc_dir(&self) -> String {
        format!("/usr/share/doc/{}-{}", self.shape.base, self.recipe.version)
    }

    /// `lib<base>.so.<major>` with its full version suffix.
    fn lib_file(&self) -> (String, String) {
        let so = format!("lib{}.so.{}", self.shape.base, self.shape.lib_major);
        let nums: Vec<&str> = self
            .recipe
            .version
            .split('.')
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        let tail = match nums.len() {
            0 => "0.0".to_string(),
            1 => format!("{}.0", nums[0]),
            _ => format!("{}.{}", nums[nums.len() - 2], nums[nums.len() - 1]),
        };
        (so.clone(), format!("{so}.{tail}"))
    }

    fn soname_dep(&self, soname: &str, a: &ArchInfo) -> String {
        if a.bits64 {
            format!("{soname}()(64bit)")
        } else {
            soname.to_string()
        }
    }

    fn symver_dep(&self, soname: &str, ver: &str, a: &ArchInfo) -> String {
        if a.bits64 {
            format!("{soname}({ver})(64bit)")
        } else {
            format!("{soname}({ver})")
        }
    }
}

/// Regular text file.
fn tfile(rng: &mut Rng, path: &str, evr: &str, mode: u16) -> FileSpec {
    let len = text_len(rng);
    FileSpec::file(path, text(rng, &format!("# {path} {evr}"), len)).mode(mode)
}

/// Adds `n` long-tail files under `root`, in a tree of directories with 8–40 entries each;
/// about 3% are symlinks to a sibling.
fn bulk_tree(p: &mut Pkg, rng: &mut Rng, job: &Job<'_>, root: &str, n: usize, exts: &[&str]) {
    if n == 0 {
        return;
    }
    p.dir(root);
    let fanout = rng.range_usize(8, 40);
    let ndirs = n.div_ceil(fanout);
    let mut dirs: Vec<String> = Vec::new();
    if ndirs <= 1 {
        dirs.push(root.to_string());
    } else if ndirs <= fanout {
        for j in 0..ndirs {
            dirs.push(format!("{root}/{}{j}", rng.pick(words::WORDS)));
        }
    } else {
        let top = ndirs.div_ceil(fanout);
        for j in 0..top {
            let t = format!("{root}/{}{j}", rng.pick(words::WORDS));
            p.dir(&t);
            for k in 0..fanout.min(ndirs - j * fanout) {
                dirs.push(format!("{t}/{}{k}", rng.pick(words::WORDS)));
            }
        }
    }
    for d in &dirs {
        p.dir(d);
    }
    let old = rng.chance(500);
    let mut prev: Option<String> = None;
    for i in 0..n {
        let d = &dirs[(i / fanout).min(dirs.len() - 1)];
        let name = format!("{}_{i}.{}", rng.pick(words::WORDS), rng.pick(exts));
        let path = format!("{d}/{name}");
        let spec = match &prev {
            Some(target) if rng.chance(30) => FileSpec::symlink(&path, target.as_str()),
            _ => {
                let mut f = tfile(rng, &path, &job.evr, 0o644);
                if old {
                    f = f.mtime(job.upstream_mtime);
                }
                f
            }
        };
        p.add(spec);
        prev = if (i + 1) % fanout == 0 {
            None
        } else {
            Some(name)
        };
    }
}

/// Requirements every compiled binary has, plus links to a few generated libraries.
fn link_deps(p: &mut Pkg, rng: &mut Rng, job: &Job<'_>, a: &ArchInfo) {
    p.require(Dependency::new(a.ld, FIND_REQ, ""));
    let n = rng.range_usize(1, 5);
    for i in 0..n {
        let (so, ver) = if i == 0 {
            words::SYSTEM_LIBS[0]
        } else {
            *rng.pick(words::SYSTEM_LIBS)
        };
        let set = crate::plan::set_version(hash_str(so));
        p.require(Dependency::new(
            job.soname_dep(so, a),
            FIND_REQ | GE,
            set.as_str(),
        ));
        if !ver.is_empty() {
            p.require(Dependency::new(job.symver_dep(so, ver, a), FIND_REQ, ""));
        }
    }
    let libs = &job.ctx.libs;
    if !libs.is_empty() {
        for _ in 0..rng.weighted(&[40, 30, 15, 10, 5]) {
            let l = &libs[rng.below(libs.len() as u64) as usize];
            if l.index == job.recipe.gen.index {
                continue;
            }
            p.require(Dependency::new(
                job.soname_dep(&l.soname, a),
                FIND_REQ | GE,
                l.set.as_str(),
            ));
            if rng.chance(300) {
                p.require(Dependency::new(
                    job.symver_dep(&l.soname, &l.symver, a),
                    FIND_REQ,
                    "",
                ));
            }
        }
    }
}

fn own_lib_dep(p: &mut Pkg, job: &Job<'_>) {
    if job.shape.has_lib() {
        p.require(Dependency::eq(
            format!("lib{}", job.shape.base),
            job.evr.as_str(),
        ));
    }
}

fn main_c(p: &mut Pkg, rng: &mut Rng, job: &Job<'_>, a: &ArchInfo, bulk: usize) {
    let s = job.shape;
    let b = &s.base;
    let bin = format!("/usr/bin/{b}");
    p.add(FileSpec::file(&bin, elf(rng, a.bits64, &bin)).mode(0o755));
    for _ in 0..rng.weighted(&[60, 25, 10, 5]) {
        let path = format!("/usr/bin/{b}-{}", rng.pick(words::WORDS));
        p.add(FileSpec::file(&path, elf(rng, a.bits64, &path)).mode(0o755));
    }
    if s.hardlinks {
        p.add(FileSpec::hardlink(
            format!("/usr/bin/{b}-{}", job.recipe.version),
            bin.as_str(),
        ));
    }
    if rng.chance(500) {
        let man = format!("/usr/share/man/man1/{b}.1.xz");
        let mut c = vec![0xfd, b'7', b'z', b'X', b'Z', 0];
        let n = rng.range_usize(100, 900);
        c.extend(rng.bytes(n));
        p.add(FileSpec::file(man, c).doc());
    }
    if rng.chance(300) {
        p.dir(&format!("/etc/{b}"));
        p.add(
            tfile(rng, &format!("/etc/{b}/{b}.conf"), &job.evr, 0o644)
                .config()
                .flags(FileSpec::NOREPLACE),
        );
    }
    if s.server {
        let user = format!("_{b}");
        let daemon = format!("/usr/sbin/{b}d");
        p.add(FileSpec::file(&daemon, elf(rng, a.bits64, &daemon)).mode(0o755));
        p.add(tfile(
            rng,
            &format!("/lib/systemd/system/{b}.service"),
            &job.evr,
            0o644,
        ));
        p.add(tfile(rng, &format!("/etc/rc.d/init.d/{b}"), &job.evr, 0o755).config());
        p.add(
            FileSpec::dir(format!("/var/lib/{b}"))
                .mode(0o750)
                .owner(&user, &user),
        );
        p.add(
            FileSpec::file(format!("/var/log/{b}.log"), Vec::new())
                .mode(0o640)
                .owner(&user, &user)
                .ghost(),
        );
        if rng.chance(300) {
            let helper = format!("/usr/libexec/{b}/{b}-helper");
            p.dir(&format!("/usr/libexec/{b}"));
            p.add(
                FileSpec::file(&helper, elf(rng, a.bits64, &helper))
                    .mode(0o4711)
                    .owner("root", &user),
            );
        }
        p.tags.push((
            Tag::PREIN.0,
            format!("/usr/sbin/groupadd -r -f {user} ||:\n/usr/sbin/useradd -r -g {user} -d /var/lib/{b} -s /dev/null -c '{b} daemon' {user} >/dev/null 2>&1 ||:").into(),
        ));
        p.tags.push((Tag::PREINPROG.0, "/bin/sh".into()));
        p.tags
            .push((Tag::POSTIN.0, format!("/usr/sbin/post_service {b}").into()));
        p.tags.push((Tag::POSTINPROG.0, "/bin/sh".into()));
        p.tags
            .push((Tag::PREUN.0, format!("/usr/sbin/preun_service {b}").into()));
        p.tags.push((Tag::PREUNPROG.0, "/bin/sh".into()));
        p.require(Dependency::new(
            "/bin/sh",
            Dependency::PREREQ
                | Dependency::SCRIPT_PRE
                | Dependency::SCRIPT_POST
                | Dependency::SCRIPT_PREUN,
            "",
        ));
        p.require(Dependency::new(
            "shadow-utils",
            Dependency::PREREQ | Dependency::SCRIPT_PRE,
            "",
        ));
    }
    for lang in &words::LANGS[..s.langs] {
        let d = format!("/usr/share/locale/{lang}/LC_MESSAGES");
        let mut f = tfile(rng, &format!("{d}/{b}.mo"), &job.evr, 0o644);
        f = f.lang(*lang);
        p.add(f);
    }
    let doc = job.doc_dir();
    if rng.chance(600) {
        p.dir(&doc);
        for n in ["README", "NEWS", "AUTHORS"] {
            if rng.chance(700) {
                p.add(tfile(rng, &format!("{doc}/{n}"), &job.evr, 0o644).doc());
            }
        }
        p.add(
            tfile(rng, &format!("{doc}/COPYING"), &job.evr, 0o644)
                .flags(FileSpec::DOC | FileSpec::LICENSE),
        );
    }
    if s.shared_dirs {
        for d in ["/usr/share/doc", "/usr/share/man/man1", "/usr/share/locale"] {
            p.dir(d);
        }
    }
    bulk_tree(
        p,
        rng,
        job,
        &format!("/usr/share/{b}"),
        bulk,
        words::DATA_EXTS,
    );
    link_deps(p, rng, job, a);
    own_lib_dep(p, job);
    for sib in &s.binaries {
        if matches!(sib.kind, BinKind::Common | BinKind::Data) {
            p.require(Dependency::eq(sib.name.as_str(), job.evr.as_str()));
        }
    }
    if rng.chance(40) {
        p.conflicts.push(Dependency::lt(format!("{b}-old"), "1.0"));
    }
    if rng.chance(50) {
        p.obsoletes
            .push(Dependency::lt(format!("{b}-compat"), job.evr.as_str()));
    }
    if rng.chance(150) {
        p.provide(Dependency::any(format!("{b}-{}", rng.pick(words::WORDS))));
    }
}

fn lib_c(p: &mut Pkg, rng: &mut Rng, job: &Job<'_>, a: &ArchInfo, bulk: usize) {
    let (so, full) = job.lib_file();
    let l = a.libdir;
    p.add(FileSpec::file(format!("{l}/{full}"), elf(rng, a.bits64, &full)).mode(0o755));
    p.add(FileSpec::symlink(format!("{l}/{so}"), full.as_str()));
    let info = job
        .shape
        .lib_info(job.recipe.gen, &job.recipe.version)
        .map(|i| (i.set, i.symver));
    if let Some((set, symver)) = info {
        p.provide(Dependency::new(
            job.soname_dep(&so, a),
            Dependency::EQUAL | FIND_PROV,
            set.as_str(),
        ));
        p.provide(Dependency::new(
            job.symver_dep(&so, &symver, a),
            FIND_PROV,
            "",
        ));
    }
    if rng.chance(200) {
        let extra = format!(
            "lib{}-{}.so.{}",
            job.shape.base,
            rng.pick(words::WORDS),
            job.shape.lib_major
        );
        p.add(FileSpec::file(format!("{l}/{extra}"), elf(rng, a.bits64, &extra)).mode(0o755));
        p.provide(Dependency::new(job.soname_dep(&extra, a), FIND_PROV, ""));
    }
    if bulk > 0 {
        bulk_tree(
            p,
            rng,
            job,
            &format!("{l}/{}/plugins", job.shape.base),
            bulk,
            &["so", "la", "conf"],
        );
    }
    link_deps(p, rng, job, a);
}

fn devel_c(p: &mut Pkg, rng: &mut Rng, job: &Job<'_>, a: &ArchInfo) {
    let b = &job.shape.base;
    let (so, _) = job.lib_file();
    let l = a.libdir;
    let inc = format!("/usr/include/{b}");
    p.dir(&inc);
    for i in 0..rng.range_usize(1, 15) {
        let h = if i == 0 {
            format!("{inc}/{b}.h")
        } else {
            format!("{inc}/{}.h", rng.pick(words::WORDS))
        };
        p.add(tfile(rng, &h, &job.evr, 0o644));
    }
    p.add(FileSpec::symlink(format!("{l}/lib{b}.so"), so.as_str()));
    p.add(tfile(
        rng,
        &format!("{l}/pkgconfig/{b}.pc"),
        &job.evr,
        0o644,
    ));
    if job.shape.shared_dirs {
        p.dir(&format!("{l}/pkgconfig"));
    }
    if rng.chance(300) {
        let d = format!("{l}/cmake/{b}");
        p.dir(&d);
        p.add(tfile(
            rng,
            &format!("{d}/{b}-config.cmake"),
            &job.evr,
            0o644,
        ));
    }
    own_lib_dep(p, job);
    p.provide(Dependency::new(
        format!("pkgconfig({b})"),
        Dependency::EQUAL | FIND_PROV,
        job.recipe.version.as_str(),
    ));
    p.require(Dependency::new("pkg-config", FIND_REQ, ""));
    if rng.chance(100) {
        p.obsoletes.push(Dependency::lt(
            format!("lib{b}-devel-static"),
            job.evr.as_str(),
        ));
    }
}

fn doc_pkg(p: &mut Pkg, rng: &mut Rng, job: &Job<'_>, bulk: usize) {
    let doc = job.doc_dir();
    p.dir(&doc);
    p.add(tfile(rng, &format!("{doc}/index.html"), &job.evr, 0o644).doc());
    for _ in 0..rng.range_usize(0, 6) {
        let f = format!("{doc}/{}.html", rng.pick(words::WORDS));
        p.add(tfile(rng, &f, &job.evr, 0o644).doc());
    }
    let before = p.files.len();
    bulk_tree(
        p,
        rng,
        job,
        &format!("{doc}/html"),
        bulk,
        &["html", "png", "css", "js"],
    );
    for f in &mut p.files[before..] {
        f.flags |= FileSpec::DOC;
    }
    if job.shape.shared_dirs {
        p.dir("/usr/share/doc");
    }
}

fn data_pkg(p: &mut Pkg, rng: &mut Rng, job: &Job<'_>, bulk: usize) {
    let b = &job.shape.base;
    p.add(tfile(
        rng,
        &format!("/usr/share/{b}/{b}.dat"),
        &job.evr,
        0o644,
    ));
    p.dir(&format!("/usr/share/{b}"));
    bulk_tree(
        p,
        rng,
        job,
        &format!("/usr/share/{b}/data"),
        bulk,
        words::DATA_EXTS,
    );
}

fn common_pkg(p: &mut Pkg, rng: &mut Rng, job: &Job<'_>) {
    let b = &job.shape.base;
    let d = format!("/usr/share/{b}");
    p.dir(&d);
    p.dir(&format!("{d}/common"));
    for i in 0..rng.range_usize(1, 10) {
        let f = format!(
            "{d}/common/{}{i}.{}",
            rng.pick(words::WORDS),
            rng.pick(words::DATA_EXTS)
        );
        p.add(tfile(rng, &f, &job.evr, 0o644));
    }
}

fn utils_c(p: &mut Pkg, rng: &mut Rng, job: &Job<'_>, a: &ArchInfo) {
    for _ in 0..rng.range_usize(1, 4) {
        let path = format!("/usr/bin/{}-{}", job.shape.base, rng.pick(words::WORDS));
        p.add(FileSpec::file(&path, elf(rng, a.bits64, &path)).mode(0o755));
    }
    link_deps(p, rng, job, a);
    own_lib_dep(p, job);
}

fn devices_c(p: &mut Pkg, rng: &mut Rng, job: &Job<'_>) {
    let b = &job.shape.base;
    let major = rng.range_u32(180, 250);
    for i in 0..rng.range_u32(2, 8) {
        p.add(
            FileSpec::char_device(format!("/dev/{b}{i}"), major, i)
                .mode(0o660)
                .owner("root", "disk"),
        );
    }
    for i in 0..rng.range_u32(1, 2) {
        p.add(
            FileSpec::block_device(format!("/dev/{b}blk{i}"), major + 1, i * 16)
                .mode(0o660)
                .owner("root", "disk"),
        );
    }
    let run = format!("/var/run/{b}");
    p.add(FileSpec::dir(&run).mode(0o775));
    p.add(FileSpec::fifo(format!("{run}/control")).mode(0o620));
    p.add(FileSpec::socket(format!("{run}/{b}.sock")).mode(0o666));
    p.require(Dependency::new("udev", 0, ""));
}

fn tests_pkg(p: &mut Pkg, rng: &mut Rng, job: &Job<'_>) {
    // C "-checkinstall" packages are empty and only pull the package in, as in ALT.
    let main = &job.shape.name;
    p.require(Dependency::eq(main.as_str(), job.evr.as_str()));
    if job.shape.family == Family::Python {
        let d = format!("/usr/lib/python3/site-packages/{}/tests", job.shape.base);
        p.dir(&d);
        for i in 0..rng.range_usize(1, 12) {
            let f = format!("{d}/test_{}{i}.py", rng.pick(words::WORDS));
            p.add(tfile(rng, &f, &job.evr, 0o644));
        }
        p.require(Dependency::new("python3(pytest)", FIND_REQ, ""));
    }
}

fn python_main(p: &mut Pkg, rng: &mut Rng, job: &Job<'_>, bulk: usize) {
    let b = &job.shape.base;
    let site = "/usr/lib/python3/site-packages";
    let pkg = format!("{site}/{b}");
    p.dir(&pkg);
    p.dir(&format!("{pkg}/__pycache__"));
    let modules = (bulk / 3).max(1);
    for i in 0..modules {
        let m = if i == 0 {
            "__init__".to_string()
        } else {
            format!("{}{i}", rng.pick(words::WORDS))
        };
        p.add(tfile(rng, &format!("{pkg}/{m}.py"), &job.evr, 0o644));
        for opt in ["", ".opt-1"] {
            let pyc = format!("{pkg}/__pycache__/{m}.cpython-312{opt}.pyc");
            let mut c = vec![0xcb, 0x0d, 0x0d, 0x0a];
            let n = rng.range_usize(40, 400);
            c.extend(rng.bytes(n));
            p.add(FileSpec::file(pyc, c));
        }
    }
    let info = format!("{site}/{b}-{}.dist-info", job.recipe.version);
    p.dir(&info);
    for n in ["METADATA", "RECORD", "WHEEL", "top_level.txt"] {
        p.add(tfile(rng, &format!("{info}/{n}"), &job.evr, 0o644));
    }
    p.require(Dependency::new("python3", GE, "3.12"));
    for m in ["os", "sys", "re", "json", "typing"] {
        if rng.chance(500) {
            p.require(Dependency::new(format!("python3({m})"), FIND_REQ, ""));
        }
    }
    p.provide(Dependency::new(format!("python3({b})"), FIND_PROV, ""));
    p.provide(Dependency::new(format!("python3.12({b})"), FIND_PROV, ""));
}

fn perl_main(p: &mut Pkg, rng: &mut Rng, job: &Job<'_>, bulk: usize) {
    let name = job.shape.name.trim_start_matches("perl-").to_string();
    let root = "/usr/share/perl5";
    p.add(tfile(rng, &format!("{root}/{name}.pm"), &job.evr, 0o644));
    p.provide(Dependency::new(
        format!("perl({name}.pm)"),
        Dependency::EQUAL | FIND_PROV,
        job.recipe.version.as_str(),
    ));
    if bulk > 0 {
        let d = format!("{root}/{name}");
        p.dir(&d);
        for i in 0..bulk {
            let m = format!("{}{i}", rng.pick(words::WORDS));
            p.add(tfile(rng, &format!("{d}/{m}.pm"), &job.evr, 0o644));
            if i < 20 {
                p.provide(Dependency::new(
                    format!("perl({name}/{m}.pm)"),
                    FIND_PROV,
                    "",
                ));
            }
        }
    }
    for m in ["strict.pm", "warnings.pm", "Exporter.pm", "Carp.pm"] {
        if rng.chance(600) {
            p.require(Dependency::new(format!("perl({m})"), FIND_REQ, ""));
        }
    }
    p.require(Dependency::new("perl-base", GE, "1:5.34.0"));
}

fn fonts_main(p: &mut Pkg, rng: &mut Rng, job: &Job<'_>, bulk: usize) {
    let b = &job.shape.base;
    let d = format!("/usr/share/fonts/ttf/{b}");
    p.dir(&d);
    for i in 0..rng.range_usize(1, 20) + bulk {
        let mut c = vec![0, 1, 0, 0];
        let n = rng.range_usize(200, 2000);
        c.extend(rng.bytes(n));
        p.add(FileSpec::file(format!("{d}/{}-{i}.ttf", capital(b)), c));
    }
    p.add(FileSpec::symlink(
        format!("/etc/X11/fontpath.d/{b}:unscaled:pri=50"),
        format!("../../../usr/share/fonts/ttf/{b}"),
    ));
    p.require(Dependency::new(
        "fontconfig",
        Dependency::PREREQ | Dependency::SCRIPT_POST,
        "",
    ));
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn scripts_main(p: &mut Pkg, rng: &mut Rng, job: &Job<'_>, bulk: usize) {
    let b = &job.shape.base;
    let len = text_len(rng);
    p.add(FileSpec::file(format!("/usr/bin/{b}"), text(rng, "#!/bin/sh -efu", len)).mode(0o755));
    p.require(Dependency::new("/bin/sh", FIND_REQ, ""));
    for t in ["getopt", "sed", "grep", "coreutils"] {
        if rng.chance(400) {
            p.require(Dependency::new(t, FIND_REQ, ""));
        }
    }
    bulk_tree(
        p,
        rng,
        job,
        &format!("/usr/share/{b}"),
        bulk,
        &["sh", "sed", "awk", "conf"],
    );
}

fn compat_i586(p: &mut Pkg, rng: &mut Rng, job: &Job<'_>) {
    let a = arch_info("i586");
    let (so, full) = job.lib_file();
    p.add(FileSpec::file(format!("/usr/lib/{full}"), elf(rng, false, &full)).mode(0o755));
    p.add(FileSpec::symlink(format!("/usr/lib/{so}"), full.as_str()));
    if let Some(info) = job.shape.lib_info(job.recipe.gen, &job.recipe.version) {
        p.provide(Dependency::new(
            so.as_str(),
            Dependency::EQUAL | FIND_PROV,
            info.set.as_str(),
        ));
    }
    p.require(Dependency::new(a.ld, FIND_REQ, ""));
    p.require(Dependency::new("libc.so.6(GLIBC_2.1)", FIND_REQ, ""));
    p.require(Dependency::new("i586-glibc-core", 0, ""));
}

/// Payload compression of a package with about `files` entries: mostly gzip -1 (fast), a
/// few of every other kind for variety, only fast ones for big packages.
fn compression(rng: &mut Rng, files: usize) -> (Compression, u32) {
    if files > 600 {
        return match rng.weighted(&[80, 10, 10]) {
            0 => (Compression::Gzip, 1),
            1 => (Compression::None, 0),
            _ => (Compression::Zstd, 1),
        };
    }
    match rng.weighted(&[700, 80, 60, 60, 60, 40]) {
        0 => (Compression::Gzip, 1),
        1 => (Compression::None, 0),
        2 => (Compression::Xz, 1),
        3 => (Compression::Lzma, 2),
        4 => (Compression::Zstd, 3),
        _ => (Compression::Bzip2, 9),
    }
}

/// Common header fields of every package of the source.
fn builder(
    job: &Job<'_>,
    b: PackageBuilder,
    host: &str,
    bt: u32,
    optflags: &str,
) -> PackageBuilder {
    let r = job.recipe;
    let s = job.shape;
    let mut b = b
        .license(s.license.as_str())
        .url(s.url.as_str())
        .vendor("ALT Linux Team")
        .distribution("ALT")
        .packager(r.packager.as_str())
        .disttag(r.disttag.as_str())
        .buildhost(host)
        .buildtime(bt)
        .tag(Tag::OPTFLAGS.0, optflags)
        .tag(Tag::COOKIE.0, format!("{host} {bt}"));
    if let Some(e) = r.epoch {
        b = b.epoch(e);
    }
    for c in &r.changelog {
        b = b.changelog(ChangelogEntry::new(
            c.date,
            format!("{} {}", c.name, c.evr),
            c.text.as_str(),
        ));
    }
    b
}

/// The subset of `h` genpkglist keeps: selected tags, the "useful" part of the file list,
/// the changelog since a year before the build (plus one older entry).
fn list_header(h: &HeaderWriter, tags: &[Tag], buildtime: u32, files: bool) -> HeaderWriter {
    let mut n = HeaderWriter::new();
    for t in tags {
        if let Some(v) = h.get(t.0) {
            n.set(t.0, v.clone());
        }
    }
    if files {
        strip_file_list(h, &mut n);
    }
    if let (
        Some(TagValue::Int32(times)),
        Some(TagValue::StringArray(names)),
        Some(TagValue::StringArray(texts)),
    ) = (
        h.get(Tag::CHANGELOGTIME.0),
        h.get(Tag::CHANGELOGNAME.0),
        h.get(Tag::CHANGELOGTEXT.0),
    ) {
        let since = buildtime.saturating_sub(CHANGELOG_SINCE);
        let mut m = times.iter().take_while(|&&t| t >= since).count();
        if m < times.len() {
            m += 1;
        }
        n.set(Tag::CHANGELOGTIME.0, times[..m].to_vec());
        n.set(
            Tag::CHANGELOGNAME.0,
            TagValue::StringArray(names[..m].to_vec()),
        );
        n.set(
            Tag::CHANGELOGTEXT.0,
            TagValue::StringArray(texts[..m].to_vec()),
        );
    }
    n
}

/// genpkglist's `usefulFile`: binaries, shared libraries, jars, fonts.
fn useful(dir: &[u8], base: &[u8]) -> bool {
    dir.ends_with(b"/bin/")
        || dir.ends_with(b"/sbin/")
        || dir == b"/usr/games/"
        || (dir.starts_with(b"/usr/share/java/") && base.ends_with(b".jar"))
        || (dir.starts_with(b"/usr/share/fonts/")
            && (base.ends_with(b".ttf") || base.ends_with(b".otf")))
        || (base.starts_with(b"lib") && base.len() > 3 && memfind(&base[3..], b".so"))
}

fn memfind(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn strip_file_list(h: &HeaderWriter, n: &mut HeaderWriter) {
    let (
        Some(TagValue::StringArray(bases)),
        Some(TagValue::StringArray(dirs)),
        Some(TagValue::Int32(idx)),
    ) = (
        h.get(Tag::BASENAMES.0),
        h.get(Tag::DIRNAMES.0),
        h.get(Tag::DIRINDEXES.0),
    )
    else {
        return;
    };
    let mut out_b: Vec<Vec<u8>> = Vec::new();
    let mut out_d: Vec<Vec<u8>> = Vec::new();
    let mut out_i: Vec<u32> = Vec::new();
    for (b, &i) in bases.iter().zip(idx) {
        let Some(d) = dirs.get(i as usize) else {
            continue;
        };
        if !useful(d, b) {
            continue;
        }
        let j = match out_d.iter().position(|x| x == d) {
            Some(j) => j,
            None => {
                out_d.push(d.clone());
                out_d.len() - 1
            }
        };
        out_b.push(b.clone());
        out_i.push(j as u32);
    }
    if !out_b.is_empty() {
        n.set(Tag::BASENAMES.0, TagValue::StringArray(out_b));
        n.set(Tag::DIRNAMES.0, TagValue::StringArray(out_d));
        n.set(Tag::DIRINDEXES.0, out_i);
    }
}

fn count(h: &HeaderWriter, t: Tag) -> u32 {
    h.get(t.0).map_or(0, |v| v.count() as u32)
}

fn hex_of(d: &altrepodb_rpm::Digests, a: DigestAlgo) -> String {
    d.hex(a).unwrap_or_default()
}

/// Writes `pkg` to `root/path`, hashes it and makes its manifest record and list record.
#[allow(clippy::too_many_arguments)]
fn finish(
    root: &Path,
    job: &Job<'_>,
    pkg: BuiltPackage,
    kind: PackageKind,
    arch_dir: &str,
    srcrpm_hash: Option<u64>,
    binaries: &[String],
) -> Result<PkgOut, GenError> {
    let h = &pkg.header;
    let rel = match kind {
        PackageKind::Source => format!("files/SRPMS/{}", pkg.file_name),
        PackageKind::Binary => format!("files/{arch_dir}/RPMS/{}", pkg.file_name),
    };
    let path = root.join(&rel);
    fs::write(&path, &pkg.bytes).map_err(GenError::io(&path))?;
    let classic = if kind == PackageKind::Binary {
        let link = format!("{arch_dir}/{RPMS_DIR}/{}", pkg.file_name);
        let target = format!("../../files/{arch_dir}/RPMS/{}", pkg.file_name);
        crate::fsutil::symlink_or_copy(&target, &root.join(&link))?;
        Some(link)
    } else {
        None
    };
    let d = digest_bytes(
        &pkg.bytes,
        &[DigestAlgo::Md5, DigestAlgo::Sha256, DigestAlgo::Blake2b512],
    );
    let (md5, sha256, blake2b) = (
        hex_of(&d, DigestAlgo::Md5),
        hex_of(&d, DigestAlgo::Sha256),
        hex_of(&d, DigestAlgo::Blake2b512),
    );
    let text = |t: Tag| match h.get(t.0) {
        Some(TagValue::String(s)) => String::from_utf8_lossy(s).into_owned(),
        Some(TagValue::I18nString(v)) | Some(TagValue::StringArray(v)) => v
            .first()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let num = |t: Tag| match h.get(t.0) {
        Some(TagValue::Int32(v)) => v.first().copied().unwrap_or(0),
        _ => 0,
    };
    let buildtime = num(Tag::BUILDTIME);
    let pkg_hash = altrepodb_rpm::pkg_hash(
        u64::from(buildtime),
        pkg.sha1_header.as_bytes(),
        &pkg.sigmd5,
        &[],
    )
    .map_err(|e| GenError::Spec(format!("{}: {e}", pkg.file_name)))?;
    let name = text(Tag::NAME);
    let arch = text(Tag::ARCH);
    let file_size = pkg.bytes.len() as u64;
    let files = u64::from(count(h, Tag::BASENAMES));
    let record = PackageRecord {
        path: rel,
        file_name: pkg.file_name.clone(),
        kind,
        arch_dir: arch_dir.to_string(),
        classic_path: classic,
        pkg_arch: altrepodb_rpm::meta::pkg_arch(&name, &arch).into_owned(),
        name,
        epoch: job.recipe.epoch,
        version: text(Tag::VERSION),
        release: text(Tag::RELEASE),
        arch,
        buildtime,
        buildhost: text(Tag::BUILDHOST),
        sourcerpm: match kind {
            PackageKind::Source => pkg.file_name.clone(),
            PackageKind::Binary => text(Tag::SOURCERPM),
        },
        disttag: text(Tag::DISTTAG),
        packager: text(Tag::PACKAGER),
        summary: text(Tag::SUMMARY),
        group: text(Tag::GROUP),
        license: text(Tag::LICENSE),
        payload_compressor: text(Tag::PAYLOADCOMPRESSOR),
        file_size,
        md5: md5.clone(),
        sha256: sha256.clone(),
        blake2b: blake2b.clone(),
        sha1header: pkg.sha1_header.clone(),
        sigmd5: hex::encode(pkg.sigmd5),
        pkg_hash,
        srcrpm_hash: srcrpm_hash.unwrap_or(pkg_hash),
        files,
        file_classes: h.get(Tag::FILECLASS.0).is_some(),
        requires: count(h, Tag::REQUIRENAME),
        provides: count(h, Tag::PROVIDENAME),
        conflicts: count(h, Tag::CONFLICTNAME),
        obsoletes: count(h, Tag::OBSOLETENAME),
        changelog: job.recipe.changelog.clone(),
        binaries: binaries.to_vec(),
        gen: (kind == PackageKind::Source).then_some(job.recipe.gen),
    };
    let apt = AptIndex {
        file_name: pkg.file_name.clone(),
        file_size,
        md5: Some(md5),
        blake2b: Some(blake2b),
        directory: Some(
            match kind {
                PackageKind::Source => SRPMS_DIR,
                PackageKind::Binary => RPMS_DIR,
            }
            .to_string(),
        ),
        binaries: binaries.to_vec(),
        ..AptIndex::default()
    };
    let list_h = match kind {
        PackageKind::Source => list_header(h, SRCLIST_TAGS, buildtime, false),
        PackageKind::Binary => list_header(h, PKGLIST_TAGS, buildtime, true),
    };
    let apt_bytes =
        apt_header_record(&list_h, &apt, AptLayout::Flat).map_err(|source| GenError::Write {
            package: pkg.file_name.clone(),
            source,
        })?;
    Ok(PkgOut {
        kind,
        arch_dir: arch_dir.to_string(),
        file_name: pkg.file_name,
        sha256,
        apt: apt_bytes,
        line: record_line(&record)?,
        files,
        bytes: file_size,
        pkg_hash,
    })
}

fn build_err(file: String) -> impl FnOnce(altrepodb_rpm::writer::WriteError) -> GenError {
    move |source| GenError::Write {
        package: file,
        source,
    }
}

/// Where a binary goes: `(arch dir, header arch)` pairs.
fn targets(ctx: &Ctx, b: &BinShape) -> Vec<(String, String)> {
    match (b.kind, b.noarch) {
        (BinKind::Compat, _) => vec![("x86_64-i586".into(), "i586".into())],
        (_, true) => vec![("noarch".into(), "noarch".into())],
        _ => ctx
            .build_arches
            .iter()
            .map(|a| (a.clone(), a.clone()))
            .collect(),
    }
}

fn buildhost(arch_index: usize, seed: u64) -> String {
    format!(
        "build{:02}.hasher.altlinux.org",
        (seed % 8) as usize + 1 + arch_index * 10
    )
}

/// Builds source `recipe` and all its binaries into `root`.
pub(crate) fn build_source(
    root: &Path,
    ctx: &Ctx,
    recipe: &Recipe,
    shape: &Shape,
) -> Result<SourceOut, GenError> {
    let evr = recipe.evr();
    let mut rng = Rng::derived(derive(recipe.gen.seed, hash_str(&evr)), stream::BUILD);
    let src_file = format!(
        "{}-{}-{}.src.rpm",
        shape.name, recipe.version, recipe.release
    );
    let job = Job {
        ctx,
        recipe,
        shape,
        evr,
        upstream_mtime: recipe
            .buildtime
            .saturating_sub(rng.range_u32(DAY, 400 * DAY)),
        src_file,
    };
    let mut names: BTreeSet<String> = BTreeSet::new();
    for b in &shape.binaries {
        if b.kind != BinKind::Compat || ctx.compat_i586 {
            names.insert(b.name.clone());
        }
    }
    let binaries: Vec<String> = names.into_iter().collect();

    // The source package.
    let src_arch = if shape.all_noarch() {
        "noarch".to_string()
    } else {
        ctx.build_arches[0].clone()
    };
    let host0 = buildhost(0, recipe.gen.seed);
    let spec = crate::spec::spec_text(&job_view(&job), &binaries);
    let tarball = crate::spec::tarball(&shape.name, &recipe.version, recipe.buildtime, &mut rng);
    let mut sb = PackageBuilder::new_source(
        shape.name.as_str(),
        recipe.version.as_str(),
        recipe.release.as_str(),
        src_arch.as_str(),
    )
    .summary(shape.summary.as_str())
    .description(shape.description.as_str())
    .group(shape.group.as_str());
    sb = builder(
        &job,
        sb,
        &host0,
        recipe.buildtime,
        arch_info(&ctx.build_arches[0]).optflags,
    )
    .file(
        FileSpec::file(format!("{}.spec", shape.name), spec.into_bytes())
            .flags(FileSpec::SPECFILE)
            .owner("builder", "builder")
            .mtime(recipe.buildtime),
    )
    .file(
        FileSpec::file(format!("{}-{}.tar", shape.name, recipe.version), tarball)
            .owner("builder", "builder")
            .mtime(job.upstream_mtime),
    )
    .tag(
        Tag::SOURCE.0,
        TagValue::strings([format!("{}-{}.tar", shape.name, recipe.version)]),
    );
    if shape.patch {
        let patch = format!("{}-{}-alt.patch", shape.name, recipe.version);
        let len = text_len(&mut rng);
        sb = sb
            .file(
                FileSpec::file(
                    &patch,
                    text(
                        &mut rng,
                        &format!("--- a/Makefile\n+++ b/Makefile\n@@ {patch}"),
                        len,
                    ),
                )
                .owner("builder", "builder"),
            )
            .tag(Tag::PATCH.0, TagValue::strings([patch.as_str()]));
    }
    for d in crate::spec::build_requires(&job_view(&job), &mut rng) {
        sb = sb.requires(d);
    }
    let (c, level) = compression(&mut rng, 3);
    sb = sb.compressor_level(c, level);
    let src_pkg = sb
        .build_package()
        .map_err(build_err(job.src_file.clone()))?;
    let src = finish(
        root,
        &job,
        src_pkg,
        PackageKind::Source,
        "src",
        None,
        &binaries,
    )?;
    let src_hash = src.pkg_hash;

    // The binaries, per target arch.
    let mut bins = Vec::new();
    for b in &shape.binaries {
        if b.kind == BinKind::Compat && !ctx.compat_i586 {
            continue;
        }
        for (ai, (arch_dir, arch)) in targets(ctx, b).into_iter().enumerate() {
            let a = arch_info(if arch == "noarch" {
                &ctx.build_arches[0]
            } else {
                &arch
            });
            let mut brng = Rng::derived(derive(rng.next_u64(), hash_str(&arch)), stream::BUILD);
            let mut p = Pkg::new();
            match (shape.family, b.kind) {
                (Family::C, BinKind::Main) => main_c(&mut p, &mut brng, &job, &a, b.bulk),
                (Family::Python, BinKind::Main) => python_main(&mut p, &mut brng, &job, b.bulk),
                (Family::Perl, BinKind::Main) => perl_main(&mut p, &mut brng, &job, b.bulk),
                (Family::Fonts, BinKind::Main) => fonts_main(&mut p, &mut brng, &job, b.bulk),
                (Family::Scripts, BinKind::Main) => scripts_main(&mut p, &mut brng, &job, b.bulk),
                (_, BinKind::Lib) => lib_c(&mut p, &mut brng, &job, &a, b.bulk),
                (_, BinKind::Devel) => devel_c(&mut p, &mut brng, &job, &a),
                (_, BinKind::Doc) => doc_pkg(&mut p, &mut brng, &job, b.bulk),
                (_, BinKind::Data) => data_pkg(&mut p, &mut brng, &job, b.bulk),
                (_, BinKind::Utils) => utils_c(&mut p, &mut brng, &job, &a),
                (_, BinKind::Devices) => devices_c(&mut p, &mut brng, &job),
                (_, BinKind::Tests) => tests_pkg(&mut p, &mut brng, &job),
                (_, BinKind::Common) => common_pkg(&mut p, &mut brng, &job),
                (_, BinKind::Compat) => compat_i586(&mut p, &mut brng, &job),
            }
            if p.set_versions {
                p.require(Dependency::new(
                    "rpmlib(SetVersions)",
                    Dependency::RPMLIB | Dependency::PREREQ,
                    "",
                ));
            }
            let arch_index = ctx
                .build_arches
                .iter()
                .position(|x| *x == arch)
                .unwrap_or(0);
            let bt = recipe.buildtime + 300 + arch_index as u32 * 977 + (ai as u32) * 13;
            let host = buildhost(arch_index, recipe.gen.seed);
            let (summary, group) = sub_summary(shape, b);
            let (c, level) = compression(&mut brng, p.files.len());
            let mut pb = PackageBuilder::new(
                b.name.as_str(),
                recipe.version.as_str(),
                recipe.release.as_str(),
                arch.as_str(),
            )
            .summary(summary)
            .description(shape.description.as_str())
            .group(group)
            .sourcerpm(job.src_file.as_str());
            pb = builder(&job, pb, &host, bt, a.optflags)
                .compressor_level(c, level)
                .file_classes(shape.file_classes);
            let file_name = pb.file_name();
            pb = pb.files(std::mem::take(&mut p.files));
            for d in p.requires.drain(..) {
                pb = pb.requires(d);
            }
            for d in p.provides.drain(..) {
                pb = pb.provides(d);
            }
            for d in p.conflicts.drain(..) {
                pb = pb.conflicts(d);
            }
            for d in p.obsoletes.drain(..) {
                pb = pb.obsoletes(d);
            }
            for (t, v) in p.tags.drain(..) {
                pb = pb.tag(t, v);
            }
            let built = pb.build_package().map_err(build_err(file_name))?;
            drop(pb);
            bins.push(finish(
                root,
                &job,
                built,
                PackageKind::Binary,
                &arch_dir,
                Some(src_hash),
                &[],
            )?);
        }
    }
    bins.sort_by(|x, y| {
        (x.arch_dir.as_str(), x.file_name.as_str())
            .cmp(&(y.arch_dir.as_str(), y.file_name.as_str()))
    });
    Ok(SourceOut { src, bins })
}

fn sub_summary(s: &Shape, b: &BinShape) -> (String, String) {
    match b.kind {
        BinKind::Main => (s.summary.clone(), s.group.clone()),
        BinKind::Lib => (
            format!("{} - shared library", s.summary),
            "System/Libraries".into(),
        ),
        BinKind::Devel => (
            format!("Development files for lib{}", s.base),
            "Development/C".into(),
        ),
        BinKind::Doc => (
            format!("Documentation for {}", s.name),
            "Documentation".into(),
        ),
        BinKind::Data => (format!("Data files for {}", s.name), s.group.clone()),
        BinKind::Utils => (format!("Utilities for lib{}", s.base), s.group.clone()),
        BinKind::Devices => (
            format!("Device nodes for {}", s.name),
            "System/Configuration/Hardware".into(),
        ),
        BinKind::Tests => (format!("Tests for {}", s.name), "Development/Other".into()),
        BinKind::Common => (format!("Common files for {}", s.name), s.group.clone()),
        BinKind::Compat => (
            format!("{} - shared library (32-bit)", s.summary),
            "System/Libraries".into(),
        ),
    }
}

/// What the spec-file writer needs to know about a job.
pub(crate) struct JobView<'a> {
    pub ctx: &'a Ctx,
    pub recipe: &'a Recipe,
    pub shape: &'a Shape,
}

fn job_view<'a>(j: &Job<'a>) -> JobView<'a> {
    JobView {
        ctx: j.ctx,
        recipe: j.recipe,
        shape: j.shape,
    }
}

/// Changelog date line of the spec file, e.g. `* Mon Jan 15 2024 Name <email> 1.0-alt1`.
pub(crate) fn spec_changelog_head(date: u32, name: &str, evr: &str) -> String {
    format!("* {} {name} {evr}", date::changelog_date(date))
}
