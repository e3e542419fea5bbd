//! The machine's figures over time, for the charts: stored samples first, then the live ones
//! as they arrive, in a series of bounded length whatever the range.

use crate::components::ChartPoint;
use chrono::{DateTime, Utc};
use coordinator_api::monitoring::{MetricsSample, ServiceHealth, SystemMetrics};
use std::collections::{BTreeMap, VecDeque};

/// Points per chart at most. A sample every 15 seconds gives 240 points for an hour; longer
/// ranges average neighbouring samples so a day costs no more to draw than three hours.
pub const MAX_POINTS: i64 = 720;

/// The key of the coordinator itself among the services.
pub const COORDINATOR: &str = "integration-coordinator";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Range {
    #[default]
    Hour,
    SixHours,
    Day,
}

impl Range {
    pub const ALL: [Range; 3] = [Range::Hour, Range::SixHours, Range::Day];

    pub fn seconds(self) -> i64 {
        match self {
            Range::Hour => 3600,
            Range::SixHours => 6 * 3600,
            Range::Day => 24 * 3600,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Range::Hour => "1 h",
            Range::SixHours => "6 h",
            Range::Day => "24 h",
        }
    }

    /// For sentences: "in the last hour".
    pub fn words(self) -> &'static str {
        match self {
            Range::Hour => "the last hour",
            Range::SixHours => "the last 6 hours",
            Range::Day => "the last 24 hours",
        }
    }

    pub fn test_id(self) -> &'static str {
        match self {
            Range::Hour => "range-1h",
            Range::SixHours => "range-6h",
            Range::Day => "range-24h",
        }
    }

    /// Seconds one point of the chart covers.
    fn bucket_seconds(self) -> i64 {
        (self.seconds() / MAX_POINTS).max(1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    Cpu,
    Memory,
    Disk,
    /// Incoming and outgoing together, bytes per second.
    Network,
}

/// The sums of the samples that fell into one point's time slot.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    slot: i64,
    samples: u32,
    cpu: f64,
    memory: f64,
    disk: f64,
    network: f64,
}

impl Bucket {
    fn new(slot: i64) -> Self {
        Self {
            slot,
            samples: 0,
            cpu: 0.0,
            memory: 0.0,
            disk: 0.0,
            network: 0.0,
        }
    }

    fn add(&mut self, system: &SystemMetrics) {
        self.samples += 1;
        self.cpu += system.cpu.usage;
        self.memory += system.memory.usage;
        self.disk += system.disk.usage;
        self.network += system.network.incoming + system.network.outgoing;
    }

    fn mean(&self, figure: Figure) -> f64 {
        let sum = match figure {
            Figure::Cpu => self.cpu,
            Figure::Memory => self.memory,
            Figure::Disk => self.disk,
            Figure::Network => self.network,
        };
        sum / f64::from(self.samples.max(1))
    }
}

/// How many usual steps between two points make a gap.
const GAP_FACTOR: i64 = 3;

/// The median distance between neighbouring points, in buckets: the sampling interval as
/// the chart sees it, whatever `METRICS_INTERVAL` is.
fn usual_step(buckets: &VecDeque<Bucket>) -> i64 {
    let mut steps: Vec<i64> = buckets
        .iter()
        .zip(buckets.iter().skip(1))
        .map(|(a, b)| b.slot - a.slot)
        .collect();
    if steps.is_empty() {
        return 1;
    }
    steps.sort_unstable();
    steps[steps.len() / 2].max(1)
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    range: Range,
    buckets: VecDeque<Bucket>,
    newest: Option<DateTime<Utc>>,
}

impl Series {
    pub fn new(range: Range) -> Self {
        Self {
            range,
            ..Self::default()
        }
    }

    /// Stored samples, oldest first, as the history answers them.
    pub fn from_samples(range: Range, samples: &[MetricsSample]) -> Self {
        let mut series = Self::new(range);
        for sample in samples {
            series.push(sample.timestamp, &sample.system);
        }
        series
    }

    pub fn range(&self) -> Range {
        self.range
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Adds one sample. Samples no newer than the newest one are already in the series (the
    /// live one that was also stored, or a history page's overlap) and are left out. Points
    /// that fall out of the range on the left are dropped, so the chart keeps its span.
    pub fn push(&mut self, at: DateTime<Utc>, system: &SystemMetrics) {
        if self.newest.is_some_and(|newest| at <= newest) {
            return;
        }
        self.newest = Some(at);
        let width = self.range.bucket_seconds();
        let slot = at.timestamp().div_euclid(width);
        match self.buckets.back_mut() {
            Some(bucket) if bucket.slot == slot => bucket.add(system),
            _ => {
                let mut bucket = Bucket::new(slot);
                bucket.add(system);
                self.buckets.push_back(bucket);
            }
        }
        let oldest_kept = slot - self.range.seconds() / width;
        while self
            .buckets
            .front()
            .is_some_and(|b| b.slot <= oldest_kept || self.buckets.len() as i64 > MAX_POINTS)
        {
            self.buckets.pop_front();
        }
    }

    /// The points of `figure` placed by time across the range, which ends at the newest
    /// sample. Where the distance to the previous point is several times the usual one
    /// (samples missing: the coordinator was stopped), the line breaks.
    pub fn points(&self, figure: Figure) -> Vec<ChartPoint> {
        let Some(last) = self.buckets.back().map(|b| b.slot) else {
            return Vec::new();
        };
        let span = (self.range.seconds() / self.range.bucket_seconds()).max(1);
        let first = last - span;
        let gap = usual_step(&self.buckets) * GAP_FACTOR;
        let mut previous: Option<i64> = None;
        self.buckets
            .iter()
            .map(|bucket| {
                let after_gap = previous.is_some_and(|p| bucket.slot - p > gap);
                previous = Some(bucket.slot);
                ChartPoint {
                    x: (bucket.slot - first) as f64 / span as f64,
                    y: bucket.mean(figure),
                    after_gap,
                }
            })
            .collect()
    }
}

/// The coordinator first, then every server by id.
pub fn services_in_order(
    services: &BTreeMap<String, ServiceHealth>,
) -> Vec<(String, ServiceHealth)> {
    let mut ordered: Vec<(String, ServiceHealth)> = services
        .iter()
        .map(|(name, health)| (name.clone(), health.clone()))
        .collect();
    ordered.sort_by_key(|(name, _)| (name != COORDINATOR, name.clone()));
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use coordinator_api::monitoring::{CapacityMetrics, CpuMetrics, NetworkMetrics, ResponseTime};
    use coordinator_api::servers::ServerStatus;

    fn system(cpu: f64) -> SystemMetrics {
        let capacity = CapacityMetrics {
            total: 10.0,
            used: 5.0,
            free: 5.0,
            usage: 50.0,
        };
        SystemMetrics {
            cpu: CpuMetrics {
                usage: cpu,
                cores: 2,
            },
            memory: capacity,
            disk: capacity,
            network: NetworkMetrics {
                incoming: 100.0,
                outgoing: 28.0,
            },
        }
    }

    fn ys(series: &Series, figure: Figure) -> Vec<f64> {
        series.points(figure).iter().map(|p| p.y).collect()
    }

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap()
    }

    #[test]
    fn an_hour_keeps_every_sample_and_sums_the_network() {
        let samples: Vec<MetricsSample> = (0..4)
            .map(|i| MetricsSample {
                timestamp: start() + Duration::seconds(15 * i),
                system: system(10.0 * i as f64),
            })
            .collect();
        let series = Series::from_samples(Range::Hour, &samples);
        assert_eq!(ys(&series, Figure::Cpu), vec![0.0, 10.0, 20.0, 30.0]);
        assert_eq!(ys(&series, Figure::Memory), vec![50.0; 4]);
        assert_eq!(ys(&series, Figure::Network), vec![128.0; 4]);
        // The newest sample sits at the right edge; a minute of an hour is a sliver.
        let points = series.points(Figure::Cpu);
        assert_eq!(points.last().map(|p| p.x), Some(1.0));
        assert!(points[0].x > 0.98 && points[0].x < 1.0, "{points:?}");
        assert!(points.iter().all(|p| !p.after_gap));
    }

    #[test]
    fn time_without_samples_breaks_the_line() {
        let at = |minutes: i64| MetricsSample {
            timestamp: start() + Duration::minutes(minutes),
            system: system(20.0),
        };
        let series = Series::from_samples(Range::Hour, &[at(0), at(1), at(30), at(31)]);
        let gaps: Vec<bool> = series
            .points(Figure::Cpu)
            .iter()
            .map(|p| p.after_gap)
            .collect();
        assert_eq!(gaps, [false, false, true, false]);
    }

    #[test]
    fn a_day_averages_neighbours_into_one_point() {
        let mut series = Series::new(Range::Day);
        // Two minutes per point: 09:00:00 and 09:00:30 share one, 09:02:00 starts the next.
        series.push(start(), &system(10.0));
        series.push(start() + Duration::seconds(30), &system(30.0));
        series.push(start() + Duration::seconds(120), &system(50.0));
        assert_eq!(ys(&series, Figure::Cpu), vec![20.0, 50.0]);
    }

    #[test]
    fn repeated_and_older_samples_are_left_out() {
        let mut series = Series::new(Range::Hour);
        series.push(start(), &system(10.0));
        series.push(start(), &system(90.0));
        series.push(start() - Duration::seconds(15), &system(90.0));
        assert_eq!(ys(&series, Figure::Cpu), vec![10.0]);
    }

    #[test]
    fn the_series_keeps_its_span_and_its_length() {
        let mut series = Series::new(Range::Hour);
        for i in 0..2000 {
            series.push(start() + Duration::seconds(5 * i), &system(1.0));
        }
        assert_eq!(ys(&series, Figure::Cpu).len(), MAX_POINTS as usize);
        series.push(start() + Duration::hours(5), &system(2.0));
        assert_eq!(ys(&series, Figure::Cpu), vec![2.0]);
        assert!(!series.is_empty());
        assert!(Series::new(Range::Day).is_empty());
    }

    #[test]
    fn the_coordinator_comes_first() {
        let health = ServiceHealth {
            status: ServerStatus::Healthy,
            uptime: Some(5),
            response_time: ResponseTime {
                average: 1.0,
                p95: 2.0,
            },
            error_rate: 0.0,
        };
        let services: BTreeMap<String, ServiceHealth> = ["alpha", COORDINATOR, "zulu"]
            .iter()
            .map(|name| ((*name).to_owned(), health.clone()))
            .collect();
        let names: Vec<String> = services_in_order(&services)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, [COORDINATOR, "alpha", "zulu"]);
        assert_eq!(Range::Day.bucket_seconds(), 120);
        assert_eq!(Range::Hour.bucket_seconds(), 5);
    }
}
