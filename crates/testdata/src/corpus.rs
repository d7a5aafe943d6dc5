//! Where tests find the third-party test corpus (`shared/testdata`), and the rule for when
//! it is missing.
//!
//! The corpus is referenced by path, never copied into the repository. A test that needs it
//! calls [`dir`]: when the corpus is absent the test prints that it was skipped and passes,
//! unless `CI=true` or `ALTREPODB_REQUIRE_ALL=1` is set, when a missing corpus fails it.
//! [`missing`] applies the same rule to other prerequisites (RabbitMQ, external tools).
//!
//! Crates that cannot depend on this one (it depends on them) include this file with
//! `#[path]` instead of keeping a copy of the rule.

use std::path::{Path, PathBuf};

/// The corpus root: `$ALTREPODB_TESTDATA`, else `shared/testdata` beside the checkout.
pub fn root() -> PathBuf {
    match std::env::var_os("ALTREPODB_TESTDATA") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"),
    }
}

/// True when a missing prerequisite must fail a test instead of skipping it.
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("ALTREPODB_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// `root()/sub` if it exists. Otherwise prints `TEST: skipped: …` and returns `None`, or
/// panics when [`required`].
pub fn dir(test: &str, sub: &str) -> Option<PathBuf> {
    let d = root().join(sub);
    if d.is_dir() {
        return Some(d);
    }
    missing(
        test,
        &format!("no test data at {} (set ALTREPODB_TESTDATA)", d.display()),
    );
    None
}

/// The one rule for any missing prerequisite (test data, RabbitMQ, a tool): prints
/// `TEST: skipped: WHAT` so the caller can return, or panics with WHAT when [`required`].
pub fn missing(test: &str, what: &str) {
    if required() {
        panic!("{test}: {what} (required: CI=true or ALTREPODB_REQUIRE_ALL=1)");
    }
    eprintln!("{test}: skipped: {what}");
}

/// The running test's name (libtest names each test's thread after it), for skip messages.
pub fn current_test() -> String {
    std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .unwrap_or("test")
        .to_owned()
}

/// The corpus root if present, else [`missing`] for the running test.
pub fn root_for_test() -> Option<PathBuf> {
    dir(&current_test(), ".")
}
