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

// ---------------------------------------------------------------------------------------
// repocop_loader

fn bz2(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn repocop_record(name: &str, test: &str, status: &str, message: &str) -> String {
    format!(
        r#"{{"pkg_name": "{name}", "pkg_version": "1.0", "pkg_release": "alt1", "pkg_arch": "x86_64",
            "pkgset_name": "sisyphus", "rc_srcpkg_name": "{name}-src", "rc_srcpkg_version": "1.0",
            "rc_srcpkg_release": "alt1", "rc_test_name": "{test}", "rc_test_status": "{status}",
            "rc_test_message": "{message}"}}"#
    )
}

#[test]
fn repocop_loader_loads_a_newer_bzip2_file_only() {
    let h = Home::new();
    let srv = FeedServer::start().unwrap();
    let path = "/pub/repocop/prometheus3/packages.altlinux-sisyphus.json.bz2";
    let url = srv.url(path);
    // Synthetic Repocop results in the documented shape.
    let doc = format!(
        "[{}, {}]",
        repocop_record("foo", "rpm-filesystem-conflict", "ok", ""),
        repocop_record("bar", "unsafe-tmp-usage", "warn", "uses /tmp unsafely")
    );
    srv.put(path, bz2(doc.as_bytes()), Some(T1));
    let out = h.ok("repocop_loader", &["--url", &url]);
    assert_eq!(summary_counts(&out), (2, 2), "{out}");
    let t1 = T1.to_string();
    assert_eq!(
        h.tsv(
            "SELECT pkg_name, pkg_version, pkg_release, pkg_arch, pkgset_name, rc_srcpkg_name, \
             rc_srcpkg_version, rc_srcpkg_release, rc_test_name, toUnixTimestamp(rc_test_date), \
             rc_test_status, rc_test_message FROM PackagesRepocop ORDER BY pkg_name"
        ),
        vec![
            vec![
                "bar",
                "1.0",
                "alt1",
                "x86_64",
                "sisyphus",
                "bar-src",
                "1.0",
                "alt1",
                "unsafe-tmp-usage",
                &t1,
                "warn",
                "uses /tmp unsafely"
            ],
            vec![
                "foo",
                "1.0",
                "alt1",
                "x86_64",
                "sisyphus",
                "foo-src",
                "1.0",
                "alt1",
                "rpm-filesystem-conflict",
                &t1,
                "ok",
                ""
            ],
        ]
    );
    // Unchanged: a HEAD only, nothing written.
    let gets = srv.count("GET", path);
    let out = h.ok("repocop_loader", &["--url", &url]);
    assert_eq!(summary_counts(&out), (0, 0), "{out}");
    assert_eq!(srv.count("GET", path), gets);
    assert_eq!(h.count("PackagesRepocop"), 2);

    // A newer file: its rows.
    let doc = format!(
        "[{}]",
        repocop_record("foo", "rpm-filesystem-conflict", "fail", "x")
    );
    srv.put(path, bz2(doc.as_bytes()), Some(T2));
    let out = h.ok("altrepodb", &["repocop", "load", "--url", &url]);
    assert_eq!(summary_counts(&out), (1, 1), "{out}");
    assert_eq!(
        h.tsv(&format!(
            "SELECT pkg_name, rc_test_status FROM PackagesRepocop WHERE rc_test_date = {T2}"
        )),
        vec![vec!["foo", "fail"]]
    );

    // Bad inputs: nothing written.
    let before = h.count("PackagesRepocop");
    let full = bz2(doc.as_bytes());
    srv.put(
        "/cut.json.bz2",
        full[..full.len() - 10].to_vec(),
        Some(T2 + 10),
    );
    h.fails(
        "repocop_loader",
        &["--url", &srv.url("/cut.json.bz2")],
        &["/cut.json.bz2", "bzip2"],
    );
    let missing = format!(
        "[\n{},\n{}]",
        repocop_record("a", "t", "ok", ""),
        repocop_record("b", "t", "ok", "").replace(r#""rc_test_status": "ok","#, "")
    );
    srv.put("/missing.json.bz2", bz2(missing.as_bytes()), Some(T2 + 10));
    h.fails(
        "repocop_loader",
        &["--url", &srv.url("/missing.json.bz2")],
        &["/missing.json.bz2", "rc_test_status", "line"],
    );
    srv.put("/plain.json.bz2", doc.as_bytes().to_vec(), Some(T2 + 10));
    h.fails(
        "repocop_loader",
        &["--url", &srv.url("/plain.json.bz2")],
        &["/plain.json.bz2", "bzip2"],
    );
    h.fails(
        "repocop_loader",
        &["--url", &srv.url("/none.bz2")],
        &["/none.bz2", "404"],
    );
    assert_eq!(h.count("PackagesRepocop"), before);
}

// ---------------------------------------------------------------------------------------
// bugzilla_loader

const BUG_HEADER: &str = "\"Bug ID\",\"Status\",\"Resolution\",\"Severity\",\"Priority\",\"Product\",\"Version\",\"Hardware\",\"Component\",\"Assignee\",\"Reporter\",\"Summary\",\"Changed\"\n";

fn buglist(rows: &[&str]) -> String {
    let mut s = BUG_HEADER.to_owned();
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

const BUG1: &str = r#"40001,"NEW"," ---","normal","P3","Sisyphus","unstable","all","foo","alice","bob","foo: crashes on ""--help"", see log","2024-03-01 10:20:30""#;
const BUG2: &str = r#"40002,"RESOLVED","FIXED","minor","P5","Sisyphus","unstable","x86_64","bar","carol","dave"," =SUM(A1) is literal","2024-02-29 23:59:59""#;

#[test]
fn bugzilla_loader_writes_new_and_changed_bugs() {
    let h = Home::new();
    let srv = FeedServer::start().unwrap();
    // Synthetic buglist.cgi CSV (the query string is the original's; the server ignores it).
    srv.put(
        "/buglist.cgi?limit=0&query_format=advanced&ctype=csv&human=1&columnlist=bug_status%2Cresolution%2Cbug_severity%2Cpriority%2Cproduct%2Cversion%2Crep_platform%2Ccomponent%2Cassigned_to%2Creporter%2Cshort_desc%2Cchangeddate",
        buglist(&[BUG1, BUG2]),
        None,
    );
    let put = |body: String| {
        srv.put(
            "/buglist.cgi?limit=0&query_format=advanced&ctype=csv&human=1&columnlist=bug_status%2Cresolution%2Cbug_severity%2Cpriority%2Cproduct%2Cversion%2Crep_platform%2Ccomponent%2Cassigned_to%2Creporter%2Cshort_desc%2Cchangeddate",
            body,
            None,
        )
    };
    let url = srv.url("/buglist.cgi");
    let out = h.ok("bugzilla_loader", &["--url", &url]);
    assert_eq!(summary_counts(&out), (2, 2), "{out}");
    let q = "SELECT bz_id, bz_status, bz_resolution, bz_severity, bz_priority, bz_product, \
             bz_version, bz_platform, bz_component, bz_assignee, bz_reporter, bz_summary, \
             toUnixTimestamp(bz_last_changed), bz_assignee_full, bz_reporter_full \
             FROM Bugzilla ORDER BY bz_id, bz_last_changed";
    assert_eq!(
        h.tsv(q),
        vec![
            vec![
                "40001",
                "NEW",
                "",
                "normal",
                "P3",
                "Sisyphus",
                "unstable",
                "all",
                "foo",
                "alice",
                "bob",
                "foo: crashes on \"--help\", see log",
                "1709288430",
                "",
                ""
            ],
            vec![
                "40002",
                "RESOLVED",
                "FIXED",
                "minor",
                "P5",
                "Sisyphus",
                "unstable",
                "x86_64",
                "bar",
                "carol",
                "dave",
                "=SUM(A1) is literal",
                "1709251199",
                "",
                ""
            ],
        ]
    );
    // Unchanged: nothing.
    let out = h.ok("bugzilla_loader", &["--url", &url]);
    assert_eq!(summary_counts(&out), (2, 0), "{out}");
    // One bug changed, one new: two rows.
    let bug1b = BUG1
        .replace("\"NEW\"", "\"ASSIGNED\"")
        .replace("10:20:30", "11:00:00");
    put(buglist(&[
        &bug1b,
        BUG2,
        r#"40003,"NEW"," ---","normal","P3","p10","p10","all","baz","erin","frank","baz","2024-03-02 00:00:00""#,
    ]));
    let out = h.ok("altrepodb", &["bugzilla", "load", "--url", &url]);
    assert_eq!(summary_counts(&out), (3, 2), "{out}");
    assert_eq!(
        h.tsv("SELECT bz_id, bz_status FROM Bugzilla ORDER BY bz_id, bz_last_changed"),
        vec![
            vec!["40001", "NEW"],
            vec!["40001", "ASSIGNED"],
            vec!["40002", "RESOLVED"],
            vec!["40003", "NEW"]
        ]
    );
    // Malformed CSV: one line with the URL and line, nothing written.
    put(format!(
        "{}40004,\"NEW\",\"unterminated\n",
        buglist(&[BUG2])
    ));
    h.fails(
        "bugzilla_loader",
        &["--url", &url],
        &["buglist.cgi", "line 3"],
    );
    put(buglist(&["40005,NEW,,normal,P3,S,u,all,c,a,r,s,yesterday"]));
    h.fails(
        "bugzilla_loader",
        &["--url", &url],
        &["line 2", "changeddate"],
    );
    h.fails(
        "bugzilla_loader",
        &["--url", &srv.url("/nope.cgi")],
        &["/nope.cgi", "404"],
    );
    assert_eq!(h.count("Bugzilla"), 4);
}

// ---------------------------------------------------------------------------------------
// acl_loader

fn apache_pre(entries: &[(&str, &str)]) -> String {
    // Synthetic Apache FancyIndexing page.
    let mut s = String::from(
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html><head><title>Index of /acl</title></head><body>\n<h1>Index of /acl</h1>\n<pre><img src=\"/icons/blank.gif\" alt=\"Icon \"> <a href=\"?C=N;O=D\">Name</a>                    <a href=\"?C=M;O=A\">Last modified</a>      <a href=\"?C=S;O=A\">Size</a>  <a href=\"?C=D;O=A\">Description</a><hr><img src=\"/icons/back.gif\" alt=\"[PARENTDIR]\"> <a href=\"/\">Parent Directory</a>                             -\n",
    );
    for (name, date) in entries {
        s.push_str(&format!(
            "<img src=\"/icons/text.gif\" alt=\"[TXT]\"> <a href=\"{name}\">{name}</a>      {date}  1.2K\n"
        ));
    }
    s.push_str("<hr></pre>\n</body></html>\n");
    s
}

fn nginx_pre(entries: &[(&str, &str)]) -> String {
    let mut s = String::from("<html>\r\n<head><title>Index of /acl/</title></head>\r\n<body>\r\n<h1>Index of /acl/</h1><hr><pre><a href=\"../\">../</a>\r\n");
    for (name, date) in entries {
        s.push_str(&format!(
            "<a href=\"{name}\">{name}</a>                 {date}    1234\r\n"
        ));
    }
    s.push_str("</pre><hr></body>\r\n</html>\r\n");
    s
}

#[test]
fn acl_loader_writes_lines_that_changed() {
    let h = Home::new();
    let srv = FeedServer::start().unwrap();
    srv.put(
        "/acl/",
        apache_pre(&[
            ("list.groups.p10", "2024-03-01 10:15"),
            ("list.packages.p10", "2024-03-01 10:16"),
            ("list.packages.sisyphus", "2024-03-02 08:00"),
            ("README", "2024-01-01 00:00"),
        ]),
        None,
    );
    // Synthetic ACL files.
    srv.put("/acl/list.groups.p10", "@qa\talice bob\n", None);
    srv.put(
        "/acl/list.packages.p10",
        "foo\t@qa  carol\nbar\tdave\n",
        None,
    );
    srv.put("/acl/list.packages.sisyphus", "foo\terin\r\n", None);
    let url = srv.url("/acl");
    let out = h.ok("acl_loader", &[&url]);
    assert_eq!(summary_counts(&out), (4, 4), "{out}");
    let q =
        "SELECT toUnixTimestamp(acl_date), acl_for, acl_branch, arrayStringConcat(acl_list, ',') \
             FROM Acl ORDER BY acl_branch, acl_for, acl_date";
    assert_eq!(
        h.tsv(q),
        vec![
            vec!["1709288100", "@qa", "p10", "alice,bob"],
            vec!["1709288160", "bar", "p10", "dave"],
            vec!["1709288160", "foo", "p10", "@qa,carol"],
            vec!["1709366400", "foo", "sisyphus", "erin"],
        ]
    );
    // Unchanged content (even with newer dates, here an nginx page): nothing.
    srv.put(
        "/acl/",
        nginx_pre(&[
            ("list.groups.p10", "02-Mar-2024 10:15"),
            ("list.packages.p10", "02-Mar-2024 10:16"),
            ("list.packages.sisyphus", "03-Mar-2024 08:00"),
        ]),
        None,
    );
    let out = h.ok("acl_loader", &[&url]);
    assert_eq!(summary_counts(&out), (4, 0), "{out}");
    // One list changed: one row, dated by the listing.
    srv.put(
        "/acl/list.packages.p10",
        "foo\t@qa carol\nbar\tdave frank\n",
        None,
    );
    let out = h.ok("altrepodb", &["acl", "load", &url]);
    assert_eq!(summary_counts(&out), (4, 1), "{out}");
    assert_eq!(
        h.tsv("SELECT toUnixTimestamp(acl_date_last), arrayStringConcat(acl_list, ',') FROM last_acl WHERE acl_branch = 'p10' AND acl_for = 'bar'"),
        vec![vec!["1709374560", "dave,frank"]]
    );
    // Bad inputs: nothing written.
    let before = h.count("Acl");
    srv.put(
        "/acl/list.packages.p10",
        "foo\t@qa carol\nbroken line\n",
        None,
    );
    srv.put("/acl/list.packages.sisyphus", "foo\tnew-owner\n", None);
    h.fails("acl_loader", &[&url], &["list.packages.p10", "line 2"]);
    srv.put("/acl/", "<html><body>maintenance</body></html>", None);
    h.fails("acl_loader", &[&url], &["/acl/", "not a directory listing"]);
    srv.put(
        "/acl/",
        "<pre><a href=\"../\">../</a>\n<a href=\"list.packages.p10\">list.packages.p10</a>  soon  12\n</pre>",
        None,
    );
    h.fails("acl_loader", &[&url], &["/acl/", "line 2"]);
    srv.put(
        "/acl/",
        apache_pre(&[("list.packages.p11", "2024-03-05 00:00")]),
        None,
    );
    h.fails("acl_loader", &[&url], &["list.packages.p11", "404"]);
    assert_eq!(h.count("Acl"), before);
}

// ---------------------------------------------------------------------------------------
// beehive_loader

fn nginx_dir(entries: &[(&str, &str)]) -> String {
    let mut s = String::from("<html>\r\n<head><title>Index of /</title></head>\r\n<body>\r\n<h1>Index</h1><hr><pre><a href=\"../\">../</a>\r\n");
    for (name, date) in entries {
        s.push_str(&format!(
            "<a href=\"{name}\">{name}</a>                 {date}       -\r\n"
        ));
    }
    s.push_str("</pre><hr></body>\r\n</html>\r\n");
    s
}

#[test]
fn beehive_loader_loads_each_arch_on_its_own() {
    let h = Home::new();
    // A synthetic branch snapshot (generator), loaded as sisyphus on 2024-03-01.
    let snap = tempfile::tempdir().unwrap();
    h.ok(
        "altrepodb",
        &[
            "testdata",
            "repo",
            "--out",
            snap.path().to_str().unwrap(),
            "--sources",
            "6",
            "--seed",
            "7",
        ],
    );
    h.ok(
        "altrepodb",
        &[
            "repo",
            "load",
            "sisyphus",
            snap.path().to_str().unwrap(),
            "--date",
            "2024-03-01",
        ],
    );
    let m = altrepodb_testdata::RepoManifest::read(snap.path()).unwrap();
    let mut srcs: Vec<_> = m
        .load_packages()
        .unwrap()
        .into_iter()
        .filter(|p| matches!(p.kind, altrepodb_testdata::manifest::PackageKind::Source))
        .collect();
    srcs.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(srcs.len() >= 4);
    let id = |p: &altrepodb_testdata::manifest::PackageRecord| {
        format!("{}-{}-{}", p.name, p.version, p.release)
    };
    let (ok1, ok2, bad) = (&srcs[0], &srcs[1], &srcs[2]);

    let srv = FeedServer::start().unwrap();
    // Synthetic Beehive tree: Sisyphus/x86_64 consistent (latest is a directory `latest/`),
    // Sisyphus/i586 inconsistent (time.list names a package success/ and error/ do not).
    let updated = "05-Mar-2024 04:10";
    let t_upd = 1_709_611_800i64; // 2024-03-05 04:10 UTC
    srv.put(
        "/beehive/logs/Sisyphus/x86_64/",
        nginx_dir(&[("latest/", updated)]),
        None,
    );
    srv.put(
        "/beehive/logs/Sisyphus/x86_64/latest/time.list",
        format!(
            "{}.src.rpm\t12.5\n{}.src.rpm\t30\n{}.src.rpm\t7.25\n",
            id(ok1),
            id(ok2),
            id(bad)
        ),
        None,
    );
    srv.put(
        "/beehive/logs/Sisyphus/x86_64/latest/success/",
        nginx_dir(&[(&id(ok1), updated), (&id(ok2), updated)]),
        None,
    );
    srv.put(
        "/beehive/logs/Sisyphus/x86_64/latest/error/",
        nginx_dir(&[(&id(bad), updated)]),
        None,
    );
    srv.put(
        "/beehive/stats/Sisyphus/x86_64/ftbfs-since",
        format!("{}\t1709000000\nother\t1\n", bad.name),
        None,
    );
    srv.put(
        "/beehive/logs/Sisyphus/i586/",
        nginx_dir(&[("latest/", updated)]),
        None,
    );
    srv.put(
        "/beehive/logs/Sisyphus/i586/latest/time.list",
        format!("{}.src.rpm\t1\n", id(ok1)),
        None,
    );
    srv.put(
        "/beehive/logs/Sisyphus/i586/latest/success/",
        nginx_dir(&[]),
        None,
    );
    srv.put(
        "/beehive/logs/Sisyphus/i586/latest/error/",
        nginx_dir(&[]),
        None,
    );
    let base = srv.url("/beehive");
    let args = [
        "--url",
        &base,
        "--branches",
        "Sisyphus",
        "--arches",
        "i586,x86_64",
    ];
    let out = h.run("beehive_loader", &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(summary_counts(&stdout), (4, 3), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("sisyphus/i586"));
    let q = "SELECT pkg_hash, pkg_name, pkg_version, pkg_release, pkgset_name, bh_arch, \
             toString(bh_status), bh_build_time, toUnixTimestamp(bh_updated), \
             toUnixTimestamp(bh_ftbfs_since) FROM BeehiveStatus ORDER BY pkg_name";
    let row = |p: &altrepodb_testdata::manifest::PackageRecord, st: &str, t: &str, since: i64| {
        vec![
            p.pkg_hash.to_string(),
            p.name.clone(),
            p.version.clone(),
            p.release.clone(),
            "sisyphus".to_owned(),
            "x86_64".to_owned(),
            st.to_owned(),
            t.to_owned(),
            t_upd.to_string(),
            since.to_string(),
        ]
    };
    assert_eq!(
        h.tsv(q),
        vec![
            row(ok1, "success", "12.5", t_upd),
            row(ok2, "success", "30", t_upd),
            row(bad, "error", "7.25", 1_709_000_000),
        ]
    );
    // Unchanged dates: nothing written (i586 is looked at again: it was never stored).
    let out = h.ok("beehive_loader", &args);
    assert_eq!(summary_counts(&out).1, 0, "{out}");
    assert_eq!(h.count("BeehiveStatus"), 3);

    // A new date with a malformed time.list: one line with the URL and line, nothing written.
    srv.put(
        "/beehive/logs/Sisyphus/x86_64/",
        nginx_dir(&[("latest/", "06-Mar-2024 04:10")]),
        None,
    );
    srv.put(
        "/beehive/logs/Sisyphus/x86_64/latest/time.list",
        format!("{}.src.rpm\t12.5\nbroken\n", id(ok1)),
        None,
    );
    h.fails("beehive_loader", &args, &["latest/time.list", "line 2"]);
    srv.remove("/beehive/logs/Sisyphus/x86_64/latest/error/");
    srv.put(
        "/beehive/logs/Sisyphus/x86_64/latest/time.list",
        format!("{}.src.rpm\t12.5\n", id(ok1)),
        None,
    );
    h.fails("beehive_loader", &args, &["latest/error/", "404"]);
    assert_eq!(h.count("BeehiveStatus"), 3);
}
