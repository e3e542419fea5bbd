//! In-process statistics: what this replica served, and how fast.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How far back response times and error rates look.
pub const WINDOW: Duration = Duration::from_secs(300);
/// Requests kept per service inside the window, to bound memory under load.
const KEEP: usize = 20_000;
/// The name the coordinator reports itself under.
pub const COORDINATOR: &str = "integration-coordinator";

pub const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// From proposal to decision: a minute to three days.
pub const DECISION_BUCKETS: [f64; 8] = [
    60.0, 300.0, 900.0, 3600.0, 14_400.0, 86_400.0, 259_200.0, 604_800.0,
];

/// A service's recent requests: when, how many milliseconds, and whether it failed.
type Recent = VecDeque<(Instant, f64, bool)>;

#[derive(Debug, Clone, Default)]
pub struct Histogram {
    pub buckets: Vec<u64>,
    pub count: u64,
    pub sum: f64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], value: f64) {
        if self.buckets.len() != bounds.len() {
            self.buckets = vec![0; bounds.len()];
        }
        for (bucket, bound) in self.buckets.iter_mut().zip(bounds) {
            if value <= *bound {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum += value;
    }
}

/// Response time (ms) and share of failures over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowStats {
    pub average_ms: f64,
    pub p95_ms: f64,
    pub error_rate: f64,
    pub requests: usize,
}

#[derive(Default)]
pub struct Recorder {
    started: Option<Instant>,
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    recent: Mutex<HashMap<String, Recent>>,
    decisions: Mutex<Histogram>,
    pub lease_expiries: AtomicU64,
    /// 1 verified, 0 broken, -1 not checked since start.
    pub last_verify: AtomicI64,
}

impl Recorder {
    pub fn new() -> Self {
        Self {
            started: Some(Instant::now()),
            last_verify: AtomicI64::new(-1),
            ..Self::default()
        }
    }

    pub fn uptime(&self) -> Duration {
        self.started.map(|s| s.elapsed()).unwrap_or_default()
    }

    /// One answered request: by route for Prometheus, and by service for the windows.
    pub fn request(
        &self,
        route: &str,
        method: &str,
        status: u16,
        took: Duration,
        caller: Option<&str>,
    ) {
        let seconds = took.as_secs_f64();
        *lock(&self.requests)
            .entry((route.to_owned(), method.to_owned(), status))
            .or_default() += 1;
        lock(&self.latency)
            .entry(route.to_owned())
            .or_default()
            .observe(&LATENCY_BUCKETS, seconds);
        let now = Instant::now();
        let mut recent = lock(&self.recent);
        let failed = status >= 500;
        for service in std::iter::once(COORDINATOR).chain(caller) {
            let entries = recent.entry(service.to_owned()).or_default();
            entries.push_back((
                now,
                seconds * 1000.0,
                failed || (caller == Some(service) && status >= 400),
            ));
            while entries.len() > KEEP
                || entries.front().is_some_and(|(at, _, _)| now - *at > WINDOW)
            {
                entries.pop_front();
            }
        }
    }

    pub fn window(&self, service: &str) -> WindowStats {
        let recent = lock(&self.recent);
        let Some(entries) = recent.get(service) else {
            return WindowStats::default();
        };
        let now = Instant::now();
        let mut times: Vec<f64> = Vec::new();
        let mut failures = 0usize;
        for (at, ms, failed) in entries {
            if now - *at <= WINDOW {
                times.push(*ms);
                failures += usize::from(*failed);
            }
        }
        if times.is_empty() {
            return WindowStats::default();
        }
        times.sort_by(f64::total_cmp);
        let p95_index = ((times.len() as f64) * 0.95).ceil() as usize;
        WindowStats {
            average_ms: times.iter().sum::<f64>() / times.len() as f64,
            p95_ms: times[p95_index.clamp(1, times.len()) - 1],
            error_rate: failures as f64 * 100.0 / times.len() as f64,
            requests: times.len(),
        }
    }

    pub fn decision(&self, waited: Duration) {
        lock(&self.decisions).observe(&DECISION_BUCKETS, waited.as_secs_f64());
    }

    pub fn lease_expired(&self, count: usize) {
        self.lease_expiries
            .fetch_add(count as u64, Ordering::Relaxed);
    }

    pub fn requests_snapshot(&self) -> BTreeMap<(String, String, u16), u64> {
        lock(&self.requests).clone()
    }

    pub fn latency_snapshot(&self) -> BTreeMap<String, Histogram> {
        lock(&self.latency).clone()
    }

    pub fn decisions_snapshot(&self) -> Histogram {
        lock(&self.decisions).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_give_average_p95_and_errors_per_service() {
        let recorder = Recorder::new();
        for ms in 1..=100u64 {
            recorder.request(
                "/x",
                "GET",
                200,
                Duration::from_millis(ms),
                Some("installer"),
            );
        }
        recorder.request("/x", "GET", 500, Duration::from_millis(1), None);
        let coordinator = recorder.window(COORDINATOR);
        assert_eq!(coordinator.requests, 101);
        assert!((coordinator.error_rate - 100.0 / 101.0).abs() < 1e-9);
        let installer = recorder.window("installer");
        assert_eq!(installer.requests, 100);
        assert!((installer.average_ms - 50.5).abs() < 0.5);
        assert!((installer.p95_ms - 95.0).abs() < 1.0);
        assert_eq!(recorder.window("nobody"), WindowStats::default());
    }
}
