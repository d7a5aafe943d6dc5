//! The pipeline: sources are built in parallel in chunks, in srpm-name order; a writer
//! thread streams their APT records into the xz lists and their records into the manifest,
//! so memory stays bounded by one chunk.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

use blake2::Digest as _;
use rayon::prelude::*;

use altrepodb_rpm::digest::{digest_file, DigestAlgo};

use crate::build::{build_source, PkgOut, SourceOut, RPMS_DIR};
use crate::date;
use crate::error::GenError;
use crate::fsutil::{link_or_copy, mkdirs, symlink_or_copy};
use crate::manifest::{
    record_line, ManifestWriter, PackageKind, PackageRecord, RepoManifest, MANIFEST_NAME,
};
use crate::plan::{Ctx, Recipe, Shape};

/// xz preset of the header lists and hash lists. genbasedir uses xz's default (6); 0 is
/// about 14 times faster, and the lists are compressed on one thread while the packages are
/// built on the others.
const LIST_XZ_PRESET: u32 = 0;
/// Sources built per parallel chunk. Bounds the memory held between builders and writer
/// (a few MiB of list records and manifest lines); large enough that the wait for a
/// chunk's slowest source is rare.
const CHUNK: usize = 512;

/// A source to put into the snapshot.
// One job per source, made once: the variants' size difference costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub(crate) enum SourceJob {
    /// Build it.
    Build { recipe: Recipe, shape: Shape },
    /// Carry it over from the previous snapshot unchanged (hard links and old list records).
    Carry {
        src: PackageRecord,
        bins: Vec<PackageRecord>,
    },
}

impl SourceJob {
    fn src_file(&self) -> String {
        match self {
            SourceJob::Build { recipe, shape } => {
                format!(
                    "{}-{}-{}.src.rpm",
                    shape.name, recipe.version, recipe.release
                )
            }
            SourceJob::Carry { src, .. } => src.file_name.clone(),
        }
    }
}

/// Old list records for carried packages: `(arch dir or "src", file name)` → record bytes.
pub(crate) type CarriedRecords = HashMap<(String, String), Vec<u8>>;

/// Inputs of one run besides the jobs.
pub(crate) struct RunInput<'a> {
    pub out: &'a Path,
    pub ctx: &'a Ctx,
    /// Architecture directories (ARCHS order), `noarch` included.
    pub arch_dirs: &'a [String],
    /// Previous snapshot root (for carried jobs).
    pub prev: Option<&'a Path>,
    pub carried: CarriedRecords,
    /// Summary fields the caller knows (counts are filled in here).
    pub summary: RepoManifest,
    pub task_info: Vec<(String, String)>,
}

/// One `xz` list being written, with digests of the uncompressed bytes for `release`.
struct XzList {
    path: PathBuf,
    enc: liblzma::write::XzEncoder<BufWriter<File>>,
    md5: md5::Md5,
    blake2b: blake2::Blake2b512,
    len: u64,
}

impl XzList {
    fn create(path: PathBuf) -> Result<XzList, GenError> {
        let f = File::create(&path).map_err(GenError::io(&path))?;
        Ok(XzList {
            enc: liblzma::write::XzEncoder::new(
                BufWriter::with_capacity(1 << 20, f),
                LIST_XZ_PRESET,
            ),
            path,
            md5: md5::Md5::new(),
            blake2b: blake2::Blake2b512::new(),
            len: 0,
        })
    }

    fn write(&mut self, b: &[u8]) -> Result<(), GenError> {
        self.md5.update(b);
        self.blake2b.update(b);
        self.len += b.len() as u64;
        self.enc.write_all(b).map_err(GenError::io(&self.path))
    }

    /// Finishes the file; returns the digests of the plain and the compressed content.
    fn finish(self) -> Result<ListDigests, GenError> {
        let path = self.path;
        let mut w = self.enc.finish().map_err(GenError::io(&path))?;
        w.flush().map_err(GenError::io(&path))?;
        drop(w);
        let d = digest_file(&path, &[DigestAlgo::Md5, DigestAlgo::Blake2b512])
            .map_err(GenError::io(&path))?;
        let size = std::fs::metadata(&path).map_err(GenError::io(&path))?.len();
        Ok(ListDigests {
            plain: (
                hex::encode(self.md5.finalize()),
                hex::encode(self.blake2b.finalize()),
                self.len,
            ),
            xz: (
                d.hex(DigestAlgo::Md5).unwrap_or_default(),
                d.hex(DigestAlgo::Blake2b512).unwrap_or_default(),
                size,
            ),
        })
    }
}

/// `(md5, blake2b, size)` of a list, uncompressed and compressed.
#[derive(Debug, Clone)]
struct ListDigests {
    plain: (String, String, u64),
    xz: (String, String, u64),
}

/// What the writer thread accumulates.
struct Sink {
    manifest: ManifestWriter,
    pkglists: BTreeMap<String, XzList>,
    srclist: XzList,
    hashes: Vec<(String, String, String)>,
    sources: u64,
    binaries: u64,
    files: u64,
    bytes: u64,
}

impl Sink {
    fn take(&mut self, chunk: Vec<SourceOut>) -> Result<(), GenError> {
        for s in chunk {
            self.put(s.src)?;
            for b in s.bins {
                self.put(b)?;
            }
        }
        Ok(())
    }

    fn put(&mut self, p: PkgOut) -> Result<(), GenError> {
        self.manifest.push_line(&p.line)?;
        match p.kind {
            PackageKind::Source => {
                self.srclist.write(&p.apt)?;
                self.sources += 1;
            }
            PackageKind::Binary => {
                let list = self.pkglists.get_mut(&p.arch_dir).ok_or_else(|| {
                    GenError::Spec(format!("{}: no list for arch {}", p.file_name, p.arch_dir))
                })?;
                list.write(&p.apt)?;
                self.binaries += 1;
            }
        }
        self.files += p.files;
        self.bytes += p.bytes;
        self.hashes.push((p.arch_dir, p.file_name, p.sha256));
        Ok(())
    }
}

/// Creates the directory skeleton of the snapshot.
fn skeleton(out: &Path, arch_dirs: &[String]) -> Result<(), GenError> {
    mkdirs(&out.join("files/SRPMS"))?;
    mkdirs(&out.join("files/list"))?;
    for a in arch_dirs {
        mkdirs(&out.join("files").join(a).join("RPMS"))?;
        mkdirs(&out.join(a).join(RPMS_DIR))?;
        mkdirs(&out.join(a).join("base"))?;
        symlink_or_copy("../files/SRPMS", &out.join(a).join("SRPMS.classic"))?;
    }
    Ok(())
}

/// Carries one source and its binaries over: hard links, old list records, old manifest records.
fn carry(
    out: &Path,
    prev: &Path,
    carried: &CarriedRecords,
    src: &PackageRecord,
    bins: &[PackageRecord],
) -> Result<SourceOut, GenError> {
    let one = |r: &PackageRecord| -> Result<PkgOut, GenError> {
        let to = out.join(&r.path);
        link_or_copy(&prev.join(&r.path), &to)?;
        if let Some(link) = &r.classic_path {
            let target = format!("../../{}", r.path);
            symlink_or_copy(&target, &out.join(link))?;
        }
        let apt = carried
            .get(&(r.arch_dir.clone(), r.file_name.clone()))
            .cloned()
            .ok_or_else(|| {
                GenError::Spec(format!(
                    "{}: not in the previous snapshot's lists",
                    r.file_name
                ))
            })?;
        Ok(PkgOut {
            kind: r.kind,
            arch_dir: r.arch_dir.clone(),
            file_name: r.file_name.clone(),
            sha256: r.sha256.clone(),
            apt,
            line: record_line(r)?,
            files: r.files,
            bytes: r.file_size,
            pkg_hash: r.pkg_hash,
        })
    };
    Ok(SourceOut {
        src: one(src)?,
        bins: bins.iter().map(one).collect::<Result<_, _>>()?,
    })
}

/// Writes `data` xz-compressed to `path`.
pub(crate) fn write_xz(path: &Path, data: &[u8]) -> Result<(), GenError> {
    let mut l = XzList::create(path.to_owned())?;
    l.write(data)?;
    l.finish().map(|_| ())
}

/// Runs the jobs and writes lists, hashes, release files, task.info and the manifest.
pub(crate) fn run(input: RunInput<'_>, mut jobs: Vec<SourceJob>) -> Result<RepoManifest, GenError> {
    let out = input.out;
    skeleton(out, input.arch_dirs)?;
    jobs.sort_by_cached_key(SourceJob::src_file);

    let first = input
        .arch_dirs
        .first()
        .ok_or_else(|| GenError::Spec("no architecture directories".into()))?;
    let mut pkglists = BTreeMap::new();
    for a in input.arch_dirs {
        pkglists.insert(
            a.clone(),
            XzList::create(out.join(a).join("base/pkglist.classic.xz"))?,
        );
    }
    let sink = Sink {
        manifest: ManifestWriter::create(&out.join(MANIFEST_NAME))?,
        pkglists,
        srclist: XzList::create(out.join(first).join("base/srclist.classic.xz"))?,
        hashes: Vec::new(),
        sources: 0,
        binaries: 0,
        files: 0,
        bytes: 0,
    };

    // Bounded: at most two chunks wait for the writer.
    let (tx, rx) = mpsc::sync_channel::<Vec<SourceOut>>(2);
    let writer = thread::spawn(move || -> Result<Sink, GenError> {
        let mut sink = sink;
        for chunk in rx {
            sink.take(chunk)?;
        }
        Ok(sink)
    });
    let ctx = input.ctx;
    let carried = &input.carried;
    let prev = input.prev;
    let mut failure: Option<GenError> = None;
    for chunk in jobs.chunks(CHUNK) {
        let built: Result<Vec<SourceOut>, GenError> = chunk
            .par_iter()
            .map(|j| match j {
                SourceJob::Build { recipe, shape } => build_source(out, ctx, recipe, shape),
                SourceJob::Carry { src, bins } => match prev {
                    Some(p) => carry(out, p, carried, src, bins),
                    None => Err(GenError::Spec(
                        "carried package without a previous snapshot".into(),
                    )),
                },
            })
            .collect();
        match built {
            Ok(v) => {
                if tx.send(v).is_err() {
                    // The writer stopped; its error is reported below.
                    break;
                }
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    drop(tx);
    let joined = writer
        .join()
        .map_err(|_| GenError::Spec("list writer thread panicked".into()))?;
    if let Some(e) = failure {
        return Err(e);
    }
    let sink = joined?;

    // Lists and release files.
    let src_digests = sink.srclist.finish()?;
    let src_xz = out.join(first).join("base/srclist.classic.xz");
    for a in &input.arch_dirs[1..] {
        let to = out.join(a).join("base/srclist.classic.xz");
        std::fs::copy(&src_xz, &to).map_err(GenError::io(&to))?;
    }
    let date_t = date::parse_date(&input.summary.date)
        .ok_or_else(|| GenError::Spec(format!("bad date {}", input.summary.date)))?;
    for (arch, list) in sink.pkglists {
        let d = list.finish()?;
        write_release(out, &arch, &input.summary.branch, date_t, &d, &src_digests)?;
    }

    // Hash lists, sorted by file name per arch.
    let mut by_arch: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (arch, file, sha) in sink.hashes {
        by_arch.entry(arch).or_default().push((file, sha));
    }
    for a in input.arch_dirs {
        by_arch.entry(a.clone()).or_default();
    }
    by_arch.entry("src".into()).or_default();
    for (arch, mut v) in by_arch {
        v.sort();
        let mut text = String::with_capacity(v.len() * 110);
        for (file, sha) in v {
            text.push_str(&sha);
            text.push(' ');
            text.push_str(&file);
            text.push('\n');
        }
        write_xz(
            &out.join("files/list").join(format!("{arch}.hash.xz")),
            text.as_bytes(),
        )?;
    }
    let mut info = String::new();
    for (k, v) in &input.task_info {
        info.push_str(&format!("{k} {v}\n"));
    }
    let ti = out.join("files/list/task.info");
    std::fs::write(&ti, info).map_err(GenError::io(&ti))?;

    let mut summary = input.summary;
    summary.sources = sink.sources;
    summary.binaries = sink.binaries;
    summary.files = sink.files;
    summary.bytes = sink.bytes;
    summary.path = out.join(MANIFEST_NAME);
    sink.manifest.finish(&summary)?;
    Ok(summary)
}

/// `<arch>/base/release` and `release.classic`, as genbasedir writes them.
fn write_release(
    out: &Path,
    arch: &str,
    branch: &str,
    date_t: u32,
    pkg: &ListDigests,
    src: &ListDigests,
) -> Result<(), GenError> {
    let base = out.join(arch).join("base");
    let rc = format!(
        "Archive: {branch}\nComponent: classic\nVersion: {}\nOrigin: ALT Linux Team\nLabel: {branch}\nArchitecture: {arch}\nNotAutomatic: false\n",
        date::format_date(date_t).replace('-', "")
    );
    let rc_path = base.join("release.classic");
    std::fs::write(&rc_path, &rc).map_err(GenError::io(&rc_path))?;
    let rc_md5 = hex::encode(md5::Md5::digest(rc.as_bytes()));
    let rc_b2 = hex::encode(blake2::Blake2b512::digest(rc.as_bytes()));
    let entries: Vec<(&str, &str, u64, &str)> = vec![
        (
            &pkg.plain.0,
            &pkg.plain.1,
            pkg.plain.2,
            "base/pkglist.classic",
        ),
        (&pkg.xz.0, &pkg.xz.1, pkg.xz.2, "base/pkglist.classic.xz"),
        (&rc_md5, &rc_b2, rc.len() as u64, "base/release.classic"),
        (
            &src.plain.0,
            &src.plain.1,
            src.plain.2,
            "base/srclist.classic",
        ),
        (&src.xz.0, &src.xz.1, src.xz.2, "base/srclist.classic.xz"),
    ];
    let mut r = format!(
        "Origin: ALT Linux Team\nLabel: {branch}\nSuite: {branch}\nCodename: {date_t}\nDate: {}\nArchitectures: {arch}\nComponents: classic\nDescription: ALT Linux {branch} (synthetic test snapshot)\nMD5Sum:\n",
        date::rfc2822(date_t)
    );
    for (md5, _, size, name) in &entries {
        r.push_str(&format!(" {md5} {size} {name}\n"));
    }
    r.push_str("BLAKE2b:\n");
    for (_, b2, size, name) in &entries {
        r.push_str(&format!(" {b2} {size} {name}\n"));
    }
    let path = base.join("release");
    std::fs::write(&path, r).map_err(GenError::io(&path))
}
