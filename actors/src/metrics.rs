//! Counters and latency histograms of the actor runtime, lock-free on the hot path.
//!
//! [`Metrics::snapshot`] gives a serialisable copy; [`MetricsSnapshot::prometheus`] renders the Prometheus text
//! format (the servers publish it).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::api::{EndStatus, Status};

/// Log-linear buckets: 8 per power of two of microseconds, up to 2^34 us (about 4.8 hours).
const SUB: usize = 8;
const OCTAVES: usize = 35;
const BUCKETS: usize = SUB * OCTAVES;

/// A latency histogram (microseconds) with about 9% relative error on quantiles.
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }
}

fn bucket_of(us: u64) -> usize {
    if us < SUB as u64 {
        return us as usize;
    }
    let octave = 63 - us.leading_zeros() as usize; // >= 3
    let sub = ((us >> (octave - 3)) & (SUB as u64 - 1)) as usize;
    ((octave - 2) * SUB + sub).min(BUCKETS - 1)
}

/// The upper bound (us) of a bucket.
fn bucket_upper(b: usize) -> u64 {
    if b < SUB {
        return b as u64;
    }
    let octave = b / SUB + 2;
    let sub = (b % SUB) as u64;
    ((SUB as u64 + sub + 1) << (octave - 3)) - 1
}

impl Histogram {
    pub fn record(&self, d: Duration) {
        let us = d.as_micros().min(u64::MAX as u128) as u64;
        self.buckets[bucket_of(us)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let counts = self.counts();
        HistogramSnapshot { max_us: self.max_us.load(Ordering::Relaxed), ..counts.summary() }
    }

    /// The bucket counts now; [`HistogramCounts::since`] gives what was recorded between two of them.
    pub fn counts(&self) -> HistogramCounts {
        HistogramCounts {
            counts: self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect(),
            sum_us: self.sum_us.load(Ordering::Relaxed),
        }
    }
}

/// A histogram's bucket counts at one moment: the quantiles of a window (a benchmark's measured seconds) are
/// those of the difference of two.
///
/// ```
/// use agentworld_actors::metrics::Histogram;
/// use std::time::Duration;
///
/// let h = Histogram::default();
/// h.record(Duration::from_millis(900)); // warm-up
/// let start = h.counts();
/// for _ in 0..99 {
///     h.record(Duration::from_micros(100));
/// }
/// let window = h.counts().since(&start);
/// assert_eq!(window.count, 99);
/// assert!(window.max_us < 1000);
/// ```
#[derive(Debug, Clone)]
pub struct HistogramCounts {
    counts: Vec<u64>,
    sum_us: u64,
}

impl HistogramCounts {
    /// What was recorded after `earlier` was taken. Its max is the upper bound of the highest bucket used.
    pub fn since(&self, earlier: &HistogramCounts) -> HistogramSnapshot {
        let counts = self.counts.iter().zip(&earlier.counts).map(|(a, b)| a.saturating_sub(*b)).collect();
        HistogramCounts { counts, sum_us: self.sum_us.saturating_sub(earlier.sum_us) }.summary()
    }

    fn summary(&self) -> HistogramSnapshot {
        let count: u64 = self.counts.iter().sum();
        let q = |p: f64| -> u64 {
            if count == 0 {
                return 0;
            }
            let rank = ((p * count as f64).ceil() as u64).max(1);
            let mut seen = 0;
            for (b, c) in self.counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return bucket_upper(b);
                }
            }
            bucket_upper(BUCKETS - 1)
        };
        HistogramSnapshot {
            count,
            sum_us: self.sum_us,
            p50_us: q(0.50),
            p90_us: q(0.90),
            p99_us: q(0.99),
            max_us: self.counts.iter().rposition(|c| *c > 0).map_or(0, bucket_upper),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct HistogramSnapshot {
    pub count: u64,
    pub sum_us: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl HistogramSnapshot {
    /// Writes this histogram as the series of a Prometheus summary `name`: quantiles 0.5, 0.9 and 0.99 (and 1, the
    /// max, with `with_max`), then `_sum` and `_count`. `labels` (such as `op="call"`, or empty) go on every line.
    pub fn write_prometheus(&self, out: &mut String, name: &str, labels: &str, with_max: bool) {
        use std::fmt::Write;
        let sep = if labels.is_empty() { "" } else { "," };
        let mut quantiles = vec![("0.5", self.p50_us), ("0.9", self.p90_us), ("0.99", self.p99_us)];
        if with_max {
            quantiles.push(("1", self.max_us));
        }
        for (q, v) in quantiles {
            let _ = writeln!(out, "{name}{{{labels}{sep}quantile=\"{q}\"}} {v}");
        }
        let labels = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{labels} {}", self.sum_us);
        let _ = writeln!(out, "{name}_count{labels} {}", self.count);
    }
}

/// Operations the runtime times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Open,
    Call,
    Finish,
    Branch,
    Close,
}

impl Op {
    pub const ALL: [Op; 5] = [Op::Open, Op::Call, Op::Finish, Op::Branch, Op::Close];
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Open => "open",
            Op::Call => "call",
            Op::Finish => "finish",
            Op::Branch => "branch",
            Op::Close => "close",
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    ops: [Histogram; 5],
    calls_by_status: [AtomicU64; Status::ALL.len()],
    ended_by_status: [AtomicU64; EndStatus::ALL.len()],
    opened: AtomicU64,
    live: AtomicI64,
    env_restarts: AtomicU64,
    episode_crashes: AtomicU64,
    worker_restarts: AtomicU64,
    queued_jobs: AtomicI64,
    calls_inline: AtomicU64,
    calls_moved: AtomicU64,
}

impl Metrics {
    pub fn time(&self, op: Op, d: Duration) {
        self.ops[op as usize].record(d);
    }

    pub fn call_status(&self, status: Status) {
        self.calls_by_status[status as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn opened(&self, n: usize) {
        self.opened.fetch_add(n as u64, Ordering::Relaxed);
        self.live.fetch_add(n as i64, Ordering::Relaxed);
    }

    pub(crate) fn ended(&self, status: EndStatus) {
        self.ended_by_status[status as usize].fetch_add(1, Ordering::Relaxed);
        self.live.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn env_restarted(&self) {
        self.env_restarts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn episode_crashed(&self) {
        self.episode_crashes.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn worker_restarted(&self) {
        self.worker_restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// A call ran on its episode actor's thread (`moved`: it took too long there and went on on a worker).
    pub(crate) fn inline_call(&self, moved: bool) {
        self.calls_inline.fetch_add(1, Ordering::Relaxed);
        if moved {
            self.calls_moved.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn queued(&self, delta: i64) {
        self.queued_jobs.fetch_add(delta, Ordering::Relaxed);
    }

    /// Live episodes right now.
    pub fn live(&self) -> i64 {
        self.live.load(Ordering::Relaxed)
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        MetricsSnapshot {
            ops: Op::ALL.iter().map(|op| (op.as_str(), self.ops[*op as usize].snapshot())).collect(),
            calls_by_status: Status::ALL
                .iter()
                .zip(&self.calls_by_status)
                .map(|(s, c)| (s.as_str(), load(c)))
                .collect(),
            ended_by_status: EndStatus::ALL
                .iter()
                .zip(&self.ended_by_status)
                .map(|(s, c)| (s.as_str(), load(c)))
                .collect(),
            episodes_opened: load(&self.opened),
            live_episodes: self.live.load(Ordering::Relaxed),
            env_restarts: load(&self.env_restarts),
            episode_crashes: load(&self.episode_crashes),
            worker_restarts: load(&self.worker_restarts),
            queued_jobs: self.queued_jobs.load(Ordering::Relaxed),
            calls_inline: load(&self.calls_inline),
            calls_moved: load(&self.calls_moved),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricsSnapshot {
    pub ops: Vec<(&'static str, HistogramSnapshot)>,
    pub calls_by_status: Vec<(&'static str, u64)>,
    pub ended_by_status: Vec<(&'static str, u64)>,
    pub episodes_opened: u64,
    pub live_episodes: i64,
    pub env_restarts: u64,
    pub episode_crashes: u64,
    pub worker_restarts: u64,
    pub queued_jobs: i64,
    /// Calls started on their episode actor's thread (`RuntimeSettings::inline_below`), and those of them that took
    /// too long there and were moved to a worker.
    pub calls_inline: u64,
    pub calls_moved: u64,
}

impl MetricsSnapshot {
    pub fn op(&self, op: Op) -> HistogramSnapshot {
        self.ops.iter().find(|(n, _)| *n == op.as_str()).map(|(_, h)| *h).unwrap_or_default()
    }

    pub fn calls(&self, status: &str) -> u64 {
        self.calls_by_status.iter().find(|(s, _)| *s == status).map(|(_, c)| *c).unwrap_or(0)
    }

    pub fn ended(&self, status: &str) -> u64 {
        self.ended_by_status.iter().find(|(s, _)| *s == status).map(|(_, c)| *c).unwrap_or(0)
    }

    /// The Prometheus text exposition format.
    pub fn prometheus(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(out, "# TYPE agentworld_op_latency_us summary");
        for (op, h) in &self.ops {
            h.write_prometheus(&mut out, "agentworld_op_latency_us", &format!("op=\"{op}\""), false);
        }
        let _ = writeln!(out, "# TYPE agentworld_calls_total counter");
        for (s, c) in &self.calls_by_status {
            let _ = writeln!(out, "agentworld_calls_total{{status=\"{s}\"}} {c}");
        }
        let _ = writeln!(out, "# TYPE agentworld_episodes_ended_total counter");
        for (s, c) in &self.ended_by_status {
            let _ = writeln!(out, "agentworld_episodes_ended_total{{status=\"{s}\"}} {c}");
        }
        for (name, kind, v) in [
            ("agentworld_episodes_opened_total", "counter", self.episodes_opened as i64),
            ("agentworld_live_episodes", "gauge", self.live_episodes),
            ("agentworld_env_actor_restarts_total", "counter", self.env_restarts as i64),
            ("agentworld_episode_actor_crashes_total", "counter", self.episode_crashes as i64),
            ("agentworld_worker_restarts_total", "counter", self.worker_restarts as i64),
            ("agentworld_queued_jobs", "gauge", self.queued_jobs),
            ("agentworld_calls_inline_total", "counter", self.calls_inline as i64),
            ("agentworld_calls_moved_to_worker_total", "counter", self.calls_moved as i64),
        ] {
            let _ = writeln!(out, "# TYPE {name} {kind}\n{name} {v}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotone_and_bound_their_values() {
        let mut last = 0;
        for us in [0u64, 1, 7, 8, 9, 15, 16, 100, 1000, 12_345, 1 << 30] {
            let b = bucket_of(us);
            assert!(b >= last);
            last = b;
            assert!(bucket_upper(b) >= us, "{us} -> bucket {b} upper {}", bucket_upper(b));
            assert!(bucket_upper(b) as f64 <= (us as f64 * 1.13).max(us as f64 + 1.0), "{us}");
        }
    }

    #[test]
    fn quantiles_follow_the_recorded_distribution() {
        let h = Histogram::default();
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        let s = h.snapshot();
        assert_eq!(s.count, 1000);
        assert_eq!(s.max_us, 1000);
        assert!((480..=560).contains(&s.p50_us), "{s:?}");
        assert!((980..=1100).contains(&s.p99_us), "{s:?}");
        assert_eq!(Histogram::default().snapshot().p99_us, 0);
    }

    #[test]
    fn prometheus_text_names_every_series() {
        let m = Metrics::default();
        m.time(Op::Call, Duration::from_micros(40));
        m.call_status(Status::Timeout);
        m.opened(3);
        m.ended(EndStatus::Reaped);
        let text = m.snapshot().prometheus();
        assert!(text.contains("agentworld_calls_total{status=\"timeout\"} 1"), "{text}");
        assert!(text.contains("agentworld_live_episodes 2"), "{text}");
        assert!(text.contains("agentworld_op_latency_us_count{op=\"call\"} 1"), "{text}");
        assert!(text.contains("agentworld_episodes_ended_total{status=\"reaped\"} 1"), "{text}");
    }

    #[test]
    fn a_summary_is_written_with_or_without_labels() {
        let h = HistogramSnapshot { count: 2, sum_us: 50, p50_us: 10, p90_us: 40, p99_us: 40, max_us: 40 };
        let mut out = String::new();
        h.write_prometheus(&mut out, "x_us", "op=\"call\"", false);
        assert_eq!(
            out,
            "x_us{op=\"call\",quantile=\"0.5\"} 10\nx_us{op=\"call\",quantile=\"0.9\"} 40\n\
             x_us{op=\"call\",quantile=\"0.99\"} 40\nx_us_sum{op=\"call\"} 50\nx_us_count{op=\"call\"} 2\n"
        );
        let mut out = String::new();
        h.write_prometheus(&mut out, "y_us", "", true);
        assert_eq!(
            out,
            "y_us{quantile=\"0.5\"} 10\ny_us{quantile=\"0.9\"} 40\ny_us{quantile=\"0.99\"} 40\n\
             y_us{quantile=\"1\"} 40\ny_us_sum 50\ny_us_count 2\n"
        );
    }
}
