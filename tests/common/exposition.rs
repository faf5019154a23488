//! What Prometheus would scrape from the collector, built from the OTLP metrics a run
//! exported, and written as OpenMetrics for `promtool tsdb create-blocks-from`.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use super::prom_names::*;
use opentelemetry_proto::tonic::metrics::v1::ResourceMetrics;

/// What Prometheus scrapes from the collector: each series name with its labels and the
/// values each label took, and the last value of every series.
#[derive(Debug, Default)]
pub struct Exposition {
    pub series: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    /// The base name of each OTLP metric.
    pub families: BTreeSet<String>,
    /// Each metric's kind and latest value per label set, by base name.
    pub values: BTreeMap<String, (Kind, BTreeMap<Labels, PointValue>)>,
}

pub type Labels = BTreeMap<String, String>;

impl Exposition {
    /// Adds what the collector makes of `batch`: `copies` (the transform processor) adds
    /// resource attributes to each data point, the exporter translates names and
    /// attribute keys and adds `job` (service.name) and `instance` (service.instance.id).
    pub fn add(&mut self, batch: &ResourceMetrics, copies: &[(String, String)]) {
        let resource = batch.resource.clone().unwrap_or_default().attributes;
        let resource_value = |key: &str| resource.iter().find(|kv| kv.key == key).map(value_text);
        let mut common_labels: Vec<(String, String)> = Vec::new();
        if let Some(service) = resource_value("service.name") {
            let job = match resource_value("service.namespace") {
                Some(namespace) => format!("{namespace}/{service}"),
                None => service,
            };
            common_labels.push(("job".into(), job));
        }
        if let Some(instance) = resource_value("service.instance.id") {
            common_labels.push(("instance".into(), instance));
        }
        for metric in batch.scope_metrics.iter().flat_map(|s| &s.metrics) {
            let kind = kind_of(metric);
            let base = prometheus_name(&metric.name, &metric.unit, kind);
            self.families.insert(base.clone());
            for (attributes, value) in points(metric) {
                let mut labels: Labels = common_labels.iter().cloned().collect();
                labels.extend(attributes.iter().map(|kv| (prometheus_label(&kv.key), value_text(kv))));
                for (target, source) in copies {
                    if let Some(value) = resource_value(source) {
                        labels.insert(prometheus_label(target), value);
                    }
                }
                for series in series_names(&base, kind) {
                    let entry = self.series.entry(series.clone()).or_default();
                    if series.ends_with("_bucket") {
                        entry.entry("le".into()).or_default();
                    }
                    for (label, value) in &labels {
                        entry.entry(label.clone()).or_default().insert(value.clone());
                    }
                }
                // Exports are cumulative: a later batch's point supersedes an earlier one.
                let (_, series) = self
                    .values
                    .entry(base.clone())
                    .or_insert_with(|| (kind, BTreeMap::new()));
                series.insert(labels, value);
            }
        }
    }
}

/// Seconds between two of the scrapes [`Exposition::openmetrics`] writes.
pub const SCRAPE_INTERVAL: u64 = 15;
/// Scrapes after the first: the runs are seen growing over two minutes.
pub const SCRAPES: u64 = 8;

impl Exposition {
    /// The series as Prometheus would have scraped them while the runs went on: one sample
    /// every [`SCRAPE_INTERVAL`] s from `start`, counters and histograms growing linearly
    /// from zero to their final values over [`SCRAPES`] intervals, gauges at their final
    /// value. OpenMetrics text, for `promtool tsdb create-blocks-from openmetrics`.
    pub fn openmetrics(&self, start: u64) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for (base, (kind, series)) in &self.values {
            let (family, kind_word) = match kind {
                Kind::MonotonicSum => (
                    base.strip_suffix("_total").expect("a counter ends in _total"),
                    "counter",
                ),
                Kind::NonMonotonicSum | Kind::Gauge => (base.as_str(), "gauge"),
                Kind::Histogram => (base.as_str(), "histogram"),
                other => panic!("{base}: {other:?} values are not modelled"),
            };
            writeln!(out, "# TYPE {family} {kind_word}").unwrap();
            for (labels, value) in series {
                for step in 0..=SCRAPES {
                    let time = start + step * SCRAPE_INTERVAL;
                    let grown = |final_value: f64| final_value * step as f64 / SCRAPES as f64;
                    // Floor of the same share keeps cumulative bucket counts non-decreasing.
                    let grown_count = |final_count: u64| final_count * step / SCRAPES;
                    let mut sample = |name: &str, le: Option<&str>, value: f64| {
                        let mut labels = labels.clone();
                        if let Some(le) = le {
                            labels.insert("le".into(), le.into());
                        }
                        writeln!(
                            out,
                            "{name}{} {} {time}",
                            openmetrics_labels(&labels),
                            openmetrics_number(value)
                        )
                        .unwrap();
                    };
                    match value {
                        PointValue::Number(v) if *kind == Kind::MonotonicSum => sample(base, None, grown(*v)),
                        PointValue::Number(v) => sample(base, None, *v),
                        PointValue::Histogram {
                            bounds,
                            counts,
                            sum,
                            count,
                        } => {
                            let mut cumulative = 0;
                            for (i, bucket) in counts.iter().enumerate() {
                                cumulative += bucket;
                                let le = bounds.get(i).map_or_else(|| "+Inf".to_string(), f64::to_string);
                                sample(&format!("{base}_bucket"), Some(&le), grown_count(cumulative) as f64);
                            }
                            sample(&format!("{base}_sum"), None, grown(*sum));
                            sample(&format!("{base}_count"), None, grown_count(*count) as f64);
                        }
                        PointValue::Other => panic!("{base}: values of this kind are not modelled"),
                    }
                }
            }
        }
        out.push_str("# EOF\n");
        out
    }
}

/// `{k="v",...}` with OpenMetrics escapes, or nothing for no labels.
pub fn openmetrics_labels(labels: &Labels) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| {
            let v = v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", pairs.join(","))
}

pub fn openmetrics_number(value: f64) -> String {
    match value {
        v if v == f64::INFINITY => "+Inf".into(),
        v if v == f64::NEG_INFINITY => "-Inf".into(),
        v => v.to_string(),
    }
}
