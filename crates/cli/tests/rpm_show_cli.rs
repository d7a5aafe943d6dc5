//! `altrepodb rpm show` as a process, on the real corpus and on a corrupt file.

use std::path::PathBuf;
use std::process::Command;

fn testdata() -> Option<PathBuf> {
    altrepodb_testdata::corpus::root_for_test()
}

#[test]
fn json_lines_for_good_files_and_one_error_line_for_a_corrupt_one() {
    let Some(td) = testdata() else {
        return;
    };
    let good = td.join("rpm/fetch-alt-squidfw/squid-helpers-7.3-alt1.x86_64.rpm");
    let bad = td.join("rpm/fetch-scancode-truncated/broken.rpm");
    let src = td.join("rpm/debian-rpm-4.18-tests/hello-1.0-1.src.rpm");
    let out = Command::new(env!("CARGO_BIN_EXE_altrepodb"))
        .args(["rpm", "show", "--json", "--files"])
        .args([&good, &bad, &src])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a corrupt file makes the exit code 1"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("broken.rpm") && stderr.contains("offset"),
        "{stderr}"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "the other files are still shown, in order");
    let squid = &lines[0];
    assert_eq!(squid["name"], "squid-helpers");
    assert_eq!(squid["version"], "7.3");
    assert_eq!(squid["release"], "alt1");
    assert!(squid["epoch"].is_null());
    assert_eq!(
        squid["file_count"].as_u64(),
        squid["files"].as_array().map(|a| a.len() as u64)
    );
    for key in [
        "file",
        "arch",
        "disttag",
        "sourcerpm",
        "sourcepackage",
        "buildtime",
        "buildhost",
        "packager",
        "packager_email",
        "license",
        "group",
        "summary",
        "url",
        "vendor",
        "distribution",
        "pkg_hash",
        "sha1header",
        "sigmd5",
        "filesize",
        "requires",
        "provides",
        "conflicts",
        "obsoletes",
        "changelog",
    ] {
        assert!(squid.get(key).is_some(), "missing {key}");
    }
    let req = &squid["requires"][0];
    assert!(
        req.get("name").is_some() && req.get("version").is_some() && req.get("flags").is_some()
    );
    let ch = &squid["changelog"][0];
    assert!(ch.get("date").is_some() && ch.get("evr").is_some() && ch.get("text").is_some());
    let f = &squid["files"][0];
    for key in ["name", "size", "mode", "md5", "class", "linkto"] {
        assert!(f.get(key).is_some(), "file entry lacks {key}");
    }
    // Classes as librpm reports them (directories and symlinks have no class string here),
    // mapped by the original's prefix rule — what the loaders store.
    let rpm = Command::new("rpm")
        .args(["-qp", "--nosignature", "--nodigest", "--qf"])
        .arg("[%{FILENAMES}\t%{FILEMODES}\t%{FILECLASS}\n]")
        .arg(&good)
        .output()
        .expect("Debian rpm is installed");
    let want: Vec<String> = String::from_utf8_lossy(&rpm.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.splitn(3, '\t').collect();
            let class = [("directory", "directory"), ("symbolic link to", "symlink")]
                .iter()
                .find(|(p, _)| f[2].starts_with(p))
                .map_or("file", |(_, c)| c);
            format!("{}\t{}\t{class}", f[0], f[1])
        })
        .collect();
    let got: Vec<String> = squid["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}\t{}\t{}",
                f["name"].as_str().unwrap(),
                f["mode"],
                f["class"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(got, want);
    assert!(want.iter().any(|l| !l.ends_with("\tfile")));
    assert_eq!(
        lines[1]["sourcepackage"].as_u64().unwrap_or(
            lines[1]["sourcepackage"]
                .as_bool()
                .map(u64::from)
                .unwrap_or(9)
        ),
        1
    );
}
