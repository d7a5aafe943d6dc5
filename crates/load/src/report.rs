//! What every load returns: rows per table, the inputs it skipped and why, how long it took.
//!
//! The CLI prints [`LoadReport::summary`] as the last line of a load; the daemon turns the
//! rows and skipped inputs into `/metrics` counters. Loader-specific reports
//! ([`crate::repo::RepoLoadReport`], [`crate::task::TaskLoadReport`]) carry a `LoadReport`
//! and dereference to it.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// An input a load left out, with where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file (and, when known, the offset or line inside it).
    pub location: String,
    /// Why it was skipped.
    pub reason: String,
}

impl Skipped {
    /// A skipped input at `location`.
    pub fn new(location: impl Into<String>, reason: impl Into<String>) -> Skipped {
        Skipped {
            location: location.into(),
            reason: reason.into(),
        }
    }

    /// From a one-line message `"<location>: <reason>"` (as the task reader words them).
    pub fn from_message(msg: &str) -> Skipped {
        match msg.split_once(": ") {
            Some((loc, why)) => Skipped::new(loc, why),
            None => Skipped::new("", msg),
        }
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.location, self.reason)
        }
    }
}

/// The report of one load.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// The loader, by its original tool name (`repo_loader`).
    pub loader: &'static str,
    /// What was loaded, for the summary (`sisyphus 2024-03-01`, `task 350000 DONE …`).
    pub subject: String,
    /// Package files the input names.
    pub packages_seen: usize,
    /// Packages that were not (completely) in the database.
    pub packages_new: usize,
    /// Rows per table (logical table names), written or, in a dry run, to be written.
    pub rows: BTreeMap<&'static str, u64>,
    /// Inputs left out, with location and reason.
    pub skipped: Vec<Skipped>,
    /// Wall time.
    pub elapsed: Duration,
    /// True when nothing was written.
    pub dry_run: bool,
    /// Records a feed loader read (feeds count records, not packages; `None` for package
    /// loaders).
    pub read: Option<u64>,
}

impl LoadReport {
    /// An empty report of `loader`.
    pub fn new(loader: &'static str, dry_run: bool) -> LoadReport {
        LoadReport {
            loader,
            dry_run,
            ..LoadReport::default()
        }
    }

    /// Rows of one table (0 when it was not written).
    pub fn rows_of(&self, table: &str) -> u64 {
        self.rows.get(table).copied().unwrap_or(0)
    }

    /// Rows of all tables.
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }

    /// Wall time in seconds.
    pub fn seconds(&self) -> f64 {
        self.elapsed.as_secs_f64()
    }

    /// The one-line summary printed at the end of a load: subject, packages seen and new,
    /// rows of every table written, skipped inputs, seconds.
    pub fn summary(&self) -> String {
        let rows = self
            .rows
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(t, n)| format!("{t}={n}"))
            .collect::<Vec<_>>()
            .join(" ");
        let skipped = if self.skipped.is_empty() {
            String::new()
        } else {
            format!("; {} skipped", self.skipped.len())
        };
        if let Some(read) = self.read {
            return format!(
                "{}{}: {read} read, {} new rows; rows {}{skipped}; {:.1} s",
                if self.dry_run { "dry run: " } else { "" },
                self.subject,
                self.total_rows(),
                if rows.is_empty() { "none" } else { &rows },
                self.seconds()
            );
        }
        format!(
            "{}{}: {} packages seen, {} new; rows {}{skipped}; {:.1} s",
            if self.dry_run { "dry run: " } else { "" },
            self.subject,
            self.packages_seen,
            self.packages_new,
            if rows.is_empty() { "none" } else { &rows },
            self.seconds()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_rows_skipped_and_time() {
        let mut r = LoadReport::new("repo_loader", false);
        r.subject = "sisyphus 2024-03-01".into();
        r.packages_seen = 3;
        r.packages_new = 2;
        r.rows.insert("Packages", 2);
        r.rows.insert("Specfiles", 0);
        r.skipped
            .push(Skipped::from_message("/r/x.rpm: bad magic at offset 0"));
        r.elapsed = Duration::from_millis(1500);
        assert_eq!(
            r.summary(),
            "sisyphus 2024-03-01: 3 packages seen, 2 new; rows Packages=2; 1 skipped; 1.5 s"
        );
        assert_eq!(r.skipped[0].location, "/r/x.rpm");
        assert_eq!(r.skipped[0].to_string(), "/r/x.rpm: bad magic at offset 0");
        assert_eq!(r.rows_of("Files"), 0);
        r.dry_run = true;
        r.rows.clear();
        assert!(r.summary().starts_with("dry run: "));
        assert!(r.summary().contains("rows none"));
        let mut f = LoadReport::new("watch_loader", false);
        f.subject = "watch http://h/w.txt".into();
        f.read = Some(5);
        f.rows.insert("PackagesWatch", 5);
        f.elapsed = Duration::from_millis(200);
        assert_eq!(
            f.summary(),
            "watch http://h/w.txt: 5 read, 5 new rows; rows PackagesWatch=5; 0.2 s"
        );
    }
}
