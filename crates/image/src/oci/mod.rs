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

#[derive(Debug, Clone, Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    size: u64,
    #[serde(default)]
    platform: Option<PlatformJson>,
    #[serde(default)]
    annotations: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize)]
struct PlatformJson {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

impl From<&PlatformJson> for Platform {
    fn from(p: &PlatformJson) -> Self {
        Platform {
            os: p.os.clone(),
            architecture: p.architecture.clone(),
            variant: p.variant.clone().filter(|v| !v.is_empty()),
        }
    }
}

#[derive(Debug, Deserialize)]
struct IndexJson {
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
}

#[derive(Debug, Deserialize)]
struct ConfigJson {
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    rootfs: Option<RootFs>,
}

#[derive(Debug, Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct DockerManifest {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
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

enum Store {
    Dir(PathBuf),
    Tar(MemTree),
}

impl Store {
    /// The file `rel` of the layout, or `None` when it does not exist.
    fn file(&self, rel: &str) -> Result<Option<Arc<dyn ReadAt>>> {
        if rel.split('/').any(|c| c == "..") {
            return Err(Error::corrupt(
                "container archive",
                0,
                format!("path {rel:?} leaves the archive"),
            ));
        }
        match self {
            Store::Dir(root) => {
                let p = root.join(TreePath::new(rel).as_str().trim_start_matches('/'));
                let real = match p.canonicalize() {
                    Ok(r) => r,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(source) => return Err(Error::Io { offset: 0, source }),
                };
                if !real.starts_with(root) {
                    return Err(Error::corrupt(
                        "container archive",
                        0,
                        format!("{rel:?} is a link out of the layout directory"),
                    ));
                }
                if !real.is_file() {
                    return Ok(None);
                }
                let f =
                    std::fs::File::open(&real).map_err(|source| Error::Io { offset: 0, source })?;
                Ok(Some(Arc::new(f)))
            }
            Store::Tar(tree) => match resolve(tree, &TreePath::new(rel)) {
                Ok((p, m)) if m.kind == FileKind::Regular => Ok(Some(tree.content_source(&p)?)),
                Ok(_) | Err(Error::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    fn json<T: for<'de> Deserialize<'de>>(&self, rel: &str) -> Result<Option<(T, Vec<u8>)>> {
        let Some(src) = self.file(rel)? else {
            return Ok(None);
        };
        let bytes = read_all(&*src, rel)?;
        let v = serde_json::from_slice(&bytes).map_err(|e| {
            Error::corrupt("container JSON", e.column() as u64, format!("{rel}: {e}"))
        })?;
        Ok(Some((v, bytes)))
    }
}

fn read_all(src: &dyn ReadAt, what: &str) -> Result<Vec<u8>> {
    if src.len() > MAX_JSON {
        return Err(Error::Limit {
            what: format!("size of {what} ({} bytes)", src.len()),
            limit: MAX_JSON,
        });
    }
    let mut buf = vec![0u8; src.len() as usize];
    src.read_exact_at(0, &mut buf, "container JSON")?;
    Ok(buf)
}

/// A digest algorithm and its running state.
enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    fn for_digest(digest: &str) -> Result<(Self, String)> {
        let (alg, hex) = digest.split_once(':').unwrap_or(("", ""));
        let ok_hex = |n: usize| {
            hex.len() == n
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        };
        match alg {
            "sha256" if ok_hex(64) => Ok((Hasher::Sha256(sha2::Sha256::new()), hex.to_owned())),
            "sha512" if ok_hex(128) => Ok((Hasher::Sha512(sha2::Sha512::new()), hex.to_owned())),
            _ => Err(Error::Unsupported {
                what: "digest",
                detail: format!("{digest:?} (sha256 and sha512 are read)"),
            }),
        }
    }

    fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
        }
    }

    fn hex(self) -> String {
        let bytes: Vec<u8> = match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// `blobs/<alg>/<hex>` of a digest, refusing anything else.
fn blob_path(digest: &str) -> Result<String> {
    Hasher::for_digest(digest)?;
    Ok(format!("blobs/{}", digest.replacen(':', "/", 1)))
}

fn verify(digest: &str, bytes: &[u8], what: &str) -> Result<()> {
    let (mut h, want) = Hasher::for_digest(digest)?;
    h.update(bytes);
    let got = h.hex();
    if got != want {
        return Err(Error::corrupt(
            "OCI blob",
            0,
            format!("{what} {digest}: content hashes to {got}"),
        ));
    }
    Ok(())
}

/// A reader that hashes what passes through it into a shared state.
struct Hashing<R> {
    inner: R,
    state: Arc<Mutex<(Option<Hasher>, u64)>>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = s.0.as_mut() {
            h.update(&buf[..n]);
        }
        s.1 += n as u64;
        Ok(n)
    }
}

/// What a layer's bytes are checked against.
enum Check<'a> {
    /// The digest of the blob as stored (OCI descriptors).
    Stored(&'a str),
    /// The digest of the uncompressed tar (docker `diff_ids`).
    Uncompressed(&'a str),
    /// Nothing to check against (a classic docker archive without `diff_ids`).
    None,
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
            let compression = Compression::detect(&head[..n]);
            let source: Arc<dyn ReadAt> = if compression == Compression::None {
                Arc::new(file)
            } else {
                let mut dec = compression.decoder(std::io::BufReader::new(file))?;
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

fn platform_of(config: &ConfigJson, index: Option<&Platform>) -> Platform {
    if config.architecture.is_empty() {
        if let Some(p) = index {
            return p.clone();
        }
    }
    Platform {
        os: config.os.clone(),
        architecture: config.architecture.clone(),
        variant: config.variant.clone().filter(|v| !v.is_empty()),
    }
}

/// Names the layer in an error from inside it.
fn in_layer(e: Error, n: usize, name: &str) -> Error {
    match e {
        Error::Corrupt {
            what,
            offset,
            detail,
        } => Error::Corrupt {
            what,
            offset,
            detail: format!("layer {n} ({name}): {detail}"),
        },
        other => other,
    }
}

/// Follows an index entry: nested indexes are walked, manifests become [`ImageRef`]s.
fn collect(
    store: &Store,
    d: &Descriptor,
    depth: u32,
    out: &mut Vec<ImageRef>,
    name: Option<String>,
) -> Result<()> {
    if depth > MAX_INDEX_DEPTH {
        return Err(Error::Limit {
            what: "nesting of image indexes".into(),
            limit: u64::from(MAX_INDEX_DEPTH),
        });
    }
    if out.len() >= MAX_MANIFESTS {
        return Err(Error::Limit {
            what: "manifests in one archive".into(),
            limit: MAX_MANIFESTS as u64,
        });
    }
    let platform = d.platform.as_ref().map(Platform::from);
    // Build attestations and other artifacts carry the platform unknown/unknown.
    if platform.as_ref().is_some_and(|p| p.os == "unknown") {
        return Ok(());
    }
    let ref_name = d
        .annotations
        .as_ref()
        .and_then(|a| a.get("org.opencontainers.image.ref.name").cloned())
        .or(name);
    let is_index = d.media_type.ends_with("image.index.v1+json")
        || d.media_type.ends_with("manifest.list.v2+json");
    if is_index || d.media_type.is_empty() {
        let src = store.file(&blob_path(&d.digest)?)?.ok_or_else(|| {
            Error::corrupt(
                "OCI blob",
                0,
                format!("index {} is missing from the archive", d.digest),
            )
        })?;
        let bytes = read_all(&*src, "index")?;
        verify(&d.digest, &bytes, "index")?;
        let v: IndexJson = serde_json::from_slice(&bytes).map_err(|e| {
            Error::corrupt(
                "container JSON",
                e.column() as u64,
                format!("{}: {e}", d.digest),
            )
        })?;
        if let Some(ms) = v.manifests {
            for m in &ms {
                collect(store, m, depth + 1, out, ref_name.clone())?;
            }
            return Ok(());
        }
    }
    out.push(ImageRef {
        manifest_digest: Some(d.digest.clone()),
        platform,
        ref_name,
        repo_tags: Vec::new(),
        kind: RefKind::Oci(d.clone()),
    });
    Ok(())
}

/// Applies one layer blob, verifying it as `check` says.
fn apply_layer(b: &mut Builder, blob: Arc<dyn ReadAt>, layer: u32, check: Check) -> Result<()> {
    let mut head = [0u8; 6];
    let n = blob
        .read_at(0, &mut head)
        .map_err(|source| Error::Io { offset: 0, source })?;
    let compression = Compression::detect(&head[..n]);
    let (digest, uncompressed) = match check {
        Check::Stored(d) => (Some(d), false),
        Check::Uncompressed(d) => (Some(d), true),
        Check::None => (None, false),
    };
    let mut want = None;
    let state = Arc::new(Mutex::new((None, 0u64)));
    if let Some(d) = digest {
        let (h, hex) = Hasher::for_digest(d)?;
        state.lock().unwrap_or_else(|e| e.into_inner()).0 = Some(h);
        want = Some(hex);
    }
    let stored = if compression == Compression::None {
        Some((b.tree.add_source(Arc::clone(&blob)), 0))
    } else {
        None
    };
    let raw = Cursor::new(Arc::clone(&blob), 0);
    let drain_err =
        |e: io::Error| Error::corrupt("layer stream", 0, format!("after the tar end: {e}"));
    if uncompressed {
        let dec = compression.decoder(raw)?;
        let hashing = Hashing {
            inner: dec,
            state: Arc::clone(&state),
        };
        let mut tar = TarReader::new(Streamed(hashing), compression.name());
        b.apply(&mut tar, layer, stored, true)?;
        io::copy(&mut tar.into_inner(), &mut io::sink()).map_err(drain_err)?;
    } else {
        let hashing = Hashing {
            inner: raw,
            state: Arc::clone(&state),
        };
        let dec = compression.decoder(hashing)?;
        let mut tar = TarReader::new(Streamed(dec), compression.name());
        b.apply(&mut tar, layer, stored, true)?;
        io::copy(&mut tar.into_inner(), &mut io::sink()).map_err(drain_err)?;
        // Bytes after the end of the compressed stream belong to the blob too.
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        let mut pos = s.1;
        let mut buf = vec![0u8; 64 << 10];
        while pos < blob.len() {
            let k = blob.read_at(pos, &mut buf).map_err(|source| Error::Io {
                offset: pos,
                source,
            })?;
            if k == 0 {
                break;
            }
            if let Some(h) = s.0.as_mut() {
                h.update(&buf[..k]);
            }
            pos += k as u64;
        }
        s.1 = pos;
    }
    if let (Some(want), Some(d)) = (want, digest) {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        let got = s.0.take().map(Hasher::hex).unwrap_or_default();
        if got != want {
            return Err(Error::corrupt(
                "OCI blob",
                0,
                format!(
                    "{} {d}: content hashes to {got}",
                    if uncompressed {
                        "uncompressed layer"
                    } else {
                        "layer"
                    }
                ),
            ));
        }
    }
    Ok(())
}
