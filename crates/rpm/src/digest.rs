//! File and buffer digests: MD5, SHA-1, SHA-256, BLAKE2b-512 and GOST R 34.11-2012 (256 bit).
//!
//! [`digest_file`] reads the input once, in chunks, and hands every chunk to one thread
//! per algorithm through bounded channels, so the wall time is that of the slowest
//! algorithm (GOST, ~70 MB/s) rather than the sum of all of them. Chunk buffers come back
//! to the reader when the last hasher drops them, so memory stays bounded
//! (`(QUEUE_DEPTH + 2) * CHUNK_SIZE`).
//!
//! GOST output is the hex the `gost12sum` utility prints by default (256-bit Streebog, the
//! digest bytes in the order the `streebog` crate returns them; not byte-reversed).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::{mpsc, Arc};
use std::thread;

use sha2::Digest as _;

/// Size of one read; large enough to amortise channel traffic, small enough to stay cached.
const CHUNK_SIZE: usize = 2 << 20;
/// Chunks queued per hasher thread before the reader blocks.
const QUEUE_DEPTH: usize = 4;
/// Below this many bytes `digest_bytes` hashes sequentially: threads would cost more.
const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// One digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestAlgo {
    /// MD5 (16 bytes).
    Md5,
    /// SHA-1 (20 bytes).
    Sha1,
    /// SHA-256 (32 bytes).
    Sha256,
    /// BLAKE2b with a 512-bit output (64 bytes), as `b2sum` prints it.
    Blake2b512,
    /// GOST R 34.11-2012 "Streebog" with a 256-bit output (32 bytes), as `gost12sum` prints it.
    Gost256,
}

impl DigestAlgo {
    /// All supported algorithms.
    pub const ALL: [DigestAlgo; 5] = [
        DigestAlgo::Md5,
        DigestAlgo::Sha1,
        DigestAlgo::Sha256,
        DigestAlgo::Blake2b512,
        DigestAlgo::Gost256,
    ];

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            DigestAlgo::Md5 => 16,
            DigestAlgo::Sha1 => 20,
            DigestAlgo::Sha256 | DigestAlgo::Gost256 => 32,
            DigestAlgo::Blake2b512 => 64,
        }
    }

    /// Lower-case name (`md5`, `sha1`, `sha256`, `blake2b`, `gost12`).
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgo::Md5 => "md5",
            DigestAlgo::Sha1 => "sha1",
            DigestAlgo::Sha256 => "sha256",
            DigestAlgo::Blake2b512 => "blake2b",
            DigestAlgo::Gost256 => "gost12",
        }
    }
}

/// Results of one digest pass; algorithms that were not requested are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digests {
    /// Number of bytes hashed.
    pub size: u64,
    /// MD5.
    pub md5: Option<[u8; 16]>,
    /// SHA-1.
    pub sha1: Option<[u8; 20]>,
    /// SHA-256.
    pub sha256: Option<[u8; 32]>,
    /// BLAKE2b-512.
    pub blake2b: Option<[u8; 64]>,
    /// GOST R 34.11-2012, 256 bit.
    pub gost12_256: Option<[u8; 32]>,
}

impl Digests {
    /// The raw digest for `algo`, if it was computed.
    pub fn get(&self, algo: DigestAlgo) -> Option<&[u8]> {
        match algo {
            DigestAlgo::Md5 => self.md5.as_ref().map(|d| &d[..]),
            DigestAlgo::Sha1 => self.sha1.as_ref().map(|d| &d[..]),
            DigestAlgo::Sha256 => self.sha256.as_ref().map(|d| &d[..]),
            DigestAlgo::Blake2b512 => self.blake2b.as_ref().map(|d| &d[..]),
            DigestAlgo::Gost256 => self.gost12_256.as_ref().map(|d| &d[..]),
        }
    }

    /// The digest for `algo` as lower-case hex, if it was computed.
    pub fn hex(&self, algo: DigestAlgo) -> Option<String> {
        self.get(algo).map(hex::encode)
    }

    fn store(&mut self, out: Output) {
        match out {
            Output::Md5(d) => self.md5 = Some(d),
            Output::Sha1(d) => self.sha1 = Some(d),
            Output::Sha256(d) => self.sha256 = Some(d),
            Output::Blake2b(d) => self.blake2b = Some(d),
            Output::Gost256(d) => self.gost12_256 = Some(d),
        }
    }
}

enum Hasher {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Blake2b(Box<blake2::Blake2b512>),
    Gost256(Box<streebog::Streebog256>),
}

enum Output {
    Md5([u8; 16]),
    Sha1([u8; 20]),
    Sha256([u8; 32]),
    Blake2b([u8; 64]),
    Gost256([u8; 32]),
}

impl Hasher {
    fn new(algo: DigestAlgo) -> Hasher {
        match algo {
            DigestAlgo::Md5 => Hasher::Md5(md5::Md5::new()),
            DigestAlgo::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            DigestAlgo::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            DigestAlgo::Blake2b512 => Hasher::Blake2b(Box::default()),
            DigestAlgo::Gost256 => Hasher::Gost256(Box::default()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Blake2b(h) => h.update(data),
            Hasher::Gost256(h) => h.update(data),
        }
    }

    fn finish(self) -> Output {
        match self {
            Hasher::Md5(h) => Output::Md5(h.finalize().into()),
            Hasher::Sha1(h) => Output::Sha1(h.finalize().into()),
            Hasher::Sha256(h) => Output::Sha256(h.finalize().into()),
            Hasher::Blake2b(h) => Output::Blake2b(h.finalize().into()),
            Hasher::Gost256(h) => Output::Gost256(h.finalize().into()),
        }
    }
}

fn dedup(algos: &[DigestAlgo]) -> Vec<DigestAlgo> {
    let mut v = algos.to_vec();
    v.sort();
    v.dedup();
    v
}

/// Digests a byte slice. With several algorithms and a large slice, each algorithm runs on
/// its own thread.
pub fn digest_bytes(data: &[u8], algos: &[DigestAlgo]) -> Digests {
    let algos = dedup(algos);
    let mut out = Digests {
        size: data.len() as u64,
        ..Digests::default()
    };
    if algos.len() > 1 && data.len() >= PARALLEL_MIN_BYTES {
        let results: Vec<Output> = thread::scope(|s| {
            let handles: Vec<_> = algos
                .iter()
                .map(|&a| {
                    s.spawn(move || {
                        let mut h = Hasher::new(a);
                        h.update(data);
                        h.finish()
                    })
                })
                .collect();
            // A hasher thread only panics if the hash crate itself does; propagate it.
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        for r in results {
            out.store(r);
        }
    } else {
        for a in algos {
            let mut h = Hasher::new(a);
            h.update(data);
            out.store(h.finish());
        }
    }
    out
}

/// Digests a file in one read pass (see the module docs for the threading).
pub fn digest_file(path: impl AsRef<Path>, algos: &[DigestAlgo]) -> io::Result<Digests> {
    digest_reader(File::open(path)?, algos)
}

/// Digests everything `reader` yields, in one pass, one thread per algorithm.
pub fn digest_reader<R: Read>(mut reader: R, algos: &[DigestAlgo]) -> io::Result<Digests> {
    let algos = dedup(algos);
    if algos.len() <= 1 {
        return digest_sequential(reader, &algos);
    }
    // Buffers come home through this channel when the last hasher drops its chunk.
    let (home_tx, home_rx) = mpsc::channel::<Vec<u8>>();
    let max_buffers = QUEUE_DEPTH + 2;
    let mut allocated = 0usize;
    let mut total = 0u64;

    thread::scope(|s| {
        let mut senders = Vec::with_capacity(algos.len());
        let mut handles = Vec::with_capacity(algos.len());
        for &algo in &algos {
            let (tx, rx) = mpsc::sync_channel::<Arc<Chunk>>(QUEUE_DEPTH);
            senders.push(tx);
            handles.push(s.spawn(move || {
                let mut h = Hasher::new(algo);
                for chunk in rx {
                    h.update(&chunk.buf[..chunk.len]);
                }
                h.finish()
            }));
        }

        let read_result: io::Result<()> = (|| loop {
            let mut buf = match home_rx.try_recv() {
                Ok(b) => b,
                Err(_) if allocated < max_buffers => {
                    allocated += 1;
                    vec![0u8; CHUNK_SIZE]
                }
                // Every buffer is out; the slowest hasher returns one soon (see docs).
                Err(_) => home_rx
                    .recv()
                    .map_err(|_| io::Error::other("digest buffer pool closed"))?,
            };
            let n = read_full(&mut reader, &mut buf)?;
            if n == 0 {
                return Ok(());
            }
            total += n as u64;
            let chunk = Arc::new(Chunk {
                buf,
                len: n,
                home: home_tx.clone(),
            });
            for tx in &senders {
                tx.send(Arc::clone(&chunk))
                    .map_err(|_| io::Error::other("digest worker thread stopped"))?;
            }
            if n < CHUNK_SIZE {
                return Ok(());
            }
        })();
        drop(senders);
        let outputs: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect();
        read_result?;
        let mut out = Digests {
            size: total,
            ..Digests::default()
        };
        for o in outputs {
            out.store(o);
        }
        Ok(out)
    })
}

struct Chunk {
    buf: Vec<u8>,
    len: usize,
    home: mpsc::Sender<Vec<u8>>,
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // The reader may have finished already; then the buffer is simply freed.
        let _ = self.home.send(std::mem::take(&mut self.buf));
    }
}

fn digest_sequential<R: Read>(mut reader: R, algos: &[DigestAlgo]) -> io::Result<Digests> {
    let mut hashers: Vec<Hasher> = algos.iter().map(|&a| Hasher::new(a)).collect();
    let mut buf = vec![0u8; CHUNK_SIZE];
    let mut total = 0u64;
    loop {
        let n = read_full(&mut reader, &mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        for h in &mut hashers {
            h.update(&buf[..n]);
        }
        if n < buf.len() {
            break;
        }
    }
    let mut out = Digests {
        size: total,
        ..Digests::default()
    };
    for h in hashers {
        out.store(h.finish());
    }
    Ok(out)
}

/// Reads until `buf` is full or EOF; returns the number of bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
