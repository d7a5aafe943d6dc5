//! Every view and materialized view of the schema answers a query of the shape the ALTRepo
//! API sends (where the API reads the object, its query text) (schema.md §2.0 lists which API areas read which object) on a loaded database,
//! with the rows the loaded fixture implies. Expected rows come from the generators' manifests,
//! Debian's `rpm -qp` and the rows the fixture inserted, never from our own reads.
//!
//! Each query is the first query of a server process of its own: the engine plans joins
//! differently before it has seen a query (issue 11 §3: `last_packages_with_source` failed
//! with "Not found column __table3.pkg_hash" only then).
#![allow(clippy::type_complexity)] // expected rows as nested tuples, read next to the SQL

mod common;
#[path = "api_views/fixture.rs"]
mod fixture;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use altrepodb_testdata::manifest::{PackageKind, PackageRecord};
use common::rpm_qf;
use fixture::*;

/// One check: the objects it covers, the query, the expected rows (any order).
struct Check {
    objects: &'static [&'static str],
    sql: String,
    want: Vec<String>,
}

fn check(objects: &'static [&'static str], sql: impl Into<String>, want: Vec<String>) -> Check {
    Check {
        objects,
        sql: sql.into(),
        want,
    }
}

/// Rows as TSV lines, each innermost `[…]` array's elements sorted (the API aggregates with
/// groupUniqArray, whose order is unspecified), then the lines sorted.
fn normalized(lines: impl IntoIterator<Item = String>) -> Vec<String> {
    fn sort_arrays(line: &str) -> String {
        let mut out = String::new();
        let mut rest = line;
        while let Some(open) = rest.find('[') {
            let after = &rest[open + 1..];
            match after.find([']', '[']) {
                Some(i) if after.as_bytes()[i] == b']' && !after[..i].contains('(') => {
                    out.push_str(&rest[..=open]);
                    let mut items: Vec<&str> = after[..i].split(',').collect();
                    items.sort_unstable();
                    out.push_str(&items.join(","));
                    out.push(']');
                    rest = &after[i + 1..];
                }
                _ => {
                    out.push_str(&rest[..=open]);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
    let mut v: Vec<String> = lines.into_iter().map(|l| sort_arrays(&l)).collect();
    v.sort();
    v
}

/// Runs `sql` as the first query of a new server process on the fixture's database.
async fn first_query(home: &Path, sql: &str) -> Result<Vec<String>, String> {
    let (server, db) = start(home).await;
    assert!(
        server.started_by_us(),
        "each query gets a server process of its own"
    );
    let got = db.fetch_text(sql, "TabSeparated").await;
    stop(server, db).await;
    let bytes = got.map_err(|e| e.to_string())?;
    Ok(normalized(
        String::from_utf8(bytes).unwrap().lines().map(str::to_owned),
    ))
}

fn list<T: std::fmt::Display>(v: impl IntoIterator<Item = T>) -> String {
    let s: Vec<String> = v.into_iter().map(|x| x.to_string()).collect();
    if s.is_empty() {
        "(0)".into()
    } else {
        format!("({})", s.join(", "))
    }
}

fn quoted<'a>(v: impl IntoIterator<Item = &'a str>) -> String {
    let s: Vec<String> = v.into_iter().map(|x| format!("'{x}'")).collect();
    format!("({})", s.join(", "))
}

fn arr<'a>(v: impl IntoIterator<Item = &'a str>) -> String {
    let s: BTreeSet<String> = v.into_iter().map(|x| format!("'{x}'")).collect();
    format!("[{}]", s.into_iter().collect::<Vec<_>>().join(","))
}

/// `YYYY-MM-DD` of a Unix time (UTC).
fn ymd(t: u32) -> String {
    let z = i64::from(t / 86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD hh:mm:ss` of a Unix time (UTC, the embedded server's zone).
fn datetime(t: u32) -> String {
    let s = t % 86_400;
    format!(
        "{} {:02}:{:02}:{:02}",
        ymd(t),
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// The e-mail in a PACKAGER or changelog name: inside `<…>`, `" at "` read as `@`
/// (original-system §5, packager rule).
fn email(s: &str) -> String {
    s.split_once('<')
        .and_then(|(_, r)| r.split_once('>'))
        .map(|(e, _)| e.replace(" at ", "@"))
        .unwrap_or_default()
}

fn packager_name(s: &str) -> String {
    s.split_once('<').map_or(s, |(n, _)| n).trim().to_owned()
}

fn sources(recs: &[PackageRecord]) -> impl Iterator<Item = &PackageRecord> {
    recs.iter().filter(|r| r.kind == PackageKind::Source)
}

fn binaries(recs: &[PackageRecord]) -> impl Iterator<Item = &PackageRecord> {
    recs.iter().filter(|r| r.kind == PackageKind::Binary)
}

/// `(name, mode, class, size)` of every file of an RPM, per Debian's rpm; classes mapped by
/// the original's prefix rule (a string that is no file-type word is a regular file).
fn rpm_files(path: &Path) -> Vec<(String, u32, &'static str)> {
    rpm_qf(path, "[%{FILENAMES}\t%{FILEMODES}\t%{FILECLASS}\n]")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.splitn(3, '\t').collect();
            let class = [
                ("directory", "directory"),
                ("symbolic link to", "symlink"),
                ("socket", "socket"),
                ("character special", "char"),
                ("block special", "block"),
                ("fifo (named pipe)", "fifo"),
            ]
            .iter()
            .find(|(p, _)| f[2].starts_with(p))
            .map_or("file", |(_, c)| c);
            (f[0].to_owned(), f[1].parse().unwrap(), class)
        })
        .collect()
}

/// The directory of a path as the API's `extract(file_name, '^(.+)/([^/]+)$')` gives it.
fn dir_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) if i > 0 && i + 1 < path.len() => &path[..i],
        _ => "",
    }
}

/// The package-set tree of a snapshot: (depth, node, parent node, packages in the node).
fn tree(root: &str, recs: &[PackageRecord]) -> Vec<(u8, String, String, usize)> {
    let mut t = vec![
        (0, root.to_owned(), String::new(), 0),
        (1, "srpm".into(), root.to_owned(), sources(recs).count()),
    ];
    let mut by_arch: BTreeMap<&str, usize> = BTreeMap::new();
    for r in binaries(recs) {
        *by_arch.entry(&r.arch_dir).or_default() += 1;
    }
    for (arch, n) in by_arch {
        t.push((1, arch.to_owned(), root.to_owned(), 0));
        t.push((2, "classic".into(), arch.to_owned(), n));
    }
    t
}

fn checks(f: &Fixture) -> Vec<Check> {
    let branches = [
        ("sisyphus", SIS_DATE, &f.d2, &f.d2_dir),
        ("p10", P10_DATE, &f.d1, &f.d1_dir),
    ];
    let mut all: BTreeMap<u64, &PackageRecord> = BTreeMap::new();
    for r in f.d1.iter().chain(&f.d2) {
        all.insert(r.pkg_hash, r);
    }
    let src_name = |h: u64| all.get(&h).map(|r| r.name.clone()).unwrap_or_default();
    let mut out = Vec::new();

    // --- branch state: StaticLastPackages and the views over it ---
    out.push(check(
        &["static_last_packages", "mv_last_packages_stage2"],
        "SELECT pkg_hash, pkg_name, pkg_version, pkg_release FROM static_last_packages \
         WHERE pkgset_name = 'p10' AND pkg_sourcepackage = 1",
        sources(&f.d1)
            .map(|r| format!("{}\t{}\t{}\t{}", r.pkg_hash, r.name, r.version, r.release))
            .collect(),
    ));
    out.push(check(
        &["mv_last_packages_stage1"],
        "SELECT pkgset_name, toDate(pkgset_date) FROM last_packages_stage1",
        [
            ("p10", P10_DATE),
            ("sisyphus", SIS_DATE),
            ("sisyphus", SIS_OLD_DATE),
        ]
        .iter()
        .take(if f.with_old { 3 } else { 2 })
        .map(|(b, d)| format!("{b}\t{d}"))
        .collect(),
    ));
    out.push(check(
        &["last_packages"],
        "SELECT pkg_hash, pkg_name, pkg_arch, pkg_version, pkg_release, pkg_cs, toDate(pkgset_date) \
         FROM last_packages WHERE pkgset_name = 'sisyphus' AND pkg_sourcepackage = 0 AND pkg_name NOT LIKE '%-debuginfo'",
        binaries(&f.d2)
            .map(|r| {
                format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{SIS_DATE}",
                    r.pkg_hash, r.name, r.pkg_arch, r.version, r.release, r.sha1header
                )
            })
            .collect(),
    ));
    let dep_pkgs: Vec<&PackageRecord> = binaries(&f.d1).take(3).collect();
    let mut deps = BTreeSet::new();
    for r in &dep_pkgs {
        let path = f.d1_dir.join(&r.path);
        for (kind, tag) in [
            ("require", "REQUIRENAME"),
            ("provide", "PROVIDENAME"),
            ("conflict", "CONFLICTNAME"),
            ("obsolete", "OBSOLETENAME"),
        ] {
            for name in rpm_qf(&path, &format!("[%{{{tag}}}\n]")).lines() {
                deps.insert(format!("{}\t{kind}\t{name}", r.pkg_hash));
            }
        }
    }
    out.push(check(
        &["last_depends"],
        format!(
            "SELECT DISTINCT pkg_hash, dp_type, dp_name FROM last_depends WHERE pkg_hash IN {}",
            list(dep_pkgs.iter().map(|r| r.pkg_hash))
        ),
        deps.into_iter().collect(),
    ));

    // The API query of issue 11 §3 (task area), for sources of both branches.
    let names: BTreeSet<String> = sources(&f.d2)
        .take(4)
        .chain(sources(&f.d1).skip(4).take(3))
        .map(|r| r.name.clone())
        .collect();
    let mut groups: BTreeMap<(String, String, String, String), Vec<&PackageRecord>> =
        BTreeMap::new();
    for (branch, _, recs, _) in &branches {
        for b in binaries(recs) {
            let s = src_name(b.srcrpm_hash);
            if names.contains(&s) && !b.name.ends_with("-debuginfo") {
                groups
                    .entry((branch.to_string(), s, b.version.clone(), b.release.clone()))
                    .or_default()
                    .push(b);
            }
        }
    }
    let one = |v: Vec<String>, what: &str| {
        let set: BTreeSet<String> = v.into_iter().collect();
        assert_eq!(
            set.len(),
            1,
            "fixture: {what} differs within a group: {set:?}"
        );
        set.into_iter().next().unwrap()
    };
    out.push(check(
        &["last_packages_with_source"],
        format!(
            "SELECT DISTINCT pkgset_name, sourcepkgname, toString(any(pkgset_date)) AS pkgset_date, \
             groupUniqArray(pkg_name) AS pkgnames, pkg_version, pkg_release, any(pkg_disttag), any(pkg_packager_email), \
             toString(toDateTime(any(pkg_buildtime))) AS buildtime, groupUniqArray(pkg_arch) \
             FROM last_packages_with_source \
             WHERE sourcepkgname IN {} AND pkg_name NOT LIKE '%-debuginfo' AND pkgset_name IN ('sisyphus', 'p10') \
             GROUP BY pkgset_name, sourcepkgname, pkg_version, pkg_release ORDER BY pkgset_date DESC",
            quoted(names.iter().map(String::as_str))
        ),
        groups
            .iter()
            .map(|((branch, s, v, rel), bins)| {
                let date = if branch == "sisyphus" { SIS_DATE } else { P10_DATE };
                format!(
                    "{branch}\t{s}\t{date} 00:00:00\t{}\t{v}\t{rel}\t{}\t{}\t{}\t{}",
                    arr(bins.iter().map(|b| b.name.as_str())),
                    one(bins.iter().map(|b| b.disttag.clone()).collect(), "disttag"),
                    one(bins.iter().map(|b| email(&b.packager)).collect(), "packager"),
                    one(bins.iter().map(|b| datetime(b.buildtime)).collect(), "buildtime"),
                    arr(bins.iter().map(|b| b.pkg_arch.as_str())),
                )
            })
            .collect(),
    ));
    // The package area's shapes: hashes by source names, branch and arches; all names of a branch.
    out.push(check(
        &["last_packages_with_source"],
        format!(
            "SELECT pkg_hash FROM last_packages_with_source WHERE sourcepkgname IN {} \
             AND pkgset_name = 'sisyphus' AND pkg_arch IN ('x86_64', 'noarch') AND pkg_name NOT LIKE '%-debuginfo'",
            quoted(names.iter().map(String::as_str))
        ),
        binaries(&f.d2)
            .filter(|b| {
                names.contains(&src_name(b.srcrpm_hash))
                    && ["x86_64", "noarch"].contains(&b.pkg_arch.as_str())
            })
            .map(|b| b.pkg_hash.to_string())
            .collect(),
    ));
    out.push(check(
        &["last_packages_with_source"],
        "SELECT pkg_name, sourcepkgname FROM last_packages_with_source WHERE pkgset_name = 'p10'",
        binaries(&f.d1)
            .filter(|b| b.srcrpm_hash != 0)
            .map(|b| format!("{}\t{}", b.name, src_name(b.srcrpm_hash)))
            .collect(),
    ));
    let srcs: Vec<u64> = sources(&f.d2).take(3).map(|r| r.pkg_hash).collect();
    let mut aps = BTreeSet::new();
    for b in all.values().filter(|r| {
        r.kind == PackageKind::Binary
            && srcs.contains(&r.srcrpm_hash)
            && ["x86_64", "noarch"].contains(&r.pkg_arch.as_str())
    }) {
        aps.insert(format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            src_name(b.srcrpm_hash),
            b.srcrpm_hash,
            b.version,
            b.release,
            b.name,
            b.pkg_arch,
            b.pkg_hash
        ));
    }
    out.push(check(
        &["all_packages_with_source"],
        format!(
            "WITH all_sources AS (SELECT pkg_hash AS srcpkg_hash FROM Packages WHERE pkg_hash IN {}) \
             SELECT DISTINCT sourcepkgname AS subtask_srpm_name, pkg_srcrpm_hash, pkg_version, pkg_release, \
             pkg_name AS binpkg_name, pkg_arch AS binpkg_arch, pkg_hash \
             FROM all_packages_with_source INNER JOIN all_sources AS S ON pkg_srcrpm_hash = S.srcpkg_hash \
             WHERE (pkg_sourcepackage = 0) AND (pkg_arch IN ('x86_64', 'noarch'))",
            list(&srcs)
        ),
        aps.into_iter().collect(),
    ));

    // --- package inventory views and the MVs behind Files, FileNames, Specfiles, … ---
    let some: Vec<&PackageRecord> = f.d2.iter().step_by(5).take(6).collect();
    out.push(check(
        &["PackageHash_view"],
        format!(
            "SELECT pkgh_mmh, pkgh_md5 FROM PackageHash_view WHERE pkgh_mmh IN {}",
            list(some.iter().map(|r| r.pkg_hash))
        ),
        some.iter()
            .map(|r| format!("{}\t{}", r.pkg_hash, r.md5))
            .collect(),
    ));
    let file_pkgs: Vec<&PackageRecord> = binaries(&f.d2).take(4).collect();
    let files: BTreeMap<u64, Vec<(String, u32, &str)>> = file_pkgs
        .iter()
        .map(|r| (r.pkg_hash, rpm_files(&f.d2_dir.join(&r.path))))
        .collect();
    out.push(check(
        &["Files_view", "mv_filenames_filename"],
        format!(
            "SELECT pkg_hash, groupUniqArray(file_name) FROM Files_view WHERE pkg_hash IN {} GROUP BY pkg_hash",
            list(files.keys())
        ),
        files
            .iter()
            .filter(|(_, fs)| !fs.is_empty())
            .map(|(h, fs)| format!("{h}\t{}", arr(fs.iter().map(|x| x.0.as_str()))))
            .collect(),
    ));
    let mut fnames = BTreeSet::new();
    for (name, _, _) in files.values().flatten() {
        fnames.insert(name.clone());
        fnames.insert(dir_of(name).to_owned());
    }
    out.push(check(
        &["mv_files", "mv_filenames_filedir", "mv_filenames_filename"],
        format!(
            "SELECT DISTINCT fn_name FROM FileNames WHERE fn_hash IN (SELECT file_hashdir FROM Files WHERE pkg_hash IN {0}) \
             OR fn_hash IN (SELECT file_hashname FROM Files WHERE pkg_hash IN {0})",
            list(files.keys())
        ),
        fnames.into_iter().collect(),
    ));
    // The "unpackaged directories" page: directories of regular files that no package of
    // the branch owns as a directory (depends on Files.file_class).
    let p10_bins: Vec<&PackageRecord> = binaries(&f.d1)
        .filter(|r| ["x86_64", "noarch"].contains(&r.pkg_arch.as_str()))
        .collect();
    let p10_files: Vec<(&PackageRecord, Vec<(String, u32, &str)>)> = p10_bins
        .iter()
        .map(|r| (*r, rpm_files(&f.d1_dir.join(&r.path))))
        .collect();
    let owned: BTreeSet<&str> = p10_files
        .iter()
        .flat_map(|(_, fs)| {
            fs.iter()
                .filter(|x| x.2 == "directory")
                .map(|x| x.0.as_str())
        })
        .collect();
    let mut unpackaged: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for (r, fs) in &p10_files {
        for (name, _, class) in fs {
            if *class == "file" && !owned.contains(dir_of(name)) {
                unpackaged
                    .entry(format!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        r.name,
                        dir_of(name),
                        r.version,
                        r.release,
                        r.epoch.unwrap_or(0),
                        packager_name(&r.packager),
                        email(&r.packager)
                    ))
                    .or_default()
                    .insert(&r.pkg_arch);
            }
        }
    }
    assert!(!unpackaged.is_empty(), "fixture: some directory is unowned");
    out.push(check(
        &["Files_view", "mv_files"],
        "SELECT DISTINCT Pkg.pkg_name, extract(file_name, '^(.+)/([^/]+)$') AS dir, Pkg.pkg_version, Pkg.pkg_release, \
         Pkg.pkg_epoch, Pkg.pkg_packager, Pkg.pkg_packager_email, groupUniqArray(Pkg.pkg_arch) \
         FROM Files_view LEFT JOIN (SELECT pkg_hash, pkg_name, pkg_version, pkg_release, pkg_epoch, pkg_disttag, \
         pkg_packager_email, pkg_packager, pkg_arch FROM Packages) AS Pkg USING pkg_hash \
         WHERE file_class = 'file' AND pkg_hash IN (SELECT pkg_hash FROM last_packages WHERE pkgset_name = 'p10' \
         AND pkg_packager_email LIKE '%' AND pkg_sourcepackage = 0 AND pkg_arch IN ('x86_64', 'noarch')) \
         AND file_hashdir NOT IN (SELECT file_hashname FROM Files WHERE file_class = 'directory' AND pkg_hash IN \
         (SELECT pkg_hash FROM last_packages WHERE pkgset_name = 'p10' AND pkg_sourcepackage = 0 AND pkg_arch IN ('x86_64', 'noarch'))) \
         GROUP BY (Pkg.pkg_name, dir, Pkg.pkg_version, Pkg.pkg_release, Pkg.pkg_epoch, Pkg.pkg_packager, Pkg.pkg_packager_email) \
         ORDER BY pkg_packager_email",
        unpackaged
            .into_iter()
            .map(|(k, archs)| format!("{k}\t{}", arr(archs)))
            .collect(),
    ));
    let chl: Vec<&PackageRecord> = f.d2.iter().step_by(3).take(5).collect();
    out.push(check(
        &["PackageChangelog_view"],
        format!(
            "SELECT pkg_hash, arrayMap(x -> (toString(x.1), x.2, x.3, length(x.4)), changelog) \
             FROM PackageChangelog_view WHERE pkg_hash IN {}",
            list(chl.iter().map(|r| r.pkg_hash))
        ),
        chl.iter()
            .map(|r| {
                let items: Vec<String> = r
                    .changelog
                    .iter()
                    .map(|c| {
                        format!(
                            "('{}','{}','{}',{})",
                            ymd(c.date),
                            c.name,
                            c.evr,
                            c.text.len()
                        )
                    })
                    .collect();
                format!("{}\t[{}]", r.pkg_hash, items.join(","))
            })
            .collect(),
    ));
    out.push(check(
        &["PackagesWithLastChangelog_view"],
        format!(
            "SELECT pkg_hash, pkg_name, pkg_changelog_date, pkg_changelog_name, pkg_changelog_evr, length(pkg_changelog_message) \
             FROM PackagesWithLastChangelog_view WHERE pkg_hash IN {}",
            list(chl.iter().map(|r| r.pkg_hash))
        ),
        chl.iter()
            .map(|r| {
                let c = &r.changelog[0];
                format!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    r.pkg_hash,
                    r.name,
                    ymd(c.date),
                    c.name,
                    c.evr,
                    c.text.len()
                )
            })
            .collect(),
    ));
    out.push(check(
        &["mv_src_packages_last_changelog"],
        format!(
            "SELECT pkg_hash, chlog_nick, chlog_name, toUnixTimestamp(chlog_date), chlog_evr, length(chlog_text) \
             FROM SrcPackagesLastChangelog WHERE pkg_hash IN {}",
            list(sources(&f.d1).map(|r| r.pkg_hash))
        ),
        sources(&f.d1)
            .map(|r| {
                let c = &r.changelog[0];
                let e = email(&c.name);
                let nick = e.rsplit_once('@').map_or("", |(n, _)| n);
                format!(
                    "{}\t{nick}\t{}\t{}\t{}\t{}",
                    r.pkg_hash,
                    c.name,
                    c.date,
                    c.evr,
                    c.text.len()
                )
            })
            .collect(),
    ));
    // Source name per binary name: the repo snapshots' and the task's binaries.
    let mut by_bin: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for b in binaries(&f.d1).chain(binaries(&f.d2)) {
        if !b.name.starts_with("i586-") && b.srcrpm_hash != 0 {
            by_bin
                .entry(b.name.clone())
                .or_default()
                .insert(src_name(b.srcrpm_hash));
        }
    }
    for p in f
        .task
        .packages
        .iter()
        .filter(|p| !p.source && p.srcrpm_hash != 0)
    {
        let s = f
            .task
            .packages
            .iter()
            .find(|q| q.pkg_hash == p.srcrpm_hash)
            .unwrap();
        by_bin
            .entry(p.name.clone())
            .or_default()
            .insert(s.name.clone());
    }
    out.push(check(
        &["mv_packages_source_and_binaries"],
        "SELECT argMax(src_pkg_name, buildtime), bin_pkg_name FROM PackagesSourceAndBinaries GROUP BY bin_pkg_name",
        by_bin
            .into_iter()
            .map(|(b, s)| {
                assert_eq!(s.len(), 1, "fixture: {b} comes from one source");
                format!("{}\t{b}", s.into_iter().next().unwrap())
            })
            .collect(),
    ));
    let mut specs = Vec::new();
    for r in sources(&f.d1) {
        let q = rpm_qf(
            &f.d1_dir.join(&r.path),
            "[%{FILEFLAGS:fflags}\t%{FILENAMES}\t%{FILESIZES}\n]",
        );
        for l in q
            .lines()
            .filter(|l| l.split('\t').next().unwrap().contains('s'))
        {
            let v: Vec<&str> = l.split('\t').collect();
            specs.push(format!("{}\t{}\t{}", r.pkg_hash, v[1], v[2]));
        }
    }
    out.push(check(
        &["mv_specfiles"],
        "WITH src_hashes AS (SELECT pkg_hash FROM static_last_packages WHERE pkg_sourcepackage = 1 AND pkgset_name = 'p10') \
         SELECT pkg_hash AS src_hash, specfile_name, length(specfile_content) FROM Specfiles WHERE pkg_hash IN (SELECT * FROM src_hashes)",
        specs,
    ));

    // --- package-set trees ---
    let mut last_trees: Vec<(&str, &str, Vec<(u8, String, String, usize)>)> = branches
        .iter()
        .map(|(b, d, recs, _)| (*b, *d, tree(b, recs)))
        .collect();
    let image_tree = vec![
        (0u8, IMG_NAME.to_owned(), String::new(), 0usize),
        (
            1,
            "rpms".into(),
            IMG_NAME.to_owned(),
            f.image_pkgs.len() + 1,
        ),
    ];
    last_trees.push((IMG_NAME, IMG_DATE, image_tree.clone()));
    let class = |root: &str, depth: u8| match (root, depth) {
        (IMG_NAME, 0) => "iso",
        (IMG_NAME, _) => "",
        _ => "repository",
    };
    let node_lines = |trees: &[(&str, &str, Vec<(u8, String, String, usize)>)], pname: bool| {
        let mut v = Vec::new();
        for (root, date, t) in trees {
            for (depth, node, parent, _) in t {
                let p = if pname {
                    format!("\t{parent}")
                } else {
                    String::new()
                };
                v.push(format!(
                    "{root}\t{date}\t{depth}\t{node}\t{}{p}",
                    class(root, *depth)
                ));
            }
        }
        v
    };
    out.push(check(
        &["last_pkgnames_without_pname"],
        "SELECT pkgset_name, toDate(pkgset_date), pkgset_depth, pkgset_nodename, pkgset_class FROM last_pkgnames_without_pname",
        node_lines(&last_trees, false),
    ));
    out.push(check(
        &["last_pkgnames"],
        "SELECT pkgset_name, toDate(pkgset_date), pkgset_depth, pkgset_nodename, pkgset_class, pkgset_pname FROM last_pkgnames",
        node_lines(&last_trees, true),
    ));
    let counts = |trees: &[(&str, &str, Vec<(u8, String, String, usize)>)]| {
        let mut v = Vec::new();
        for (root, date, t) in trees {
            for (_, node, parent, n) in t.iter().filter(|x| x.3 > 0) {
                v.push(format!("{root}\t{date}\t{node}\t{parent}\t{n}"));
            }
        }
        v
    };
    out.push(check(
        &["last_pkgset"],
        "SELECT pkgset_name, toDate(pkgset_date), pkgset_nodename, pkgset_pname, count() FROM last_pkgset \
         GROUP BY pkgset_name, pkgset_date, pkgset_nodename, pkgset_pname",
        counts(&last_trees),
    ));
    let mut all_trees = last_trees.clone();
    if f.with_old {
        all_trees.push(("sisyphus", SIS_OLD_DATE, tree("sisyphus", &f.d1)));
    }
    out.push(check(
        &["all_pkgnames_without_pname"],
        "SELECT pkgset_name, toDate(pkgset_date), pkgset_depth, pkgset_nodename, pkgset_class FROM all_pkgnames_without_pname",
        node_lines(&all_trees, false),
    ));
    out.push(check(
        &["all_pkgnames"],
        "SELECT pkgset_name, toDate(pkgset_date), pkgset_depth, pkgset_nodename, pkgset_class, pkgset_pname FROM all_pkgnames",
        node_lines(&all_trees, true),
    ));
    out.push(check(
        &["all_pkgset"],
        "SELECT pkgset_name, toDate(pkgset_date), pkgset_nodename, pkgset_pname, count() FROM all_pkgset \
         GROUP BY pkgset_name, pkgset_date, pkgset_nodename, pkgset_pname",
        counts(&all_trees),
    ));
    let mut ap = Vec::new();
    let mut roots = vec![("sisyphus", SIS_DATE, &f.d2), ("p10", P10_DATE, &f.d1)];
    if f.with_old {
        roots.push(("sisyphus", SIS_OLD_DATE, &f.d1));
    }
    for (root, date, recs) in roots {
        ap.push(format!("{root}\t{date}\t1\t{}", sources(recs).count()));
        ap.push(format!("{root}\t{date}\t0\t{}", binaries(recs).count()));
    }
    ap.push(format!("{IMG_NAME}\t{IMG_DATE}\t0\t{}", f.image_pkgs.len()));
    ap.push(format!("{IMG_NAME}\t{IMG_DATE}\t1\t1"));
    out.push(check(
        &["all_packages"],
        "SELECT pkgset_name, toDate(pkgset_date), pkg_sourcepackage, count() FROM all_packages \
         GROUP BY pkgset_name, pkgset_date, pkg_sourcepackage",
        ap,
    ));
    let mut stat = Vec::new();
    let mut repo_stats = Vec::new();
    for (branch, date, recs, _) in &branches {
        stat.push(format!("{branch}\tsrpm\t{}", sources(recs).count()));
        let mut per_arch: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for b in binaries(recs).filter(|b| b.pkg_arch != "x86_64-i586") {
            per_arch
                .entry(&b.pkg_arch)
                .or_default()
                .insert(&b.sourcerpm);
        }
        for (a, s) in per_arch {
            stat.push(format!("{branch}\t{a}\t{}", s.len()));
        }
        let size = |it: &mut dyn Iterator<Item = &PackageRecord>| -> (usize, u64) {
            it.fold((0, 0), |(n, s), r| (n + 1, s + r.file_size))
        };
        let mut items = Vec::new();
        let (n, s) = size(&mut sources(recs));
        items.push(("srpm".to_owned(), "srpm".to_owned(), n, s));
        let mut by_arch: BTreeMap<&str, Vec<&PackageRecord>> = BTreeMap::new();
        for b in binaries(recs) {
            by_arch.entry(&b.arch_dir).or_default().push(b);
        }
        for (a, v) in by_arch {
            let (n, s) = size(&mut v.into_iter());
            items.push((a.to_owned(), "classic".to_owned(), n, s));
        }
        items.sort();
        let items: Vec<String> = items
            .into_iter()
            .map(|(a, c, n, s)| format!("('{a}','{c}',{n},{s})"))
            .collect();
        repo_stats.push(format!("{branch}\t{date} 00:00:00\t[{}]", items.join(",")));
    }
    out.push(check(
        &["lv_pkgset_stat"],
        "SELECT pkgset_name, pkg_arch, cnt FROM lv_pkgset_stat",
        stat,
    ));
    out.push(check(
        &["lv_repository_statistics"],
        "SELECT branch, branch_date, arrayMap(s -> (s.arch, s.component, s.count, s.size), stats) \
         FROM lv_repository_statistics WHERE branch IN ('sisyphus', 'p10')",
        repo_stats,
    ));

    // --- tasks ---
    let t = &f.task;
    let added: BTreeSet<&str> = t
        .plan_hashes
        .iter()
        .filter(|h| h.action == "add")
        .map(|h| h.sha256.as_str())
        .collect();
    let planned: Vec<&altrepodb_testdata::task::PackageRecord> = t
        .packages
        .iter()
        .filter(|p| added.contains(p.sha256.as_str()))
        .collect();
    assert!(!planned.is_empty(), "fixture: the task plans packages");
    let mut planned_hashes: Vec<String> = planned.iter().map(|p| p.pkg_hash.to_string()).collect();
    planned_hashes.sort();
    planned_hashes.dedup();
    out.push(check(
        &["task_plan_hashes"],
        format!(
            "SELECT DISTINCT pkgh_mmh FROM PackageHash WHERE pkgh_sha256 IN (SELECT tplan_sha256 FROM TaskPlanPkgHash \
             WHERE tplan_hash IN (SELECT tplan_hash FROM task_plan_hashes WHERE task_id IN ({TASK_ID})) AND tplan_action = 'add')"
        ),
        planned_hashes,
    ));
    let names: Vec<&str> = t.packages.iter().map(|p| p.name.as_str()).collect();
    let mut hist: Vec<String> = planned
        .iter()
        .filter(|p| p.source)
        .map(|p| format!("{TASK_ID}\t{}\t{}", t.repo, p.name))
        .collect();
    hist.sort();
    hist.dedup();
    out.push(check(
        &["mv_package_history"],
        format!(
            "SELECT DISTINCT task_id, pkgset_name, pkg_name FROM BranchPackageHistory WHERE pkgset_name IN ('{}') \
             AND pkg_name IN {} AND pkg_sourcepackage = 1 AND tplan_action = 'add' ORDER BY task_changed DESC",
            t.repo,
            quoted(names.iter().copied())
        ),
        hist,
    ));
    out.push(check(
        &["lv_branch_deleted_packages"],
        format!(
            "SELECT pkgset_name, pkg_name, task, toString(changed), hash FROM lv_branch_deleted_packages \
             WHERE (pkg_name ILIKE '%fixture%' OR pkg_name = '{}')",
            f.redeleted_src
        ),
        vec![
            "p10\tfixture-gone\t504\t2023-12-05 00:00:00\t9004".into(),
            "sisyphus\tfixture-gone\t501\t2023-12-02 00:00:00\t9001".into(),
        ],
    ));

    // --- images ---
    out.push(check(
        &["mv_image_pkgset"],
        "SELECT toDate(pkgset_date), img_tag, img_branch, img_edition, img_flavor, img_release, img_version_major, \
         img_version_minor, img_version_sub, img_arch, img_variant, img_type, img_kv['file'], img_kv['class'] \
         FROM ImagePackageSetName WHERE img_branch = 'p10'",
        vec![format!(
            "{IMG_DATE}\t{IMG_TAG}\tp10\tworkstation\tkde\trelease\t10\t1\t0\tx86_64\tinstall\tiso\t{IMG_FILE}\tiso"
        )],
    ));
    out.push(check(
        &["lv_all_image_packages"],
        format!(
            "SELECT DISTINCT pkg_hash, pkg_name, img_branch, pkg_version, pkg_release, pkg_arch, img_edition, img_tag, \
             img_file, toDate(pkgset_date) FROM lv_all_image_packages \
             WHERE pkg_hash IN (SELECT DISTINCT pkg_hash FROM Packages WHERE pkg_name IN {}) AND img_branch = 'p10'",
            quoted(f.d1.iter().map(|r| r.name.as_str()))
        ),
        f.image_pkgs
            .iter()
            .map(|r| {
                format!(
                    "{}\t{}\tp10\t{}\t{}\t{}\tworkstation\t{IMG_TAG}\t{IMG_FILE}\t{IMG_DATE}",
                    r.pkg_hash, r.name, r.version, r.release, r.pkg_arch
                )
            })
            .collect(),
    ));
    out.push(check(
        &["lv_image_packageset"],
        "SELECT groupUniqArray(img_branch) FROM lv_image_packageset",
        vec!["['p10']".into()],
    ));

    // --- feeds: ACLs, CVEs, errata ---
    let acl = &f.acl_pkg;
    out.push(check(
        &["last_acl"],
        format!(
            "SELECT DISTINCT acl_for, groupUniqArray(acl_list) FROM last_acl \
             WHERE acl_for IN ('{acl}', '@qa') AND acl_branch = 'sisyphus' GROUP BY acl_for"
        ),
        vec![
            "@qa\t[['carol','dave']]".into(),
            format!("{acl}\t[['@qa','bob']]"),
        ],
    ));
    out.push(check(
        &["mv_last_acl"],
        "SELECT DISTINCT acl_for FROM last_acl_stage1 WHERE acl_branch = 'sisyphus' \
         AND (has(acl_list, 'bob') OR has(acl_list, 'alice') OR has(acl_list, 'carol'))",
        vec!["@qa".into(), acl.clone()],
    ));
    out.push(check(
        &["last_acl_with_groups"],
        "SELECT pkgname, acl_user, order_u, order_g FROM last_acl_with_groups \
         WHERE acl_branch = 'sisyphus' AND (acl_user = 'bob' OR acl_user = 'carol')",
        vec![
            "@qa\tcarol\t1\t0".into(),
            format!("{acl}\tbob\t1\t0"),
            format!("{acl}\tcarol\t2\t1"),
        ],
    ));
    out.push(check(
        &["last_cve"],
        "SELECT cve_id, pkg_hash, pkg_name, pkgset_name FROM last_cve",
        vec![
            format!(
                "CVE-2024-0001\t{}\t{}\tsisyphus",
                f.cve_pkg.pkg_hash, f.cve_pkg.name
            ),
            format!("CVE-2024-0002\t{CVE_ORPHAN_HASH}\t\t"),
        ],
    ));
    out.push(check(
        &["last_discarded_erratas"],
        "SELECT errata_id FROM last_discarded_erratas",
        vec!["ALT-PU-2024-1-2".into()],
    ));
    out
}

/// Runs every check on the fixture's database as it is; returns the failures.
async fn run_checks(f: &Fixture) -> Vec<String> {
    let checks = checks(f);
    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    for c in &checks {
        covered.extend(c.objects.iter().copied());
        let want = normalized(c.want.iter().cloned());
        assert!(!want.is_empty(), "{:?}: the fixture gives rows", c.objects);
        let state = if f.with_old {
            "3 branch trees"
        } else {
            "2 branch trees"
        };
        match first_query(f.home.path(), &c.sql).await {
            Ok(got) if got == want => {}
            Ok(got) => failures.push(format!(
                "{:?} ({state}): rows differ\n  query: {}\n  want: {want:#?}\n  got:  {got:#?}",
                c.objects, c.sql
            )),
            Err(e) => failures.push(format!(
                "{:?} ({state}): {e}\n  query: {}",
                c.objects, c.sql
            )),
        }
    }
    // Every view and materialized view of the schema is covered.
    let views = first_query(
        f.home.path(),
        "SELECT name FROM system.tables WHERE database = currentDatabase() \
         AND engine IN ('View', 'MaterializedView')",
    )
    .await
    .unwrap();
    let missing: Vec<&String> = views
        .iter()
        .filter(|v| !covered.contains(v.as_str()))
        .collect();
    assert!(missing.is_empty(), "views without a check: {missing:?}");
    eprintln!("{} checks, {} failed", checks.len(), failures.len());
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_view_answers_api_queries_on_a_fresh_server() {
    let mut f = build().await;
    let mut failures = run_checks(&f).await;
    add_old_sisyphus(&mut f).await;
    failures.extend(run_checks(&f).await);
    assert!(
        failures.is_empty(),
        "{} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
