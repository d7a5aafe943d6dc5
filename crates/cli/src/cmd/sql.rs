//! `altrepodb sql "QUERY" [--format pretty|tsv|json]`.

use std::io::{IsTerminal, Read, Write};

use anyhow::{Context, Result};

use super::{connect, runtime, setup};
use crate::cli::{SqlArgs, SqlFormat};

/// Runs one query and streams its result to stdout.
pub fn run(args: &SqlArgs) -> Result<i32> {
    let s = setup(&args.common, "sql")?;
    let query = if args.query == "-" {
        let mut q = String::new();
        std::io::stdin()
            .read_to_string(&mut q)
            .context("cannot read the query from standard input")?;
        q
    } else {
        args.query.clone()
    };
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        SqlFormat::Pretty
    } else {
        SqlFormat::Tsv
    });
    let ch_format = match format {
        SqlFormat::Pretty => "PrettyCompactMonoBlock",
        SqlFormat::Tsv => "TabSeparated",
        SqlFormat::Json => "JSONEachRow",
    };
    runtime()?.block_on(async {
        let db = connect(&s.settings, true).await?;
        let query = query.trim().trim_end_matches(';');
        let mut cursor = db
            .client()
            .query_raw(query)
            .fetch_bytes(ch_format)
            .map_err(|e| db.classify(&e, "query"))?;
        let mut out = std::io::stdout().lock();
        while let Some(chunk) = cursor.next().await.map_err(|e| db.classify(&e, "query"))? {
            out.write_all(&chunk)?;
        }
        out.flush()?;
        Ok(0)
    })
}
