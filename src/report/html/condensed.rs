//! A run too large to draw call by call, condensed for the page.
//!
//! A 1,400-pixel timeline cannot show a hundred thousand bars, and a page that embeds
//! every call's record grows with the run (40 MB at 100,000 calls). Past
//! [`DETAIL_LIMIT`] calls, a run is drawn as:
//!
//! - the first [`DETAIL_LIMIT`] calls to start, call by call, on the timeline: every
//!   call that started in that window, exactly as the run made it;
//! - aggregates over every call, in [`BUCKETS`] time buckets: the most and the mean calls
//!   in flight (for the run and per tool), the occupancy of the concurrency slots, and
//!   the service time's p50, p99 and max of the calls that ended in each bucket.
//!
//! The aggregates are computed here, in Rust, where they are tested against analytic
//! cases; the page only draws them.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use serde::Serialize;

use crate::report::model::{CallReport, RunReport};

/// Calls per run drawn one by one; a larger run is condensed.
pub const DETAIL_LIMIT: usize = 10_000;
/// Time buckets of the aggregates: about one per pixel of a wide chart.
pub const BUCKETS: usize = 1_000;
/// Rows of the slot-occupancy chart at most: wider runs group neighbouring slots.
pub const OCCUPANCY_ROWS: usize = 64;

/// What the page draws of a condensed run.
#[derive(Debug, Serialize)]
pub struct Condensed {
    /// Calls in the run.
    pub calls: usize,
    /// Calls drawn one by one (those embedded in the page's report).
    pub shown: usize,
    /// The window of the calls drawn: they started before this time (seconds).
    pub window_end_s: f64,
    /// The aggregates' time axis, the run's own: `BUCKETS` buckets of this width from 0.
    pub bucket_s: f64,
    /// Calls in flight per bucket, for the run, then per tool.
    pub in_flight: Vec<InFlightBand>,
    /// Slot occupancy per bucket.
    pub occupancy: Occupancy,
    /// Per bucket, the calls that ended in it: `[count, p50_s, p99_s, max_s]` of their
    /// service time (`null` figures for a bucket with none).
    pub service: Vec<ServiceBucket>,
}

/// Calls in flight over time for a set of calls.
#[derive(Debug, Serialize)]
pub struct InFlightBand {
    /// `all calls`, or a tool's name.
    pub label: String,
    /// The most in flight at any instant.
    pub peak: u32,
    /// Per bucket, the most in flight at any instant of it.
    pub max: Vec<u32>,
    /// Per bucket, the time-weighted mean in flight, rounded to 0.01.
    pub mean: Vec<f64>,
}

/// How busy the concurrency slots were. Calls are given the lowest free slot when they
/// start (as the timeline's slot rows are), and neighbouring slots are grouped into at
/// most [`OCCUPANCY_ROWS`] rows.
#[derive(Debug, Serialize)]
pub struct Occupancy {
    /// Slots the run used: its peak in flight.
    pub slots: usize,
    /// Slots per row.
    pub group: usize,
    /// Per row, per bucket, the share of the time its slots held a call, in percent.
    pub rows: Vec<Vec<u8>>,
}

/// The service times of the calls that ended in a bucket.
#[derive(Debug, Serialize)]
pub struct ServiceBucket {
    /// Calls that ended in it (after starting).
    pub count: usize,
    /// Their median service time.
    pub p50_s: Option<f64>,
    /// Their 99th percentile.
    pub p99_s: Option<f64>,
    /// Their longest.
    pub max_s: Option<f64>,
}

/// A call that started: `(start, end)` in seconds.
type Held = (f64, f64);

fn held(call: &CallReport) -> Option<Held> {
    Some((call.start_s?, call.end_s.max(call.start_s?)))
}

/// Condenses `run` when it has more than [`DETAIL_LIMIT`] calls. The aggregates cover
/// the run's own time axis, to its latest end: a sequential run of an hour and a
/// parallel one of a minute each get their thousand buckets. Returns the condensed
/// figures and the indices of the calls to draw one by one, in input order.
pub fn condense(run: &RunReport) -> Option<(Condensed, Vec<usize>)> {
    if run.calls.len() <= DETAIL_LIMIT {
        return None;
    }
    let shown = first_to_start(&run.calls, DETAIL_LIMIT);
    let window_end_s = shown.iter().filter_map(|&i| run.calls[i].start_s).fold(0.0, f64::max);
    let horizon_s = run.calls.iter().map(|c| c.end_s).fold(run.wall_s, f64::max).max(1e-9);
    let bucket_s = horizon_s / BUCKETS as f64;
    let all: Vec<Held> = run.calls.iter().filter_map(held).collect();
    let mut in_flight = vec![in_flight_band("all calls", &all, bucket_s)];
    // One pass over the calls, by tool, in the order of the run's tools.
    let mut by_tool: BTreeMap<&str, Vec<Held>> = BTreeMap::new();
    for call in &run.calls {
        if let Some(h) = held(call) {
            by_tool.entry(call.tool.as_str()).or_default().push(h);
        }
    }
    for tool in run.tools.keys() {
        if let Some(calls) = by_tool.get(tool.as_str()) {
            in_flight.push(in_flight_band(tool, calls, bucket_s));
        }
    }
    Some((
        Condensed {
            calls: run.calls.len(),
            shown: shown.len(),
            window_end_s,
            bucket_s,
            in_flight,
            occupancy: occupancy(&all, bucket_s),
            service: service(&all, bucket_s),
        },
        shown,
    ))
}

/// The first `limit` calls to start (ties by input order), and every call that never
/// started but ended before the last of them started; in input order.
fn first_to_start(calls: &[CallReport], limit: usize) -> Vec<usize> {
    let mut started: Vec<usize> = (0..calls.len()).filter(|&i| calls[i].start_s.is_some()).collect();
    let start = |i: usize| calls[i].start_s.unwrap_or(f64::INFINITY);
    started.sort_by(|&a, &b| start(a).total_cmp(&start(b)).then(a.cmp(&b)));
    started.truncate(limit);
    let window_end = started.last().map_or(0.0, |&i| start(i));
    let mut shown = started;
    shown.extend((0..calls.len()).filter(|&i| calls[i].start_s.is_none() && calls[i].end_s <= window_end));
    shown.sort_unstable();
    shown
}

/// The bucket of time `t` (the last bucket takes the horizon's end and beyond).
fn bucket(t: f64, bucket_s: f64) -> usize {
    ((t / bucket_s).max(0.0) as usize).min(BUCKETS - 1)
}

/// Starts and ends of `calls` in time order, ends before starts at the same instant (a
/// slot freed at an instant is free for a call starting then, as in the run).
fn events(calls: &[Held]) -> Vec<(f64, i32)> {
    let mut events: Vec<(f64, i32)> = calls
        .iter()
        .filter(|(s, e)| e > s)
        .flat_map(|&(s, e)| [(s, 1), (e, -1)])
        .collect();
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    events
}

fn in_flight_band(label: &str, calls: &[Held], bucket_s: f64) -> InFlightBand {
    let mut max = vec![0u32; BUCKETS];
    let mut area = vec![0.0f64; BUCKETS];
    let (mut n, mut peak, mut t) = (0u32, 0u32, 0.0f64);
    for (at, delta) in events(calls) {
        hold(t, at, n, bucket_s, &mut max, &mut area);
        n = n.saturating_add_signed(delta);
        peak = peak.max(n);
        // An instant's count shows in its bucket's maximum even if it lasts no time.
        let b = bucket(at, bucket_s);
        max[b] = max[b].max(n);
        t = at;
    }
    InFlightBand {
        label: label.to_string(),
        peak,
        max,
        mean: area.iter().map(|a| (a / bucket_s * 100.0).round() / 100.0).collect(),
    }
}

/// The buckets the span from `from` to `to` touches, each with the time it spends in
/// it. A span that ends exactly where a bucket begins does not touch that bucket; a span
/// of no length touches its own bucket for no time.
fn overlaps(from: f64, to: f64, bucket_s: f64) -> impl Iterator<Item = (usize, f64)> {
    let (first, last) = (bucket(from, bucket_s), bucket(to, bucket_s));
    (first..=last).filter_map(move |b| {
        let lo = from.max(b as f64 * bucket_s);
        let hi = if b == BUCKETS - 1 {
            to
        } else {
            to.min((b + 1) as f64 * bucket_s)
        };
        (hi > lo || first == last).then(|| (b, (hi - lo).max(0.0)))
    })
}

/// Books `n` calls in flight from `from` to `to` into the buckets between.
fn hold(from: f64, to: f64, n: u32, bucket_s: f64, max: &mut [u32], area: &mut [f64]) {
    if to <= from {
        return;
    }
    for (b, time) in overlaps(from, to, bucket_s) {
        max[b] = max[b].max(n);
        area[b] += f64::from(n) * time;
    }
}

fn occupancy(calls: &[Held], bucket_s: f64) -> Occupancy {
    let mut order: Vec<Held> = calls.iter().copied().filter(|(s, e)| e > s).collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    // The lowest free slot for each call in start order; slots held until their call ends.
    let mut free: BinaryHeap<Reverse<usize>> = BinaryHeap::new();
    let mut busy: BinaryHeap<Reverse<(OrdF64, usize)>> = BinaryHeap::new();
    let mut slots = 0usize;
    let mut spans: Vec<(usize, f64, f64)> = Vec::with_capacity(order.len());
    for (start, end) in order {
        while let Some(&Reverse((OrdF64(done), slot))) = busy.peek()
            && done <= start
        {
            busy.pop();
            free.push(Reverse(slot));
        }
        let slot = match free.pop() {
            Some(Reverse(slot)) => slot,
            None => {
                slots += 1;
                slots - 1
            }
        };
        busy.push(Reverse((OrdF64(end), slot)));
        spans.push((slot, start, end));
    }
    let group = slots.div_ceil(OCCUPANCY_ROWS).max(1);
    let rows = slots.div_ceil(group);
    let mut time = vec![vec![0.0f64; BUCKETS]; rows];
    for (slot, start, end) in spans {
        let row = &mut time[slot / group];
        for (b, busy) in overlaps(start, end, bucket_s) {
            row[b] += busy;
        }
    }
    let rows = time
        .iter()
        .enumerate()
        .map(|(r, row)| {
            // The last row may group fewer slots.
            let members = group.min(slots - r * group) as f64;
            row.iter()
                .map(|busy| (busy / (members * bucket_s) * 100.0).round().clamp(0.0, 100.0) as u8)
                .collect()
        })
        .collect();
    Occupancy { slots, group, rows }
}

fn service(calls: &[Held], bucket_s: f64) -> Vec<ServiceBucket> {
    let mut by_bucket: Vec<Vec<f64>> = vec![Vec::new(); BUCKETS];
    for &(start, end) in calls {
        by_bucket[bucket(end, bucket_s)].push(end - start);
    }
    by_bucket
        .into_iter()
        .map(|mut times| {
            times.sort_by(f64::total_cmp);
            // Nearest rank, as the HDR histograms' percentiles are.
            let n = times.len();
            let rank = |q: f64| match n {
                0 => None,
                _ => Some(times[((q * n as f64).ceil() as usize).clamp(1, n) - 1]),
            };
            ServiceBucket {
                count: times.len(),
                p50_s: rank(0.50),
                p99_s: rank(0.99),
                max_s: times.last().copied(),
            }
        })
        .collect()
}

/// An `f64` ordered by `total_cmp`, for the heap of busy slots.
#[derive(Clone, Copy, Debug, PartialEq)]
struct OrdF64(f64);

impl Eq for OrdF64 {}

impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(i: usize, tool: &str, start: f64, end: f64) -> CallReport {
        CallReport {
            id: format!("c{i}"),
            tool: tool.to_string(),
            deps: Vec::new(),
            status: crate::executor::CallStatus::Ok,
            attempts: 1,
            queued_s: Some(0.0),
            start_s: Some(start),
            end_s: end,
            error: None,
            failure: None,
            http_status: None,
            cause: None,
            attempt_spans: Vec::new(),
        }
    }

    fn run_of(calls: Vec<CallReport>, tools: &[&str]) -> RunReport {
        RunReport {
            mode: crate::executor::RunMode::Parallel,
            max_concurrency: 64,
            batch_size: None,
            wall_s: calls.iter().map(|c| c.end_s).fold(0.0, f64::max),
            deadline_hit: false,
            interrupted: false,
            success_rate: 1.0,
            latency: crate::report::model::Percentiles::default(),
            calls,
            tools: tools
                .iter()
                .map(|t| (t.to_string(), crate::report::model::ToolStats::default()))
                .collect(),
            start_lag: None,
            completion_lag: None,
            histograms: std::collections::BTreeMap::new(),
        }
    }

    /// `n` calls of 10 ms, `width` at a time, back to back: `n / width` waves.
    fn waves(n: usize, width: usize) -> Vec<Held> {
        (0..n)
            .map(|i| {
                // From whole milliseconds, as a report's seconds come from whole nanoseconds:
                // an end and the next start at the same instant are the same number.
                let wave = i / width;
                ((wave * 10) as f64 / 1e3, ((wave + 1) * 10) as f64 / 1e3)
            })
            .collect()
    }

    #[test]
    fn a_steady_window_is_in_flight_at_its_width_and_fills_its_slots() {
        // 40,000 calls, 64 at a time: 625 waves of 10 ms, 6.25 s.
        let calls = waves(40_000, 64);
        let bucket_s = 6.25 / BUCKETS as f64;
        let band = in_flight_band("all calls", &calls, bucket_s);
        assert_eq!(band.peak, 64);
        assert!(band.max.iter().all(|&m| m == 64), "{:?}", &band.max[..8]);
        assert!(
            band.mean.iter().all(|&m| (m - 64.0).abs() < 0.01),
            "{:?}",
            &band.mean[..8]
        );
        let occ = occupancy(&calls, bucket_s);
        assert_eq!((occ.slots, occ.group, occ.rows.len()), (64, 1, 64));
        assert!(occ.rows.iter().flatten().all(|&p| p == 100));
        let service = service(&calls, bucket_s);
        assert_eq!(service.iter().map(|b| b.count).sum::<usize>(), 40_000);
        let with = service.iter().filter(|b| b.count > 0);
        assert!(with.clone().all(|b| (b.p99_s.unwrap() - 0.01).abs() < 1e-12));
    }

    #[test]
    fn half_busy_slots_are_half_occupied_and_their_mean_is_half() {
        // Two slots over 2 s: one busy throughout, the other for the first second.
        let calls = [(0.0, 2.0), (0.0, 1.0)];
        let bucket_s = 2.0 / BUCKETS as f64;
        let occ = occupancy(&calls, bucket_s);
        assert_eq!(occ.slots, 2);
        // The shorter call starts first (ties by end): slot 1 is busy half the time.
        assert!(occ.rows[1].iter().all(|&p| p == 100));
        assert!(occ.rows[0][..BUCKETS / 2].iter().all(|&p| p == 100));
        assert!(occ.rows[0][BUCKETS / 2..].iter().all(|&p| p == 0));
        let band = in_flight_band("all calls", &calls, bucket_s);
        let mean: f64 = band.mean.iter().sum::<f64>() / BUCKETS as f64;
        assert!((mean - 1.5).abs() < 1e-9, "{mean}");
        // 1,000 slots in 64 rows of 16 (the last of 8).
        let wide: Vec<Held> = (0..1_000).map(|_| (0.0, 1.0)).collect();
        let occ = occupancy(&wide, 1.0 / BUCKETS as f64);
        assert_eq!((occ.slots, occ.group, occ.rows.len()), (1_000, 16, 63));
        assert!(occ.rows.iter().flatten().all(|&p| p == 100));
    }

    #[test]
    fn percentiles_over_time_are_the_nearest_ranks_of_the_calls_ending_in_each_bucket() {
        // In the first bucket, 100 calls of 1..=100 ms end; nothing else.
        let calls: Vec<Held> = (1..=100).map(|ms| (0.0005 - f64::from(ms) / 1e3, 0.0005)).collect();
        let service = service(&calls, 0.001);
        assert_eq!(service[0].count, 100);
        assert!((service[0].p50_s.unwrap() - 0.050).abs() < 1e-12);
        assert!((service[0].p99_s.unwrap() - 0.099).abs() < 1e-12);
        assert!((service[0].max_s.unwrap() - 0.100).abs() < 1e-12);
        assert_eq!((service[1].count, service[1].p50_s), (0, None));
    }

    #[test]
    fn a_run_over_the_limit_shows_its_first_calls_to_start_and_aggregates_all() {
        let calls: Vec<CallReport> = (0..DETAIL_LIMIT + 500)
            .map(|i| {
                // Input order is not start order: the last calls start first.
                let ms = DETAIL_LIMIT + 500 - i;
                call(
                    i,
                    if i % 2 == 0 { "a" } else { "b" },
                    ms as f64 / 1e3,
                    (ms + 2) as f64 / 1e3,
                )
            })
            .collect();
        let run = run_of(calls, &["a", "b"]);
        let (condensed, shown) = condense(&run).unwrap();
        assert!((condensed.bucket_s * BUCKETS as f64 - 10.502).abs() < 1e-9);
        assert_eq!(
            (condensed.calls, condensed.shown, shown.len()),
            (DETAIL_LIMIT + 500, DETAIL_LIMIT, DETAIL_LIMIT)
        );
        // The 500 calls of the lowest index started last: left out.
        assert_eq!(shown[0], 500);
        assert!((condensed.window_end_s - DETAIL_LIMIT as f64 * 0.001).abs() < 1e-9);
        let labels: Vec<&str> = condensed.in_flight.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["all calls", "a", "b"]);
        assert_eq!(condensed.in_flight[0].peak, 2);
        let small = run_of(run.calls[..DETAIL_LIMIT].to_vec(), &["a", "b"]);
        assert!(condense(&small).is_none());
    }
}
