//! `altrepodb db init --print [--cluster …]`, `generate completions|man` and the `altrepobot`
//! alias, end to end through the built binary.

use std::process::{Command, Output};

fn run(args: &[&str], home: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_altrepodb"))
        .args(args)
        .env("ALTREPODB_HOME", home)
        .env_remove("ALTREPODB_HOST")
        .env_remove("ALTREPODB_PORT")
        .env_remove("ALTREPODB_CONFIG")
        .output()
        .expect("run altrepodb")
}

#[test]
fn db_init_print_writes_the_reviewed_cluster_ddl_and_refuses_whole_tables() {
    let home = tempfile::tempdir().unwrap();
    let out = run(
        &[
            "db",
            "init",
            "--print",
            "--cluster",
            "altrepo",
            "--replicated",
            "-d",
            "repodb",
        ],
        home.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let golden = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../db/tests/golden/cluster_replicated.sql"
    ))
    .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), golden);

    let single = run(&["db", "init", "--print", "-d", "repodb"], home.path());
    assert!(single.status.success());
    let text = String::from_utf8(single.stdout).unwrap();
    assert!(text.contains("CREATE TABLE IF NOT EXISTS Files\n("));
    assert!(!text.contains("ON CLUSTER") && !text.contains("Replicated"));

    let bad = run(
        &[
            "db",
            "init",
            "--print",
            "--cluster",
            "c",
            "--sharded-by",
            "PackageSet=pkg_hash",
        ],
        home.path(),
    );
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("table 'PackageSet' cannot be sharded"),
        "{err}"
    );
    // Nothing ran against a database: --print never starts the embedded server.
    assert!(!home.path().join("data").exists());
}

#[test]
fn completions_and_man_pages_come_from_the_cli_definition() {
    let home = tempfile::tempdir().unwrap();
    let bash = run(&["generate", "completions", "bash"], home.path());
    assert!(bash.status.success());
    let bash = String::from_utf8(bash.stdout).unwrap();
    assert!(bash.contains("complete -F _altrepodb"), "{bash}");
    assert!(bash.contains("--sharded-by"));
    let dir = home.path().join("man");
    let out = run(&["generate", "man", dir.to_str().unwrap()], home.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let top = std::fs::read_to_string(dir.join("altrepodb.1")).unwrap();
    assert!(
        top.starts_with(".ie") || top.contains(".TH altrepodb 1"),
        "{top}"
    );
    let init = std::fs::read_to_string(dir.join("altrepodb-db-init.1")).unwrap();
    assert!(init.contains("cluster"));
    assert!(dir.join("altrepodb-bot.1").is_file());
    // Hidden commands get no page.
    assert!(!dir.join("altrepodb-aliases.1").exists());
}

#[test]
fn altrepobot_alias_names_a_bad_config_file() {
    let home = tempfile::tempdir().unwrap();
    let link = home.path().join("altrepobot");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_altrepodb"), &link).unwrap();
    let conf = home.path().join("bot.conf");
    std::fs::write(&conf, "[TELEGRAM]\ntoken = 1:x\n").unwrap();
    let out = Command::new(&link)
        .args(["-c", conf.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bot.conf") && err.contains("[TELEGRAM] chatid is missing"),
        "{err}"
    );
}
