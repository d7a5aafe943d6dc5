//! `rpmvercmp` and `Evr` checked against Debian rpm 4.18 itself on a generated corpus.
//!
//! The corpus (a few thousand version pairs and EVR pairs, deterministic) is compared in a
//! single `rpm --eval` run: a Lua script reads the pairs and writes rpm's verdict for each
//! (`rpm.vercmp`, which is `rpmverCmp` on parsed EVRs, and the `rpm.ver` parse). Needs `rpm`
//! on PATH; fails if it is missing.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::process::Command;

use altrepodb_rpm::{rpmvercmp, Evr};

/// xorshift64*: tiny, seeded, good enough to spread test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Pieces versions are assembled from: digit runs (with leading zeros), letter runs, and
/// every kind of separator, including `~`, `^`, non-ASCII and other punctuation.
const DIGITS: &[&str] = &[
    "0",
    "1",
    "2",
    "9",
    "10",
    "01",
    "001",
    "000",
    "12",
    "123",
    "0010",
    "99999999999999999999",
    "18446744073709551616",
    "5",
];
const LETTERS: &[&str] = &[
    "a", "b", "z", "A", "Z", "alpha", "beta", "rc", "pre", "git", "svn", "alt", "Alt", "p", "aa",
    "ab", "ba",
];
const SEPS: &[&str] = &[
    ".", ".", "_", "+", "~", "~", "^", "^", "..", "%", "-", "é", "ё", ".~", "~~", "^^", "^~", "~^",
    ",", "*", ":",
];

fn version(r: &mut Rng) -> String {
    let mut s = String::new();
    let parts = r.below(6);
    for i in 0..parts {
        match r.below(10) {
            0..=4 => s.push_str(r.pick(DIGITS)),
            5..=7 => s.push_str(r.pick(LETTERS)),
            _ => {}
        }
        if i + 1 < parts || r.below(4) == 0 {
            s.push_str(r.pick(SEPS));
        }
    }
    s
}

/// A small edit of `v`, so many pairs are near-equal (where ordering bugs hide).
fn mutate(r: &mut Rng, v: &str) -> String {
    let mut s = v.to_string();
    match r.below(9) {
        0 => s.push_str(r.pick(SEPS)),
        1 => s.push_str(r.pick(DIGITS)),
        2 => s.push_str(r.pick(LETTERS)),
        3 => {
            // Drop the last character.
            s.pop();
        }
        4 => s = format!("0{s}"),
        5 => s = s.replacen('.', r.pick(SEPS), 1),
        6 => s = s.replacen('1', r.pick(&["01", "a", "~", "^", "1.0"]), 1),
        7 => s.push_str(&format!("~{}", r.pick(LETTERS))),
        _ => s.push_str(&format!("^{}", r.pick(DIGITS))),
    }
    s
}

fn evr_string(r: &mut Rng) -> String {
    let epoch = r.pick(&["", "", "", "0:", "1:", "2:", "01:", "10:", ":"]);
    // Keep `-` out of the version and release here; EVR splitting is tested separately.
    let v = version(r).replace('-', ".");
    let rel = match r.below(4) {
        0 => String::new(),
        _ => format!("-{}", version(r).replace('-', ".")),
    };
    // rpm.ver rejects an empty string.
    match format!("{epoch}{v}{rel}") {
        s if s.is_empty() => "0".to_string(),
        s => s,
    }
}

/// Whether an EVR's epoch (digits before a `:`) fits a u64.
fn epoch_fits(evr: &str) -> bool {
    let digits: String = evr.chars().take_while(char::is_ascii_digit).collect();
    !evr[digits.len()..].starts_with(':') || digits.is_empty() || digits.parse::<u64>().is_ok()
}

type Pairs = Vec<(String, String)>;

/// (version pairs, EVR pairs).
fn corpus() -> (Pairs, Pairs) {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let fixed: &[(&str, &str)] = &[
        ("1.0", "1.0"),
        ("1.0", "1.0.0"),
        ("1.0~rc1", "1.0"),
        ("1.0~rc1", "1.0~rc1~"),
        ("1.0^", "1.0"),
        ("1.0^git1", "1.0.1"),
        ("1.0^git1", "1.0^git1~pre"),
        ("", ""),
        ("", "~"),
        ("", "^"),
        ("~", "^"),
        ("a", "1"),
        ("001", "1"),
        ("1.01", "1.1"),
        ("1a", "1.a"),
        ("1_0", "1.0"),
        ("2.0", "2_0"),
        ("1.0", "1.0a"),
        ("10", "9"),
        ("1e", "1.e"),
        ("é", ""),
        ("1é2", "1.2"),
    ];
    let mut vs: Vec<(String, String)> = fixed
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    while vs.len() < 5000 {
        let a = version(&mut r);
        let b = if r.below(3) == 0 {
            version(&mut r)
        } else {
            mutate(&mut r, &a)
        };
        vs.push((a, b));
    }
    let mut evrs: Vec<(String, String)> = [
        ("1:1.0-1", "2.0-1"),
        ("0:1.0-1", "1.0-1"),
        ("1.0", "1.0-1"),
        ("1.0-1", "1.0-01"),
        ("01:1", "1:1"),
        (":1.0", "0:1.0"),
        ("1.0-alt1", "1.0-alt1.1"),
        ("1.0-alt1", "1.0-alt1~1"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    while evrs.len() < 2500 {
        let a = evr_string(&mut r);
        let b = match r.below(3) {
            0 => evr_string(&mut r),
            1 => match mutate(&mut r, &a).replace('-', ".") {
                s if s.is_empty() => "0".to_string(),
                s => s,
            },
            _ => {
                // Same version, different release or epoch.
                let e = Evr::parse(&a);
                let rel = mutate(&mut r, e.release.as_deref().unwrap_or("1")).replace('-', ".");
                format!("{}{}-{}", r.pick(&["", "0:", "1:"]), e.version, rel)
            }
        };
        // Evr keeps epochs as u64 (documented); rpm compares any digit run.
        if epoch_fits(&a) && epoch_fits(&b) {
            evrs.push((a, b));
        }
    }
    (vs, evrs)
}

fn ord_num(o: Ordering) -> i32 {
    match o {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

const LUA: &str = r#"
local out = assert(io.open(OUT, "w"))
for line in io.lines(IN) do
  -- No Lua patterns: `%` would be taken for a macro by rpm.
  local kind = line:sub(1, 1)
  local t = line:find("\t", 3, true)
  local a, b = line:sub(3, t - 1), line:sub(t + 1)
  if kind == "v" then
    -- rpm.vercmp parses both sides as EVRs (rpmverCmp). With the same epoch and release
    -- wrapped around them, the result is rpmvercmp() of the bare versions.
    out:write(rpm.vercmp("0:" .. a .. "-0", "0:" .. b .. "-0"), "\n")
  else
    local x = rpm.ver(a)
    out:write(rpm.vercmp(a, b), "\t", x.e or "<none>", "\t", x.v, "\t", x.r or "<none>", "\n")
  end
end
out:close()
"#;

#[test]
fn matches_rpm_on_generated_corpus() {
    let (vs, evrs) = corpus();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("pairs.txt");
    let output = dir.path().join("results.txt");
    let mut text = String::new();
    for (a, b) in &vs {
        writeln!(text, "v\t{a}\t{b}").unwrap();
    }
    for (a, b) in &evrs {
        writeln!(text, "e\t{a}\t{b}").unwrap();
    }
    std::fs::write(&input, text).unwrap();
    let script = format!(
        "local IN = {:?}\nlocal OUT = {:?}\n{LUA}",
        input.to_str().unwrap(),
        output.to_str().unwrap()
    );
    // One rpm process for the whole corpus. Newlines are fine inside %{lua: }.
    let out = Command::new("rpm")
        .arg("--eval")
        .arg(format!("%{{lua:{script}}}"))
        .output()
        .expect("Debian `rpm` is required for this test (the set-up script installs it)");
    assert!(
        out.status.success(),
        "rpm --eval failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results = std::fs::read_to_string(&output).expect("the Lua script wrote its results");
    let lines: Vec<&str> = results.lines().collect();
    assert_eq!(lines.len(), vs.len() + evrs.len(), "one result per pair");

    let mut mismatches = Vec::new();
    for ((a, b), line) in vs.iter().zip(&lines) {
        let want: i32 = line.parse().unwrap();
        let got = ord_num(rpmvercmp(a, b));
        if got != want {
            mismatches.push(format!("rpmvercmp({a:?}, {b:?}) = {got}, rpm says {want}"));
        }
    }
    for ((a, b), line) in evrs.iter().zip(&lines[vs.len()..]) {
        let f: Vec<&str> = line.split('\t').collect();
        let want: i32 = f[0].parse().unwrap();
        let (ea, eb) = (Evr::parse(a), Evr::parse(b));
        let got = ord_num(ea.cmp(&eb));
        if got != want {
            mismatches.push(format!("Evr {a:?} vs {b:?} = {got}, rpm says {want}"));
        }
        // Parsing agrees too (rpm keeps the epoch string; compare it as a number).
        let rpm_epoch = match f[1] {
            "<none>" => None,
            e => Some(e.parse::<u64>().unwrap()),
        };
        let rpm_release = (f[3] != "<none>").then(|| f[3].to_string());
        if (rpm_epoch, f[2], rpm_release.as_deref())
            != (ea.epoch, ea.version.as_str(), ea.release.as_deref())
        {
            mismatches.push(format!(
                "Evr::parse({a:?}) = {ea:?}, rpm says e={} v={} r={}",
                f[1], f[2], f[3]
            ));
        }
    }
    let total = vs.len() + evrs.len();
    eprintln!(
        "compared {total} pairs ({} versions, {} EVRs) with rpm",
        vs.len(),
        evrs.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {total} pairs disagree with rpm; first ones:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(25)].join("\n")
    );
}

#[test]
fn corpus_is_deterministic_and_varied() {
    let (a, _) = corpus();
    let (b, _) = corpus();
    assert_eq!(a, b);
    let all: String = a
        .iter()
        .flat_map(|(x, y)| [x.as_str(), y.as_str()])
        .collect();
    for c in ['~', '^', '_', 'é', '0'] {
        assert!(all.contains(c), "corpus lacks {c:?}");
    }
}

#[test]
fn ord_properties_on_corpus() {
    let (_, evrs) = corpus();
    let mut v: Vec<Evr> = evrs.iter().map(|(a, _)| Evr::parse(a)).collect();
    // Antisymmetry on every pair.
    for (a, b) in &evrs {
        let (x, y) = (Evr::parse(a), Evr::parse(b));
        assert_eq!(x.cmp(&y), y.cmp(&x).reverse(), "{a} vs {b}");
    }
    v.sort();
    for w in v.windows(2) {
        assert!(w[0] <= w[1]);
    }
}
