//! Deterministic generator of synthetic ALT Linux branch snapshots, for loader tests.
//!
//! # Brief overview
//! * [`generate_repo`] writes a snapshot for a [`RepoSpec`] (number of sources, seed,
//!   arches, date) in the layout the repository loader walks (original §3.1): source RPMs in
//!   `files/SRPMS`, binaries in `files/<arch>/RPMS` with `<arch>/RPMS.classic` symlinks,
//!   APT header lists `<arch>/base/pkglist.classic.xz` and `srclist.classic.xz`, `release`
//!   files, `files/list/<arch>.hash.xz` SHA-256 lists and `files/list/task.info`.
//! * [`generate_next_day`] makes the next day's snapshot from a previous one: most packages
//!   are hard-linked unchanged, a given share is rebuilt with a new release or version, a
//!   few sources are added and a few removed.
//! * [`snapshot_from_rpms`] lays out existing RPM files (e.g. the third-party corpus) the same
//!   way, without a manifest.
//! * [`rpmdb`] builds synthetic rpm databases (SQLite with Debian's rpm, Berkeley DB with
//!   `db5.3_load`) from RPM files; [`corpus`] finds the third-party test corpus.
//! * Both generators write `DIR/manifest.json` ([`RepoManifest`], [`PackageRecord`]): every package
//!   with its identity, digests, `pkg_hash`, counts and changelog, i.e. what a loader test
//!   compares the database against. The loader ignores the file.
//!
//! Packages are made with [`altrepodb_rpm::writer::PackageBuilder`] and look like ALT's:
//! ALT packagers, DISTTAG, set-versions, changelogs in English and Russian, `lib*`,
//! `*-devel`, `*-doc` subpackages, device nodes, long-tailed file counts (5,000 sources give
//! about a million files). All names and people are fictional.
//!
//! Output depends only on the inputs: there is no clock and no OS randomness, and the same
//! seed gives byte-identical files (the number of threads does not matter).
//!
//! ```no_run
//! use altrepodb_testdata::{generate_repo, RepoSpec};
//! let spec = RepoSpec { sources: 20, seed: 1, ..RepoSpec::default() };
//! let m = generate_repo(std::path::Path::new("/tmp/snap"), &spec).unwrap();
//! for p in m.packages().unwrap() {
//!     let p = p.unwrap();
//!     println!("{} {}", p.file_name, p.pkg_hash);
//! }
//! ```
#![deny(missing_docs)]

mod build;
pub mod corpus;
mod date;
mod error;
mod from_rpms;
mod fsutil;
mod generate;
pub mod http_server;
pub mod manifest;
mod plan;
mod rng;
pub mod rpmdb;
mod spec;
pub mod task;
mod words;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use altrepodb_rpm::tags::Tag;

pub use error::GenError;
pub use from_rpms::{snapshot_from_rpms, PlacedPackage};
pub use manifest::{
    ChangeSummary, ChangelogRecord, GenInfo, PackageIter, PackageKind, PackageRecord, RepoManifest,
    MANIFEST_NAME,
};

use generate::{CarriedRecords, RunInput, SourceJob};
use plan::{stream, Ctx, Recipe, Shape};
use rng::{derive, Rng};

/// Architecture directory names the loader knows (original §3.1), `src` excluded.
pub const ARCH_DIRS: &[&str] = &[
    "aarch64",
    "armh",
    "i586",
    "ppc64le",
    "x86_64",
    "x86_64-i586",
    "noarch",
    "mipsel",
    "riscv64",
    "e2k",
    "e2kv4",
    "e2kv5",
    "e2kv6",
];

/// Default snapshot date.
pub const DEFAULT_DATE: &str = "2024-01-15";

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSpec {
    /// Number of source packages (each gives 1–6 binaries per arch, about 3 on average).
    pub sources: usize,
    /// Seed; the same seed and spec give byte-identical output.
    pub seed: u64,
    /// Architecture directories (default `x86_64`, `noarch`). `noarch` is added if missing;
    /// `x86_64-i586` (needs `x86_64`) adds a few `i586-lib*` compat packages.
    pub arches: Vec<String>,
    /// Snapshot date `YYYY-MM-DD` (default [`DEFAULT_DATE`]); build times lie before it.
    pub date: Option<String>,
    /// Branch label (default `Sisyphus`); its lower-case form prefixes DISTTAG.
    pub branch: String,
}

impl Default for RepoSpec {
    fn default() -> Self {
        RepoSpec {
            sources: 100,
            seed: 0,
            arches: vec!["x86_64".into(), "noarch".into()],
            date: None,
            branch: "Sisyphus".into(),
        }
    }
}

impl RepoSpec {
    /// A spec with `sources` sources and `seed`, defaults otherwise.
    pub fn new(sources: usize, seed: u64) -> Self {
        RepoSpec {
            sources,
            seed,
            ..RepoSpec::default()
        }
    }
}

/// Checks and orders the arch list (ARCHS order, `noarch` added).
fn arch_dirs(arches: &[String]) -> Result<Vec<String>, GenError> {
    for a in arches {
        if !ARCH_DIRS.contains(&a.as_str()) {
            return Err(GenError::Spec(format!(
                "unknown architecture {a:?} (known: {})",
                ARCH_DIRS.join(", ")
            )));
        }
    }
    let has = |x: &str| arches.iter().any(|a| a == x) || x == "noarch";
    if arches.iter().any(|a| a == "x86_64-i586") && !has("x86_64") {
        return Err(GenError::Spec("x86_64-i586 needs x86_64".into()));
    }
    let dirs: Vec<String> = ARCH_DIRS
        .iter()
        .filter(|a| has(a))
        .map(|a| a.to_string())
        .collect();
    if !dirs.iter().any(|a| a != "noarch" && a != "x86_64-i586") {
        return Err(GenError::Spec(
            "at least one binary architecture (x86_64, aarch64, …) is needed".into(),
        ));
    }
    Ok(dirs)
}

fn make_ctx(branch: &str, date: u32, dirs: &[String]) -> Ctx {
    Ctx {
        disttag_prefix: branch.to_lowercase(),
        date,
        build_arches: dirs
            .iter()
            .filter(|a| *a != "noarch" && *a != "x86_64-i586")
            .cloned()
            .collect(),
        compat_i586: dirs.iter().any(|a| a == "x86_64-i586"),
        libs: Vec::new(),
    }
}

/// Fills the library table from every job's shape and version (other packages link with
/// these libraries).
fn fill_libs(ctx: &mut Ctx, jobs: &[(plan::Recipe, Shape)]) {
    ctx.libs = jobs
        .iter()
        .filter_map(|(r, s)| s.lib_info(r.gen, &r.version))
        .collect();
}

/// Days back the oldest package may be built, keeping build times after 2001-09-09 (so
/// `pkg_hash` exists).
fn max_age_days(date: u32) -> Result<u32, GenError> {
    let room = date.saturating_sub(1_000_000_000) / date::DAY;
    if room < 3 {
        return Err(GenError::Spec(
            "the snapshot date must be after 2001-09-12".into(),
        ));
    }
    Ok((room - 2).min(3000))
}

/// Generates a snapshot of `spec.sources` source packages into `out` (absent or empty).
pub fn generate_repo(out: &Path, spec: &RepoSpec) -> Result<RepoManifest, GenError> {
    let date_s = spec
        .date
        .clone()
        .unwrap_or_else(|| DEFAULT_DATE.to_string());
    let date = date::parse_date(&date_s)
        .ok_or_else(|| GenError::Spec(format!("bad date {date_s:?} (want YYYY-MM-DD)")))?;
    let dirs = arch_dirs(&spec.arches)?;
    let max_age = max_age_days(date)?;
    fsutil::prepare_out(out)?;
    let mut ctx = make_ctx(&spec.branch, date, &dirs);
    let top_task = 300_000 + derive(spec.seed, stream::TASK) % 60_000;
    let prev_task = top_task - 1 - derive(spec.seed, stream::TASK + 1) % 40;
    let planned: Vec<(Recipe, Shape)> = (0..spec.sources as u64)
        .map(|index| {
            let gen = GenInfo {
                index,
                seed: derive(spec.seed, index),
            };
            let shape = Shape::new(gen, &ctx);
            (Recipe::fresh(gen, &ctx, top_task, max_age), shape)
        })
        .collect();
    fill_libs(&mut ctx, &planned);
    let jobs = planned
        .into_iter()
        .map(|(recipe, shape)| SourceJob::Build { recipe, shape })
        .collect();
    let summary = RepoManifest {
        branch: spec.branch.clone(),
        date: date_s,
        seed: spec.seed,
        arches: dirs.clone(),
        task: top_task,
        prev_task,
        next_index: spec.sources as u64,
        sources: 0,
        binaries: 0,
        files: 0,
        bytes: 0,
        changes: None,
        path: Default::default(),
    };
    generate::run(
        RunInput {
            out,
            ctx: &ctx,
            arch_dirs: &dirs,
            prev: None,
            carried: HashMap::new(),
            task_info: vec![
                ("task".into(), top_task.to_string()),
                ("prev".into(), prev_task.to_string()),
            ],
            summary,
        },
        jobs,
    )
}

/// Reads the records of `wanted` packages from the previous snapshot's lists.
fn read_carried(
    prev: &Path,
    arches: &[String],
    wanted: &HashSet<(String, String)>,
) -> Result<CarriedRecords, GenError> {
    let mut out = CarriedRecords::new();
    let mut lists: Vec<(String, std::path::PathBuf)> = arches
        .iter()
        .map(|a| (a.clone(), prev.join(a).join("base/pkglist.classic.xz")))
        .collect();
    if let Some(a) = arches.first() {
        lists.push(("src".into(), prev.join(a).join("base/srclist.classic.xz")));
    }
    for (key, path) in lists {
        let file = std::fs::File::open(&path).map_err(GenError::io(&path))?;
        let mut buf = Vec::new();
        liblzma::read::XzDecoder::new(std::io::BufReader::new(file))
            .read_to_end(&mut buf)
            .map_err(GenError::io(&path))?;
        for h in altrepodb_rpm::apt_headers(&buf) {
            let h = h.map_err(|e| GenError::List {
                path: path.clone(),
                why: e.to_string(),
            })?;
            let name = h
                .text(Tag::APTINDEXLEGACYFILENAME)
                .map_err(|e| GenError::List {
                    path: path.clone(),
                    why: e.to_string(),
                })?
                .into_owned();
            let k = (key.clone(), name);
            if wanted.contains(&k) {
                let start = h.offset() as usize;
                let bytes =
                    buf.get(start..start + h.record_len())
                        .ok_or_else(|| GenError::List {
                            path: path.clone(),
                            why: format!("record at {start} runs past the end"),
                        })?;
                out.insert(k, bytes.to_vec());
            }
        }
    }
    Ok(out)
}

/// Makes the snapshot of the day after `prev` into `out` (absent or empty): about
/// `change_percent` % of the sources get a new release or version (new changelog entry,
/// new build time, rebuilt binaries), about 1 % are added and 0.5 % removed, the rest is
/// hard-linked (copied across file systems) byte-identically. Lists, hashes, release files,
/// task.info and the manifest are rewritten. `seed` drives the choices.
pub fn generate_next_day(
    prev: &Path,
    out: &Path,
    change_percent: f64,
    seed: u64,
) -> Result<RepoManifest, GenError> {
    if !(0.0..=100.0).contains(&change_percent) {
        return Err(GenError::Spec(format!(
            "change percent {change_percent} is not within 0..100"
        )));
    }
    let pm = RepoManifest::read(prev)?;
    let prev_date = date::parse_date(&pm.date)
        .ok_or_else(|| GenError::Spec(format!("{}: bad date {:?}", pm.path.display(), pm.date)))?;
    let date = prev_date + date::DAY;
    let dirs = arch_dirs(&pm.arches)?;
    fsutil::prepare_out(out)?;
    let mut ctx = make_ctx(&pm.branch, date, &dirs);

    let mut sources: Vec<PackageRecord> = Vec::new();
    let mut bins: HashMap<String, Vec<PackageRecord>> = HashMap::new();
    for r in pm.load_packages()? {
        match r.kind {
            PackageKind::Source => sources.push(r),
            PackageKind::Binary => bins.entry(r.sourcerpm.clone()).or_default().push(r),
        }
    }
    sources.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    let n = sources.len();
    let mut rng = Rng::derived(seed, stream::NEXT_DAY);
    let removed_n = if n >= 4 { (n / 200).max(1) } else { 0 };
    let added_n = (n / 100).max(1);
    let upgraded_n = ((n as f64 * change_percent / 100.0).round() as usize).min(n - removed_n);
    // Partial Fisher–Yates: the first removed_n + upgraded_n indexes are the chosen ones.
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..(removed_n + upgraded_n).min(n) {
        let j = i + rng.below((n - i) as u64) as usize;
        idx.swap(i, j);
    }
    let removed: HashSet<usize> = idx[..removed_n].iter().copied().collect();
    let upgraded: HashSet<usize> = idx[removed_n..removed_n + upgraded_n]
        .iter()
        .copied()
        .collect();

    let mut task = pm.task;
    let mut next_task = |rng: &mut Rng| {
        task += rng.range(1, 3);
        task
    };
    let mut planned: Vec<(Recipe, Shape)> = Vec::new();
    let mut carry_jobs: Vec<SourceJob> = Vec::new();
    let mut wanted: HashSet<(String, String)> = HashSet::new();
    let mut changes = ChangeSummary {
        prev_date: pm.date.clone(),
        ..ChangeSummary::default()
    };
    for (i, src) in sources.into_iter().enumerate() {
        let recipe = Recipe::from_record(&src).ok_or_else(|| GenError::Manifest {
            path: pm.path.clone(),
            why: format!("{}: no generator info", src.file_name),
        })?;
        let shape = Shape::new(recipe.gen, &ctx);
        if removed.contains(&i) {
            changes.removed.push(src.name.clone());
            continue;
        }
        if upgraded.contains(&i) {
            let t = next_task(&mut rng);
            changes.upgraded.push(src.name.clone());
            planned.push((recipe.upgraded(&ctx, t, seed), shape));
            continue;
        }
        let b = bins.remove(&src.file_name).unwrap_or_default();
        wanted.insert(("src".into(), src.file_name.clone()));
        for x in &b {
            wanted.insert((x.arch_dir.clone(), x.file_name.clone()));
        }
        // Carried sources still provide libraries to the rebuilt ones.
        if let Some(l) = shape.lib_info(recipe.gen, &recipe.version) {
            ctx.libs.push(l);
        }
        changes.unchanged += 1;
        carry_jobs.push(SourceJob::Carry { src, bins: b });
    }
    for k in 0..added_n as u64 {
        let index = pm.next_index + k;
        let gen = GenInfo {
            index,
            seed: derive(seed, index),
        };
        let shape = Shape::new(gen, &ctx);
        let t = next_task(&mut rng);
        let mut recipe = Recipe::fresh(gen, &ctx, t, 0);
        recipe.disttag = plan::disttag(&ctx, t, &mut rng);
        changes.added.push(shape.name.clone());
        planned.push((recipe, shape));
    }
    let top_task = task + rng.range(0, 5);
    let built_libs: Vec<_> = planned
        .iter()
        .filter_map(|(r, s)| s.lib_info(r.gen, &r.version))
        .collect();
    ctx.libs.extend(built_libs);
    ctx.libs.sort_by_key(|l| l.index);
    let carried = read_carried(prev, &dirs, &wanted)?;
    let mut jobs = carry_jobs;
    jobs.extend(
        planned
            .into_iter()
            .map(|(recipe, shape)| SourceJob::Build { recipe, shape }),
    );
    changes.upgraded.sort();
    changes.added.sort();
    changes.removed.sort();
    let summary = RepoManifest {
        branch: pm.branch.clone(),
        date: date::format_date(date),
        seed,
        arches: dirs.clone(),
        task: top_task,
        prev_task: pm.task,
        next_index: pm.next_index + added_n as u64,
        sources: 0,
        binaries: 0,
        files: 0,
        bytes: 0,
        changes: Some(changes),
        path: Default::default(),
    };
    generate::run(
        RunInput {
            out,
            ctx: &ctx,
            arch_dirs: &dirs,
            prev: Some(prev),
            carried,
            task_info: vec![
                ("task".into(), top_task.to_string()),
                ("prev".into(), pm.task.to_string()),
            ],
            summary,
        },
        jobs,
    )
}
