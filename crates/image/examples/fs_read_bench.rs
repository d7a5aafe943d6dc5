//! Reads every file of a filesystem image (ext4, squashfs or ISO 9660; or a squashfs member of
//! an ISO) with an MD5 of each, and prints the count, bytes and throughput. A benchmark, not a
//! test:
//!
//! `cargo run --release -p altrepodb-image --example fs_read_bench -- IMAGE [ISO-MEMBER]`

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use altrepodb_image::ext4::{self, Ext4};
use altrepodb_image::iso9660::{self, Iso9660};
use altrepodb_image::squashfs::{self, Squashfs};
use altrepodb_image::{walk, FileKind, FileTree, Slice, TreePath};
use md5::{Digest, Md5};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: fs_read_bench IMAGE [ISO-MEMBER]");
        std::process::exit(2);
    };
    let file = Arc::new(std::fs::File::open(path)?);
    let started = Instant::now();
    let tree: Box<dyn FileTree> = if let Some(member) = args.get(2) {
        let iso = Iso9660::open(file.clone())?;
        let (start, len) = iso
            .contiguous_range(&TreePath::new(member))?
            .ok_or("member is not stored in place")?;
        Box::new(Squashfs::open(Slice::new(file, start, len)?)?)
    } else if squashfs::probe(&*file) {
        Box::new(Squashfs::open(file)?)
    } else if iso9660::probe(&*file) {
        Box::new(Iso9660::open(file)?)
    } else if ext4::probe(&*file) {
        Box::new(Ext4::open(file)?)
    } else {
        return Err("not ext4, squashfs or ISO 9660".into());
    };
    let entries = walk(&*tree, &TreePath::root(), 10_000_000, 512)?;
    let listed = started.elapsed();
    let (mut files, mut bytes) = (0u64, 0u64);
    let mut buf = vec![0u8; 1 << 20];
    for (p, meta) in &entries {
        if meta.kind != FileKind::Regular {
            continue;
        }
        let mut r = tree.open(p)?;
        let mut h = Md5::new();
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            bytes += n as u64;
        }
        let _ = h.finalize();
        files += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} entries (listed in {:.2} s), {files} files, {bytes} bytes in {secs:.2} s: {:.1} MB/s",
        entries.len(),
        listed.as_secs_f64(),
        bytes as f64 / secs / 1e6
    );
    Ok(())
}
