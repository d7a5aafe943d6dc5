//! Which Python runs the embedded ClickHouse: found from any data home.
//!
//! `scripts/setup.sh` puts the engine (chdb-core) into a venv under the home it was run with and
//! records that venv's interpreter in a per-user file that does not depend on `ALTREPODB_HOME`
//! ([`RECORD`] under `$XDG_CONFIG_HOME`, default `~/.config`). A command run with another home
//! (another data set) then still finds the engine.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The record written by `scripts/setup.sh`, relative to the user's configuration directory.
pub const RECORD: &str = "altrepodb/engine-python";

/// Where to look for the interpreter, in order: `$ALTREPODB_PYTHON`, `home/venv/bin/python`, the
/// set-up's record, and the venv of the default home. `env` reads the environment (a parameter
/// so that tests need not change the process environment).
pub fn candidates(home: &Path, env: &dyn Fn(&str) -> Option<OsString>) -> Vec<PathBuf> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = var("ALTREPODB_PYTHON") {
        return vec![p];
    }
    let mut out = vec![home.join("venv/bin/python")];
    let config = var("XDG_CONFIG_HOME").or_else(|| var("HOME").map(|h| h.join(".config")));
    if let Some(record) = config.map(|c| c.join(RECORD)) {
        if let Ok(text) = std::fs::read_to_string(&record) {
            let recorded = text.trim();
            if !recorded.is_empty() {
                out.push(PathBuf::from(recorded));
            }
        }
    }
    let data = var("XDG_DATA_HOME").or_else(|| var("HOME").map(|h| h.join(".local/share")));
    if let Some(d) = data {
        out.push(d.join("altrepodb/venv/bin/python"));
    }
    out.dedup();
    out
}

/// The first candidate that exists, else the first one (for the error message to name).
pub fn resolve(home: &Path, env: &dyn Fn(&str) -> Option<OsString>) -> (PathBuf, Vec<PathBuf>) {
    let all = candidates(home, env);
    let found = all
        .iter()
        .find(|p| p.is_file())
        .or(all.first())
        .cloned()
        .unwrap_or_else(|| home.join("venv/bin/python"));
    (found, all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(vars: &[(&str, &Path)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_os_str().to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn a_home_without_a_venv_uses_the_recorded_engine() {
        let user = tempfile::tempdir().expect("temp dir");
        let engine = user.path().join("somewhere/venv/bin/python");
        std::fs::create_dir_all(engine.parent().unwrap()).unwrap();
        std::fs::write(&engine, "").unwrap();
        std::fs::create_dir_all(user.path().join(".config/altrepodb")).unwrap();
        std::fs::write(
            user.path().join(".config").join(RECORD),
            format!("{}\n", engine.display()),
        )
        .unwrap();
        let other_home = user.path().join("srv/altrepodb");
        let env = env_of(&[("HOME", user.path())]);
        let (found, looked) = resolve(&other_home, &env);
        assert_eq!(found, engine);
        assert_eq!(looked[0], other_home.join("venv/bin/python"));

        // The home's own venv wins; ALTREPODB_PYTHON wins over everything.
        let own = other_home.join("venv/bin/python");
        std::fs::create_dir_all(own.parent().unwrap()).unwrap();
        std::fs::write(&own, "").unwrap();
        assert_eq!(resolve(&other_home, &env).0, own);
        let explicit = user.path().join("py");
        let env = env_of(&[("HOME", user.path()), ("ALTREPODB_PYTHON", &explicit)]);
        assert_eq!(resolve(&other_home, &env).0, explicit);
    }

    #[test]
    fn without_any_engine_every_place_is_named() {
        let user = tempfile::tempdir().expect("temp dir");
        let cfg = user.path().join("cfg");
        let data = user.path().join("data");
        let env = env_of(&[
            ("HOME", user.path()),
            ("XDG_CONFIG_HOME", &cfg),
            ("XDG_DATA_HOME", &data),
        ]);
        let home = user.path().join("h");
        let (found, looked) = resolve(&home, &env);
        assert_eq!(found, home.join("venv/bin/python"));
        assert_eq!(
            looked,
            vec![
                home.join("venv/bin/python"),
                data.join("altrepodb/venv/bin/python")
            ]
        );
    }
}
