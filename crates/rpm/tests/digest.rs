//! Digest test vectors and the one-pass, one-thread-per-algorithm file digester.
//!
//! Expected values were computed on Debian 12 with `md5sum`, `sha1sum`, `sha256sum`,
//! `b2sum` (coreutils 9.1) and `gost12sum` (package `gostsum`, default 256-bit output;
//! `rhash --gost12-256` prints the same) over the same bytes.

use std::io::{self, Read};

use altrepodb_rpm::digest::{digest_reader, DigestAlgo};
use altrepodb_rpm::{digest_bytes, digest_file, Digests};

/// 5 MiB + 123 bytes: more than two of the digester's 2 MiB chunks, ending mid-chunk.
fn pattern() -> Vec<u8> {
    (0..5 * 1024 * 1024 + 123usize)
        .map(|i| ((i * 31) + (i >> 8) + (i >> 16)) as u8)
        .collect()
}

struct Vector {
    name: &'static str,
    md5: &'static str,
    sha1: &'static str,
    sha256: &'static str,
    blake2b: &'static str,
    gost12: &'static str,
}

const VECTORS: &[Vector] = &[
    Vector {
        name: "",
        md5: "d41d8cd98f00b204e9800998ecf8427e",
        sha1: "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        blake2b: "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce",
        gost12: "3f539a213e97c802cc229d474c6aa32a825a360b2a933a949fd925208d9ce1bb",
    },
    Vector {
        name: "abc",
        md5: "900150983cd24fb0d6963f7d28e17f72",
        sha1: "a9993e364706816aba3e25717850c26c9cd0d89d",
        sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        blake2b: "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
        gost12: "4e2919cf137ed41ec4fb6270c61826cc4fffb660341e0af3688cd0626d23b481",
    },
    Vector {
        name: "The quick brown fox jumps over the lazy dog",
        md5: "9e107d9d372bb6826bd81d3542a419d6",
        sha1: "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
        sha256: "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592",
        blake2b: "a8add4bdddfd93e4877d2746e62817b116364a1fa7bc148d95090bc7333b3673f82401cf7aa2e4cb1ecd90296e3f14cb5413f8ed77be73045b13914cdcd6a918",
        gost12: "3e7dea7f2384b6c5a3d0e24aaa29c05e89ddd762145030ec22c71a6db8b2c1f4",
    },
    // M1 from GOST R 34.11-2012 (the standard prints the hash byte-reversed).
    Vector {
        name: "012345678901234567890123456789012345678901234567890123456789012",
        md5: "c5e256437e758092dbfe06283e489019",
        sha1: "984b0f2f6d78c24020f5a79d409f67ab99302891",
        sha256: "074f6e9ac301d5d1b6df6f1dfb8c6f89c187ea945d352ce6a29279a9c630680b",
        blake2b: "81d9389f2db2f722bbd6c820e53e43288ce64357724e2d556c3945c07bd18a2fdea057458e4272fe1d0f1f2644121889e8d37b741249b6ff856a1bad361954eb",
        gost12: "9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500",
    },
];

/// The same tools over `pattern()`.
const PATTERN: Vector = Vector {
    name: "pattern",
    md5: "a332cea669acad4ed9e950440552f050",
    sha1: "c0a933aeb1b8bfad766e841843ca64228691e3a9",
    sha256: "9f034b05c2a59071e080bd468275a51714b4994bef11f1e9e8b90ffc51edd4f5",
    blake2b: "6f8da3db577be708bdaf283b26b6ab2a2f5641420c865f4e43eb7a4599e38e7fe5633ddff3948a86b7de017fd8a60259ca84a6f8ea0b4437b4f014af8ab2ca2a",
    gost12: "d196fa2ed3a0099e1a46e9a446017f548da5d2eeb267fd257ef799058147aa5d",
};

fn check(d: &Digests, v: &Vector, len: usize) {
    assert_eq!(d.size, len as u64, "{}", v.name);
    assert_eq!(d.hex(DigestAlgo::Md5).as_deref(), Some(v.md5), "{}", v.name);
    assert_eq!(
        d.hex(DigestAlgo::Sha1).as_deref(),
        Some(v.sha1),
        "{}",
        v.name
    );
    assert_eq!(
        d.hex(DigestAlgo::Sha256).as_deref(),
        Some(v.sha256),
        "{}",
        v.name
    );
    assert_eq!(
        d.hex(DigestAlgo::Blake2b512).as_deref(),
        Some(v.blake2b),
        "{}",
        v.name
    );
    assert_eq!(
        d.hex(DigestAlgo::Gost256).as_deref(),
        Some(v.gost12),
        "{}",
        v.name
    );
}

#[test]
fn known_vectors_bytes_and_file() {
    let dir = tempfile::tempdir().unwrap();
    for v in VECTORS {
        check(
            &digest_bytes(v.name.as_bytes(), &DigestAlgo::ALL),
            v,
            v.name.len(),
        );
        let p = dir.path().join("f");
        std::fs::write(&p, v.name).unwrap();
        check(&digest_file(&p, &DigestAlgo::ALL).unwrap(), v, v.name.len());
    }
}

#[test]
fn multi_chunk_input() {
    let data = pattern();
    check(&digest_bytes(&data, &DigestAlgo::ALL), &PATTERN, data.len());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pattern");
    std::fs::write(&p, &data).unwrap();
    check(
        &digest_file(&p, &DigestAlgo::ALL).unwrap(),
        &PATTERN,
        data.len(),
    );
    // Short, irregular reads and EINTR make no difference.
    let r = Choppy {
        data: &data,
        pos: 0,
        calls: 0,
        chop: 1,
    };
    check(
        &digest_reader(r, &DigestAlgo::ALL).unwrap(),
        &PATTERN,
        data.len(),
    );
}

#[test]
fn subsets_and_duplicates() {
    let data = pattern();
    let d = digest_bytes(
        &data,
        &[DigestAlgo::Gost256, DigestAlgo::Md5, DigestAlgo::Md5],
    );
    assert_eq!(d.hex(DigestAlgo::Md5).as_deref(), Some(PATTERN.md5));
    assert_eq!(d.hex(DigestAlgo::Gost256).as_deref(), Some(PATTERN.gost12));
    assert!(d.sha1.is_none() && d.sha256.is_none() && d.blake2b.is_none());
    let one = digest_reader(&data[..], &[DigestAlgo::Sha256]).unwrap();
    assert_eq!(one.hex(DigestAlgo::Sha256).as_deref(), Some(PATTERN.sha256));
    let none = digest_reader(&data[..], &[]).unwrap();
    assert_eq!(none.size, data.len() as u64);
    assert_eq!(none.md5, None);
}

#[test]
fn read_error_is_returned_not_hung() {
    let data = pattern();
    let r = Failing {
        inner: &data[..],
        left: 3 * 1024 * 1024,
    };
    let err = digest_reader(r, &DigestAlgo::ALL).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Other);
    assert!(digest_file("/nonexistent/file", &DigestAlgo::ALL).is_err());
}

struct Choppy<'a> {
    data: &'a [u8],
    pos: usize,
    calls: usize,
    chop: usize,
}

impl Read for Choppy<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        // Every 7th call is interrupted.
        if self.calls == 7 {
            self.calls = 0;
            return Err(io::Error::new(io::ErrorKind::Interrupted, "eintr"));
        }
        self.chop = (self.chop * 997 + 13) % 65_536;
        let n = (self.chop + 1)
            .min(buf.len())
            .min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

struct Failing<'a> {
    inner: &'a [u8],
    left: usize,
}

impl Read for Failing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..n])?;
        self.left -= n;
        Ok(n)
    }
}

/// Throughput on a 256 MiB file, each algorithm alone and all five in one pass. Not a
/// timed assertion; run with
/// `cargo test --release -p altrepodb-rpm --test digest -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput_256_mib() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big");
    let mut x = 0x1234_5678_9abc_def0u64;
    let data: Vec<u8> = (0..256usize << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&p, &data).unwrap();
    drop(data);
    let mb = 256.0 * 1.048_576;
    let report = |label: &str, algos: &[DigestAlgo]| {
        let t = std::time::Instant::now();
        let d = digest_file(&p, algos).unwrap();
        let s = t.elapsed().as_secs_f64();
        assert_eq!(d.size, 256 << 20);
        println!("{label:<28} {:>7.1} MB/s ({s:.2} s)", mb / s);
    };
    for a in DigestAlgo::ALL {
        report(a.name(), &[a]);
    }
    report("all five, one pass", &DigestAlgo::ALL);
    report(
        "md5+sha256+gost12 (images)",
        &[DigestAlgo::Md5, DigestAlgo::Sha256, DigestAlgo::Gost256],
    );
}
