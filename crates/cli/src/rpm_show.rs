//! `altrepodb rpm show FILE... [--json] [--files]`: print what the loaders would read from
//! RPM headers.
//!
//! Files are read in parallel (headers only, never the payload) and printed in argument
//! order: a `key: value` block per file, or one JSON object per line with `--json`. A file
//! that cannot be read prints one line to stderr, `altrepodb: FILE: <error>` (for header
//! problems `corrupt header at offset N: …`), the other files are still shown, and the exit
//! code is 1.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use altrepodb_rpm::meta::{self, DepKind, PackageMeta};
use altrepodb_rpm::{read_package_bytes, Package, Tag};
use clap::Args;
use rayon::prelude::*;
use serde_json::{json, Value};

/// Fields in output order (serde_json's `Map` would sort them).
type Fields = Vec<(&'static str, Value)>;

/// Options of `altrepodb rpm show`.
#[derive(Debug, Clone, Args)]
pub struct RpmShowArgs {
    /// The `.rpm` files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print one JSON object per file, one per line (JSON Lines).
    #[arg(long)]
    pub json: bool,
    /// Include the file list.
    #[arg(long = "files")]
    pub list_files: bool,
}

/// Runs the command; returns the exit code (0, or 1 if any file failed).
pub fn run(args: &RpmShowArgs) -> anyhow::Result<i32> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut code = 0;
    // Bounded batches keep memory flat for long argument lists while staying parallel.
    let batch = rayon::current_num_threads().max(1) * 8;
    let mut first = true;
    for chunk in args.files.chunks(batch) {
        let shown: Vec<Result<Fields, String>> =
            chunk.par_iter().map(|p| show(p, args.list_files)).collect();
        for r in shown {
            match r {
                Ok(v) => {
                    if args.json {
                        write_json(&mut out, &v)?;
                    } else {
                        if !first {
                            out.write_all(b"\n")?;
                        }
                        write_block(&mut out, &v)?;
                    }
                    first = false;
                }
                Err(msg) => {
                    // Keep stdout and stderr in argument order.
                    out.flush()?;
                    eprintln!("altrepodb: {msg}");
                    code = 1;
                }
            }
        }
    }
    out.flush()?;
    Ok(code)
}

fn hex_or_null(b: &[u8]) -> Value {
    if b.is_empty() {
        Value::Null
    } else {
        Value::String(hex::encode(b))
    }
}

/// Reads one file into the JSON shape; `Err` is the complete message (file name first).
fn show(path: &Path, with_files: bool) -> Result<Fields, String> {
    let name = path.display();
    let mut f = File::open(path).map_err(|e| format!("{name}: cannot open: {e}"))?;
    let filesize = f
        .metadata()
        .map_err(|e| format!("{name}: cannot stat: {e}"))?
        .len();
    let bytes = read_package_bytes(&mut f).map_err(|e| format!("{name}: {e}"))?;
    let pkg = Package::parse(&bytes).map_err(|e| format!("{name}: {e}"))?;
    describe(path, filesize, &pkg, with_files).map_err(|e| format!("{name}: {e}"))
}

fn describe(
    path: &Path,
    filesize: u64,
    pkg: &Package<'_>,
    with_files: bool,
) -> altrepodb_rpm::Result<Fields> {
    let h = pkg.header();
    let m = PackageMeta::from_header(h)?;
    let opt_text = |t: Tag| -> altrepodb_rpm::Result<Value> {
        Ok(match h.string(t)? {
            Some(s) => Value::String(altrepodb_rpm::text(s).into_owned()),
            None => Value::Null,
        })
    };
    let mut o: Fields = vec![
        ("file", json!(path.to_string_lossy())),
        ("name", json!(m.name)),
        ("epoch", json!(m.epoch)),
        ("version", json!(m.version)),
        ("release", json!(m.release)),
        ("arch", json!(m.arch)),
        ("pkg_arch", json!(m.pkg_arch)),
        ("disttag", opt_text(Tag::DISTTAG)?),
        ("sourcerpm", opt_text(Tag::SOURCERPM)?),
        ("sourcepackage", json!(u8::from(m.sourcepackage))),
        ("buildtime", json!(m.buildtime)),
        ("buildhost", json!(m.buildhost)),
        ("packager", json!(m.packager)),
        ("packager_email", json!(m.packager_email)),
        ("license", json!(m.license)),
        ("group", json!(m.group)),
        ("summary", json!(m.summary)),
        ("url", json!(m.url)),
        ("vendor", json!(m.vendor)),
        ("distribution", json!(m.distribution)),
        ("rpmversion", json!(m.rpmversion)),
        // Undefined for build times before 2001-09-09; shown as null rather than failing.
        ("pkg_hash", json!(h.pkg_hash().ok())),
        ("sha1header", hex_or_null(&m.sha1header)),
        ("sigmd5", hex_or_null(&m.sigmd5)),
        ("size", json!(m.size)),
        ("archivesize", json!(m.archivesize)),
        ("filesize", json!(filesize)),
        ("file_count", json!(h.file_count()?)),
    ];
    for (kind, key) in [
        (DepKind::Require, "requires"),
        (DepKind::Provide, "provides"),
        (DepKind::Conflict, "conflicts"),
        (DepKind::Obsolete, "obsoletes"),
    ] {
        let deps: Vec<Value> = meta::dependencies(h, kind)?
            .into_iter()
            .map(|d| json!({"name": d.name, "version": d.version, "flags": d.flags}))
            .collect();
        o.push((key, Value::Array(deps)));
    }
    let log: Vec<Value> = m
        .changelog
        .iter()
        .map(|c| json!({"date": c.date, "name": c.name, "evr": c.evr, "text": c.text}))
        .collect();
    o.push(("changelog", Value::Array(log)));
    if with_files {
        let files: Vec<Value> = meta::files(h)?
            .into_iter()
            .map(|f| {
                json!({
                    "name": f.name,
                    "size": f.size,
                    "mode": f.mode,
                    "md5": hex::encode(&f.md5),
                    "class": f.class.stored().as_str(),
                    "linkto": f.linkto,
                })
            })
            .collect();
        o.push(("files", Value::Array(files)));
    }
    Ok(o)
}

/// One JSON object on one line, keys in `o`'s order.
fn write_json<W: Write>(out: &mut W, o: &Fields) -> io::Result<()> {
    out.write_all(b"{")?;
    for (i, (k, v)) in o.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, k)?;
        out.write_all(b":")?;
        serde_json::to_writer(&mut *out, v)?;
    }
    out.write_all(b"}\n")
}

/// `<`, `>`, `=` from the RPMSENSE_LESS / GREATER / EQUAL bits.
fn sense(flags: u64) -> String {
    let mut s = String::new();
    if flags & 2 != 0 {
        s.push('<');
    }
    if flags & 4 != 0 {
        s.push('>');
    }
    if flags & 8 != 0 {
        s.push('=');
    }
    s
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn date(ts: u64) -> String {
    i64::try_from(ts)
        .ok()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .map_or_else(|| ts.to_string(), |d| d.date().to_string())
}

/// The readable form: `key: value` lines; lists as indented lines under `key (N):`.
fn write_block<W: Write>(out: &mut W, o: &Fields) -> io::Result<()> {
    for (k, val) in o {
        match (*k, val) {
            ("requires" | "provides" | "conflicts" | "obsoletes", Value::Array(a)) => {
                writeln!(out, "{k} ({}):", a.len())?;
                for d in a {
                    let flags = d["flags"].as_u64().unwrap_or(0);
                    let ver = d["version"].as_str().unwrap_or("");
                    let name = d["name"].as_str().unwrap_or("");
                    if ver.is_empty() {
                        writeln!(out, "  {name}  [{flags:#x}]")?;
                    } else {
                        writeln!(out, "  {name} {} {ver}  [{flags:#x}]", sense(flags))?;
                    }
                }
            }
            ("changelog", Value::Array(a)) => {
                writeln!(out, "changelog ({}):", a.len())?;
                for c in a {
                    writeln!(
                        out,
                        "  * {} {} {}",
                        date(c["date"].as_u64().unwrap_or(0)),
                        c["name"].as_str().unwrap_or(""),
                        c["evr"].as_str().unwrap_or("")
                    )?;
                    for line in c["text"].as_str().unwrap_or("").lines() {
                        writeln!(out, "    {line}")?;
                    }
                }
            }
            ("files", Value::Array(a)) => {
                writeln!(out, "files ({}):", a.len())?;
                for f in a {
                    let mode = f["mode"].as_u64().unwrap_or(0);
                    let linkto = f["linkto"].as_str().unwrap_or("");
                    write!(
                        out,
                        "  {mode:06o} {:>10} {:32} {:9} {}",
                        f["size"].as_u64().unwrap_or(0),
                        f["md5"].as_str().unwrap_or(""),
                        f["class"].as_str().unwrap_or(""),
                        f["name"].as_str().unwrap_or("")
                    )?;
                    if !linkto.is_empty() {
                        write!(out, " -> {linkto}")?;
                    }
                    writeln!(out)?;
                }
            }
            (_, other) => writeln!(out, "{k}: {}", scalar(other))?,
        }
    }
    Ok(())
}
