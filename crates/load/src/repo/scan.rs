//! Source step of the repository loader: header lists, hash lists and missing digests → the
//! package inventory of a snapshot (original-system §3.2 steps 3–6). No database involved.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use altrepodb_rpm::{digest_file, DigestAlgo, Tag};
use rayon::prelude::*;
use thiserror::Error;

use super::layout::{read_hash_list, read_layout_with, Layout, LayoutError, ListKind, ARCHS};
use crate::bounded::{self, AptStream, ReadLimits};
use crate::safe_path::base_name;

/// A problem reading the snapshot's inventory, naming the file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ScanError {
    /// Structure, release, task.info or hash-list problem.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// A header list holds a malformed header.
    #[error("{path}: header at offset {offset}: {source}")]
    HeaderList {
        /// The list file.
        path: PathBuf,
        /// Offset of the record in the decompressed list.
        offset: usize,
        /// The cause.
        source: altrepodb_rpm::Error,
    },
    /// A header in a list has no or a bad APT index tag.
    #[error("{path}: header at offset {offset}: {why}")]
    BadIndexTag {
        /// The list file.
        path: PathBuf,
        /// Offset of the record.
        offset: u64,
        /// What is wrong.
        why: String,
    },
    /// A package named by a list is missing from the tree.
    #[error("{path}: package listed in {list} is missing")]
    MissingPackage {
        /// Where it should be.
        path: PathBuf,
        /// Which list named it.
        list: String,
    },
    /// A package file could not be read for its digests.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Digests of one package file as far as the snapshot states or we computed them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileDigests {
    /// MD5 of the file.
    pub md5: Option<[u8; 16]>,
    /// SHA-256.
    pub sha256: Option<[u8; 32]>,
    /// BLAKE2b-512.
    pub blake2b: Option<[u8; 64]>,
}

/// The binary file list of one component of one arch, in list order.
#[derive(Debug, Clone)]
pub struct ComponentList {
    /// Arch directory.
    pub arch: String,
    /// Component.
    pub component: String,
    /// File names, in pkglist order.
    pub files: Vec<String>,
}

/// What a snapshot contains, before any package file is opened.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// The structure.
    pub layout: Layout,
    /// Source packages (file name → digests), in first-seen order.
    pub sources: Vec<(String, FileDigests)>,
    /// Binary packages (file name → digests).
    pub binaries: HashMap<String, FileDigests>,
    /// Component lists, in layout order.
    pub components: Vec<ComponentList>,
}

struct ListContent {
    kind: ListKind,
    arch: String,
    entries: Vec<(String, FileDigests)>,
}

fn read_list(
    path: &Path,
    kind: &ListKind,
    arch: &str,
    limits: &ReadLimits,
) -> Result<ListContent, ScanError> {
    let reader = bounded::xz_file(path, limits.list()).map_err(|source| ScanError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(ListContent {
        kind: kind.clone(),
        arch: arch.to_owned(),
        entries: list_entries(reader, path)?,
    })
}

/// The entries of an APT header list (decompressed bytes from `reader`; `path` names it in
/// errors), streamed one header at a time.
pub fn list_entries(
    reader: impl std::io::Read,
    path: &Path,
) -> Result<Vec<(String, FileDigests)>, ScanError> {
    let mut entries = Vec::new();
    let mut stream = AptStream::new(reader);
    while let Some(h) = stream.next_header() {
        let (offset, h) = h.map_err(|source| ScanError::HeaderList {
            path: path.to_owned(),
            offset: source_offset(&source),
            source,
        })?;
        let bad = |why: String| ScanError::BadIndexTag {
            path: path.to_owned(),
            offset,
            why,
        };
        let tag_err = |e: altrepodb_rpm::Error| bad(e.shifted(offset).to_string());
        let name = h
            .text(Tag::APTINDEXLEGACYFILENAME)
            .map_err(tag_err)?
            .into_owned();
        if name.is_empty() {
            return Err(bad("no file name (tag 1000000)".into()));
        }
        // The name is joined to a directory to open the package.
        base_name(&name).map_err(|e| bad(format!("tag 1000000: {e}")))?;
        let hex_tag = |tag: Tag| -> Result<Option<Vec<u8>>, ScanError> {
            let v = h.text(tag).map_err(tag_err)?;
            if v.is_empty() {
                return Ok(None);
            }
            hex::decode(v.as_ref())
                .map(Some)
                .map_err(|_| bad(format!("tag {}: '{v}' is not hex", tag.0)))
        };
        let md5 = hex_tag(Tag::APTINDEXLEGACYMD5)?;
        let blake2b = hex_tag(Tag::APTINDEXLEGACYBLAKE2B)?;
        let digests = FileDigests {
            md5: md5
                .map(|d| {
                    d.try_into()
                        .map_err(|_| bad("MD5 (tag 1000005) is not 16 bytes".into()))
                })
                .transpose()?,
            sha256: None,
            blake2b: blake2b
                .map(|d| {
                    d.try_into()
                        .map_err(|_| bad("BLAKE2b (tag 1000009) is not 64 bytes".into()))
                })
                .transpose()?,
        };
        entries.push((name, digests));
    }
    Ok(entries)
}

fn source_offset(e: &altrepodb_rpm::Error) -> usize {
    e.offset().try_into().unwrap_or(usize::MAX)
}

/// Reads the inventory of the snapshot at `root`: lists in parallel, then hash lists, then
/// computes every digest the snapshot does not state (one read pass per file, in parallel).
/// Lists are streamed and capped by `limits`; every file is reached inside `root`.
pub fn scan(root: &Path, limits: &ReadLimits) -> Result<Inventory, ScanError> {
    let layout = read_layout_with(root, *limits)?;
    let lists: Vec<ListContent> = layout
        .lists
        .par_iter()
        .map(|l| read_list(&l.path, &l.kind, &l.arch, limits))
        .collect::<Result<_, _>>()?;
    let mut sources: Vec<(String, FileDigests)> = Vec::new();
    let mut source_index: HashMap<String, usize> = HashMap::new();
    let mut binaries: HashMap<String, FileDigests> = HashMap::new();
    let mut components = Vec::new();
    for list in lists {
        match list.kind {
            ListKind::Source => {
                for (name, d) in list.entries {
                    match source_index.get(&name) {
                        Some(&i) => sources[i].1 = d,
                        None => {
                            source_index.insert(name.clone(), sources.len());
                            sources.push((name, d));
                        }
                    }
                }
            }
            ListKind::Binary { component } => {
                let files = list.entries.iter().map(|(n, _)| n.clone()).collect();
                for (name, d) in list.entries {
                    binaries.insert(name, d);
                }
                components.push(ComponentList {
                    arch: list.arch,
                    component,
                    files,
                });
            }
        }
    }
    // SHA-256 lists, in ARCHS order as the original.
    for &arch in ARCHS {
        let path = layout
            .confined
            .join(&format!("files/list/{arch}.hash.xz"))
            .map_err(LayoutError::from)?;
        if !path.is_file() {
            continue;
        }
        for (name, sha256) in read_hash_list(&path, limits)? {
            if arch == "src" {
                match source_index.get(&name) {
                    Some(&i) => sources[i].1.sha256 = Some(sha256),
                    None => {
                        // Listed only in src.hash: the original adds it if the file exists.
                        if !layout.srpm_path(&name)?.is_file() {
                            tracing::warn!(
                                "{}: {name} is not in files/SRPMS, skipped",
                                path.display()
                            );
                            continue;
                        }
                        source_index.insert(name.clone(), sources.len());
                        sources.push((
                            name,
                            FileDigests {
                                sha256: Some(sha256),
                                ..Default::default()
                            },
                        ));
                    }
                }
            } else {
                binaries.entry(name).or_default().sha256 = Some(sha256);
            }
        }
    }
    let use_blake2b = layout.use_blake2b;
    let needs = |d: &FileDigests| {
        d.md5.is_none() || d.sha256.is_none() || (use_blake2b && d.blake2b.is_none())
    };
    // Fill what is missing. Unlike the original (whose helper returned its inputs swapped),
    // the missing digest is the one computed.
    let fill = |path: PathBuf, list: &str, d: &mut FileDigests| -> Result<(), ScanError> {
        if !path.is_file() {
            return Err(ScanError::MissingPackage {
                path,
                list: list.to_owned(),
            });
        }
        let got = digest_file(
            &path,
            &[DigestAlgo::Md5, DigestAlgo::Sha256, DigestAlgo::Blake2b512],
        )
        .map_err(|source| ScanError::Io { path, source })?;
        d.md5 = d.md5.or(got.md5);
        d.sha256 = d.sha256.or(got.sha256);
        d.blake2b = d.blake2b.or(got.blake2b);
        Ok(())
    };
    sources
        .par_iter_mut()
        .filter(|(_, d)| needs(d))
        .try_for_each(|(name, d)| fill(layout.srpm_path(name)?, "srclist.classic", d))?;
    let mut todo: Vec<(&String, &mut FileDigests)> =
        binaries.iter_mut().filter(|(_, d)| needs(d)).collect();
    todo.par_iter_mut().try_for_each(|(name, d)| {
        let path = layout
            .find_binary_file(name)?
            .unwrap_or_else(|| layout.root.join("files/<arch>/RPMS").join(name.as_str()));
        fill(path, "pkglist", d)
    })?;
    Ok(Inventory {
        layout,
        sources,
        binaries,
        components,
    })
}
