//! Where blobs live (a directory or a tar), reading and verifying them against digests.

use super::*;

pub(super) enum Store {
    Dir(PathBuf),
    Tar(MemTree),
}

impl Store {
    /// The file `rel` of the layout, or `None` when it does not exist.
    pub(super) fn file(&self, rel: &str) -> Result<Option<Arc<dyn ReadAt>>> {
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

    pub(super) fn json<T: for<'de> Deserialize<'de>>(
        &self,
        rel: &str,
    ) -> Result<Option<(T, Vec<u8>)>> {
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

pub(super) fn read_all(src: &dyn ReadAt, what: &str) -> Result<Vec<u8>> {
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
pub(super) enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub(super) fn for_digest(digest: &str) -> Result<(Self, String)> {
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

    pub(super) fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
        }
    }

    pub(super) fn hex(self) -> String {
        let bytes: Vec<u8> = match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// `blobs/<alg>/<hex>` of a digest, refusing anything else.
pub(super) fn blob_path(digest: &str) -> Result<String> {
    Hasher::for_digest(digest)?;
    Ok(format!("blobs/{}", digest.replacen(':', "/", 1)))
}

pub(super) fn verify(digest: &str, bytes: &[u8], what: &str) -> Result<()> {
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
pub(super) struct Hashing<R> {
    pub(super) inner: R,
    pub(super) state: Arc<Mutex<(Option<Hasher>, u64)>>,
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
pub(super) enum Check<'a> {
    /// The digest of the blob as stored (OCI descriptors).
    Stored(&'a str),
    /// The digest of the uncompressed tar (docker `diff_ids`).
    Uncompressed(&'a str),
    /// Nothing to check against (a classic docker archive without `diff_ids`).
    None,
}
