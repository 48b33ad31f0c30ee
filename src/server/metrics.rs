//! Counters for `GET /_cdnsim/metrics`, in the Prometheus text format (version 0.0.4).
//!
//! Labels come from fixed sets (the known actions, HTTP statuses), so the number of series is
//! bounded whatever clients send.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use super::engine::Engine;
use crate::locks;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS_S: [f64; 10] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05, 0.25,
];

/// Request and connection counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    buckets: [AtomicU64; BUCKETS_S.len()],
    latency_sum_ns: AtomicU64,
    latency_count: AtomicU64,
    /// Connections open now.
    pub connections_open: AtomicI64,
    /// Connections accepted since start.
    pub connections_total: AtomicU64,
}

impl Metrics {
    /// Counts one answered request. `action` must come from a fixed set.
    pub fn request(&self, action: &'static str, status: u16, elapsed_ns: u64) {
        let mut requests = locks::lock(&self.requests);
        *requests.entry((action, status)).or_default() += 1;
        drop(requests);
        let seconds = elapsed_ns as f64 / 1e9;
        for (bucket, bound) in self.buckets.iter().zip(BUCKETS_S) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_sum_ns.fetch_add(elapsed_ns, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text.
    /// `replica_lag`: a replica's records behind its primary.
    pub fn render(&self, engine: &Engine, replica_lag: Option<u64>) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, lines: &[String]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for line in lines {
                let _ = writeln!(out, "{name}{line}");
            }
        };
        metric(
            "cdnsim_requests_total",
            "counter",
            "API and admin requests answered, by action and HTTP status.",
            &self.request_lines(),
        );
        metric(
            "cdnsim_request_duration_seconds",
            "histogram",
            "Time from a request's head to its answer.",
            &self.latency_lines(),
        );
        for (name, kind, help, value) in self.values(engine) {
            metric(name, kind, help, &[format!(" {value}")]);
        }
        if let Some(lag) = replica_lag {
            metric(
                "cdnsim_replica_lag_events",
                "gauge",
                "Records the primary has applied that this replica has not.",
                &[format!(" {lag}")],
            );
        }
        out
    }

    /// `{action,status} count` lines.
    fn request_lines(&self) -> Vec<String> {
        locks::lock(&self.requests)
            .iter()
            .map(|((action, status), n)| format!("{{action=\"{action}\",status=\"{status}\"}} {n}"))
            .collect()
    }

    /// The latency histogram's bucket, sum and count lines.
    fn latency_lines(&self) -> Vec<String> {
        let count = self.latency_count.load(Ordering::Relaxed);
        let mut latency: Vec<String> = self
            .buckets
            .iter()
            .zip(BUCKETS_S)
            .map(|(b, le)| format!("_bucket{{le=\"{le}\"}} {}", b.load(Ordering::Relaxed)))
            .collect();
        latency.push(format!("_bucket{{le=\"+Inf\"}} {count}"));
        latency.push(format!(
            "_sum {}",
            self.latency_sum_ns.load(Ordering::Relaxed) as f64 / 1e9
        ));
        latency.push(format!("_count {count}"));
        latency
    }

    /// Single-valued metrics: (name, type, help, value).
    fn values(&self, engine: &Engine) -> [(&'static str, &'static str, &'static str, String); 6] {
        let model = engine.model();
        let projection = model.projection();
        [
            (
                "cdnsim_connections_open",
                "gauge",
                "HTTP connections open.",
                self.connections_open.load(Ordering::Relaxed).to_string(),
            ),
            (
                "cdnsim_connections_total",
                "counter",
                "HTTP connections accepted.",
                self.connections_total.load(Ordering::Relaxed).to_string(),
            ),
            (
                "cdnsim_clock_seconds",
                "gauge",
                "The simulated clock, Unix seconds.",
                (engine.now_ms() as f64 / 1e3).to_string(),
            ),
            (
                "cdnsim_events_applied_total",
                "counter",
                "Events folded into the projection.",
                projection.event_count().to_string(),
            ),
            (
                "cdnsim_task_rows",
                "gauge",
                "Task rows in the projection.",
                projection.row_count().to_string(),
            ),
            (
                "cdnsim_projection_bytes",
                "gauge",
                "Approximate heap held by the projection.",
                projection.heap_bytes().to_string(),
            ),
        ]
    }
}
