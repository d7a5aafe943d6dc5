//! The repository loader's package path, shared by every loader that stores whole RPM
//! packages (repo_loader, package_loader): a package's rows are written table by table,
//! insert-if-absent, and its `PackageHash` row last, so a package with a `PackageHash` row
//! is complete and later loads recognise it by its file's MD5.

use std::collections::HashSet;

use altrepodb_db::rows::{
    ChangelogRow, DependsRow, FilesRow, Fixed64, PackageHashRow, PackagesRow, SpecfilesRow,
};
use altrepodb_db::sink::Sink;
use altrepodb_db::DbError;

use crate::package::PackageRows;
use crate::repo::scan::FileDigests;

/// Writes packages' rows through a loader's [`Sink`]; remembers what this load wrote, so a
/// package listed twice is written once.
#[derive(Debug, Default)]
pub struct PackageStore {
    /// Hashes this load has written or found complete.
    seen: HashSet<u64>,
    /// What the loader already asked the database about these packages (see
    /// [`PackageStore::knowing`]).
    known: Option<Known>,
}

/// `Packages` and `PackageHash` as a loader found them for the hashes it asked about.
#[derive(Debug, Default)]
struct Known {
    asked: HashSet<u64>,
    packages: HashSet<u64>,
    hashes: HashSet<(u64, [u8; 16])>,
}

impl PackageStore {
    /// A store that has seen nothing yet.
    pub fn new() -> PackageStore {
        PackageStore::default()
    }

    /// Takes what the loader has just asked the database for the packages `asked`: which
    /// have a `Packages` row, and the `(pkg_hash, file MD5)` pairs `PackageHash` has. Chunks
    /// of those packages are then written without asking again (two round trips fewer).
    pub fn knowing(
        mut self,
        asked: &[u64],
        packages: HashSet<u64>,
        hashes: HashSet<(u64, [u8; 16])>,
    ) -> PackageStore {
        self.known = Some(Known {
            asked: asked.iter().copied().collect(),
            packages,
            hashes,
        });
        self
    }

    /// Writes one chunk of parsed packages with their files' digests, insert-if-absent per
    /// table, `PackageHash` rows last (a package with a `PackageHash` row counts as complete).
    pub async fn write(
        &mut self,
        sink: &mut Sink<'_>,
        chunk: Vec<(FileDigests, PackageRows)>,
    ) -> Result<(), DbError> {
        // A header seen under two file names (say, a signed copy) is one package: its rows are
        // written once, but each file gets its PackageHash row so neither is read again.
        let hash_keys: Vec<(u64, [u8; 16])> = chunk
            .iter()
            .map(|(d, r)| (r.pkg_hash, d.md5.unwrap_or_default()))
            .collect();
        let mut fresh = Vec::with_capacity(chunk.len());
        let mut file_digests = Vec::with_capacity(chunk.len());
        for (d, r) in chunk {
            file_digests.push((r.pkg_hash, r.sha1header, d));
            if self.seen.insert(r.pkg_hash) {
                fresh.push(r);
            }
        }
        let hashes: Vec<u64> = fresh.iter().map(|r| r.pkg_hash).collect();
        let mut names: Vec<String> = fresh.iter().map(|r| r.package.pkg_name.clone()).collect();
        names.sort_unstable();
        names.dedup();
        let known = self
            .known
            .as_ref()
            .filter(|k| hash_keys.iter().all(|(h, _)| k.asked.contains(h)));
        // By (name, hash): the name keeps the lookup on the sorting key of `Packages`.
        let have_pkg = match known {
            Some(k) => k.packages.clone(),
            None => {
                sink.check::<PackagesRow>()
                    .any_of("pkg_name", names)
                    .present("pkg_hash", &hashes)
                    .await?
            }
        };
        // A package without a `Packages` row is new: its other rows are written after that
        // row, so there are none to find. Only the others (an interrupted load) are checked
        // table by table, each through its table's sorting key.
        let partial: Vec<&PackageRows> = fresh
            .iter()
            .filter(|r| have_pkg.contains(&r.pkg_hash))
            .collect();
        let partial_hashes: Vec<u64> = partial.iter().map(|r| r.pkg_hash).collect();
        let have_files = sink
            .check::<FilesRow>()
            .present("pkg_hash", &partial_hashes)
            .await?;
        let mut dep_names: Vec<String> = partial
            .iter()
            .flat_map(|r| r.depends.iter().map(|d| d.dp_name.clone()))
            .collect();
        dep_names.sort_unstable();
        dep_names.dedup();
        // `Depends` is sorted by `dp_name`: ask by the names the packages depend on.
        let have_deps = if dep_names.is_empty() {
            HashSet::new()
        } else {
            sink.check::<DependsRow>()
                .any_of("dp_name", dep_names)
                .present("pkg_hash", &partial_hashes)
                .await?
        };
        let have_specs = sink
            .check::<SpecfilesRow>()
            .present("pkg_hash", &partial_hashes)
            .await?;
        let mut chlog: Vec<u64> = fresh
            .iter()
            .flat_map(|r| r.changelog.iter().map(|c| c.chlog_hash))
            .collect();
        chlog.sort_unstable();
        chlog.dedup();
        let have_chlog = sink
            .check::<ChangelogRow>()
            .present("chlog_hash", &chlog)
            .await?;
        // Changelog texts are shared between packages: each new hash is written once.
        let new_chlog: HashSet<u64> = chlog
            .into_iter()
            .filter(|h| !have_chlog.contains(h))
            .collect();
        let have_hash = match known {
            Some(k) => k.hashes.clone(),
            None => existing_hash_rows(sink, &hash_keys).await?,
        };

        let mut hash_rows = Vec::new();
        let mut queued: HashSet<(u64, [u8; 16])> = HashSet::new();
        for (h, sha1, d) in file_digests {
            let key = (h, d.md5.unwrap_or_default());
            if have_hash.contains(&key) || !queued.insert(key) {
                continue;
            }
            hash_rows.push(PackageHashRow {
                pkgh_mmh: h,
                pkgh_md5: key.1,
                pkgh_sha1: sha1,
                pkgh_sha256: d.sha256.unwrap_or_default(),
                pkgh_blake2b: Fixed64(d.blake2b.unwrap_or([0; 64])),
            });
        }
        let mut packages = Vec::new();
        let mut files = Vec::new();
        let mut depends = Vec::new();
        let mut specfiles = Vec::new();
        let mut changelog = Vec::new();
        let mut chlog_written: HashSet<u64> = HashSet::new();
        // Which tables this chunk writes to at all (the report names only those).
        let (mut to_files, mut to_depends) = (false, false);
        for r in fresh {
            let h = r.pkg_hash;
            if !have_pkg.contains(&h) {
                packages.push(r.package);
            }
            if !have_files.contains(&h) {
                to_files = true;
                files.extend(r.files);
            }
            if !have_deps.contains(&h) {
                to_depends = true;
                depends.extend(r.depends);
            }
            if let Some(spec) = r.specfile {
                if !have_specs.contains(&h) {
                    specfiles.push(spec);
                }
            }
            for c in r.changelog {
                if new_chlog.contains(&c.chlog_hash) && chlog_written.insert(c.chlog_hash) {
                    changelog.push(c);
                }
            }
        }
        // What this chunk adds is known from now on (a later chunk need not ask either).
        if let Some(k) = self.known.as_mut() {
            k.hashes.extend(queued.iter().copied());
            k.packages.extend(packages.iter().map(|p| p.pkg_hash));
        }
        // Commit this chunk everywhere, then mark its packages complete.
        let s = sink;
        if !packages.is_empty() {
            s.write(packages).await?;
        }
        if to_files {
            s.write(files).await?;
        }
        if to_depends {
            s.write(depends).await?;
        }
        if !specfiles.is_empty() {
            s.write(specfiles).await?;
        }
        s.write(changelog).await?;
        s.write(hash_rows).await?;
        Ok(())
    }
}

/// Which (pkg_hash, file MD5) pairs `PackageHash` has already.
async fn existing_hash_rows(
    sink: &Sink<'_>,
    keys: &[(u64, [u8; 16])],
) -> Result<HashSet<(u64, [u8; 16])>, DbError> {
    let hashes: Vec<u64> = keys.iter().map(|k| k.0).collect();
    let pairs: Vec<(u64, String)> = sink
        .check::<PackageHashRow>()
        .pairs("pkgh_mmh", "pkgh_md5", &hashes)
        .await?;
    let mut out = HashSet::new();
    for (mmh, md5_hex) in pairs {
        let mut md5 = [0u8; 16];
        if hex::decode_to_slice(&md5_hex, &mut md5).is_ok() {
            out.insert((mmh, md5));
        }
    }
    Ok(out)
}
