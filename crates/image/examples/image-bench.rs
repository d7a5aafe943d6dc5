//! Measurements for `scripts/bench-image.sh` (not a test):
//! `image-bench tar FILE` reads a tar image the way the image loader does (rpmdb and
//! os-release selected) and prints the time; `image-bench hash FILE` hashes the file with
//! MD5, SHA-256 and GOST R 34.11-2012 (256) in one read pass, one thread per algorithm,
//! and then Streebog alone, printing the throughput of each.

use std::io::Read;
use std::sync::{mpsc, Arc};
use std::time::Instant;

use altrepodb_image::tartree::{open_tar, Limits, Select};
use altrepodb_image::{walk, TreePath};
use md5::Digest;

fn mb_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs
}

fn tar(path: &str) {
    let t = Instant::now();
    let tree = open_tar(
        path.as_ref(),
        &Select::rpmdb_and_os_release(),
        Limits::default(),
    )
    .unwrap_or_else(|e| panic!("{path}: {e}"));
    let entries = walk(&tree, &TreePath::root(), u64::MAX, 256).unwrap().len();
    let secs = t.elapsed().as_secs_f64();
    let size = std::fs::metadata(path).unwrap().len();
    println!(
        "tar {path}: {entries} entries, {size} bytes in {secs:.2} s ({:.0} MB/s of file)",
        mb_s(size, secs)
    );
}

fn hash(path: &str) {
    let size = std::fs::metadata(path).unwrap().len();
    let t = Instant::now();
    let (txs, handles): (Vec<_>, Vec<_>) = (0..3)
        .map(|alg| {
            let (tx, rx) = mpsc::sync_channel::<Arc<Vec<u8>>>(8);
            let h = std::thread::spawn(move || {
                let mut md5 = md5::Md5::new();
                let mut sha = sha2::Sha256::new();
                let mut gost = streebog::Streebog256::new();
                for chunk in rx {
                    match alg {
                        0 => md5.update(&chunk[..]),
                        1 => sha.update(&chunk[..]),
                        _ => gost.update(&chunk[..]),
                    }
                }
                let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
                match alg {
                    0 => hex(&md5.finalize()),
                    1 => hex(&sha.finalize()),
                    _ => hex(&gost.finalize()),
                }
            });
            (tx, h)
        })
        .unzip();
    let mut f = std::fs::File::open(path).unwrap();
    loop {
        let mut buf = vec![0u8; 4 << 20];
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        buf.truncate(n);
        let chunk = Arc::new(buf);
        for tx in &txs {
            tx.send(Arc::clone(&chunk)).unwrap();
        }
    }
    drop(txs);
    let sums: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "md5+sha256+gost12 in one pass: {secs:.2} s ({:.0} MB/s)",
        mb_s(size, secs)
    );
    println!(
        "  md5 {}\n  sha256 {}\n  gost12-256 {}",
        sums[0], sums[1], sums[2]
    );
    for (name, run) in [("md5", 0usize), ("sha256", 1), ("streebog256", 2)] {
        let mut f = std::fs::File::open(path).unwrap();
        let mut buf = vec![0u8; 4 << 20];
        let t = Instant::now();
        let mut md5 = md5::Md5::new();
        let mut sha = sha2::Sha256::new();
        let mut gost = streebog::Streebog256::new();
        loop {
            let n = f.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            match run {
                0 => md5.update(&buf[..n]),
                1 => sha.update(&buf[..n]),
                _ => gost.update(&buf[..n]),
            }
        }
        let _ = (md5.finalize(), sha.finalize(), gost.finalize());
        let secs = t.elapsed().as_secs_f64();
        println!("{name} alone: {secs:.2} s ({:.0} MB/s)", mb_s(size, secs));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("tar"), Some(f)) => tar(f),
        (Some("hash"), Some(f)) => hash(f),
        _ => {
            eprintln!("usage: image-bench tar|hash FILE");
            std::process::exit(2);
        }
    }
}
