//! Progress bars on a terminal, silent otherwise: [`Bars`] is the one progress observer of
//! every loading command.

use std::io::IsTerminal;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use altrepodb_load::Observer;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

fn multi() -> &'static MultiProgress {
    static MULTI: OnceLock<MultiProgress> = OnceLock::new();
    MULTI.get_or_init(|| {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        MultiProgress::with_draw_target(target)
    })
}

/// Runs `f` with the bars hidden, so a log line does not tear a bar.
pub fn suspend<R>(f: impl FnOnce() -> R) -> R {
    multi().suspend(f)
}

/// A bar of `len` steps for `phase`; it shows up only if the phase runs longer than a second.
pub fn bar(phase: &str, len: u64) -> ProgressBar {
    let pb = multi().add(ProgressBar::new(len));
    pb.set_style(
        ProgressStyle::with_template(
            "{prefix:>12} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, eta {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_prefix(phase.to_owned());
    // indicatif draws at most 20 times a second; a short phase finishing within the first
    // tick leaves no trace because finished bars are cleared.
    pb.enable_steady_tick(Duration::from_millis(1000));
    pb
}

/// A spinner for a phase of unknown length.
pub fn spinner(phase: &str) -> ProgressBar {
    let pb = multi().add(ProgressBar::new_spinner());
    pb.set_style(
        ProgressStyle::with_template("{prefix:>12} [{elapsed_precise}] {spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_prefix(phase.to_owned());
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// The loaders' progress as bars: one bar (or spinner) per phase.
#[derive(Default)]
pub struct Bars {
    current: Mutex<Option<ProgressBar>>,
}

impl Observer for Bars {
    fn phase(&self, name: &str, total: u64) {
        let bar = if total == 0 {
            spinner(name)
        } else {
            bar(name, total)
        };
        if let Ok(mut cur) = self.current.lock() {
            if let Some(old) = cur.replace(bar) {
                old.finish_and_clear();
            }
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(cur) = self.current.lock() {
            if let Some(b) = cur.as_ref() {
                b.inc(n);
            }
        }
    }

    fn status(&self, text: &str) {
        if let Ok(cur) = self.current.lock() {
            if let Some(b) = cur.as_ref() {
                b.set_message(text.to_owned());
            }
        }
    }

    fn finish_phase(&self) {
        if let Ok(mut cur) = self.current.lock() {
            if let Some(b) = cur.take() {
                b.finish_and_clear();
            }
        }
    }
}

/// The end of a load: one line per skipped input on stderr, then the summary line.
pub fn print_report(report: &altrepodb_load::LoadReport) {
    for s in &report.skipped {
        eprintln!("altrepodb: skipped: {s}");
    }
    println!("{}", report.summary());
}
