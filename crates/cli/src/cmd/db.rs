//! `altrepodb db init|status|check|tables|manifest`.

use std::io::Write;
use std::time::Instant;

use altrepodb_db::schema;
use anyhow::Result;

use super::{connect, runtime, setup};
use crate::cli::CommonArgs;

/// `db init`: create everything, idempotently.
pub fn init(common: &CommonArgs) -> Result<i32> {
    let s = setup(common, "db_init")?;
    runtime()?.block_on(async {
        let started = Instant::now();
        let db = connect(&s.settings, false).await?;
        let spinner = crate::progress::spinner("schema");
        spinner.set_message(format!(
            "applying {} schema files",
            schema::SCHEMA_FILES.len()
        ));
        let r = schema::init(&db).await;
        spinner.finish_and_clear();
        let r = r?;
        println!(
            "schema ready in database '{}' at {}: {} statements applied, {} views re-created, \
             {} schema files recorded, {} license aliases added, {} objects ({:.1} s)",
            db.dbname(),
            db.url(),
            r.statements,
            r.views_replaced,
            r.files_recorded,
            r.aliases_inserted,
            r.objects,
            started.elapsed().as_secs_f64()
        );
        Ok(0)
    })
}

/// `db tables`: the table registry, `table [engine] → written by; read by views`.
pub fn tables() -> Result<i32> {
    print!("{}", altrepodb_db::registry::render());
    Ok(0)
}

/// `db status`: version, pending files, object counts.
pub fn status(common: &CommonArgs) -> Result<i32> {
    let s = setup(common, "db_status")?;
    runtime()?.block_on(async {
        let db = connect(&s.settings, true).await?;
        let st = schema::status(&db).await?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "database: {} at {} (ClickHouse {})",
            db.dbname(),
            db.url(),
            db.server_version()
        )?;
        writeln!(out, "schema version: {}", st.version)?;
        if st.pending.is_empty() {
            writeln!(out, "pending schema files: none")?;
        } else {
            writeln!(
                out,
                "pending schema files: {} (run `altrepodb db init`)",
                st.pending.join(", ")
            )?;
        }
        let total: u64 = st.by_engine.values().sum();
        writeln!(out, "objects: {total}")?;
        for (engine, n) in &st.by_engine {
            writeln!(out, "  {engine:<24} {n}")?;
        }
        writeln!(out, "user-defined functions: {}", st.functions)?;
        Ok(0)
    })
}

/// `db check`: list every difference; exit 1 if there is any.
pub fn check(common: &CommonArgs) -> Result<i32> {
    let s = setup(common, "db_check")?;
    runtime()?.block_on(async {
        let db = connect(&s.settings, true).await?;
        let diffs = schema::check(&db).await?;
        let mut out = std::io::stdout().lock();
        for d in &diffs {
            writeln!(out, "{d}")?;
        }
        if diffs.is_empty() {
            writeln!(
                out,
                "schema of database '{}' matches: no differences",
                db.dbname()
            )?;
            Ok(0)
        } else {
            writeln!(
                out,
                "{} difference(s) in database '{}'",
                diffs.len(),
                db.dbname()
            )?;
            Ok(1)
        }
    })
}

/// `db manifest`: print the live schema in manifest form.
pub fn manifest(common: &CommonArgs) -> Result<i32> {
    let s = setup(common, "db_manifest")?;
    runtime()?.block_on(async {
        let db = connect(&s.settings, true).await?;
        let entries = schema::live_manifest(&db).await?;
        std::io::stdout().write_all(schema::render_manifest(&entries).as_bytes())?;
        Ok(0)
    })
}
