//! What to build: per-source recipes (versions, changelog, build time — what changes from
//! day to day) and shapes (subpackages, file counts, style — fixed by the source's seed).
//!
//! Everything here is cheap and sequential; the expensive part (file trees, payloads,
//! digests) happens in [`crate::build`] in parallel.

use crate::date::{self, DAY};
use crate::manifest::{ChangelogRecord, GenInfo, PackageRecord};
use crate::rng::{derive, hash_str, Rng};
use crate::words::{self, Person, PEOPLE};

/// Settings shared by every package of one snapshot.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// DISTTAG prefix, the lower-cased branch (`sisyphus`).
    pub disttag_prefix: String,
    /// Snapshot date (00:00 UTC).
    pub date: u32,
    /// Architectures packages are compiled for (not `noarch`, not `x86_64-i586`).
    pub build_arches: Vec<String>,
    /// Whether `i586-*` compat packages go to `x86_64-i586`.
    pub compat_i586: bool,
    /// Shared libraries other packages may link with.
    pub libs: Vec<LibInfo>,
}

/// A generated shared library that other packages can require.
#[derive(Debug, Clone)]
pub(crate) struct LibInfo {
    /// Generator index of the source that ships it.
    pub index: u64,
    /// `libfoo.so.1`.
    pub soname: String,
    /// ALT set-version of its current ABI (`set:…`).
    pub set: String,
    /// A symbol version, `LIBFOO_1.0`.
    pub symver: String,
}

/// The day-to-day part of a source package.
#[derive(Debug, Clone)]
pub(crate) struct Recipe {
    pub gen: GenInfo,
    pub version: String,
    pub release: String,
    pub epoch: Option<u32>,
    pub buildtime: u32,
    pub disttag: String,
    pub packager: String,
    /// Newest first.
    pub changelog: Vec<ChangelogRecord>,
}

impl Recipe {
    /// `[E:]V-R`.
    pub fn evr(&self) -> String {
        evr(self.epoch, &self.version, &self.release)
    }

    /// The recipe stored in a source's manifest record.
    pub fn from_record(r: &PackageRecord) -> Option<Recipe> {
        Some(Recipe {
            gen: r.gen?,
            version: r.version.clone(),
            release: r.release.clone(),
            epoch: r.epoch,
            buildtime: r.buildtime,
            disttag: r.disttag.clone(),
            packager: r.packager.clone(),
            changelog: r.changelog.clone(),
        })
    }
}

/// `[E:]V-R`.
pub(crate) fn evr(epoch: Option<u32>, version: &str, release: &str) -> String {
    match epoch {
        Some(e) => format!("{e}:{version}-{release}"),
        None => format!("{version}-{release}"),
    }
}

/// Kind of source package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// A compiled program and/or library (most packages).
    C,
    /// `python3-module-*` (noarch).
    Python,
    /// `perl-*` (noarch).
    Perl,
    /// `fonts-ttf-*` (noarch).
    Fonts,
    /// Shell scripts (noarch).
    Scripts,
}

/// Kind of binary subpackage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinKind {
    Main,
    Lib,
    Devel,
    Doc,
    Data,
    Utils,
    Devices,
    Tests,
    /// `<name>-common`: shared noarch files.
    Common,
    /// `i586-lib*` for the `x86_64-i586` biarch directory.
    Compat,
}

/// One binary subpackage of a shape.
#[derive(Debug, Clone)]
pub(crate) struct BinShape {
    pub kind: BinKind,
    pub name: String,
    pub noarch: bool,
    /// Long-tail files this subpackage carries (on top of its few fixed ones).
    pub bulk: usize,
}

/// The fixed part of a source package, derived from its [`GenInfo`] only.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    pub family: Family,
    /// Generated base name (`kemira`), unique per index.
    pub base: String,
    /// Source (and main binary) name.
    pub name: String,
    pub binaries: Vec<BinShape>,
    pub summary: String,
    pub description: String,
    pub group: String,
    pub license: String,
    pub url: String,
    pub lib_major: u32,
    /// A daemon: /var/lib dir with its own owner, scripts, ghost log file.
    pub server: bool,
    /// Hard links in the main package.
    pub hardlinks: bool,
    /// Owns shared directories such as /usr/share/doc.
    pub shared_dirs: bool,
    /// Message catalogues (`%lang`).
    pub langs: usize,
    /// Has a patch in the source package.
    pub patch: bool,
    /// Binaries carry FILECLASS/CLASSDICT. ALT's rpm writes neither; a few packages have
    /// them (as other distributions' do) so loaders meet both forms.
    pub file_classes: bool,
}

impl Shape {
    /// Whether the source builds only noarch packages.
    pub fn all_noarch(&self) -> bool {
        self.binaries
            .iter()
            .all(|b| b.noarch || b.kind == BinKind::Compat)
    }

    /// Whether it ships a shared library (`lib<base>`).
    pub fn has_lib(&self) -> bool {
        self.binaries.iter().any(|b| b.kind == BinKind::Lib)
    }
}

/// Stream numbers for [`Rng::derived`] so that unrelated decisions don't shift each other.
pub(crate) mod stream {
    pub const SHAPE: u64 = 1;
    pub const RECIPE: u64 = 2;
    pub const BUILD: u64 = 3;
    pub const UPGRADE: u64 = 4;
    pub const NEXT_DAY: u64 = 5;
    pub const TASK: u64 = 6;
}

/// The base name of generator index `index`: consonant-vowel syllables plus an optional
/// ending, bijective in `index` (so names never collide).
pub(crate) fn base_name(index: u64) -> String {
    let n_syl = (words::CONSONANTS.len() * words::VOWELS.len()) as u128;
    let endings = words::ENDINGS.len() as u128;
    // Tiers of names with 2, 3, … syllables, each with every ending.
    let mut rest = u128::from(index);
    let mut len = 2u32;
    let mut block = n_syl * n_syl * endings;
    while rest >= block {
        rest -= block;
        len += 1;
        block *= n_syl;
    }
    // Scramble inside the tier (7919 is coprime with 2, 3 and 5, hence with the tier size)
    // so that consecutive indexes give unrelated names.
    let mut v = (rest * 7919 + 4099) % block;
    let ending = words::ENDINGS[(v % endings) as usize];
    v /= endings;
    let mut s = String::with_capacity(len as usize * 2 + 2);
    for _ in 0..len {
        let syl = (v % n_syl) as usize;
        v /= n_syl;
        s.push(char::from(words::CONSONANTS[syl / words::VOWELS.len()]));
        s.push(char::from(words::VOWELS[syl % words::VOWELS.len()]));
    }
    s.push_str(ending);
    s
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Long-tail file count of a source: most get a handful, a few get thousands. Integer
/// buckets (weight per mille, low, high), tuned so 5,000 sources give about a million files.
const BULK_BUCKETS: &[(u64, u64, u64)] = &[
    (340, 0, 4),
    (250, 5, 20),
    (200, 21, 60),
    (120, 61, 200),
    (60, 201, 800),
    (22, 801, 3000),
    (8, 3001, 12000),
];

fn bulk_count(rng: &mut Rng) -> usize {
    let weights: Vec<u64> = BULK_BUCKETS.iter().map(|b| b.0).collect();
    let (_, lo, hi) = BULK_BUCKETS[rng.weighted(&weights)];
    rng.range(lo, hi) as usize
}

impl Shape {
    /// Derives the shape of source `gen` (needs only the index and seed).
    pub fn new(gen: GenInfo, ctx: &Ctx) -> Shape {
        let mut rng = Rng::derived(gen.seed, stream::SHAPE);
        let base = base_name(gen.index);
        // A few fixed indexes always get the rare features, so that even a 10-source
        // snapshot has a compat library, device nodes and a daemon with hard links.
        let special = gen.index % 50;
        let family = match rng.weighted(&[700, 130, 80, 30, 60]) {
            _ if matches!(special, 1 | 3 | 7) => Family::C,
            0 => Family::C,
            1 => Family::Python,
            2 => Family::Perl,
            3 => Family::Fonts,
            _ => Family::Scripts,
        };
        let name = match family {
            Family::C | Family::Scripts => base.clone(),
            Family::Python => format!("python3-module-{base}"),
            Family::Perl => format!("perl-{}", capitalize(&base)),
            Family::Fonts => format!("fonts-ttf-{base}"),
        };
        let bin = |kind, name: String, noarch| BinShape {
            kind,
            name,
            noarch,
            bulk: 0,
        };
        let mut binaries = Vec::new();
        match family {
            Family::C => {
                binaries.push(bin(BinKind::Main, name.clone(), false));
                if special == 3 {
                    binaries.push(bin(BinKind::Devices, format!("{base}-devices"), false));
                }
                let lib = rng.chance(600) || special == 1;
                if lib {
                    binaries.push(bin(BinKind::Lib, format!("lib{base}"), false));
                    if rng.chance(850) {
                        binaries.push(bin(BinKind::Devel, format!("lib{base}-devel"), false));
                    }
                    if rng.chance(300) {
                        binaries.push(bin(BinKind::Utils, format!("{base}-utils"), false));
                    }
                    if ctx.compat_i586 && (rng.chance(150) || special == 1) {
                        binaries.push(bin(BinKind::Compat, format!("i586-lib{base}"), false));
                    }
                }
                if rng.chance(400) {
                    binaries.push(bin(BinKind::Doc, format!("{base}-doc"), true));
                }
                if rng.chance(250) {
                    binaries.push(bin(BinKind::Data, format!("{base}-data"), true));
                }
                if rng.chance(250) {
                    binaries.push(bin(BinKind::Common, format!("{base}-common"), true));
                }
                if rng.chance(25) && special != 3 {
                    binaries.push(bin(BinKind::Devices, format!("{base}-devices"), false));
                }
                if rng.chance(200) {
                    binaries.push(bin(BinKind::Tests, format!("{base}-checkinstall"), true));
                }
            }
            Family::Python => {
                binaries.push(bin(BinKind::Main, name.clone(), true));
                if rng.chance(300) {
                    binaries.push(bin(BinKind::Tests, format!("{name}-tests"), true));
                }
                if rng.chance(300) {
                    binaries.push(bin(BinKind::Doc, format!("{name}-docs"), true));
                }
            }
            Family::Perl | Family::Fonts => binaries.push(bin(BinKind::Main, name.clone(), true)),
            Family::Scripts => {
                binaries.push(bin(BinKind::Main, name.clone(), true));
                if rng.chance(250) {
                    binaries.push(bin(BinKind::Doc, format!("{name}-doc"), true));
                }
            }
        }
        // At most six binaries per source (Compat does not count: it lives elsewhere).
        while binaries
            .iter()
            .filter(|b| b.kind != BinKind::Compat)
            .count()
            > 6
        {
            if let Some(pos) = binaries.iter().rposition(|b| b.kind != BinKind::Compat) {
                binaries.remove(pos);
            }
        }
        let bulk = bulk_count(&mut rng);
        let target = [BinKind::Data, BinKind::Doc, BinKind::Main]
            .iter()
            .find_map(|k| binaries.iter().position(|b| b.kind == *k))
            .unwrap_or(0);
        binaries[target].bulk = bulk;

        let w1 = *rng.pick(words::WORDS);
        let mut w2 = *rng.pick(words::WORDS);
        if w2 == w1 {
            w2 = "data";
        }
        let summary = match family {
            Family::C if binaries.iter().any(|b| b.kind == BinKind::Lib) => {
                format!("{} {w1} {w2} library", capitalize(&base))
            }
            Family::C => format!("Simple {w1} {w2} tool"),
            Family::Python => format!("Python 3 module for {w1} {w2} handling"),
            Family::Perl => format!("Perl module for {w1} {w2} manipulation"),
            Family::Fonts => format!("{} TrueType fonts", capitalize(&base)),
            Family::Scripts => format!("Shell scripts to manage {w1} {w2}s"),
        };
        let description = format!(
            "{} is a {w1} {w2} implementation.\n\nThis package was generated for tests; \
             its {} features are synthetic.",
            capitalize(&base),
            rng.pick(words::WORDS)
        );
        let group = match family {
            Family::C => rng.pick(words::GROUPS_PROGRAM).to_string(),
            Family::Python => "Development/Python3".into(),
            Family::Perl => "Development/Perl".into(),
            Family::Fonts => "System/Fonts/True type".into(),
            Family::Scripts => "File tools".into(),
        };
        let license = rng.pick(words::LICENSES).to_string();
        let url = match (family, rng.below(3)) {
            (Family::Python, _) => format!("https://pypi.org/project/{base}"),
            (Family::Perl, _) => format!("https://metacpan.org/release/{}", capitalize(&base)),
            (_, 0) => format!("https://github.com/{}/{base}", rng.pick(PEOPLE).login),
            (_, 1) => format!("http://www.{base}.org/"),
            _ => format!("https://gitlab.com/{base}/{base}"),
        };
        let lib_major = [0, 1, 1, 1, 2, 2, 3, 4, 5, 6, 12][rng.below(11) as usize];
        let server = family == Family::C && (rng.chance(100) || special == 7);
        let hardlinks = family == Family::C && (rng.chance(25) || special == 7);
        let shared_dirs = rng.chance(40);
        let langs = if family == Family::C && rng.chance(250) {
            rng.range_usize(1, words::LANGS.len())
        } else {
            0
        };
        let patch = rng.chance(300);
        let file_classes = special == 7 || rng.chance(30);
        Shape {
            family,
            base,
            name,
            binaries,
            summary,
            description,
            group,
            license,
            url,
            lib_major,
            server,
            hardlinks,
            shared_dirs,
            langs,
            patch,
            file_classes,
        }
    }

    /// The shared library this shape provides, if any, for a version.
    pub fn lib_info(&self, gen: GenInfo, version: &str) -> Option<LibInfo> {
        if !self.has_lib() {
            return None;
        }
        Some(LibInfo {
            index: gen.index,
            soname: format!("lib{}.so.{}", self.base, self.lib_major),
            set: set_version(derive(gen.seed, hash_str(version))),
            symver: format!("LIB{}_{}.0", self.base.to_uppercase(), self.lib_major),
        })
    }
}

/// An ALT set-version string (`set:` plus base62-ish text; real ones encode symbol sets).
pub(crate) fn set_version(seed: u64) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = Rng::new(seed);
    let len = rng.range_usize(5, 60);
    let mut s = String::from("set:");
    s.push_str(&rng.string_from(&ALPHABET[..26], 1));
    s.push_str(&rng.string_from(ALPHABET, len));
    s
}

/// The PACKAGER string of a person: usually `Name <login@altlinux.org>`, sometimes the
/// `login at altlinux.org` or `.ru` forms seen in real headers.
fn packager_string(p: &Person, rng: &mut Rng) -> String {
    match rng.weighted(&[80, 12, 8]) {
        0 => format!("{} <{}@altlinux.org>", p.name, p.login),
        1 => format!("{} <{} at altlinux.org>", p.name, p.login),
        _ => format!("{} <{}@altlinux.ru>", p.name, p.login),
    }
}

/// The `Name <email>` part of a changelog entry.
fn changelog_author(p: &Person, rng: &mut Rng) -> String {
    match rng.weighted(&[85, 10, 5]) {
        0 => format!("{} <{}@altlinux.org>", p.name, p.login),
        1 => format!("{} <{}@altlinux.ru>", p.name, p.login),
        _ => format!("{} <{}@altlinux>", p.name, p.login),
    }
}

fn fill(template: &str, version: &str, rng: &mut Rng) -> String {
    let lib = rng
        .pick(words::SYSTEM_LIBS)
        .0
        .split(".so")
        .next()
        .unwrap_or("libc");
    template
        .replace("{v}", version)
        .replace("{lib}", lib)
        .replace("{n}", &rng.range(10, 24).to_string())
        .replace("{bug}", &rng.range(10_000, 49_999).to_string())
}

/// A changelog text for a version bump (`new_version`) or a release bump.
fn changelog_text(version: &str, new_version: bool, rng: &mut Rng) -> String {
    let cyrillic = rng.chance(150);
    let pool = match (new_version, cyrillic) {
        (true, false) => words::UPDATE_TEXTS,
        (true, true) => words::UPDATE_TEXTS_RU,
        (false, false) => words::REBUILD_TEXTS,
        (false, true) => words::REBUILD_TEXTS_RU,
    };
    let template = *rng.pick(pool);
    let mut text = fill(template, version, rng);
    let extra = rng.weighted(&[70, 20, 10]);
    for _ in 0..extra {
        text.push('\n');
        text.push_str(rng.pick::<&str>(words::EXTRA_TEXTS));
    }
    text
}

/// A fresh version string.
fn initial_version(rng: &mut Rng) -> String {
    match rng.weighted(&[55, 30, 5, 10]) {
        0 => format!("{}.{}.{}", rng.below(6), rng.below(21), rng.below(16)),
        1 => format!("{}.{}", rng.range(0, 9), rng.below(30)),
        2 => format!(
            "20{}{:02}{:02}",
            rng.range(10, 23),
            rng.range(1, 12),
            rng.range(1, 28)
        ),
        _ => format!(
            "{}.{}.{}.{}",
            rng.below(4),
            rng.below(10),
            rng.below(10),
            rng.below(100)
        ),
    }
}

/// The next upstream version: bumps a numeric component (patch usually, sometimes minor or
/// major, resetting the lower ones).
fn bump_version(v: &str, rng: &mut Rng) -> String {
    let mut parts: Vec<u64> = match v.split('.').map(str::parse).collect() {
        Ok(p) => p,
        Err(_) => return format!("{v}.1"),
    };
    if parts.len() == 1 {
        parts[0] += rng.range(1, 40);
    } else {
        let pos = match rng.weighted(&[75, 20, 5]) {
            0 => parts.len() - 1,
            1 => parts.len().saturating_sub(2),
            _ => 0,
        };
        parts[pos] += 1;
        for p in &mut parts[pos + 1..] {
            *p = 0;
        }
    }
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// The next release after a rebuild of the same version (`alt3` → `alt4`, `alt1.1` →
/// `alt1.2`).
fn bump_release(r: &str) -> String {
    let num = r.strip_prefix("alt").unwrap_or(r);
    let mut parts: Vec<u64> = num.split('.').filter_map(|p| p.parse().ok()).collect();
    if parts.is_empty() {
        return format!("{r}.1");
    }
    if let Some(last) = parts.last_mut() {
        *last += 1;
    }
    format!(
        "alt{}",
        parts
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".")
    )
}

/// DISTTAG: `<branch>+<task>.<subtask>.<try>.<iter>`.
pub(crate) fn disttag(ctx: &Ctx, task: u64, rng: &mut Rng) -> String {
    format!(
        "{}+{task}.{}.{}.1",
        ctx.disttag_prefix,
        rng.range(1, 8) * 100,
        rng.weighted(&[80, 15, 5]) + 1
    )
}

/// Task number that built a package at `buildtime`, counting back from `top` (about one
/// task per 15 minutes, as Sisyphus sees).
pub(crate) fn task_for(top: u64, date: u32, buildtime: u32) -> u64 {
    top.saturating_sub(u64::from(date.saturating_sub(buildtime)) / 900)
        .max(1000)
}

impl Recipe {
    /// A new source package, built `age` seconds before the snapshot at most. History is
    /// made forwards (oldest entry first), then reversed.
    pub fn fresh(gen: GenInfo, ctx: &Ctx, top_task: u64, max_age_days: u32) -> Recipe {
        let mut rng = Rng::derived(gen.seed, stream::RECIPE);
        // Age in days: mostly recent, a long tail of old packages.
        let age_days = match rng.weighted(&[30, 40, 30]) {
            0 => rng.below(30),
            1 => rng.below(365),
            _ => rng.below(u64::from(max_age_days).max(1)),
        }
        .min(u64::from(max_age_days)) as u32;
        let buildtime = ctx.date - age_days * DAY - rng.range_u32(7200, DAY - 1);
        let entries = match rng.weighted(&[55, 30, 15]) {
            0 => rng.range_usize(1, 3),
            1 => rng.range_usize(4, 12),
            _ => rng.range_usize(13, 40),
        };
        let maintainer = *rng.pick(PEOPLE);
        let epoch = if rng.chance(80) {
            Some(*rng.pick(&[1, 1, 1, 2, 3]))
        } else {
            None
        };
        // Dates going back from the build day.
        let mut dates = vec![date::noon(buildtime)];
        for _ in 1..entries {
            let gap = match rng.weighted(&[60, 30, 10]) {
                0 => rng.range_u32(1, 60),
                1 => rng.range_u32(60, 400),
                _ => rng.range_u32(400, 1500),
            };
            let prev = *dates.last().unwrap_or(&buildtime);
            dates.push(prev.saturating_sub(gap * DAY).max(DAY / 2));
        }
        dates.reverse();
        let mut version = initial_version(&mut rng);
        let mut release = if rng.chance(100) {
            "alt0.1".to_string()
        } else {
            "alt1".to_string()
        };
        let mut changelog = Vec::with_capacity(entries);
        for (i, &d) in dates.iter().enumerate() {
            let new_version = if i == 0 {
                true
            } else if rng.chance(600) {
                version = bump_version(&version, &mut rng);
                release = "alt1".into();
                true
            } else {
                release = bump_release(&release);
                false
            };
            let author = if rng.chance(800) {
                maintainer
            } else {
                *rng.pick(PEOPLE)
            };
            changelog.push(ChangelogRecord {
                date: d,
                name: changelog_author(&author, &mut rng),
                evr: evr(epoch, &version, &release),
                text: changelog_text(&version, new_version, &mut rng),
            });
        }
        changelog.reverse();
        let mut task_rng = Rng::derived(gen.seed, stream::TASK);
        let task = task_for(top_task, ctx.date, buildtime);
        Recipe {
            gen,
            version,
            release,
            epoch,
            buildtime,
            disttag: disttag(ctx, task, &mut task_rng),
            packager: packager_string(&maintainer, &mut rng),
            changelog,
        }
    }

    /// The recipe after one more build: a new version (about half the time) or release, a
    /// new changelog entry on top, built during the day before `ctx.date` in task `task`.
    pub fn upgraded(&self, ctx: &Ctx, task: u64, seed: u64) -> Recipe {
        let mut rng = Rng::derived(derive(seed, self.gen.index), stream::UPGRADE);
        let new_version = rng.chance(550);
        let (version, release) = if new_version {
            (bump_version(&self.version, &mut rng), "alt1".to_string())
        } else {
            (self.version.clone(), bump_release(&self.release))
        };
        let buildtime = ctx.date - rng.range_u32(7200, DAY - 1);
        let who = if rng.chance(850) {
            // The maintainer again: the author of the newest entry, if it parses.
            self.changelog
                .first()
                .and_then(|c| {
                    PEOPLE
                        .iter()
                        .find(|p| c.name.starts_with(&format!("{} <", p.name)))
                })
                .copied()
                .unwrap_or(*rng.pick(PEOPLE))
        } else {
            *rng.pick(PEOPLE)
        };
        let mut changelog = Vec::with_capacity(self.changelog.len() + 1);
        changelog.push(ChangelogRecord {
            date: date::noon(buildtime),
            name: changelog_author(&who, &mut rng),
            evr: evr(self.epoch, &version, &release),
            text: changelog_text(&version, new_version, &mut rng),
        });
        changelog.extend(self.changelog.iter().cloned());
        Recipe {
            gen: self.gen,
            version,
            release,
            epoch: self.epoch,
            buildtime,
            disttag: disttag(ctx, task, &mut rng),
            packager: packager_string(&who, &mut rng),
            changelog,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn base_names_are_unique_and_split_uniquely() {
        let mut seen = HashSet::new();
        for i in 0..200_000u64 {
            let n = base_name(i);
            assert!(!n.starts_with('l'), "{n}");
            assert!(seen.insert(n.clone()), "duplicate {n} at {i}");
        }
    }

    #[test]
    fn versions_move_forward() {
        let mut rng = Rng::new(1);
        assert_eq!(bump_release("alt1"), "alt2");
        assert_eq!(bump_release("alt1.1"), "alt1.2");
        assert_eq!(bump_release("alt0.1"), "alt0.2");
        for _ in 0..100 {
            let v = initial_version(&mut rng);
            let n = bump_version(&v, &mut rng);
            assert_eq!(
                altrepodb_rpm::rpmvercmp(n.as_bytes(), v.as_bytes()),
                std::cmp::Ordering::Greater,
                "{v} -> {n}"
            );
        }
    }
}
