//! HdrHistogram interval logs: what `--hlog` writes and `parabench merge` reads.
//!
//! The format is HdrHistogram's own (`HistogramLogWriter` in Java, `hdrhistogram`'s
//! `interval_log` here), so its tools (`HistogramLogProcessor`, HdrHistogram's plotter)
//! read parabench's logs. Each run of a report becomes one interval per tool and metric,
//! tagged `{mode}/{tool}/{metric}` (`metric` is `service` or `queue_wait`), starting where
//! the previous run ended. Values are nanoseconds; the max column is in seconds (a max
//! value divisor of 10⁹), as HdrHistogram's tools expect with an output unit ratio of 10⁹.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};

use super::Report;
use crate::stats::LatencyHistogram;

/// Which histogram of a tool an interval holds.
pub const METRICS: [&str; 2] = ["service", "queue_wait"];

/// An interval log could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum HlogError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The file is not an HdrHistogram interval log.
    #[error(
        "{path}: line {line}: expected an HdrHistogram interval log line (Tag=...,start,length,max,histogram): {reason}"
    )]
    Parse {
        /// The file.
        path: String,
        /// The 1-based line of the problem.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// The file holds no histograms.
    #[error("{path}: no histograms in this interval log")]
    Empty {
        /// The file.
        path: String,
    },
    /// A histogram could not be encoded.
    #[error("could not encode a histogram: {0}")]
    Encode(String),
}

/// Writes the histograms of `report` as an interval log.
///
/// # Errors
///
/// [`HlogError::Encode`] when a histogram cannot be serialised, [`HlogError::Io`] when
/// writing fails (`path` names the destination in the error).
pub fn write(report: &Report, out: &mut impl Write, path: &str) -> Result<(), HlogError> {
    let io = |source| HlogError::Io {
        path: path.to_string(),
        source,
    };
    let total: Duration = report.runs.iter().map(|r| Duration::from_secs_f64(r.wall_s)).sum();
    let start = SystemTime::now().checked_sub(total).unwrap_or(SystemTime::UNIX_EPOCH);
    let mut serializer = V2DeflateSerializer::new();
    let mut builder = IntervalLogWriterBuilder::new();
    builder
        .add_comment(&format!(
            "parabench {} scenario={} seed={} clock={}",
            report.parabench_version, report.scenario, report.seed, report.clock
        ))
        .add_comment("tags are mode/tool/metric; values in nanoseconds, max column in seconds")
        .with_start_time(start)
        .with_base_time(start)
        .with_max_value_divisor(1e9);
    let mut log = builder.begin_log_with(out, &mut serializer).map_err(io)?;
    let mut offset = Duration::ZERO;
    for run in &report.runs {
        let wall = Duration::from_secs_f64(run.wall_s);
        for (tool, histograms) in &run.histograms {
            for (metric, h) in METRICS.iter().zip([&histograms.service, &histograms.queue_wait]) {
                let tag = tag_for(run.mode.as_str(), tool, metric);
                log.write_histogram(h.get_ref(), offset, wall, Tag::new(&tag))
                    .map_err(|e| match e {
                        hdrhistogram::serialization::interval_log::IntervalLogWriterError::IoError(e) => io(e),
                        other => HlogError::Encode(format!("{other:?}")),
                    })?;
            }
        }
        offset += wall;
    }
    Ok(())
}

/// The tag of a tool's histogram: characters the format forbids become `_`.
pub fn tag_for(mode: &str, tool: &str, metric: &str) -> String {
    format!("{mode}/{tool}/{metric}")
        .chars()
        .map(|c| {
            if matches!(c, ',' | ' ' | '\r' | '\n' | '=') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Histograms read from interval logs, summed per tag.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MergedLog {
    /// Per tag, the sum of every interval with that tag (untagged intervals under `""`).
    pub histograms: BTreeMap<String, LatencyHistogram>,
    /// Per tag, the summed length of its intervals.
    pub lengths: BTreeMap<String, Duration>,
    /// Intervals read.
    pub intervals: usize,
}

impl MergedLog {
    /// Reads and adds the interval log at `path`.
    ///
    /// # Errors
    ///
    /// [`HlogError`] naming the file (and line) when it cannot be read or parsed.
    pub fn add_file(&mut self, path: &Path) -> Result<(), HlogError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| HlogError::Io {
            path: name.clone(),
            source,
        })?;
        self.add_bytes(&bytes, &name)
    }

    /// Reads and adds an interval log held in memory; `name` names it in errors.
    ///
    /// # Errors
    ///
    /// [`HlogError`] when it cannot be parsed.
    pub fn add_bytes(&mut self, bytes: &[u8], name: &str) -> Result<(), HlogError> {
        let parse = |offset: usize, reason: String| HlogError::Parse {
            path: name.to_string(),
            line: bytes[..offset.min(bytes.len())].iter().filter(|b| **b == b'\n').count() + 1,
            reason,
        };
        let mut deserializer = Deserializer::new();
        let before = self.intervals;
        let mut offset = 0;
        for entry in IntervalLogIterator::new(bytes) {
            let interval = match entry {
                Ok(LogEntry::Interval(interval)) => interval,
                Ok(LogEntry::StartTime(_) | LogEntry::BaseTime(_)) => continue,
                Err(hdrhistogram::serialization::interval_log::LogIteratorError::ParseError { offset: at }) => {
                    return Err(parse(at, "unreadable line".into()));
                }
            };
            offset = find(bytes, interval.encoded_histogram().as_bytes(), offset);
            let encoded = base64::engine::general_purpose::STANDARD
                .decode(interval.encoded_histogram())
                .map_err(|e| parse(offset, format!("histogram is not base64: {e}")))?;
            let h: Histogram<u64> = deserializer
                .deserialize(&mut encoded.as_slice())
                .map_err(|e| parse(offset, format!("histogram does not decode: {e:?}")))?;
            let tag = interval.tag().map(|t| t.as_str().to_string()).unwrap_or_default();
            *self.lengths.entry(tag.clone()).or_default() += interval.duration();
            self.histograms.entry(tag).or_default().add(&h);
            self.intervals += 1;
        }
        if self.intervals == before {
            return Err(HlogError::Empty { path: name.to_string() });
        }
        Ok(())
    }
}

impl MergedLog {
    /// Writes the merged histograms as an interval log, one interval per tag.
    ///
    /// # Errors
    ///
    /// [`HlogError`] when writing fails.
    pub fn write(&self, out: &mut impl Write, path: &str) -> Result<(), HlogError> {
        let mut serializer = V2DeflateSerializer::new();
        let mut builder = IntervalLogWriterBuilder::new();
        let now = SystemTime::now();
        builder
            .add_comment(&format!("parabench merge of {} intervals", self.intervals))
            .add_comment("tags are mode/tool/metric; values in nanoseconds, max column in seconds")
            .with_start_time(now)
            .with_base_time(now)
            .with_max_value_divisor(1e9);
        let mut log = builder
            .begin_log_with(out, &mut serializer)
            .map_err(|source| HlogError::Io {
                path: path.to_string(),
                source,
            })?;
        for (tag, h) in &self.histograms {
            let length = self.lengths.get(tag).copied().unwrap_or_default();
            log.write_histogram(h.get_ref(), Duration::ZERO, length, Tag::new(tag))
                .map_err(|e| HlogError::Encode(format!("{e:?}")))?;
        }
        Ok(())
    }
}

/// Where `needle` first occurs in `haystack` at or after `from` (for error lines).
fn find(haystack: &[u8], needle: &[u8], from: usize) -> usize {
    if needle.is_empty() || from >= haystack.len() {
        return from;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map_or(from, |p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ClockKind;
    use crate::harness::{self, Modes, RunRequest};
    use crate::scenario;

    fn report(seed: u64) -> Report {
        let text = r#"
            name = "hlog"
            [tools.search]
            latency = { dist = "lognormal", median = "40ms", p99 = "300ms" }
            [tools.db]
            latency = { dist = "uniform", min = "5ms", max = "15ms" }
            [[generate]]
            tool = "search"
            count = 300
            [[generate]]
            tool = "db"
            count = 200
        "#;
        let scenario = scenario::parse(text, std::path::Path::new("hlog.toml")).expect("valid scenario");
        let request = RunRequest {
            modes: Modes::Compare,
            clock: ClockKind::Virtual,
            seed: Some(seed),
            ..RunRequest::default()
        };
        harness::run(&scenario, &request).expect("runs")
    }

    fn log_of(report: &Report) -> Vec<u8> {
        let mut out = Vec::new();
        write(report, &mut out, "mem.hlog").expect("writes");
        out
    }

    #[test]
    fn a_log_reads_back_to_the_same_histograms() {
        let r = report(1);
        let mut merged = MergedLog::default();
        merged.add_bytes(&log_of(&r), "a.hlog").unwrap();
        assert_eq!(merged.intervals, 2 * 2 * 2, "two runs, two tools, two metrics");
        for run in &r.runs {
            for (tool, h) in &run.histograms {
                let service = &merged.histograms[&tag_for(run.mode.as_str(), tool, "service")];
                assert_eq!(service, &h.service, "{tool}");
                assert_eq!(service.len(), run.tools[tool].count as u64);
                let wait = &merged.histograms[&tag_for(run.mode.as_str(), tool, "queue_wait")];
                assert_eq!(wait, &h.queue_wait);
            }
        }
    }

    #[test]
    fn merging_two_logs_equals_the_histogram_of_both_runs() {
        let (a, b) = (report(1), report(2));
        let mut merged = MergedLog::default();
        merged.add_bytes(&log_of(&a), "a.hlog").unwrap();
        merged.add_bytes(&log_of(&b), "b.hlog").unwrap();
        // The combined run, recorded directly from both reports' calls.
        let mut combined = LatencyHistogram::new();
        for r in [&a, &b] {
            let run = r.runs.iter().find(|r| r.mode.as_str() == "parallel").unwrap();
            for call in run.calls.iter().filter(|c| c.tool == "search") {
                let (start, end) = (call.start_s.unwrap(), call.end_s);
                combined.record(Duration::from_secs_f64(end) - Duration::from_secs_f64(start));
            }
        }
        let got = &merged.histograms["parallel/search/service"];
        assert_eq!(got.len(), 600);
        // Equal bucket by bucket, up to the nanosecond lost converting the JSON's seconds.
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
            let (x, y) = (
                got.quantile(q).as_nanos() as f64,
                combined.quantile(q).as_nanos() as f64,
            );
            assert!((x - y).abs() <= x * 0.001, "q{q}: {x} vs {y}");
        }
        assert_ne!(
            merged.histograms["parallel/search/service"],
            a.runs[1].histograms["search"].service
        );

        // Written out and read back, the merge is unchanged.
        let mut out = Vec::new();
        merged.write(&mut out, "merged.hlog").unwrap();
        let mut again = MergedLog::default();
        again.add_bytes(&out, "merged.hlog").unwrap();
        assert_eq!(again.histograms, merged.histograms);
    }

    #[test]
    fn a_file_that_is_not_a_log_is_named_with_its_line() {
        let mut merged = MergedLog::default();
        let e = merged.add_bytes(b"#comment\nnot,a,log line\n", "bad.hlog").unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("bad.hlog: line 2"), "{text}");
        let e = MergedLog::default()
            .add_bytes(b"#only a comment\n", "empty.hlog")
            .unwrap_err();
        assert_eq!(e.to_string(), "empty.hlog: no histograms in this interval log");
        let e = MergedLog::default()
            .add_bytes(b"Tag=x,0.0,1.0,1.0,bm90IGEgaGlzdG9ncmFt\n", "junk.hlog")
            .unwrap_err();
        assert!(e.to_string().contains("junk.hlog: line 1"), "{e}");
    }

    #[test]
    fn tags_never_hold_the_separators_of_the_format() {
        assert_eq!(
            tag_for("parallel", "web search, v2", "service"),
            "parallel/web_search__v2/service"
        );
        assert!(Tag::new(&tag_for("a", "b=c\nd", "e")).is_some());
    }
}
