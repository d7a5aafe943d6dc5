//! `altrepodb bench …`: the floors that benchmarks compare against (hidden commands).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

/// `altrepodb bench read-headers PATH…`
#[derive(Debug, clap::Args)]
pub struct ReadHeadersArgs {
    /// Directories (searched recursively) or RPM files.
    pub paths: Vec<PathBuf>,
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::symlink_metadata(path).with_context(|| format!("{}", path.display()))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("{}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            collect(&e, out)?;
        }
    } else if meta.is_file() && path.extension().is_some_and(|x| x == "rpm") {
        // Symlinks (ALT's RPMS.<comp> entries) are skipped: each file is read once.
        out.push(path.to_owned());
    }
    Ok(())
}

/// Reads the header bytes (lead, signature, main header) of every RPM once, sequentially,
/// and prints `headers=N bytes=B seconds=S`: the floor a loader cannot beat.
pub fn read_headers(args: &ReadHeadersArgs) -> Result<i32> {
    let mut files = Vec::new();
    for p in &args.paths {
        collect(p, &mut files)?;
    }
    let started = Instant::now();
    let mut bytes = 0u64;
    for f in &files {
        let mut file = File::open(f).with_context(|| format!("{}", f.display()))?;
        let header = altrepodb_rpm::read_package_bytes(&mut file)
            .with_context(|| format!("{}", f.display()))?;
        bytes += header.len() as u64;
    }
    println!(
        "headers={} bytes={} seconds={:.3}",
        files.len(),
        bytes,
        started.elapsed().as_secs_f64()
    );
    Ok(0)
}
