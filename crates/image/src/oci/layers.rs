//! Following indexes to manifests and applying layers with their checks.

use super::*;

pub(super) fn platform_of(config: &ConfigJson, index: Option<&Platform>) -> Platform {
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
pub(super) fn in_layer(e: Error, n: usize, name: &str) -> Error {
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
pub(super) fn collect(
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
pub(super) fn apply_layer(
    b: &mut Builder,
    blob: Arc<dyn ReadAt>,
    layer: u32,
    check: Check,
) -> Result<()> {
    let mut head = [0u8; 6];
    let n = blob
        .read_at(0, &mut head)
        .map_err(|source| Error::Io { offset: 0, source })?;
    let compression = Compression::sniff(&head[..n]);
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
        let dec = crate::compress::decoder(compression, raw)?;
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
        let dec = crate::compress::decoder(compression, hashing)?;
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
