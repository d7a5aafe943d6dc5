//! `cargo run --release -p altrepodb-testdata --example gen -- OUT SOURCES [SEED]`: times a
//! generation run.
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = std::path::PathBuf::from(args.get(1).ok_or("usage: gen OUT SOURCES [SEED]")?);
    let sources: usize = args
        .get(2)
        .ok_or("usage: gen OUT SOURCES [SEED]")?
        .parse()?;
    let seed: u64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let t = Instant::now();
    let m =
        altrepodb_testdata::generate_repo(&out, &altrepodb_testdata::RepoSpec::new(sources, seed))?;
    println!(
        "{} sources, {} binaries, {} files, {} bytes in {:.1?}",
        m.sources,
        m.binaries,
        m.files,
        m.bytes,
        t.elapsed()
    );
    Ok(())
}
