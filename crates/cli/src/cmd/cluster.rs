//! `altrepodb db init|check` with `--cluster` and `db init --print`.

use std::collections::BTreeMap;
use std::io::Write;

use altrepodb_db::cluster::{self, ClusterOptions};
use altrepodb_db::schema;
use anyhow::{bail, Result};
use clap::Args;

use super::{connect, runtime, setup};
use crate::cli::CommonArgs;

/// Cluster options shared by `db init` and `db check`.
#[derive(Debug, Clone, Args, Default)]
pub struct ClusterArgs {
    /// Render every statement `ON CLUSTER NAME` (the servers' `remote_servers` name).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Use Replicated…MergeTree engines (replication through Keeper); needs --cluster.
    #[arg(long, requires = "cluster")]
    pub replicated: bool,
    /// Shard these tables over a Distributed table: `TABLE=EXPR,…` (Files, Depends); needs --cluster.
    #[arg(long, value_name = "TABLE=EXPR,…", requires = "cluster")]
    pub sharded_by: Option<String>,
}

impl ClusterArgs {
    /// The checked cluster options, if `--cluster` was given.
    fn options(&self, database: &str) -> Result<Option<ClusterOptions>> {
        let Some(name) = &self.cluster else {
            return Ok(None);
        };
        let sharded = match &self.sharded_by {
            Some(spec) => cluster::parse_sharded_by(spec)?,
            None => BTreeMap::new(),
        };
        Ok(Some(ClusterOptions::new(
            name,
            database,
            self.replicated,
            sharded,
        )?))
    }
}

/// `altrepodb db init`
#[derive(Debug, Args)]
pub struct DbInitArgs {
    /// Database options.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Cluster options.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Write the DDL to standard output instead of applying it.
    #[arg(long)]
    pub print: bool,
}

/// `altrepodb db check`
#[derive(Debug, Args)]
pub struct DbCheckArgs {
    /// Database options.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Cluster options: compare every replica of the cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// `db init [--cluster …] [--print]`.
pub fn init(args: &DbInitArgs) -> Result<i32> {
    if args.cluster.cluster.is_none() && !args.print {
        return super::db::init(&args.common);
    }
    let s = setup(&args.common, "db_init")?;
    let opts = args.cluster.options(&s.settings.dbname)?;
    if args.print {
        let text = match &opts {
            Some(o) => cluster::render_text(o)?,
            None => single_node_text(),
        };
        std::io::stdout().lock().write_all(text.as_bytes())?;
        return Ok(0);
    }
    let Some(opts) = opts else {
        bail!("internal: no cluster options");
    };
    let statements = cluster::render(&opts)?;
    runtime()?.block_on(async {
        let db = connect(&s.settings, false).await?;
        let r = cluster::init(&db, &statements).await?;
        println!(
            "schema ready on cluster '{}' in database '{}' (through {}): {} statements applied \
             on every node, {} schema files recorded, {} license aliases added",
            opts.cluster,
            opts.database,
            db.url(),
            r.statements,
            r.files_recorded,
            r.aliases_inserted
        );
        Ok(0)
    })
}

/// The single-node DDL as `db init` sends it.
fn single_node_text() -> String {
    let mut out = String::new();
    for (file, sql) in schema::SCHEMA_FILES {
        out.push_str(&format!("\n-- {file}\n"));
        for stmt in schema::split_statements(sql) {
            out.push_str(&stmt);
            out.push_str(";\n\n");
        }
    }
    out
}

/// `db check [--cluster …]`: exit 1 on any difference on any node.
pub fn check(args: &DbCheckArgs) -> Result<i32> {
    if args.cluster.cluster.is_none() {
        return super::db::check(&args.common);
    }
    let s = setup(&args.common, "db_check")?;
    let Some(opts) = args.cluster.options(&s.settings.dbname)? else {
        bail!("internal: no cluster options");
    };
    runtime()?.block_on(async {
        let db = connect(&s.settings, true).await?;
        let (nodes, diffs) = cluster::check(&db, &opts).await?;
        let mut out = std::io::stdout().lock();
        if nodes == 0 {
            writeln!(
                out,
                "no node of cluster '{}' has database '{}'",
                opts.cluster, opts.database
            )?;
            return Ok(1);
        }
        for (host, list) in &diffs {
            for d in list {
                writeln!(out, "{host}: {d}")?;
            }
        }
        if diffs.is_empty() {
            writeln!(
                out,
                "schema of database '{}' matches on all {nodes} node(s) of cluster '{}'",
                opts.database, opts.cluster
            )?;
            Ok(0)
        } else {
            writeln!(
                out,
                "{} of {nodes} node(s) of cluster '{}' differ",
                diffs.len(),
                opts.cluster
            )?;
            Ok(1)
        }
    })
}
