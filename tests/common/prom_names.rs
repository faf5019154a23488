//! The collector's Prometheus translation (exporter `prometheus`, translation strategy
//! UnderscoreEscapingWithSuffixes), after prometheus/otlptranslator's metric_namer.go and
//! unit_namer.go, which the collector's exporter uses; and the data points and
//! attribute copies of its metrics pipeline.
#![allow(dead_code)]

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric, number_data_point};
use serde_json::Value;

/// OTLP data point kinds as the translation tells them apart.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    MonotonicSum,
    NonMonotonicSum,
    Gauge,
    Histogram,
    ExponentialHistogram,
    Summary,
}

/// The strategy [`prometheus_name`] implements; the collector config must say the same.
pub const TRANSLATION_STRATEGY: &str = "UnderscoreEscapingWithSuffixes";

/// UCUM units to Prometheus unit words (otlptranslator's `unitMap`).
pub fn unit_word(unit: &str) -> &str {
    match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        other => other,
    }
}

/// The "per" part of a unit (`perUnitMap`): `/s` reads "per second".
pub fn per_unit_word(unit: &str) -> &str {
    match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// Invalid characters to `_`, runs of `_` to one, no leading `_` (`cleanUpUnit`).
pub fn clean_unit(unit: &str) -> String {
    let mapped: String = unit.chars().map(|c| if is_name_char(c) { c } else { '_' }).collect();
    let mut collapsed = String::new();
    for c in mapped.chars() {
        if !(c == '_' && collapsed.ends_with('_')) {
            collapsed.push(c);
        }
    }
    collapsed.trim_start_matches('_').to_string()
}

/// The main and "per" unit suffixes; a unit in braces (`{call}`) is an annotation and
/// gives none (`buildUnitSuffixes`).
pub fn unit_suffixes(unit: &str) -> (String, String) {
    let mut parts = unit.splitn(2, '/');
    let main = parts.next().unwrap_or("").trim();
    let main = if main.is_empty() || main.contains(['{', '}']) {
        ""
    } else {
        unit_word(main)
    };
    let per = match parts.next().map(str::trim) {
        Some(per) if !per.is_empty() && !per.contains(['{', '}']) => format!("per_{}", per_unit_word(per)),
        _ => String::new(),
    };
    (clean_unit(main), clean_unit(&per))
}

/// The Prometheus name of an OTLP metric (`normalizeName`): split on anything but
/// letters, digits and `:`, add the unit unless the name already has it, `total` last for
/// monotonic sums, `ratio` last for gauges of unit `1`, join with `_`. Histograms then
/// expose `_bucket`, `_sum` and `_count` series of this name ([`series_names`]).
pub fn prometheus_name(name: &str, unit: &str, kind: Kind) -> String {
    let mut tokens: Vec<String> = name
        .split(|c: char| !is_name_char(c))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let (mut main, per) = unit_suffixes(unit);
    if tokens.contains(&main) {
        main.clear();
    }
    let per = if per == "per_" {
        String::new()
    } else {
        let per = per.strip_suffix('_').unwrap_or(&per).to_string();
        if tokens.contains(&per) { String::new() } else { per }
    };
    if !per.is_empty() {
        main = main.strip_suffix('_').unwrap_or(&main).to_string();
    }
    tokens.extend([main, per].into_iter().filter(|t| !t.is_empty()));
    let mut last = |word: &str| {
        tokens.retain(|t| t != word);
        tokens.push(word.to_string());
    };
    if kind == Kind::MonotonicSum {
        last("total");
    }
    if unit == "1" && kind == Kind::Gauge {
        last("ratio");
    }
    let joined = tokens.join("_");
    if joined.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{joined}")
    } else {
        joined
    }
}

/// The series names Prometheus scrapes for one metric.
pub fn series_names(base: &str, kind: Kind) -> Vec<String> {
    match kind {
        Kind::Histogram => vec![format!("{base}_bucket"), format!("{base}_sum"), format!("{base}_count")],
        Kind::Summary => vec![base.to_string(), format!("{base}_sum"), format!("{base}_count")],
        // Native histograms keep the bare name.
        _ => vec![base.to_string()],
    }
}

/// A label name from an attribute key: invalid characters to `_`, and a `key_` prefix
/// before a leading digit. (The attribute keys parabench uses need no more of
/// otlptranslator's normalize_label.go.)
pub fn prometheus_label(key: &str) -> String {
    let label: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect();
    if label.starts_with(|c: char| c.is_ascii_digit()) {
        format!("key_{label}")
    } else {
        label
    }
}

pub fn kind_of(metric: &Metric) -> Kind {
    match metric.data.as_ref().expect("a metric with data") {
        metric::Data::Sum(s) if s.is_monotonic => Kind::MonotonicSum,
        metric::Data::Sum(_) => Kind::NonMonotonicSum,
        metric::Data::Gauge(_) => Kind::Gauge,
        metric::Data::Histogram(_) => Kind::Histogram,
        metric::Data::ExponentialHistogram(_) => Kind::ExponentialHistogram,
        metric::Data::Summary(_) => Kind::Summary,
    }
}

/// A data point's value: what the exporter exposes for it.
#[derive(Clone, Debug)]
pub enum PointValue {
    Number(f64),
    /// Explicit bucket bounds and the count in each bucket (one more than bounds).
    Histogram {
        bounds: Vec<f64>,
        counts: Vec<u64>,
        sum: f64,
        count: u64,
    },
    /// A kind parabench does not emit; its values are not modelled.
    Other,
}

/// Each data point's attributes and value.
pub fn points(metric: &Metric) -> Vec<(&[KeyValue], PointValue)> {
    let number = |value: Option<number_data_point::Value>| match value {
        Some(number_data_point::Value::AsInt(i)) => PointValue::Number(i as f64),
        Some(number_data_point::Value::AsDouble(d)) => PointValue::Number(d),
        None => PointValue::Other,
    };
    match metric.data.as_ref().expect("a metric with data") {
        metric::Data::Sum(s) => s
            .data_points
            .iter()
            .map(|p| (p.attributes.as_slice(), number(p.value)))
            .collect(),
        metric::Data::Gauge(g) => g
            .data_points
            .iter()
            .map(|p| (p.attributes.as_slice(), number(p.value)))
            .collect(),
        metric::Data::Histogram(h) => h
            .data_points
            .iter()
            .map(|p| {
                let value = PointValue::Histogram {
                    bounds: p.explicit_bounds.clone(),
                    counts: p.bucket_counts.clone(),
                    sum: p.sum.unwrap_or(0.0),
                    count: p.count,
                };
                (p.attributes.as_slice(), value)
            })
            .collect(),
        metric::Data::ExponentialHistogram(h) => h
            .data_points
            .iter()
            .map(|p| (p.attributes.as_slice(), PointValue::Other))
            .collect(),
        metric::Data::Summary(s) => s
            .data_points
            .iter()
            .map(|p| (p.attributes.as_slice(), PointValue::Other))
            .collect(),
    }
}

pub fn value_text(kv: &KeyValue) -> String {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// The collector's metrics pipeline between receiver and exporter: the `set` statements
/// of its transform processors, as (data point attribute, resource attribute) pairs.
pub fn transform_copies(collector: &Value) -> Vec<(String, String)> {
    let mut copies = Vec::new();
    for processor in collector["service"]["pipelines"]["metrics"]["processors"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let id = processor.as_str().unwrap();
        assert!(
            id.split('/').next() == Some("transform"),
            "the metrics pipeline's processor {id} may change names or labels: teach tests/dashboards.rs what it does"
        );
        for group in collector["processors"][id]["metric_statements"].as_array().unwrap() {
            assert_eq!(
                group["context"], "datapoint",
                "{id}: only datapoint statements are modelled"
            );
            for statement in group["statements"].as_array().unwrap() {
                copies.push(parse_copy(statement.as_str().unwrap()));
            }
        }
    }
    copies
}

/// `set(attributes["K"], resource.attributes["R"])` as (K, R).
pub fn parse_copy(statement: &str) -> (String, String) {
    let quoted = |s: &str| {
        s.strip_prefix("[\"")
            .and_then(|s| s.strip_suffix("\"]"))
            .map(str::to_string)
    };
    let args = statement
        .trim()
        .strip_prefix("set(")
        .and_then(|s| s.strip_suffix(')'))
        .and_then(|s| s.split_once(", "));
    let parsed = args.and_then(|(target, source)| {
        Some((
            quoted(target.strip_prefix("attributes")?)?,
            quoted(source.strip_prefix("resource.attributes")?)?,
        ))
    });
    parsed.unwrap_or_else(|| {
        panic!("only set(attributes[\"K\"], resource.attributes[\"R\"]) is modelled, not {statement:?}")
    })
}
