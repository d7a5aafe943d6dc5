//! Counters, gauges and histograms rendered in the Prometheus text format (version 0.0.4).
//!
//! Names (all prefixed `altrepodb_`):
//! * `messages_received_total{service}` — deliveries taken from the queue;
//! * `messages_acked_total{service}` — acknowledged (job done, or dropped as irrelevant);
//! * `messages_rejected_total{service,requeue}` — rejected, with or without requeue;
//! * `messages_republished_total{service}` — failed messages put back into their queue with
//!   the failure counted (`requeue_on_reject`; the original delivery is acknowledged but not
//!   counted in `messages_acked_total`);
//! * `jobs_total{service,result}` — `done`, `failed`, `panicked`, `retried`, `abandoned`
//!   (the broker connection was lost during the job);
//! * `job_duration_seconds{service}` — histogram of job wall time;
//! * `rows_written_total{service,table}` — rows committed per table;
//! * `inputs_skipped_total{service}` — inputs a load left out (a bad approval file, …);
//! * `amqp_reconnects_total{service}` — connection attempts after a loss (`notifier` too);
//! * `amqp_connected{service}`, `db_up{service}`, `jobs_in_flight{service}` — gauges;
//! * `scheduled_runs_total{service,result}` — `started` or `skipped` (previous run busy);
//! * `notifications_total{result}` — `sent`, `failed`, `dropped`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Upper bounds (seconds) of the job-duration histogram buckets.
pub const DURATION_BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];

type Labels = Vec<(String, String)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

#[derive(Debug, Clone, Default)]
struct Hist {
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Debug)]
struct Family {
    help: &'static str,
    kind: Kind,
    values: BTreeMap<Labels, f64>,
    hists: BTreeMap<Labels, Hist>,
}

/// The daemon's metrics registry (cheap to share behind an `Arc`).
#[derive(Debug, Default)]
pub struct Metrics {
    families: Mutex<BTreeMap<&'static str, Family>>,
}

fn labels(l: &[(&str, &str)]) -> Labels {
    l.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn help(name: &str) -> &'static str {
    match name {
        "altrepodb_messages_received_total" => "AMQP deliveries taken from the service queue.",
        "altrepodb_messages_acked_total" => {
            "Deliveries acknowledged (job done or message dropped)."
        }
        "altrepodb_messages_rejected_total" => "Deliveries rejected, with or without requeue.",
        "altrepodb_messages_republished_total" => {
            "Failed messages re-published into their queue with the failure counted."
        }
        "altrepodb_jobs_total" => "Jobs finished, by result.",
        "altrepodb_job_duration_seconds" => "Wall time of jobs.",
        "altrepodb_rows_written_total" => "Rows committed to the database, by table.",
        "altrepodb_inputs_skipped_total" => {
            "Inputs a load left out (reported with their location)."
        }
        "altrepodb_amqp_reconnects_total" => "AMQP reconnection attempts after a lost connection.",
        "altrepodb_amqp_connected" => "1 while the AMQP connection is up.",
        "altrepodb_db_up" => "1 while the database answers.",
        "altrepodb_jobs_in_flight" => "Jobs running now.",
        "altrepodb_scheduled_runs_total" => {
            "Schedule ticks, started or skipped because the previous run was busy."
        }
        "altrepodb_notifications_total" => "Notifier messages, by result.",
        _ => "altrepodb metric.",
    }
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    fn with_family<R>(
        &self,
        name: &'static str,
        kind: Kind,
        f: impl FnOnce(&mut Family) -> R,
    ) -> R {
        let mut fam = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let family = fam.entry(name).or_insert_with(|| Family {
            help: help(name),
            kind,
            values: BTreeMap::new(),
            hists: BTreeMap::new(),
        });
        f(family)
    }

    /// Adds `by` to a counter.
    pub fn add(&self, name: &'static str, l: &[(&str, &str)], by: f64) {
        self.with_family(name, Kind::Counter, |f| {
            *f.values.entry(labels(l)).or_insert(0.0) += by
        });
    }

    /// Adds one to a counter.
    pub fn inc(&self, name: &'static str, l: &[(&str, &str)]) {
        self.add(name, l, 1.0);
    }

    /// Sets a gauge.
    pub fn set(&self, name: &'static str, l: &[(&str, &str)], value: f64) {
        self.with_family(name, Kind::Gauge, |f| {
            f.values.insert(labels(l), value);
        });
    }

    /// Adds `by` (possibly negative) to a gauge.
    pub fn gauge_add(&self, name: &'static str, l: &[(&str, &str)], by: f64) {
        self.with_family(name, Kind::Gauge, |f| {
            *f.values.entry(labels(l)).or_insert(0.0) += by
        });
    }

    /// Records one observation of a histogram.
    pub fn observe(&self, name: &'static str, l: &[(&str, &str)], value: f64) {
        self.with_family(name, Kind::Histogram, |f| {
            let h = f.hists.entry(labels(l)).or_insert_with(|| Hist {
                buckets: vec![0; DURATION_BUCKETS.len()],
                ..Hist::default()
            });
            for (i, le) in DURATION_BUCKETS.iter().enumerate() {
                if value <= *le {
                    h.buckets[i] += 1;
                }
            }
            h.sum += value;
            h.count += 1;
        });
    }

    /// The current value of a counter or gauge (0 when never touched).
    pub fn get(&self, name: &'static str, l: &[(&str, &str)]) -> f64 {
        let fam = self.families.lock().unwrap_or_else(|p| p.into_inner());
        fam.get(name)
            .and_then(|f| f.values.get(&labels(l)).copied())
            .unwrap_or(0.0)
    }

    /// Everything in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let fam = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        for (name, f) in fam.iter() {
            let kind = match f.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            let _ = writeln!(out, "# HELP {name} {}", f.help);
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (l, v) in &f.values {
                let _ = writeln!(out, "{name}{} {}", fmt_labels(l, None), fmt_value(*v));
            }
            for (l, h) in &f.hists {
                // Each observation is counted in every bucket whose bound it does not exceed,
                // so the stored counts are cumulative already.
                for (i, le) in DURATION_BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {}",
                        fmt_labels(l, Some(&le.to_string())),
                        h.buckets[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {}",
                    fmt_labels(l, Some("+Inf")),
                    h.count
                );
                let _ = writeln!(
                    out,
                    "{name}_sum{} {}",
                    fmt_labels(l, None),
                    fmt_value(h.sum)
                );
                let _ = writeln!(out, "{name}_count{} {}", fmt_labels(l, None), h.count);
            }
        }
        out
    }
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn fmt_labels(l: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = l
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        m.inc("altrepodb_messages_received_total", &[("service", "repo")]);
        m.inc("altrepodb_messages_received_total", &[("service", "repo")]);
        m.set("altrepodb_amqp_connected", &[("service", "repo")], 1.0);
        m.observe(
            "altrepodb_job_duration_seconds",
            &[("service", "repo")],
            2.0,
        );
        m.add(
            "altrepodb_rows_written_total",
            &[("service", "repo"), ("table", "Packages\"x")],
            10.0,
        );
        let text = m.render();
        assert!(text.contains("# TYPE altrepodb_messages_received_total counter"));
        assert!(text.contains("altrepodb_messages_received_total{service=\"repo\"} 2\n"));
        assert!(text.contains("altrepodb_amqp_connected{service=\"repo\"} 1\n"));
        assert!(
            text.contains("altrepodb_job_duration_seconds_bucket{service=\"repo\",le=\"1\"} 0\n")
        );
        assert!(
            text.contains("altrepodb_job_duration_seconds_bucket{service=\"repo\",le=\"5\"} 1\n")
        );
        assert!(text
            .contains("altrepodb_job_duration_seconds_bucket{service=\"repo\",le=\"+Inf\"} 1\n"));
        assert!(text.contains("altrepodb_job_duration_seconds_count{service=\"repo\"} 1\n"));
        assert!(text.contains("table=\"Packages\\\"x\""));
        assert_eq!(
            m.get("altrepodb_messages_received_total", &[("service", "repo")]),
            2.0
        );
    }
}
