//! Container images: OCI image layouts (a directory, or a tar of one) and `docker save`
//! archives (classic `manifest.json` with `<id>/layer.tar`, or Docker 25+'s OCI layout).
//!
//! An archive lists one [`ImageRef`] per platform manifest (multi-platform indexes are
//! followed, attestation manifests skipped). [`ContainerArchive::load`] applies that image's
//! layers in order into one [`MemTree`] with the OCI whiteout rules (`.wh.<name>` hides a
//! lower entry, `.wh..wh..opq` empties a lower directory) and verifies every blob it reads
//! against its digest (layers: the descriptor digest; classic docker layers: the config's
//! `diff_ids`).

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use sha2::Digest;

use crate::compress::Compression;
use crate::error::{Error, Result};
use crate::fs::{resolve, FileKind, TreePath};
use crate::memtree::MemTree;
use crate::source::{Cursor, ReadAt};
use crate::spool::{spool, SpoolConfig};
use crate::tar::{Streamed, TarReader};
use crate::tartree::{open_tar_source, two_passes, Builder, Limits, Select};

mod blob;
mod json;
mod layers;

use blob::*;
use json::*;
use layers::*;

/// Largest JSON document (index, manifest, config) read.
pub const MAX_JSON: u64 = 16 << 20;
/// Deepest nesting of image indexes followed.
const MAX_INDEX_DEPTH: u32 = 4;
/// Most manifests one archive may list.
const MAX_MANIFESTS: usize = 4096;

/// An OS and CPU architecture as OCI names them (`linux`, `amd64`, `v8`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Platform {
    /// `os` (`linux`).
    pub os: String,
    /// `architecture` (`amd64`, `arm64`, `386`, `ppc64le`, `riscv64`, `arm`).
    pub architecture: String,
    /// `variant` (`v7`, `v8`), when given.
    pub variant: Option<String>,
}

impl Platform {
    /// The ALT architecture name of this platform (`x86_64`, `aarch64`, `i586`, `ppc64le`,
    /// `riscv64`, `armh`, `loongarch64`), when there is one.
    pub fn alt_arch(&self) -> Option<&'static str> {
        Some(match self.architecture.as_str() {
            "amd64" => "x86_64",
            "arm64" => "aarch64",
            "386" => "i586",
            "ppc64le" => "ppc64le",
            "riscv64" => "riscv64",
            "arm" => "armh",
            "loong64" => "loongarch64",
            _ => return None,
        })
    }

    /// True when `selector` names this platform: `os/arch[/variant]`, an OCI architecture
    /// (`amd64`) or an ALT one (`x86_64`).
    pub fn matches(&self, selector: &str) -> bool {
        let parts: Vec<&str> = selector.split('/').collect();
        let arch_ok = |a: &str| a == self.architecture || Some(a) == self.alt_arch();
        match parts.as_slice() {
            [arch] => arch_ok(arch),
            [os, arch] => *os == self.os && arch_ok(arch),
            [os, arch, variant] => {
                *os == self.os && arch_ok(arch) && Some(*variant) == self.variant.as_deref()
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum RefKind {
    Oci(Descriptor),
    Docker { config: String, layers: Vec<String> },
}

/// One image of an archive: a platform manifest of an OCI index, or an entry of a docker
/// `manifest.json`.
#[derive(Debug, Clone)]
pub struct ImageRef {
    /// The manifest's digest (`sha256:…`); `None` for classic docker archives, which have
    /// no manifest blob.
    pub manifest_digest: Option<String>,
    /// The platform the index names (filled from the config by [`ContainerArchive::load`]).
    pub platform: Option<Platform>,
    /// `org.opencontainers.image.ref.name`, or the first docker repo tag.
    pub ref_name: Option<String>,
    /// Docker repo tags.
    pub repo_tags: Vec<String>,
    kind: RefKind,
}

/// A loaded container image.
pub struct ContainerImage {
    /// The merged file tree of all layers.
    pub tree: MemTree,
    /// The manifest digest, when the archive has a manifest blob.
    pub manifest_digest: Option<String>,
    /// The config blob's digest (the docker image id).
    pub config_digest: String,
    /// The config's `created` as written (RFC 3339).
    pub created: Option<String>,
    /// The platform from the config.
    pub platform: Platform,
    /// Number of layers applied.
    pub layers: usize,
}

impl ContainerImage {
    /// `created` as seconds since the epoch, when present and valid RFC 3339.
    pub fn created_unix(&self) -> Option<i64> {
        parse_rfc3339(self.created.as_deref()?)
    }
}

/// `s` (RFC 3339) as seconds since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// An opened container archive.
pub struct ContainerArchive {
    store: Store,
    images: Vec<ImageRef>,
    /// The decompressed copy of a compressed archive, kept open for the store.
    _spool: Option<Arc<std::fs::File>>,
}

impl ContainerArchive {
    /// Opens an OCI layout directory, or a tar (plain or compressed) of an OCI layout or of
    /// a `docker save`. A compressed tar is decompressed to a temporary file first.
    pub fn open(path: &Path, spool_cfg: &SpoolConfig) -> Result<Self> {
        let mut spooled = None;
        let store = if path.is_dir() {
            let root = path
                .canonicalize()
                .map_err(|source| Error::Io { offset: 0, source })?;
            Store::Dir(root)
        } else {
            let file =
                std::fs::File::open(path).map_err(|source| Error::Io { offset: 0, source })?;
            let mut head = [0u8; 6];
            let n = ReadAt::read_at(&file, 0, &mut head)
                .map_err(|source| Error::Io { offset: 0, source })?;
            let compression = Compression::sniff(&head[..n]);
            let source: Arc<dyn ReadAt> = if compression == Compression::None {
                Arc::new(file)
            } else {
                let mut dec = crate::compress::decoder(compression, std::io::BufReader::new(file))?;
                let (tmp, _) = spool(&mut dec, None, spool_cfg)?;
                let tmp = Arc::new(tmp);
                spooled = Some(Arc::clone(&tmp));
                tmp
            };
            Store::Tar(open_tar_source(source, &Select::none(), Limits::default())?)
        };
        Self::from_store(store, spooled)
    }

    /// Reads an archive held in memory (an OCI layout or docker save as a plain tar).
    pub fn from_tar_bytes(bytes: Vec<u8>) -> Result<Self> {
        let tree = open_tar_source(Arc::new(bytes), &Select::none(), Limits::default())?;
        Self::from_store(Store::Tar(tree), None)
    }

    fn from_store(store: Store, spool: Option<Arc<std::fs::File>>) -> Result<Self> {
        let mut images = Vec::new();
        if let Some((index, _)) = store.json::<IndexJson>("index.json")? {
            if let Some((layout, _)) = store.json::<serde_json::Value>("oci-layout")? {
                let v = layout
                    .get("imageLayoutVersion")
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                if !v.starts_with("1.") {
                    return Err(Error::Unsupported {
                        what: "OCI layout version",
                        detail: format!("imageLayoutVersion {v:?}"),
                    });
                }
            }
            for d in index.manifests.unwrap_or_default() {
                collect(&store, &d, 1, &mut images, None)?;
            }
        } else if let Some((list, _)) = store.json::<Vec<DockerManifest>>("manifest.json")? {
            for m in list {
                let tags = m.repo_tags.unwrap_or_default();
                images.push(ImageRef {
                    manifest_digest: None,
                    platform: None,
                    ref_name: tags.first().cloned(),
                    repo_tags: tags,
                    kind: RefKind::Docker {
                        config: m.config,
                        layers: m.layers,
                    },
                });
            }
        } else {
            return Err(Error::corrupt(
                "container archive",
                0,
                "neither an OCI layout (index.json) nor a docker save archive (manifest.json)",
            ));
        }
        if images.is_empty() {
            return Err(Error::corrupt(
                "container archive",
                0,
                "lists no image manifests",
            ));
        }
        Ok(ContainerArchive {
            store,
            images,
            _spool: spool,
        })
    }

    /// The images of the archive, in index order.
    pub fn images(&self) -> &[ImageRef] {
        &self.images
    }

    /// The one image whose platform matches `selector` (see [`Platform::matches`]).
    pub fn select(&self, selector: &str) -> Result<&ImageRef> {
        let found: Vec<&ImageRef> = self
            .images
            .iter()
            .filter(|i| i.platform.as_ref().is_some_and(|p| p.matches(selector)))
            .collect();
        match found.as_slice() {
            [one] => Ok(one),
            [] => Err(Error::NotFound(format!(
                "platform {selector:?} (the archive has: {})",
                self.images
                    .iter()
                    .map(|i| i
                        .platform
                        .as_ref()
                        .map_or("unknown".to_owned(), |p| p.to_string()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
            _ => Err(Error::WrongKind {
                path: selector.to_owned(),
                detail: format!("{} images match this platform", found.len()),
            }),
        }
    }

    /// Applies the layers of `image` into one tree, keeping the selected members' content.
    pub fn load(
        &self,
        image: &ImageRef,
        select: &Select,
        limits: Limits,
    ) -> Result<ContainerImage> {
        match &image.kind {
            RefKind::Oci(desc) => self.load_oci(image, desc, select, limits),
            RefKind::Docker { config, layers } => self.load_docker(config, layers, select, limits),
        }
    }

    fn blob(&self, d: &Descriptor, what: &str) -> Result<Arc<dyn ReadAt>> {
        let path = blob_path(&d.digest)?;
        let src = self.store.file(&path)?.ok_or_else(|| {
            let hint =
                if d.media_type.contains("nondistributable") || d.media_type.contains("foreign") {
                    " (a non-distributable layer, not shipped in archives)"
                } else {
                    ""
                };
            Error::corrupt(
                "OCI blob",
                0,
                format!("{what} {} is missing from the archive{hint}", d.digest),
            )
        })?;
        if src.len() != d.size {
            return Err(Error::corrupt(
                "OCI blob",
                0,
                format!(
                    "{what} {}: {} bytes, the descriptor says {}",
                    d.digest,
                    src.len(),
                    d.size
                ),
            ));
        }
        Ok(src)
    }

    fn json_blob<T: for<'de> Deserialize<'de>>(&self, d: &Descriptor, what: &str) -> Result<T> {
        let src = self.blob(d, what)?;
        let bytes = read_all(&*src, what)?;
        verify(&d.digest, &bytes, what)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::corrupt(
                "container JSON",
                e.column() as u64,
                format!("{what} {}: {e}", d.digest),
            )
        })
    }

    fn load_oci(
        &self,
        image: &ImageRef,
        desc: &Descriptor,
        select: &Select,
        limits: Limits,
    ) -> Result<ContainerImage> {
        let manifest: IndexJson = self.json_blob(desc, "manifest")?;
        let config_desc = manifest.config.ok_or_else(|| {
            Error::corrupt(
                "container JSON",
                0,
                format!("manifest {} has no config", desc.digest),
            )
        })?;
        let config: ConfigJson = self.json_blob(&config_desc, "config")?;
        let layers = manifest.layers.unwrap_or_default();
        let mut sources = Vec::with_capacity(layers.len());
        for (i, l) in layers.iter().enumerate() {
            sources.push((self.blob(l, &format!("layer {}", i + 1))?, l.digest.clone()));
        }
        let tree = two_passes(select, &limits, |sel| {
            let mut b = Builder::new(sel, limits);
            for (i, (src, digest)) in sources.iter().enumerate() {
                apply_layer(&mut b, Arc::clone(src), i as u32 + 1, Check::Stored(digest))
                    .map_err(|e| in_layer(e, i + 1, digest))?;
            }
            Ok(b.tree)
        })?;
        Ok(ContainerImage {
            tree,
            manifest_digest: image.manifest_digest.clone(),
            config_digest: config_desc.digest.clone(),
            created: config.created.clone(),
            platform: platform_of(&config, image.platform.as_ref()),
            layers: layers.len(),
        })
    }

    fn load_docker(
        &self,
        config_path: &str,
        layers: &[String],
        select: &Select,
        limits: Limits,
    ) -> Result<ContainerImage> {
        let src = self.store.file(config_path)?.ok_or_else(|| {
            Error::corrupt(
                "docker archive",
                0,
                format!("config {config_path} is missing"),
            )
        })?;
        let bytes = read_all(&*src, config_path)?;
        // The config's file name is its sha256 (`<hex>.json` or `blobs/sha256/<hex>`).
        let name = config_path
            .rsplit('/')
            .next()
            .unwrap_or("")
            .trim_end_matches(".json");
        let config_digest = format!("sha256:{name}");
        if Hasher::for_digest(&config_digest).is_ok() {
            verify(&config_digest, &bytes, "config")?;
        }
        let config: ConfigJson = serde_json::from_slice(&bytes).map_err(|e| {
            Error::corrupt(
                "container JSON",
                e.column() as u64,
                format!("{config_path}: {e}"),
            )
        })?;
        let diff_ids = config
            .rootfs
            .as_ref()
            .map(|r| r.diff_ids.clone())
            .unwrap_or_default();
        if !diff_ids.is_empty() && diff_ids.len() != layers.len() {
            return Err(Error::corrupt(
                "docker archive",
                0,
                format!(
                    "{} layers listed, the config has {} diff_ids",
                    layers.len(),
                    diff_ids.len()
                ),
            ));
        }
        let mut sources = Vec::with_capacity(layers.len());
        for l in layers {
            let s = self.store.file(l)?.ok_or_else(|| {
                Error::corrupt("docker archive", 0, format!("layer {l} is missing"))
            })?;
            sources.push(s);
        }
        let tree = two_passes(select, &limits, |sel| {
            let mut b = Builder::new(sel, limits);
            for (i, src) in sources.iter().enumerate() {
                let check = diff_ids
                    .get(i)
                    .map_or(Check::None, |d| Check::Uncompressed(d));
                apply_layer(&mut b, Arc::clone(src), i as u32 + 1, check)
                    .map_err(|e| in_layer(e, i + 1, &layers[i]))?;
            }
            Ok(b.tree)
        })?;
        Ok(ContainerImage {
            tree,
            manifest_digest: None,
            config_digest,
            created: config.created.clone(),
            platform: platform_of(&config, None),
            layers: layers.len(),
        })
    }
}
