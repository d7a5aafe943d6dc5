//! Sink step of the repository loader: known packages by MD5, new ones parsed in parallel and
//! written table by table, then the package-set tree with its root row **last**.
//!
//! Crash safety and idempotency:
//! - node UUIDs are derived from (branch, date, node), so a re-run rebuilds the same tree;
//! - every table is written insert-if-absent per chunk of packages (a package's rows of one
//!   table always travel in one INSERT), so whatever a killed run committed is not written
//!   twice;
//! - a package's `PackageHash` row (what later runs recognise it by) is written only after
//!   all its other rows are committed;
//! - the root `PackageSetName` row, which makes the snapshot visible and fires the
//!   `StaticLastPackages` cascade, is written last. No root, no visible package set.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use altrepodb_db::rows::{PackageHashRow, PackageSetNameRow, PackageSetRow};
use altrepodb_db::sink::Sink;
use altrepodb_db::{derived, flush, registry, Db, DbError};
use rayon::prelude::*;
use thiserror::Error;
use uuid::Uuid;

use super::scan::{scan, FileDigests, Inventory, ScanError};
use crate::bounded::ReadLimits;
use crate::package::{read_package_file, PackageError, PackageRows};
use crate::package_store::PackageStore;
use crate::report::{LoadReport, Skipped};
use crate::Observer;

/// Packages parsed and written together; deterministic chunk boundaries keep re-runs alike.
const CHUNK_PACKAGES: usize = 1_000;

/// What to load.
#[derive(Debug, Clone)]
pub struct RepoLoadOptions {
    /// Branch (package set) name; lower-cased as the original does.
    pub pkgset: String,
    /// Snapshot root.
    pub path: PathBuf,
    /// Snapshot date, `YYYY-MM-DD`.
    pub date: String,
    /// `pkgset_tag`.
    pub tag: String,
    /// Threads for parsing packages.
    pub workers: usize,
    /// Replace a snapshot already loaded for this name and date.
    pub force: bool,
    /// Read and count, write nothing.
    pub dry_run: bool,
    /// Caps on lists and spec files read from the snapshot.
    pub limits: ReadLimits,
    /// A corrupt package file is reported (path and offset) and left out of the package set
    /// instead of failing the load (`--skip-bad`).
    pub skip_bad: bool,
}

impl RepoLoadOptions {
    /// Loads `path` as `pkgset` of `date`: no tag, 4 workers, nothing forced or skipped.
    pub fn new(
        pkgset: impl Into<String>,
        path: impl Into<PathBuf>,
        date: impl Into<String>,
    ) -> Self {
        RepoLoadOptions {
            pkgset: pkgset.into(),
            path: path.into(),
            date: date.into(),
            tag: String::new(),
            workers: 4,
            force: false,
            dry_run: false,
            skip_bad: false,
            limits: ReadLimits::default(),
        }
    }
}

/// What a load did (or, with `dry_run`, would do): the [`LoadReport`] (rows per table,
/// skipped files, seconds; it dereferences to it) and the snapshot's particulars.
#[derive(Debug, Clone, Default)]
pub struct RepoLoadReport {
    /// Rows, skipped inputs, time.
    pub report: LoadReport,
    /// Branch name as stored.
    pub pkgset: String,
    /// Snapshot date.
    pub date: String,
    /// File names of the new packages.
    pub new_packages: Vec<String>,
}

impl std::ops::Deref for RepoLoadReport {
    type Target = LoadReport;
    fn deref(&self) -> &LoadReport {
        &self.report
    }
}

impl std::ops::DerefMut for RepoLoadReport {
    fn deref_mut(&mut self) -> &mut LoadReport {
        &mut self.report
    }
}

/// Why a load failed. Nothing of the package set is visible after any of these.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RepoError {
    /// The snapshot's files.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// A package file.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The database.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The snapshot is loaded already.
    #[error("package set '{pkgset}' for {date} is already loaded; use --force to replace it")]
    AlreadyLoaded {
        /// Branch.
        pkgset: String,
        /// Date.
        date: String,
    },
    /// `--date` is not `YYYY-MM-DD`.
    #[error("invalid date '{0}': expected YYYY-MM-DD")]
    BadDate(String),
    /// A package listed in a pkglist is not where the list says.
    #[error("{path}: package listed in {list} is missing")]
    MissingPackage {
        /// Expected location.
        path: PathBuf,
        /// The list that named it.
        list: String,
    },
    /// An internal task failed.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Seconds since the epoch of `YYYY-MM-DD` 00:00 UTC.
pub fn parse_date(date: &str) -> Result<u32, RepoError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(date, &fmt).map_err(|_| RepoError::BadDate(date.to_owned()))?;
    u32::try_from(d.midnight().assume_utc().unix_timestamp())
        .map_err(|_| RepoError::BadDate(date.to_owned()))
}

/// Namespace of our deterministic package-set UUIDs.
const UUID_NAMESPACE: Uuid = Uuid::from_u128(0x6a1b_9f3e_2c57_4d0a_9e61_a17e_9db0_0001);

/// The UUID of one node of the tree of (`pkgset`, `date`).
pub fn node_uuid(pkgset: &str, date: &str, node: &str) -> Uuid {
    Uuid::new_v5(
        &UUID_NAMESPACE,
        format!("repo\0{pkgset}\0{date}\0{node}").as_bytes(),
    )
}

/// One unknown package to read.
#[derive(Debug, Clone)]
struct Todo {
    name: String,
    path: PathBuf,
    digests: FileDigests,
}

struct Loader<'a> {
    db: &'a Db,
    opts: &'a RepoLoadOptions,
    date_ts: u32,
    root: Uuid,
    report: RepoLoadReport,
    /// Writes new packages' rows; a package listed twice is written once.
    store: PackageStore,
    sink: Sink<'a>,
    obs: Arc<dyn Observer>,
}

/// Loads the snapshot at `opts.path` as package set `opts.pkgset` of `opts.date`.
pub async fn load_repo(
    db: &Db,
    opts: &RepoLoadOptions,
    obs: Arc<dyn Observer>,
) -> Result<RepoLoadReport, RepoError> {
    let started = Instant::now();
    let mut opts = opts.clone();
    opts.pkgset = opts.pkgset.to_lowercase();
    let date_ts = parse_date(&opts.date)?;
    let root = node_uuid(&opts.pkgset, &opts.date, "");

    obs.phase("scan", 0);
    let path = opts.path.clone();
    let limits = opts.limits;
    let inv = tokio::task::spawn_blocking(move || scan(&path, &limits))
        .await
        .map_err(|e| RepoError::Internal(e.to_string()))??;
    obs.finish_phase();

    let mut loader = Loader {
        db,
        opts: &opts,
        date_ts,
        root,
        report: RepoLoadReport {
            report: LoadReport {
                subject: format!("{} {}", opts.pkgset, opts.date),
                packages_seen: inv.sources.len() + inv.binaries.len(),
                ..LoadReport::new(registry::loader::REPO, opts.dry_run)
            },
            pkgset: opts.pkgset.clone(),
            date: opts.date.clone(),
            ..Default::default()
        },
        store: PackageStore::new(),
        sink: Sink::new(db, root.to_string(), opts.dry_run),
        obs,
    };
    loader.check_not_loaded().await?;
    if opts.force && !opts.dry_run {
        loader.remove_existing_trees().await?;
    }
    loader.run(inv).await?;
    let Loader {
        mut report, sink, ..
    } = loader;
    report.rows = sink.finish().await?;
    report.elapsed = started.elapsed();
    Ok(report)
}

impl Loader<'_> {
    async fn check_not_loaded(&self) -> Result<(), RepoError> {
        let n = self
            .sink
            .check::<PackageSetNameRow>()
            .eq("pkgset_depth", 0u8)
            .eq("pkgset_nodename", self.opts.pkgset.clone())
            .eq("pkgset_date", self.date_ts)
            .count()
            .await?;
        if n > 0 && !self.opts.force {
            return Err(RepoError::AlreadyLoaded {
                pkgset: self.opts.pkgset.clone(),
                date: self.opts.date.clone(),
            });
        }
        Ok(())
    }

    /// `--force`: removes every tree of (name, date) — ours from an earlier run and any the
    /// original left with random UUIDs — and what their roots derived, so the reload
    /// replaces instead of doubling `StaticLastPackages`.
    async fn remove_existing_trees(&self) -> Result<(), RepoError> {
        let roots: Vec<String> = self
            .sink
            .check::<PackageSetNameRow>()
            .what("finding existing package sets")
            .eq("pkgset_depth", 0u8)
            .eq("pkgset_nodename", self.opts.pkgset.clone())
            .eq("pkgset_date", self.date_ts)
            .values("pkgset_ruuid")
            .await?;
        tracing::info!(
            trees = roots.len(),
            "--force: replacing existing package sets"
        );
        let mut ruuids = roots;
        ruuids.push(self.root.to_string());
        derived::remove_package_sets(self.db, &self.opts.pkgset, self.date_ts, &ruuids).await?;
        Ok(())
    }

    /// Known packages by file MD5 (original §3.3 step 2): md5 hex → pkg_hash.
    async fn known_by_md5(&self, inv: &Inventory) -> Result<HashMap<String, u64>, RepoError> {
        let md5s: Vec<String> = inv
            .sources
            .iter()
            .map(|(_, d)| d)
            .chain(inv.binaries.values())
            .filter_map(|d| d.md5.map(hex::encode))
            .collect();
        let mut known = HashMap::new();
        let pairs: Vec<(String, u64)> = self
            .sink
            .check::<PackageHashRow>()
            .what("looking up known packages in PackageHash")
            .pairs("pkgh_md5", "pkgh_mmh", &md5s)
            .await?;
        // One file MD5 names one package; should two hashes share it, the first is taken.
        for (md5, mmh) in pairs {
            known.entry(md5).or_insert(mmh);
        }
        Ok(known)
    }

    async fn run(&mut self, inv: Inventory) -> Result<(), RepoError> {
        let known = self.known_by_md5(&inv).await?;
        let hash_of = |d: &FileDigests| d.md5.and_then(|m| known.get(&hex::encode(m)).copied());

        // Sources first: binaries link to their source's hash.
        let mut source_hash: HashMap<String, u64> = HashMap::new();
        let mut todo = Vec::new();
        for (name, d) in &inv.sources {
            match hash_of(d) {
                Some(h) => {
                    source_hash.insert(name.clone(), h);
                }
                None => todo.push(Todo {
                    name: name.clone(),
                    path: inv.layout.srpm_path(name).map_err(ScanError::from)?,
                    digests: d.clone(),
                }),
            }
        }
        for t in &todo {
            if !t.path.is_file() {
                return Err(RepoError::MissingPackage {
                    path: t.path.clone(),
                    list: "srclist.classic".into(),
                });
            }
        }
        let new_sources = self.load_packages(todo, &HashMap::new()).await?;
        source_hash.extend(new_sources);

        // Binaries of every component; a file listed twice is read once.
        let mut binary_hash: HashMap<String, u64> = HashMap::new();
        let mut todo = Vec::new();
        let mut queued = HashSet::new();
        for comp in &inv.components {
            for name in &comp.files {
                let d = inv.binaries.get(name).cloned().unwrap_or_default();
                if let Some(h) = hash_of(&d) {
                    binary_hash.insert(name.clone(), h);
                } else if queued.insert(name.clone()) {
                    let path = inv
                        .layout
                        .rpm_path(&comp.arch, &comp.component, name)
                        .map_err(ScanError::from)?;
                    if !path.is_file() {
                        return Err(RepoError::MissingPackage {
                            path,
                            list: format!("{}/base/pkglist.{}.xz", comp.arch, comp.component),
                        });
                    }
                    todo.push(Todo {
                        name: name.clone(),
                        path,
                        digests: d,
                    });
                }
            }
        }
        let new_binaries = self.load_packages(todo, &source_hash).await?;
        binary_hash.extend(new_binaries);
        self.write_tree(&inv, &source_hash, &binary_hash).await
    }

    /// Parses `todo` in parallel chunks and writes their rows; returns file name → pkg_hash.
    async fn load_packages(
        &mut self,
        todo: Vec<Todo>,
        source_hash: &HashMap<String, u64>,
    ) -> Result<HashMap<String, u64>, RepoError> {
        let mut out = HashMap::new();
        if todo.is_empty() {
            return Ok(out);
        }
        self.obs.phase("packages", todo.len() as u64);
        type Parsed = Vec<(Todo, Result<PackageRows, PackageError>)>;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Parsed, RepoError>>(1);
        let workers = self.opts.workers.max(1);
        let limits = self.opts.limits;
        let skip_bad = self.opts.skip_bad;
        // Parsing runs on its own pool while the previous chunk is being inserted.
        let producer = std::thread::spawn(move || {
            let pool = match rayon::ThreadPoolBuilder::new().num_threads(workers).build() {
                Ok(p) => p,
                Err(e) => {
                    let _ = tx.blocking_send(Err(RepoError::Internal(e.to_string())));
                    return;
                }
            };
            for chunk in todo.chunks(CHUNK_PACKAGES) {
                let parsed: Parsed = pool.install(|| {
                    chunk
                        .par_iter()
                        .map(|t| (t.clone(), read_package_file(&t.path, &limits)))
                        .collect()
                });
                let failed = parsed.iter().any(|(_, r)| r.is_err());
                if tx.blocking_send(Ok(parsed)).is_err() || (failed && !skip_bad) {
                    return;
                }
            }
        });
        while let Some(chunk) = rx.recv().await {
            let mut chunk = self.keep_good(chunk?)?;
            for (_, rows) in &mut chunk {
                if rows.package.pkg_sourcepackage == 0 {
                    // Binary: link to its source package (0 when the source is unknown).
                    let src = source_hash
                        .get(&rows.header_sourcerpm)
                        .copied()
                        .unwrap_or(0);
                    rows.set_srcrpm_hash(src);
                }
            }
            for (t, rows) in &chunk {
                out.insert(t.name.clone(), rows.pkg_hash);
            }
            let n = chunk.len() as u64;
            self.write_chunk(chunk).await?;
            self.obs.advance(n);
        }
        producer
            .join()
            .map_err(|_| RepoError::Internal("package parser thread panicked".into()))?;
        self.obs.finish_phase();
        Ok(out)
    }

    /// The packages of a parsed chunk that can be written. A corrupt package file (a bad
    /// header, or a source package whose payload cannot give its spec file) fails the load,
    /// or with `--skip-bad` is reported (path, offset, reason) and left out: it gets no rows
    /// and is no member of the package set; binaries built from a skipped source keep
    /// `pkg_srcrpm_hash` 0, as for any unknown source. Files that cannot be read fail the
    /// load either way (that is the mirror's problem, not the package's).
    fn keep_good(
        &mut self,
        chunk: Vec<(Todo, Result<PackageRows, PackageError>)>,
    ) -> Result<Vec<(Todo, PackageRows)>, RepoError> {
        let mut good = Vec::with_capacity(chunk.len());
        for (t, parsed) in chunk {
            match parsed {
                Ok(rows) => good.push((t, rows)),
                Err(PackageError::Rpm { path, source }) if self.opts.skip_bad => {
                    self.skip(&path, source.to_string());
                }
                Err(PackageError::Payload { path, message }) if self.opts.skip_bad => {
                    self.skip(&path, format!("spec file: {message}"));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(good)
    }

    fn skip(&mut self, path: &std::path::Path, reason: String) {
        tracing::warn!("{}: {reason} (skipped: --skip-bad)", path.display());
        self.report
            .skipped
            .push(Skipped::new(path.display().to_string(), reason));
    }

    /// Writes one chunk insert-if-absent, `PackageHash` rows last ([`PackageStore`]).
    async fn write_chunk(&mut self, chunk: Vec<(Todo, PackageRows)>) -> Result<(), RepoError> {
        self.report.packages_new += chunk.len();
        self.report
            .new_packages
            .extend(chunk.iter().map(|(t, _)| t.name.clone()));
        let chunk = chunk.into_iter().map(|(t, r)| (t.digests, r)).collect();
        self.store.write(&mut self.sink, chunk).await?;
        Ok(())
    }

    fn node(
        &self,
        uuid: Uuid,
        parent: Uuid,
        depth: u8,
        name: &str,
        kv: Vec<(&str, String)>,
    ) -> PackageSetNameRow {
        let (k, v) = kv.into_iter().map(|(k, v)| (k.to_owned(), v)).unzip();
        PackageSetNameRow {
            pkgset_uuid: uuid,
            pkgset_puuid: parent,
            pkgset_ruuid: self.root,
            pkgset_depth: depth,
            pkgset_nodename: name.to_owned(),
            pkgset_date: self.date_ts,
            pkgset_tag: self.opts.tag.clone(),
            pkgset_complete: 1,
            pkgset_kv_k: k,
            pkgset_kv_v: v,
        }
    }

    /// The package-set tree (original §3.4): srpm, arch and component nodes, then the root.
    async fn write_tree(
        &mut self,
        inv: &Inventory,
        source_hash: &HashMap<String, u64>,
        binary_hash: &HashMap<String, u64>,
    ) -> Result<(), RepoError> {
        let name = self.opts.pkgset.clone();
        let date = self.opts.date.clone();
        let srpm_uuid = node_uuid(&name, &date, "srpm");
        let mut members: Vec<(Uuid, Vec<u64>)> = Vec::new();
        let mut nodes: Vec<PackageSetNameRow> = Vec::new();

        let mut srpm: Vec<u64> = inv
            .sources
            .iter()
            .filter_map(|(n, _)| source_hash.get(n).copied())
            .collect();
        srpm.sort_unstable();
        srpm.dedup();
        let srpms_paths = inv
            .layout
            .arches
            .iter()
            .map(|a| format!("{}/SRPMS.classic", a.name))
            .collect::<Vec<_>>()
            .join(", ");
        nodes.push(self.node(
            srpm_uuid,
            self.root,
            1,
            "srpm",
            vec![
                ("depth", "1".into()),
                ("type", "srpm".into()),
                ("size", srpm.len().to_string()),
                ("class", "repository".into()),
                ("SRPMS", srpms_paths),
                ("repo", name.clone()),
            ],
        ));
        members.push((srpm_uuid, srpm));
        for arch in &inv.layout.arches {
            let arch_uuid = node_uuid(&name, &date, &arch.name);
            nodes.push(self.node(
                arch_uuid,
                self.root,
                1,
                &arch.name,
                vec![
                    ("depth", "1".into()),
                    ("type", "arch".into()),
                    ("size", "0".into()),
                    ("class", "repository".into()),
                    ("path", arch.name.clone()),
                    ("repo", name.clone()),
                ],
            ));
            for comp in inv.components.iter().filter(|c| c.arch == arch.name) {
                let uuid = node_uuid(&name, &date, &format!("{}/{}", arch.name, comp.component));
                let mut hashes: Vec<u64> = comp
                    .files
                    .iter()
                    .filter_map(|f| binary_hash.get(f).copied())
                    .collect();
                hashes.sort_unstable();
                hashes.dedup();
                nodes.push(self.node(
                    uuid,
                    arch_uuid,
                    2,
                    &comp.component,
                    vec![
                        ("depth", "2".into()),
                        ("type", "comp".into()),
                        ("size", hashes.len().to_string()),
                        ("class", "repository".into()),
                        ("path", format!("{}/RPMS.{}", arch.name, comp.component)),
                        ("repo", name.clone()),
                    ],
                ));
                members.push((uuid, hashes));
            }
        }
        let mut root_kv = vec![
            ("depth", "0".to_owned()),
            ("type", "repo".to_owned()),
            ("size", (inv.sources.len() + inv.binaries.len()).to_string()),
            ("class", "repository".to_owned()),
        ];
        root_kv.extend(
            inv.layout
                .task_info
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone())),
        );
        root_kv.push((
            "archs",
            inv.layout
                .arches
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ));
        root_kv.push(("comps", inv.layout.components().join(", ")));
        let root_row = self.node(self.root, Uuid::nil(), 0, &name, root_kv);

        let member_rows: u64 = members.iter().map(|(_, h)| h.len() as u64).sum();
        if self.opts.dry_run {
            // Nothing of this tree can be stored yet: all of it would be written.
            self.sink.count("PackageSet", member_rows);
            self.sink.count("PackageSetName", nodes.len() as u64 + 1);
            return Ok(());
        }
        self.obs.phase("package set", 0);
        // Insert-if-absent against what an interrupted run of this load already wrote.
        for (uuid, hashes) in members {
            let have = self
                .sink
                .check::<PackageSetRow>()
                .eq_uuid("pkgset_uuid", uuid)
                .present("pkg_hash", &hashes)
                .await?;
            let rows = hashes
                .into_iter()
                .filter(|h| !have.contains(h))
                .map(|h| PackageSetRow {
                    pkgset_uuid: uuid,
                    pkg_hash: h,
                })
                .collect();
            self.sink.stage(rows).await?;
        }
        let present: HashSet<String> = self
            .sink
            .check::<PackageSetNameRow>()
            .eq_uuid("pkgset_ruuid", self.root)
            .values::<String>("pkgset_uuid")
            .await?
            .into_iter()
            .collect();
        let nodes = nodes
            .into_iter()
            .filter(|n| !present.contains(&n.pkgset_uuid.to_string()))
            .collect();
        self.sink.stage(nodes).await?;
        // The root last: it makes the snapshot visible and fires the StaticLastPackages
        // cascade, so everything it refers to is committed and on disk first.
        self.sink.before_root(flush::PACKAGE_SET_LOAD).await?;
        self.sink.write(vec![root_row]).await?;
        self.obs.finish_phase();
        Ok(())
    }
}
