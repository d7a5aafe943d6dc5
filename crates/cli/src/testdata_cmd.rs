//! `altrepodb testdata …`: generate synthetic test inputs (see `altrepodb-testdata`).
//!
//! `altrepodb testdata repo --out DIR --sources N [--seed S] [--arches a,b,c]` writes an ALT
//! branch snapshot; with `--next-day-of PREV --change-percent P` it writes the snapshot of
//! the day after PREV instead (sources and arches then come from PREV).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use altrepodb_testdata::{generate_next_day, generate_repo, RepoManifest, RepoSpec};

/// `altrepodb testdata`
#[derive(Debug, Args)]
pub struct TestdataArgs {
    /// What to generate.
    #[command(subcommand)]
    pub what: TestdataCommand,
}

/// Kinds of test data.
#[derive(Debug, Subcommand)]
pub enum TestdataCommand {
    /// A synthetic ALT repository snapshot (or the next day's snapshot of one), with
    /// DIR/manifest.json describing every package.
    Repo(RepoArgs),
    /// A synthetic girar task directory, with a manifest of what it holds.
    Task(crate::testdata_task::TaskGenArgs),
}

/// `altrepodb testdata repo`
#[derive(Debug, Args)]
pub struct RepoArgs {
    /// Output directory (must be absent or empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Number of source packages (about 3 binaries each per arch).
    #[arg(long, value_name = "N", required_unless_present = "next_day_of")]
    pub sources: Option<usize>,
    /// Seed: the same seed and options give byte-identical output.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Make the day after this snapshot (one made by this command) instead of a new one.
    #[arg(long, value_name = "DIR", requires = "change_percent")]
    pub next_day_of: Option<PathBuf>,
    /// With --next-day-of: percentage of sources rebuilt with a new release or version.
    #[arg(long, value_name = "P", requires = "next_day_of")]
    pub change_percent: Option<f64>,
    /// Architecture directories, comma-separated (`noarch` is always added; default
    /// `x86_64,noarch`, or the previous snapshot's with --next-day-of).
    #[arg(long, value_name = "a,b,c", value_delimiter = ',')]
    pub arches: Option<Vec<String>>,
    /// Snapshot date, YYYY-MM-DD (new snapshots only; default 2024-01-15).
    #[arg(long, value_name = "YYYY-MM-DD", conflicts_with = "next_day_of")]
    pub date: Option<String>,
    /// Branch label (new snapshots only).
    #[arg(long, default_value = "Sisyphus", conflicts_with = "next_day_of")]
    pub branch: String,
}

/// Runs `altrepodb testdata …`; exit code 0 on success.
pub fn run(args: &TestdataArgs) -> anyhow::Result<i32> {
    match &args.what {
        TestdataCommand::Repo(a) => repo(a),
        TestdataCommand::Task(a) => crate::testdata_task::run(a),
    }
}

fn repo(a: &RepoArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let m = match (&a.next_day_of, a.change_percent) {
        (Some(prev), Some(p)) => {
            let pm = RepoManifest::read(prev)
                .with_context(|| format!("reading the previous snapshot {}", prev.display()))?;
            if let Some(arches) = &a.arches {
                let mut want: BTreeSet<&str> = arches.iter().map(String::as_str).collect();
                want.insert("noarch");
                let have: BTreeSet<&str> = pm.arches.iter().map(String::as_str).collect();
                if want != have {
                    bail!(
                        "--arches {} differs from the previous snapshot's {}",
                        arches.join(","),
                        pm.arches.join(",")
                    );
                }
            }
            if a.sources.is_some() {
                eprintln!(
                    "altrepodb: --sources is ignored with --next-day-of (it has {} sources)",
                    pm.sources
                );
            }
            generate_next_day(prev, &a.out, p, a.seed).with_context(|| {
                format!(
                    "generating the day after {} into {}",
                    prev.display(),
                    a.out.display()
                )
            })?
        }
        _ => {
            let spec = RepoSpec {
                sources: a.sources.unwrap_or_default(),
                seed: a.seed,
                arches: a
                    .arches
                    .clone()
                    .unwrap_or_else(|| RepoSpec::default().arches),
                date: a.date.clone(),
                branch: a.branch.clone(),
            };
            generate_repo(&a.out, &spec)
                .with_context(|| format!("generating a snapshot into {}", a.out.display()))?
        }
    };
    println!(
        "{}: {} {} ({}), {} sources, {} binaries, {} files, {} bytes in {:.1} s; manifest {}",
        a.out.display(),
        m.branch,
        m.date,
        m.arches.join(", "),
        m.sources,
        m.binaries,
        m.files,
        m.bytes,
        started.elapsed().as_secs_f64(),
        m.path.display()
    );
    if let Some(c) = &m.changes {
        println!(
            "changes since {}: {} upgraded, {} added, {} removed, {} unchanged",
            c.prev_date,
            c.upgraded.len(),
            c.added.len(),
            c.removed.len(),
            c.unchanged
        );
    }
    Ok(0)
}
