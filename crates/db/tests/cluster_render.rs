//! The cluster schema: every rendered statement parses in the real engine, the rendering is
//! deterministic (golden files, regenerated with `ALTREPODB_BLESS=1`), and the single-node
//! statements are untouched.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use altrepodb_db::cluster::{self, ClusterOptions};

fn golden_cases() -> Vec<(&'static str, ClusterOptions)> {
    let sharded = cluster::parse_sharded_by("Files=pkg_hash,Depends=pkg_hash").unwrap();
    vec![
        (
            "cluster_replicated.sql",
            ClusterOptions::new("altrepo", "repodb", true, BTreeMap::new()).unwrap(),
        ),
        (
            "cluster_replicated_sharded.sql",
            ClusterOptions::new("altrepo", "repodb", true, sharded).unwrap(),
        ),
    ]
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

#[test]
fn rendering_matches_the_reviewed_golden_files() {
    let bless = std::env::var_os("ALTREPODB_BLESS").is_some_and(|v| v == "1");
    for (name, opts) in golden_cases() {
        let text = cluster::render_text(&opts).unwrap();
        // Deterministic: a second rendering is byte-identical.
        assert_eq!(text, cluster::render_text(&opts).unwrap());
        let path = golden_path(name);
        if bless {
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; regenerate with ALTREPODB_BLESS=1 and review",
                path.display()
            )
        });
        assert!(
            golden == text,
            "{} differs from the rendering; if the schema changed on purpose, regenerate with \
             ALTREPODB_BLESS=1 cargo test -p altrepodb-db --test cluster_render and review the diff",
            path.display()
        );
    }
}

#[test]
fn single_node_schema_is_what_db_init_sends() {
    // `db init` without --cluster sends split_statements of every file, unchanged: the rendering
    // with no cluster options must not exist as a code path that touches them.
    let single = cluster::single_node_statements();
    for stmt in &single {
        assert!(!stmt.contains("ON CLUSTER"), "{stmt}");
        assert!(!stmt.contains("Replicated"), "{stmt}");
        assert!(!stmt.contains("Distributed"), "{stmt}");
    }
    // The expected single-node manifest is the one `db check` uses, unchanged by cluster work.
    let manifest = altrepodb_db::schema::parse_manifest(altrepodb_db::schema::EXPECTED_MANIFEST);
    assert!(manifest
        .iter()
        .all(|e| !format!("{e:?}").contains("Replicated")));
}

#[derive(Debug, serde::Deserialize, clickhouse::Row)]
struct Formatted {
    text: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rendered_statement_is_accepted_by_the_engine_parser() {
    let server = common::TestServer::start();
    let client = server.client();
    let mut checked = 0usize;
    for (name, opts) in golden_cases() {
        for st in cluster::render(&opts).unwrap() {
            let formatted = client
                .query("SELECT formatQuery(?) AS text")
                .bind(st.sql.as_str())
                .fetch_one::<Formatted>()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "{name}, {}: the parser rejected\n{}\n{e}",
                        st.source, st.sql
                    )
                })
                .text;
            // The engine's own formatting keeps the cluster clause and the engines we rendered.
            assert!(
                formatted.contains(&format!("ON CLUSTER {}", opts.cluster)),
                "{formatted}"
            );
            if st.sql.contains("ENGINE = Replicated") {
                assert!(formatted.contains("ENGINE = Replicated"), "{formatted}");
                assert!(
                    formatted
                        .contains("'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"),
                    "{formatted}"
                );
            }
            if st.sql.contains("ENGINE = Distributed") {
                assert!(
                    formatted.contains("ENGINE = Distributed('altrepo', 'repodb'"),
                    "{formatted}"
                );
            }
            checked += 1;
        }
    }
    // Both cases render CREATE DATABASE plus every single-node statement (+2 Distributed),
    // except 0012's ALTER … non_replicated_deduplication_window, which replicated tables do
    // not need (they deduplicate inserts themselves).
    let statements = cluster::single_node_statements();
    let single = statements.len();
    let alters = statements
        .iter()
        .filter(|s| s.trim_start().starts_with("ALTER TABLE "))
        .count();
    assert_eq!(alters, 5, "0012_insert_dedup.sql has five ALTER statements");
    assert_eq!(checked, 2 * (single + 1 - alters) + 2);
    println!("TEST: {checked} rendered statements accepted by the engine's parser");
}
