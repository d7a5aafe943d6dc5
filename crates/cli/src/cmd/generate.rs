//! `altrepodb generate completions SHELL | man DIR`: from the clap definition itself.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use clap_complete::Shell;

/// `altrepodb generate …`
#[derive(Debug, Subcommand)]
pub enum GenerateAction {
    /// Write a shell completion script to standard output.
    Completions(CompletionsArgs),
    /// Write man pages (altrepodb.1 and one page per subcommand) into DIR.
    Man(ManArgs),
}

/// `altrepodb generate completions`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `altrepodb generate man`
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Output directory (created if missing).
    pub dir: PathBuf,
}

/// Runs a `generate` action.
pub fn run(action: &GenerateAction) -> Result<i32> {
    match action {
        GenerateAction::Completions(a) => {
            let mut cmd = crate::loaders::cli_command();
            // Into a buffer first: clap_complete panics on a write error (`| head`).
            let mut buf = Vec::new();
            clap_complete::generate(a.shell, &mut cmd, "altrepodb", &mut buf);
            std::io::Write::write_all(&mut std::io::stdout().lock(), &buf)?;
            Ok(0)
        }
        GenerateAction::Man(a) => {
            let written = man_pages(&a.dir)?;
            println!("{written} man pages written to {}", a.dir.display());
            Ok(0)
        }
    }
}

/// Writes `altrepodb.1` and `altrepodb-<sub>[-<subsub>].1` for every visible subcommand.
pub fn man_pages(dir: &Path) -> Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    fn walk(cmd: &clap::Command, name: &str, dir: &Path, n: &mut usize) -> Result<()> {
        // clap names are `&'static str` without its `string` feature; a few short names
        // leaked once in a run-once command are cheaper than that feature.
        let page = cmd
            .clone()
            .name(&*Box::leak(name.to_owned().into_boxed_str()));
        let path = dir.join(format!("{name}.1"));
        let mut out = Vec::new();
        clap_mangen::Man::new(page).render(&mut out)?;
        std::fs::write(&path, out).with_context(|| format!("writing {}", path.display()))?;
        *n += 1;
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, &format!("{name}-{}", sub.get_name()), dir, n)?;
        }
        Ok(())
    }
    let mut n = 0;
    let mut cmd = crate::loaders::cli_command();
    cmd.build();
    walk(&cmd, "altrepodb", dir, &mut n)?;
    Ok(n)
}
