//! The enrichment-feed loaders end to end, through their original tool names (the
//! `altrepodb` binary called as `spdx_loader`, `watch_loader`, …) against the embedded
//! database, fed by a local HTTP server on 127.0.0.1 serving synthetic inputs written here
//! from the formats in original-system §8 (no real feed is reachable from the tests).
//! Expected rows are what the inputs say, compared field by field.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use altrepodb_testdata::http_server::{FeedServer, Resource};

fn python() -> String {
    std::env::var("ALTREPODB_PYTHON").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.local/share/altrepodb/venv/bin/python")
    })
}

struct Home {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        for tool in [
            "spdx_loader",
            "watch_loader",
            "repocop_loader",
            "bugzilla_loader",
            "acl_loader",
            "beehive_loader",
        ] {
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_altrepodb"), bin.join(tool)).unwrap();
        }
        let h = Home { dir, bin };
        h.ok("altrepodb", &["db", "init"]);
        h
    }

    fn command(&self, tool: &str, args: &[&str]) -> Command {
        let exe = if tool == "altrepodb" {
            PathBuf::from(env!("CARGO_BIN_EXE_altrepodb"))
        } else {
            self.bin.join(tool)
        };
        let mut c = Command::new(exe);
        c.args(args)
            .env("ALTREPODB_HOME", self.dir.path())
            .env("ALTREPODB_PYTHON", python())
            .env("ALTREPODB_EMBEDDED_IDLE_EXIT", "60")
            .env("TZ", "Asia/Vladivostok")
            .env_remove("ALTREPODB_HOST")
            .env_remove("ALTREPODB_CONFIG");
        c
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        self.command(tool, args).output().unwrap()
    }

    fn ok(&self, tool: &str, args: &[&str]) -> String {
        let out = self.run(tool, args);
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a failing load: non-zero exit, one stderr line containing every `needles`.
    fn fails(&self, tool: &str, args: &[&str], needles: &[&str]) -> String {
        let out = self.run(tool, args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "{tool} {args:?} succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        for n in needles {
            assert!(err.contains(n), "{n:?} not in {err}");
        }
        err
    }

    fn tsv(&self, sql: &str) -> Vec<Vec<String>> {
        self.ok("altrepodb", &["sql", sql, "--format", "tsv"])
            .lines()
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect()
    }

    fn count(&self, table: &str) -> u64 {
        self.tsv(&format!("SELECT count() FROM {table}"))[0][0]
            .parse()
            .unwrap()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("server.pid")) {
            if let Ok(pid) = pid.trim().parse::<i32>() {
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
    }
}

fn summary_counts(out: &str) -> (u64, u64) {
    // "<subject>: N read, M new rows; rows …; S s"
    let line = out.lines().last().unwrap();
    let after = line.split(": ").nth(1).unwrap();
    let read: u64 = after.split(' ').next().unwrap().parse().unwrap();
    let new: u64 = after
        .split(", ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(line.ends_with(" s"), "{line}");
    (read, new)
}

// ---------------------------------------------------------------------------------------
// spdx_loader

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn spdx_loader_loads_a_local_copy_once_and_then_only_changes() {
    let h = Home::new();
    let copy = tempfile::tempdir().unwrap();
    let root = copy.path();
    // Synthetic license-list-data layout.
    write(
        &root.join("json/details/Synth-A.json"),
        r#"{"isDeprecatedLicenseId": false, "licenseText": "Permission is granted.\n",
            "standardLicenseTemplate": "x", "name": "Synthetic A License", "licenseId": "Synth-A",
            "seeAlso": ["https://example.org/a", "https://example.org/a2"], "isOsiApproved": true}"#,
    );
    write(
        &root.join("json/details/Synth-B.json"),
        r#"{"licenseText": "B text", "name": "Synthetic B", "licenseId": "Synth-B",
            "standardLicenseHeader": "Copyright (C) <year>", "seeAlso": []}"#,
    );
    write(
        &root.join("json/exceptions/Synth-Exc.json"),
        r#"{"licenseExceptionText": "Exception text", "name": "Synthetic Exception",
            "licenseExceptionId": "Synth-Exc", "licenseComments": "Typically used with B",
            "seeAlso": ["https://example.org/e"]}"#,
    );
    // Not `*.json`: ignored (the original read any name containing ".json").
    write(&root.join("json/details/old.json.bak"), "not json");
    let g = root.to_str().unwrap();

    let out = h.ok("spdx_loader", &["-g", g]);
    assert_eq!(summary_counts(&out), (3, 3), "{out}");
    let rows = h.tsv(
        "SELECT spdx_id, spdx_name, spdx_text, spdx_header, arrayStringConcat(spdx_urls, ','), \
         toString(spdx_type) FROM SPDXLicenses ORDER BY spdx_id",
    );
    let expect = [
        [
            "Synth-A",
            "Synthetic A License",
            "Permission is granted.\\n",
            "",
            "https://example.org/a,https://example.org/a2",
            "license",
        ],
        [
            "Synth-B",
            "Synthetic B",
            "B text",
            "Copyright (C) <year>",
            "",
            "license",
        ],
        [
            "Synth-Exc",
            "Synthetic Exception",
            "Exception text",
            "Typically used with B",
            "https://example.org/e",
            "exception",
        ],
    ];
    assert_eq!(rows, expect.map(|r| r.map(str::to_owned).to_vec()).to_vec());

    // Unchanged: nothing written.
    let out = h.ok("spdx_loader", &["-g", g]);
    assert_eq!(summary_counts(&out), (3, 0), "{out}");
    assert_eq!(h.count("SPDXLicenses"), 3);

    // One text changed: one row.
    write(
        &root.join("json/details/Synth-B.json"),
        r#"{"licenseText": "B text, revised", "name": "Synthetic B", "licenseId": "Synth-B"}"#,
    );
    let out = h.ok("altrepodb", &["spdx", "load", "-g", g]);
    assert_eq!(summary_counts(&out), (3, 1), "{out}");
    assert_eq!(
        h.tsv("SELECT spdx_text FROM SPDXLicenses WHERE spdx_id = 'Synth-B' ORDER BY spdx_text"),
        vec![
            vec!["B text".to_owned()],
            vec!["B text, revised".to_owned()]
        ]
    );

    // A malformed document: one line naming the file and line, nothing written.
    write(
        &root.join("json/exceptions/Broken.json"),
        "{\n  \"licenseExceptionId\": \"Broken\",\n  \"name\": 5\n}",
    );
    write(
        &root.join("json/details/Synth-C.json"),
        r#"{"licenseText": "C", "name": "C", "licenseId": "Synth-C"}"#,
    );
    h.fails("spdx_loader", &["-g", g], &["Broken.json", "line 3"]);
    assert_eq!(h.count("SPDXLicenses"), 4);
    // Not a copy at all.
    h.fails(
        "spdx_loader",
        &["-g", "/nonexistent/spdx"],
        &["/nonexistent/spdx"],
    );
}

// ---------------------------------------------------------------------------------------
// watch_loader

const T1: i64 = 1_709_294_400; // 2024-03-01 12:00:00 UTC
const T2: i64 = 1_709_380_800; // 2024-03-02 12:00:00 UTC

#[test]
fn watch_loader_loads_when_newer_only() {
    let h = Home::new();
    let srv = FeedServer::start().unwrap();
    let url = srv.url("/pub/watch/watch-total.txt");
    // Synthetic watch-total.txt: CRLF line ends, a blank line.
    srv.put(
        "/pub/watch/watch-total.txt",
        "alice\tfoo\t1.0\t1.2\thttps://example.org/foo-1.2.tar.gz\r\n\r\nbob\tbar-utils\t0.9\t1.0\thttp://example.net/bar/\r\n",
        Some(T1),
    );
    let out = h.ok("watch_loader", &["--url", &url]);
    assert_eq!(summary_counts(&out), (2, 2), "{out}");
    let q = "SELECT acl, pkg_name, old_version, new_version, url, toUnixTimestamp(date_update) \
             FROM PackagesWatch ORDER BY date_update, pkg_name";
    let t1 = T1.to_string();
    assert_eq!(
        h.tsv(q),
        vec![
            vec![
                "bob",
                "bar-utils",
                "0.9",
                "1.0",
                "http://example.net/bar/",
                &t1
            ],
            vec![
                "alice",
                "foo",
                "1.0",
                "1.2",
                "https://example.org/foo-1.2.tar.gz",
                &t1
            ],
        ]
    );

    // Unchanged (same Last-Modified): nothing written, body not needed.
    let out = h.ok("watch_loader", &["--url", &url]);
    assert_eq!(summary_counts(&out), (0, 0), "{out}");
    assert_eq!(h.count("PackagesWatch"), 2);

    // A newer file: its rows, dated by its Last-Modified.
    srv.put(
        "/pub/watch/watch-total.txt",
        "alice\tfoo\t1.0\t1.3\thttps://example.org/foo-1.3.tar.gz\n",
        Some(T2),
    );
    let out = h.ok("altrepodb", &["watch", "load", "--url", &url]);
    assert_eq!(summary_counts(&out), (1, 1), "{out}");
    let t2 = T2.to_string();
    assert_eq!(
        h.tsv(&format!(
            "SELECT pkg_name, new_version, toUnixTimestamp(date_update) FROM PackagesWatch \
             WHERE date_update = {T2}"
        )),
        vec![vec!["foo", "1.3", &t2]]
    );

    // Bad inputs: nothing written.
    let before = h.count("PackagesWatch");
    h.fails(
        "watch_loader",
        &["--url", &srv.url("/missing.txt")],
        &["/missing.txt", "404"],
    );
    srv.put("/bad.txt", "a\tb\tc\td\te\nonly\ttwo\n", Some(T2 + 10));
    h.fails(
        "watch_loader",
        &["--url", &srv.url("/bad.txt")],
        &["/bad.txt", "line 2"],
    );
    srv.put("/nolm.txt", "a\tb\tc\td\te\n", None);
    h.fails(
        "watch_loader",
        &["--url", &srv.url("/nolm.txt")],
        &["/nolm.txt", "Last-Modified"],
    );
    srv.set(
        "/cut.txt",
        Resource {
            status: 200,
            body: b"a\tb\tc\td\te\nf\tg\th\ti\tj\n".to_vec(),
            last_modified: Some(T2 + 20),
            cut_at: Some(12),
            ..Resource::default()
        },
    );
    h.fails(
        "watch_loader",
        &["--url", &srv.url("/cut.txt")],
        &["/cut.txt"],
    );
    srv.set(
        "/moved.txt",
        Resource {
            status: 500,
            ..Resource::default()
        },
    );
    h.fails(
        "watch_loader",
        &["--url", &srv.url("/moved.txt")],
        &["/moved.txt", "500"],
    );
    assert_eq!(h.count("PackagesWatch"), before);

    // A redirect is followed.
    srv.set(
        "/old/watch.txt",
        Resource {
            status: 301,
            location: Some("/pub/watch/watch-total.txt".into()),
            ..Resource::default()
        },
    );
    let out = h.ok("watch_loader", &["--url", &srv.url("/old/watch.txt")]);
    assert_eq!(summary_counts(&out), (0, 0), "{out}");
}
