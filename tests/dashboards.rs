//! The dashboards and the local observability stack in `dashboards/`, checked without
//! Docker: every PromQL expression of the Grafana dashboard goes through Prometheus's own
//! `promtool`; every metric name and label it queries is one that a real run emits, as the
//! collector's Prometheus exporter names it; a real Prometheus, loaded with those runs'
//! series, answers every panel and variable query with data; the trace links open real
//! span names in the provisioned Jaeger data source; and the compose file, the collector,
//! Jaeger, Prometheus and Grafana configurations parse and agree with each other and with
//! the README.

mod common;
#[path = "common/exposition.rs"]
mod exposition;
#[path = "common/otlp.rs"]
mod otlp;
#[path = "common/prom_names.rs"]
mod prom_names;
#[path = "common/prometheus.rs"]
mod prometheus;
#[path = "common/promql.rs"]
mod promql;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use exposition::*;
use otlp::Receiver;
use prom_names::*;
use prometheus::Prometheus;
use promql::*;
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// The files

fn dashboards_dir() -> PathBuf {
    common::root().join("dashboards")
}

/// A YAML file of `dashboards/`, as JSON values (every key in these files is a string).
fn yaml(relative: &str) -> Value {
    let path = dashboards_dir().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

fn dashboard() -> Value {
    common::read_json(&dashboards_dir().join("parabench.json"))
}

fn compose() -> Value {
    yaml("compose.yaml")
}

fn collector() -> Value {
    yaml("otel-collector.yaml")
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer}"))
}

/// The port of `host:port`, `scheme://host:port` or `scheme://host:port/path`.
fn host_and_port(address: &str) -> (String, u16) {
    let rest = address.split_once("://").map_or(address, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap();
    let (host, port) = authority
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("{address} names no port"));
    (
        host.to_string(),
        port.parse().unwrap_or_else(|_| panic!("{address}: bad port")),
    )
}

// ---------------------------------------------------------------------------------------
// A real run, exported to the in-process OTLP receiver

/// What two real runs exported: the Prometheus exposition the collector would make of
/// their metrics, and their span and service names.
struct Exported {
    exposition: Exposition,
    span_names: BTreeSet<String>,
    service_names: BTreeSet<String>,
    tools: BTreeSet<String>,
    /// `execute_tool` spans per tool: one per call, in every run of every mode.
    calls_per_tool: BTreeMap<String, u64>,
}

/// A scenario sure to end calls in error, timeout and skipped, after retries (the shipped
/// scenarios' seeds may happen to recover every call).
const FAILING_SCENARIO: &str = r#"
name = "failing"
description = "written by tests/dashboards.rs: a failure, a timeout and a skipped dependent"
seed = 1

[executor]
max_concurrency = 2
timeout = "100ms"

[executor.retry]
max_attempts = 2
initial_backoff = "10ms"

[tools.broken]
latency = { dist = "constant", value = "10ms" }
failure_rate = 1.0

[tools.hanging]
latency = { dist = "constant", value = "10ms" }
timeout_rate = 1.0

[tools.after]
latency = { dist = "constant", value = "10ms" }

[[calls]]
id = "b"
tool = "broken"

[[calls]]
id = "h"
tool = "hanging"

[[calls]]
id = "a"
tool = "after"
depends_on = ["b"]
"#;

/// `agent_mix` (the README's walk-through), `partial_failure` (retries), `deadline`
/// (cancelled calls) and [`FAILING_SCENARIO`] in virtual time, exported once for all the
/// tests here.
fn exported() -> &'static Exported {
    static EXPORTED: OnceLock<Exported> = OnceLock::new();
    EXPORTED.get_or_init(|| {
        let receiver = Receiver::grpc();
        let failing = common::write(
            &common::temp_dir("dashboards-failing"),
            "failing.toml",
            FAILING_SCENARIO,
        );
        for scenario in [
            "scenarios/agent_mix.toml",
            "scenarios/partial_failure.toml",
            "scenarios/deadline.toml",
            failing.to_str().unwrap(),
        ] {
            run_exported(&receiver, scenario);
        }
        let copies = transform_copies(&collector());
        let mut exposition = Exposition::default();
        for batch in receiver.resource_metrics() {
            exposition.add(&batch, &copies);
        }
        let spans = receiver.spans();
        let tools = spans
            .iter()
            .filter_map(|s| otlp::attr_str(&s.attributes, "gen_ai.tool.name").map(str::to_string))
            .collect();
        let mut calls_per_tool = BTreeMap::new();
        for span in spans.iter().filter(|s| s.name.starts_with("execute_tool ")) {
            let tool = otlp::attr_str(&span.attributes, "gen_ai.tool.name").expect("a tool name");
            *calls_per_tool.entry(tool.to_string()).or_insert(0) += 1;
        }
        Exported {
            exposition,
            span_names: spans.iter().map(|s| s.name.clone()).collect(),
            service_names: otlp::attr_str(&receiver.resource(), "service.name")
                .map(str::to_string)
                .into_iter()
                .collect(),
            tools,
            calls_per_tool,
        }
    })
}

/// Runs `scenario` with its telemetry sent to `receiver`, with no OTEL_* variable of the
/// machine inherited (the service name must be parabench's default).
fn run_exported(receiver: &Receiver, scenario: &str) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_parabench"));
    cmd.args(["run", scenario, "--clock", "virtual", "--otlp", &receiver.endpoint()])
        .current_dir(common::root());
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_") {
            cmd.env_remove(key);
        }
    }
    let (code, _, stderr) = common::text(&cmd.output().unwrap());
    // 2: an [expect] table failed, which says nothing about the export.
    assert!(code == 0 || code == 2, "{scenario}: exit {code}: {stderr}");
    assert!(stderr.contains("spans exported to"), "{scenario}: {stderr}");
}

// ---------------------------------------------------------------------------------------
// Compose and the README

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Published {
    service: String,
    host_ip: String,
    host_port: u16,
    container_port: u16,
}

/// The ports compose publishes, short (`"127.0.0.1:4317:4317"`) or long syntax.
fn published_ports(compose: &Value) -> Vec<Published> {
    let mut out = Vec::new();
    for (service, spec) in compose["services"].as_object().unwrap() {
        for port in spec["ports"].as_array().into_iter().flatten() {
            let published = match port {
                Value::String(short) => {
                    let short = short.split('/').next().unwrap();
                    let parts: Vec<&str> = short.split(':').collect();
                    let (ip, host, container) = match parts.as_slice() {
                        [ip, host, container] => (ip.to_string(), *host, *container),
                        [host, container] => (String::new(), *host, *container),
                        _ => panic!("{service}: port {short:?} publishes nothing"),
                    };
                    Published {
                        service: service.clone(),
                        host_ip: ip,
                        host_port: host.parse().unwrap(),
                        container_port: container.parse().unwrap(),
                    }
                }
                long => Published {
                    service: service.clone(),
                    host_ip: long["host_ip"].as_str().unwrap_or("").to_string(),
                    host_port: long["published"].to_string().trim_matches('"').parse().unwrap(),
                    container_port: long["target"].as_u64().unwrap() as u16,
                },
            };
            out.push(published);
        }
    }
    out.sort();
    out
}

/// The bind mounts of a compose service as (host path, container path).
fn bind_mounts(compose: &Value, service: &str) -> Vec<(PathBuf, String)> {
    compose["services"][service]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|volume| match volume {
            Value::String(short) => {
                let mut parts = short.split(':');
                let source = parts.next().unwrap();
                let target = parts.next().unwrap_or_else(|| panic!("{service}: volume {short:?}"));
                (dashboards_dir().join(source), target.to_string())
            }
            long => (
                dashboards_dir().join(str_at(long, "/source")),
                str_at(long, "/target").to_string(),
            ),
        })
        .collect()
}

/// The rows of the ports table in the "Dashboards" section of docs/telemetry.md, as
/// (service, port).
fn readme_ports() -> BTreeSet<(String, u16)> {
    let readme = std::fs::read_to_string(common::root().join("docs/telemetry.md")).unwrap();
    let section: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("## Dashboards"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .collect();
    assert!(
        !section.is_empty(),
        "docs/telemetry.md has no \"## Dashboards\" section"
    );
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().trim_matches('`').to_string())
            .collect()
    };
    let mut table = section.iter().skip_while(|l| !l.starts_with('|'));
    let header = cells(table.next().expect("a table in the Dashboards section"));
    let column = |word: &str| {
        header
            .iter()
            .position(|h| h.contains(word))
            .unwrap_or_else(|| panic!("the README's table has no {word} column: {header:?}"))
    };
    let (service, port) = (column("service"), column("port"));
    table
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let row = cells(line);
            (
                row[service].clone(),
                row[port].parse().unwrap_or_else(|_| panic!("port of {line}")),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Trace links

/// A data link to traces, decoded: its data source uid (Explore links), service,
/// operation template, and the URL's host and port (Jaeger UI links).
#[derive(Debug)]
struct TraceLink {
    panel: String,
    datasource_uids: Vec<String>,
    service: String,
    operation: Option<String>,
    address: Option<(String, u16)>,
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("bad escape %{hex}")));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn query_params(url: &str) -> BTreeMap<String, String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect()
}

/// The trace links of a panel's fields (Grafana Explore on a Jaeger data source, or the
/// Jaeger UI's search page).
fn trace_links(panel: &Value) -> Vec<TraceLink> {
    let title = panel["title"].as_str().unwrap_or("?").to_string();
    panel["fieldConfig"]["defaults"]["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|link| {
            let url = link["url"].as_str()?;
            let params = query_params(url);
            if url.starts_with("/explore?") {
                let panes: Value = serde_json::from_str(&params["panes"])
                    .unwrap_or_else(|e| panic!("{title}: the Explore link's panes are not JSON: {e}"));
                let pane = panes.as_object().unwrap().values().next().unwrap();
                let query = &pane["queries"][0];
                assert_eq!(query["queryType"], "search", "{title}: a Jaeger search");
                Some(TraceLink {
                    panel: title.clone(),
                    datasource_uids: vec![
                        pane["datasource"].as_str().unwrap().to_string(),
                        str_at(query, "/datasource/uid").to_string(),
                    ],
                    service: str_at(query, "/service").to_string(),
                    operation: query["operation"].as_str().map(str::to_string),
                    address: None,
                })
            } else if url.contains("/search?") {
                Some(TraceLink {
                    panel: title.clone(),
                    datasource_uids: Vec::new(),
                    service: params["service"].clone(),
                    operation: params.get("operation").cloned(),
                    address: Some(host_and_port(url)),
                })
            } else {
                None
            }
        })
        .collect()
}

/// `template` with its one Grafana variable (the field's tool) replaced by `tool`.
fn with_tool(template: &str, tool: &str) -> String {
    let start = template
        .find("${")
        .expect("the operation names the tool through a variable");
    let end = start + template[start..].find('}').unwrap();
    format!("{}{tool}{}", &template[..start], &template[end + 1..])
}

// ---------------------------------------------------------------------------------------
// Tests: PromQL through promtool

#[test]
fn every_dashboard_expression_passes_promtool() {
    let queries = all_promql(&dashboard());
    assert!(queries.len() > 10, "the dashboard has queries: {queries:?}");
    let Some(promtool) = promtool() else { return };
    if let Err(e) = promtool_check_rules(promtool, &queries, "dashboard-promql") {
        panic!("{e}");
    }
}

#[test]
fn promtool_rejects_a_broken_expression() {
    // Proof that the check above can fail: an unclosed parenthesis, and a Grafana
    // variable in a place where its stand-in is no duration.
    let broken = [
        "sum by (tool) (rate(parabench_tool_calls_total{tool=~\"$tool\"}[$__rate_interval])",
        "rate(parabench_tool_calls_total[$tool])",
    ];
    for (i, expr) in broken.iter().enumerate() {
        let Some(promtool) = promtool() else { return };
        let query = Query {
            origin: "a deliberately broken expression".into(),
            expr: expr.to_string(),
            instant: true,
        };
        let result = promtool_check_rules(promtool, &[query], &format!("broken-promql-{i}"));
        let error = result.expect_err("promtool accepted a broken expression");
        assert!(error.contains("dashboard:query_0"), "{error}");
    }
}

#[test]
fn grafana_variables_get_valid_stand_ins() {
    let expr = "histogram_quantile(0.9, sum by (le) (rate(x_bucket{tool=~\"${tool:regex}\", mode=~\"$mode\"}[$__rate_interval]))) + max_over_time(y[$__range]) + increase(z[$__interval])";
    assert_eq!(
        with_stand_ins(expr),
        "histogram_quantile(0.9, sum by (le) (rate(x_bucket{tool=~\".*\", mode=~\".*\"}[5m]))) + max_over_time(y[1h]) + increase(z[1m])"
    );
    assert_eq!(
        grafana_variables(expr),
        ["tool", "mode", "__rate_interval", "__range", "__interval"]
    );
}

#[test]
fn every_variable_a_query_uses_is_defined() {
    let dashboard = dashboard();
    let defined: BTreeSet<String> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .chain(BUILTIN_DURATIONS.iter().map(|(name, _)| name.to_string()))
        .collect();
    for query in all_promql(&dashboard) {
        for name in grafana_variables(&query.expr) {
            assert!(
                defined.contains(&name),
                "{}: ${name} is not a variable of the dashboard",
                query.origin
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tests: metric names against a real run

#[test]
fn the_scanner_finds_metrics_matchers_and_grouping_labels() {
    let scanned = scan(&with_stand_ins(
        "max by (scenario, mode) (parabench_run_speedup{scenario=~\"$scenario\"} * on (scenario, run_id) group_left (mode) count by (scenario, run_id, mode) (parabench_executor_max_concurrency{mode!=\"sequential\"})) / sum(rate(a_total[5m] offset 1m)) > bool 0.5",
    ));
    let metrics: Vec<&str> = scanned.selectors.iter().map(|s| s.metric.as_str()).collect();
    assert_eq!(
        metrics,
        ["parabench_run_speedup", "parabench_executor_max_concurrency", "a_total"]
    );
    assert_eq!(
        scanned.selectors[1].matchers,
        [Matcher {
            label: "mode".into(),
            op: "!=".into(),
            value: "sequential".into()
        }]
    );
    let grouping: Vec<&str> = scanned.grouping.iter().map(String::as_str).collect();
    assert_eq!(grouping, ["mode", "run_id", "scenario"]);
}

#[test]
fn translation_follows_the_documented_examples() {
    // otlptranslator's own examples and rules, and the OTel specification's
    // "OTLP metric points to Prometheus".
    let cases = [
        (
            "http.server.duration",
            "s",
            Kind::Histogram,
            "http_server_duration_seconds",
        ),
        ("requests.count", "1", Kind::MonotonicSum, "requests_count_total"),
        ("memory.usage", "By", Kind::Gauge, "memory_usage_bytes"),
        (
            "system.cpu.utilization",
            "1",
            Kind::Gauge,
            "system_cpu_utilization_ratio",
        ),
        (
            "system.network.packets",
            "{packet}",
            Kind::MonotonicSum,
            "system_network_packets_total",
        ),
        ("queue.items", "{item}", Kind::NonMonotonicSum, "queue_items"),
        (
            "network.io.rate",
            "By/s",
            Kind::Gauge,
            "network_io_rate_bytes_per_second",
        ),
        ("request.rate", "{request}/s", Kind::Gauge, "request_rate_per_second"),
        (
            "process.cpu.time.seconds",
            "s",
            Kind::MonotonicSum,
            "process_cpu_time_seconds_total",
        ),
        ("jobs.total", "", Kind::MonotonicSum, "jobs_total"),
        ("2xx.responses", "", Kind::Gauge, "_2xx_responses"),
        (
            "parabench.tool.queue_wait",
            "s",
            Kind::Histogram,
            "parabench_tool_queue_wait_seconds",
        ),
        (
            "parabench.executor.in_flight",
            "",
            Kind::Gauge,
            "parabench_executor_in_flight",
        ),
    ];
    for (name, unit, kind, expected) in cases {
        assert_eq!(prometheus_name(name, unit, kind), expected, "{name} [{unit}] {kind:?}");
    }
    assert_eq!(
        series_names("parabench_tool_duration_seconds", Kind::Histogram),
        [
            "parabench_tool_duration_seconds_bucket",
            "parabench_tool_duration_seconds_sum",
            "parabench_tool_duration_seconds_count"
        ]
    );
    assert_eq!(prometheus_label("gen_ai.tool.name"), "gen_ai_tool_name");
    assert_eq!(prometheus_label("2xx"), "key_2xx");
    assert_eq!(
        parse_copy("set(attributes[\"scenario\"], resource.attributes[\"parabench.scenario\"])"),
        ("scenario".to_string(), "parabench.scenario".to_string())
    );
}

#[test]
fn the_collector_config_names_metrics_as_the_translation_here() {
    let collector = collector();
    let exporters: Vec<&str> = collector["service"]["pipelines"]["metrics"]["exporters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(
        exporters,
        ["prometheus"],
        "the translation modelled here is the prometheus exporter's"
    );
    let prometheus = &collector["exporters"]["prometheus"];
    assert_eq!(prometheus["translation_strategy"], TRANSLATION_STRATEGY);
    assert!(
        prometheus.get("namespace").is_none(),
        "a namespace would prefix every name"
    );
    assert!(
        prometheus.get("resource_to_telemetry_conversion").is_none(),
        "not modelled"
    );
}

/// Fails with every name, label and value the dashboard uses that the run did not emit.
fn check_against_exposition(queries: &[Query], exposition: &Exposition) -> Vec<String> {
    let mut problems = Vec::new();
    for query in queries {
        let scanned = scan(&with_stand_ins(&query.expr));
        let mut labels_of_metrics = BTreeSet::new();
        for selector in &scanned.selectors {
            let Some(labels) = exposition.series.get(&selector.metric) else {
                problems.push(format!(
                    "{}: {} is not a series a run emits",
                    query.origin, selector.metric
                ));
                continue;
            };
            labels_of_metrics.extend(labels.keys().cloned());
            for m in &selector.matchers {
                match labels.get(&m.label) {
                    None => problems.push(format!(
                        "{}: {} has no label {} (it has {:?})",
                        query.origin,
                        selector.metric,
                        m.label,
                        labels.keys()
                    )),
                    // A literal value must be one that occurs: `outcome!="ok"` means nothing
                    // if no call ends "ok".
                    Some(values) if (m.op == "=" || m.op == "!=") && !values.contains(&m.value) => {
                        problems.push(format!(
                            "{}: {}{{{}{}\"{}\"}}: the run emitted only {values:?}",
                            query.origin, selector.metric, m.label, m.op, m.value
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        for label in &scanned.grouping {
            if !labels_of_metrics.contains(label) {
                problems.push(format!(
                    "{}: no metric of the expression has the label {label}",
                    query.origin
                ));
            }
        }
    }
    problems
}

#[test]
fn every_metric_and_label_the_dashboard_queries_is_one_a_real_run_emits() {
    let exported = exported();
    let dashboard = dashboard();
    let problems = check_against_exposition(&all_promql(&dashboard), &exported.exposition);
    assert!(
        problems.is_empty(),
        "{problems:#?}\nseries emitted: {:#?}",
        exported.exposition.series
    );
    for lv in variable_queries(&dashboard) {
        let selector = lv.selector.as_deref().expect("label_values with a metric");
        let metric = &scan(&with_stand_ins(selector)).selectors[0].metric;
        let labels = &exported.exposition.series[metric];
        assert!(
            labels.contains_key(&lv.label),
            "variable {}: {metric} has no label {}",
            lv.variable,
            lv.label
        );
    }
}

#[test]
fn the_check_against_a_real_run_catches_wrong_names_labels_and_values() {
    // Proof that the comparison above can fail, on the real run's exposition.
    let exposition = &exported().exposition;
    let wrong = [
        // The OTel name, not the Prometheus one.
        "rate(parabench_tool_duration_bucket[5m])",
        // A counter without _total.
        "rate(parabench_tool_calls[5m])",
        "sum by (tools) (rate(parabench_tool_calls_total[5m]))",
        "parabench_tool_calls_total{outcome=\"success\"}",
        "parabench_executor_in_flight{tool=\"search\"}",
    ];
    for expr in wrong {
        let query = Query {
            origin: "wrong".into(),
            expr: expr.into(),
            instant: true,
        };
        assert!(
            !check_against_exposition(&[query], exposition).is_empty(),
            "{expr} passed"
        );
    }
}

// ---------------------------------------------------------------------------------------
// A real Prometheus evaluates the dashboard

/// A Prometheus server holding the real runs' series as scraped over two minutes ending
/// ten minutes ago, and the first and last scrape times (Unix seconds).
fn prometheus_with_the_runs(name: &str) -> Option<(Prometheus, u64, u64)> {
    let (promtool, prometheus) = (promtool()?, prometheus_program("prometheus")?);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // In the past, as real scrapes are, and well inside the default 5 min look-back of
    // nothing: queries name their times.
    let start = now - 600 - now % SCRAPE_INTERVAL;
    let end = start + SCRAPES * SCRAPE_INTERVAL;
    let text = exported().exposition.openmetrics(start);
    let server = Prometheus::start(promtool, prometheus, &text, &common::temp_dir(name));
    Some((server, start, end))
}

/// Every value in a query's answer (a vector or a matrix), parsed.
fn answer_values(data: &Value) -> Vec<f64> {
    let number = |v: &Value| {
        v[1].as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .expect("a sample value")
    };
    let result = data["result"].as_array().expect("a result list");
    match data["resultType"].as_str() {
        Some("vector") => result.iter().map(|series| number(&series["value"])).collect(),
        Some("matrix") => result
            .iter()
            .flat_map(|series| series["values"].as_array().expect("a matrix row").iter().map(number))
            .collect(),
        other => panic!("unexpected result type {other:?}: {data}"),
    }
}

/// Asks `server` what Grafana would: an instant query at the end of the time range, or a
/// range query over it at the scrape interval.
fn evaluate(server: &Prometheus, query: &Query, start: u64, end: u64) -> Result<Value, String> {
    let expr = with_stand_ins(&query.expr);
    if query.instant {
        server.api("/api/v1/query", &[("query", expr), ("time", end.to_string())])
    } else {
        server.api(
            "/api/v1/query_range",
            &[
                ("query", expr),
                ("start", start.to_string()),
                ("end", end.to_string()),
                ("step", SCRAPE_INTERVAL.to_string()),
            ],
        )
    }
}

/// Every panel query that Prometheus rejects or answers with no series or with no finite
/// value (a `histogram_quantile` over empty buckets, a ratio of zeros).
fn panels_without_data(server: &Prometheus, queries: &[Query], start: u64, end: u64) -> Vec<String> {
    let mut problems = Vec::new();
    for query in queries {
        match evaluate(server, query, start, end) {
            Err(error) => problems.push(format!("{}: Prometheus refused it: {error}", query.origin)),
            Ok(data) => {
                let values = answer_values(&data);
                if values.is_empty() {
                    problems.push(format!("{}: no data: {}", query.origin, query.expr));
                } else if !values.iter().any(|v| v.is_finite()) {
                    problems.push(format!("{}: only {values:?}: {}", query.origin, query.expr));
                }
            }
        }
    }
    problems
}

#[test]
fn prometheus_answers_every_panel_and_variable_with_the_runs_data() {
    let Some((server, start, end)) = prometheus_with_the_runs("dashboards-prometheus") else {
        return;
    };
    let dashboard = dashboard();
    let problems = panels_without_data(&server, &panel_queries(&dashboard), start, end);
    assert!(problems.is_empty(), "{problems:#?}\nprometheus log:\n{}", server.log());

    // A variable lists exactly the values the runs gave its label (Grafana asks the label
    // values endpoint with the selector as match[]).
    let series = &exported().exposition.series;
    for lv in variable_queries(&dashboard) {
        let selector = with_stand_ins(lv.selector.as_deref().expect("label_values with a metric"));
        let data = server
            .api(
                &format!("/api/v1/label/{}/values", lv.label),
                &[
                    ("match[]", selector.clone()),
                    ("start", start.to_string()),
                    ("end", end.to_string()),
                ],
            )
            .unwrap_or_else(|e| panic!("variable {}: {e}", lv.variable));
        let listed: BTreeSet<String> = data
            .as_array()
            .expect("a list of values")
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let metric = &scan(&selector).selectors[0].metric;
        assert_eq!(&listed, &series[metric][&lv.label], "variable {}", lv.variable);
        // The runs differ in scenario, mode and tool; they share one service.
        let least = if lv.variable == "service" { 1 } else { 2 };
        assert!(listed.len() >= least, "variable {}: {listed:?}", lv.variable);
    }
}

#[test]
fn the_calls_table_counts_every_call_of_every_run_once() {
    // The "over the time range" calls column sums the runs' final counters across runs,
    // modes and outcomes; it must equal the number of calls the runs traced.
    let Some((server, start, end)) = prometheus_with_the_runs("dashboards-prometheus-calls") else {
        return;
    };
    let title = "Calls, errors and retries per tool over the time range";
    let query = panel_queries(&dashboard())
        .into_iter()
        .find(|q| q.origin == format!("panel {title:?}, query A"))
        .unwrap_or_else(|| panic!("no query A in the panel {title:?}"));
    let data = evaluate(&server, &query, start, end).unwrap();
    let counted: BTreeMap<String, u64> = data["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|series| {
            let tool = series["metric"]["tool"].as_str().expect("a tool label").to_string();
            let calls: f64 = series["value"][1].as_str().unwrap().parse().unwrap();
            (tool, calls as u64)
        })
        .collect();
    assert_eq!(counted, exported().calls_per_tool, "{}", query.expr);
}

#[test]
fn the_prometheus_check_catches_queries_without_data() {
    // Proof that the check above can fail: valid PromQL that names real series but
    // returns nothing, or nothing finite, from the runs.
    let Some((server, start, end)) = prometheus_with_the_runs("dashboards-prometheus-broken") else {
        return;
    };
    let empty = [
        // A label value no run emits.
        ("parabench_tool_calls_total{mode=\"batch\"}", false),
        // Vector matching on a label one side lacks.
        (
            "sum by (tool) (parabench_tool_calls_total) / on (mode) sum by (tool) (parabench_tool_calls_total)",
            false,
        ),
        // A quantile of buckets that never filled: NaN only.
        (
            "histogram_quantile(0.5, sum by (le) (rate(parabench_tool_duration_seconds_bucket{outcome=\"none\"}[$__rate_interval])))",
            false,
        ),
        (
            "sum(parabench_executor_in_flight) / sum(parabench_executor_in_flight)",
            true,
        ),
    ];
    for (expr, instant) in empty {
        let query = Query {
            origin: "a query without data".into(),
            expr: expr.into(),
            instant,
        };
        assert!(
            !panels_without_data(&server, &[query], start, end).is_empty(),
            "{expr} passed"
        );
    }
}

#[test]
fn the_real_runs_end_calls_in_every_outcome() {
    // So that the names and labels above are checked against failures, timeouts, skipped
    // and cancelled calls too, not only against calls that went well.
    let outcomes = &exported().exposition.series["parabench_tool_calls_total"]["outcome"];
    let expected = ["cancelled", "error", "ok", "skipped", "timeout"];
    assert_eq!(outcomes.iter().map(String::as_str).collect::<Vec<_>>(), expected);
    let retries = &exported().exposition.series["parabench_tool_retries_total"];
    assert!(retries.contains_key("tool"));
}

#[test]
fn the_dashboard_shows_every_instrument_a_run_exports() {
    let exported = exported();
    let used: BTreeSet<String> = all_promql(&dashboard())
        .iter()
        .flat_map(|q| scan(&with_stand_ins(&q.expr)).selectors)
        .map(|s| s.metric)
        .collect();
    for family in &exported.exposition.families {
        assert!(
            used.iter()
                .any(|m| m == family || m.strip_prefix(family.as_str()).is_some_and(|s| s.starts_with('_'))),
            "{family} is exported but no panel shows it"
        );
    }
    // One family per instrument of the contract (telemetry::names).
    assert_eq!(
        exported.exposition.families.len(),
        parabench::telemetry::names::metric::ALL.len(),
        "{:?}",
        exported.exposition.families
    );
}

// ---------------------------------------------------------------------------------------
// Tests: trace links

#[test]
fn latency_panels_link_to_the_traces_of_their_tool() {
    let exported = exported();
    let dashboard = dashboard();
    let jaeger_uid = provisioned_datasource_uid("jaeger");
    let jaeger_ui = published_ports(&compose())
        .into_iter()
        .find(|p| p.service == "jaeger")
        .expect("compose publishes Jaeger's UI");
    let mut links_seen = 0;
    for panel in all_panels(&dashboard) {
        let exprs: Vec<String> = panel["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["expr"].as_str().map(str::to_string))
            .collect();
        let links = trace_links(panel);
        if exprs.iter().any(|e| e.contains("_seconds_bucket")) {
            assert!(
                !links.is_empty(),
                "latency panel {:?} has no link to traces",
                panel["title"]
            );
        }
        for link in links {
            links_seen += 1;
            check_trace_link(&link, &jaeger_uid, &jaeger_ui, exported);
        }
    }
    assert!(links_seen >= 6, "{links_seen} trace links");
    let top = dashboard["links"].as_array().expect("dashboard links");
    let ui = top
        .iter()
        .find(|l| l["title"] == "Jaeger UI")
        .expect("a link to Jaeger's UI");
    let url = ui["url"].as_str().unwrap();
    assert_eq!(
        host_and_port(url),
        ("localhost".to_string(), jaeger_ui.host_port),
        "{url}"
    );
    assert_eq!(query_params(url)["service"], "${service}", "{url}");
}

/// The values Grafana offers for the `service` variable, from the `job` label values the
/// collector's exporter gives: `service.namespace/service.name`, or the name alone.
fn service_choices(dashboard: &Value, jobs: &BTreeSet<String>) -> BTreeSet<String> {
    let variable = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "service")
        .expect("a service variable");
    let query = variable["query"]["query"].as_str().unwrap();
    assert_eq!(parse_label_values("service", query).label, "job", "{query}");
    // Grafana keeps the capture: the part after the namespace, which is what Jaeger calls
    // the service.
    assert_eq!(variable["regex"], "/([^/]+)$/", "the regex modelled here");
    jobs.iter()
        .map(|job| job.rsplit('/').next().unwrap().to_string())
        .collect()
}

#[test]
fn the_service_variable_offers_the_service_the_traces_are_under() {
    let exported = exported();
    let dashboard = dashboard();
    let jobs = &exported.exposition.series["parabench_tool_calls_total"]["job"];
    assert_eq!(service_choices(&dashboard, jobs), exported.service_names);
    assert_eq!(
        dashboard["templating"]["list"][3]["current"]["value"], "parabench",
        "the default is the default service name"
    );
    let namespaced = BTreeSet::from(["team/parabench".to_string()]);
    assert_eq!(
        service_choices(&dashboard, &namespaced),
        BTreeSet::from(["parabench".to_string()])
    );
}

fn check_trace_link(link: &TraceLink, jaeger_uid: &str, jaeger_ui: &Published, exported: &Exported) {
    for uid in &link.datasource_uids {
        assert_eq!(
            uid, jaeger_uid,
            "{}: the link's data source is the provisioned Jaeger",
            link.panel
        );
    }
    if let Some((host, port)) = &link.address {
        assert_eq!(host, "localhost", "{}", link.panel);
        assert_eq!(
            *port, jaeger_ui.host_port,
            "{}: Jaeger's UI is published there",
            link.panel
        );
    }
    assert_eq!(
        link.service, "${service}",
        "{}: the link searches the service the variable picks",
        link.panel
    );
    if let Some(template) = &link.operation {
        for tool in &exported.tools {
            let operation = with_tool(template, tool);
            assert!(
                exported.span_names.contains(&operation),
                "{}: operation {operation:?} is no span name the run exported",
                link.panel
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tests: the stack's configuration

#[test]
fn every_config_file_parses() {
    for file in [
        "compose.yaml",
        "otel-collector.yaml",
        "jaeger.yaml",
        "prometheus.yml",
        "grafana/provisioning/datasources/datasources.yaml",
        "grafana/provisioning/dashboards/parabench.yaml",
    ] {
        let value = yaml(file);
        assert!(value.is_object(), "{file} is a mapping");
    }
    let Some(mut promtool) = promtool() else { return };
    let out = promtool
        .args(["check", "config"])
        .arg(dashboards_dir().join("prometheus.yml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", common::text(&out));
}

/// The ids a collector-style config (the collector's, Jaeger v2's) defines of a kind.
fn component_ids(config: &Value, kind: &str) -> BTreeSet<String> {
    config[kind]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn collector_and_jaeger_pipelines_use_only_components_they_define() {
    for file in ["otel-collector.yaml", "jaeger.yaml"] {
        let config = yaml(file);
        for (signal, pipeline) in config["service"]["pipelines"].as_object().unwrap() {
            for kind in ["receivers", "processors", "exporters"] {
                let defined = component_ids(&config, kind);
                for id in pipeline[kind].as_array().into_iter().flatten() {
                    let id = id.as_str().unwrap();
                    assert!(
                        defined.contains(id),
                        "{file}: pipeline {signal} uses undefined {kind} {id}"
                    );
                }
            }
        }
        let defined = component_ids(&config, "extensions");
        for id in config["service"]["extensions"].as_array().into_iter().flatten() {
            assert!(
                defined.contains(id.as_str().unwrap()),
                "{file}: undefined extension {id}"
            );
        }
    }
}

#[test]
fn every_image_is_pinned_to_a_version() {
    for (service, spec) in compose()["services"].as_object().unwrap() {
        let image = spec["image"]
            .as_str()
            .unwrap_or_else(|| panic!("{service} has no image"));
        let name = image.rsplit('/').next().unwrap();
        let (_, tag) = name
            .split_once(':')
            .unwrap_or_else(|| panic!("{service}: {image} has no tag"));
        let version = tag.strip_prefix('v').unwrap_or(tag);
        let parts: Vec<&str> = version.split('.').collect();
        assert!(
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())),
            "{service}: {image} is not pinned to a MAJOR.MINOR.PATCH version"
        );
    }
}

#[test]
fn published_ports_are_the_readmes_and_on_loopback_only() {
    let published = published_ports(&compose());
    for p in &published {
        // Grafana has anonymous admin access: nothing may listen beyond this machine.
        assert_eq!(p.host_ip, "127.0.0.1", "{p:?}");
    }
    let in_compose: BTreeSet<(String, u16)> = published.iter().map(|p| (p.service.clone(), p.host_port)).collect();
    assert_eq!(
        in_compose,
        readme_ports(),
        "compose.yaml's published ports against docs/telemetry.md's table"
    );
}

fn container_ports(service: &str) -> BTreeSet<u16> {
    published_ports(&compose())
        .into_iter()
        .filter(|p| p.service == service)
        .map(|p| p.container_port)
        .collect()
}

fn endpoint_port(config: &Value, pointer: &str) -> u16 {
    host_and_port(str_at(config, pointer)).1
}

#[test]
fn the_collector_listens_where_compose_publishes_and_parabench_sends() {
    let collector = collector();
    let grpc = endpoint_port(&collector, "/receivers/otlp/protocols/grpc/endpoint");
    let http = endpoint_port(&collector, "/receivers/otlp/protocols/http/endpoint");
    assert_eq!(
        (grpc, http),
        (4317, 4318),
        "OTLP's standard ports, parabench's defaults"
    );
    let exporter = endpoint_port(&collector, "/exporters/prometheus/endpoint");
    assert_eq!(
        container_ports("otel-collector"),
        BTreeSet::from([grpc, http, exporter])
    );
}

#[test]
fn each_service_reaches_the_next_by_compose_name_and_port() {
    let compose = compose();
    let services: BTreeSet<&String> = compose["services"].as_object().unwrap().keys().collect();
    let collector = collector();
    let jaeger = yaml("jaeger.yaml");

    // Collector → Jaeger (OTLP gRPC).
    let traces_exporter = collector["service"]["pipelines"]["traces"]["exporters"][0]
        .as_str()
        .unwrap();
    let (host, port) = host_and_port(str_at(&collector["exporters"][traces_exporter], "/endpoint"));
    assert!(
        services.contains(&host),
        "the collector sends traces to {host}, no compose service"
    );
    assert_eq!(port, endpoint_port(&jaeger, "/receivers/otlp/protocols/grpc/endpoint"));

    // Prometheus → the collector's Prometheus exporter.
    let prometheus = yaml("prometheus.yml");
    let target = str_at(&prometheus, "/scrape_configs/0/static_configs/0/targets/0");
    let (host, port) = host_and_port(target);
    assert_eq!(host, "otel-collector");
    assert_eq!(port, endpoint_port(&collector, "/exporters/prometheus/endpoint"));

    // Grafana → Prometheus and Jaeger's query service.
    let jaeger_query = endpoint_port(&jaeger, "/extensions/jaeger_query/http/endpoint");
    assert!(container_ports("jaeger").contains(&jaeger_query));
    for source in yaml("grafana/provisioning/datasources/datasources.yaml")["datasources"]
        .as_array()
        .unwrap()
    {
        let (host, port) = host_and_port(str_at(source, "/url"));
        assert!(
            services.contains(&host),
            "data source {source} points at no compose service"
        );
        assert!(
            container_ports(&host).contains(&port),
            "{host} does not listen on {port}"
        );
    }
}

fn provisioned_datasource_uid(kind: &str) -> String {
    yaml("grafana/provisioning/datasources/datasources.yaml")["datasources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["type"] == kind)
        .map(|d| str_at(d, "/uid").to_string())
        .unwrap_or_else(|| panic!("no {kind} data source is provisioned"))
}

/// Every `datasource` object in the dashboard (panels, targets, variables).
fn datasource_refs(value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            let ds = map.get("datasource").filter(|ds| ds.is_object());
            if let Some((Some(kind), Some(uid))) = ds.map(|ds| (ds["type"].as_str(), ds["uid"].as_str())) {
                out.push((kind.to_string(), uid.to_string()));
            }
            map.values().for_each(|v| datasource_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| datasource_refs(v, out)),
        _ => {}
    }
}

#[test]
fn grafana_provisions_the_dashboard_and_the_data_sources_it_uses() {
    let dashboard = dashboard();
    assert_eq!(dashboard["uid"], "parabench");
    assert_eq!(dashboard["title"], "parabench");

    // The provider's folder is where compose mounts parabench.json, which exists.
    let provider = yaml("grafana/provisioning/dashboards/parabench.yaml");
    let folder = str_at(&provider, "/providers/0/options/path");
    let mounts = bind_mounts(&compose(), "grafana");
    let (source, _) = mounts
        .iter()
        .find(|(_, target)| Path::new(target).parent() == Some(Path::new(folder)))
        .unwrap_or_else(|| panic!("compose mounts no dashboard into {folder}: {mounts:?}"));
    assert_eq!(source.file_name().unwrap(), "parabench.json");
    assert!(source.is_file(), "{}", source.display());

    let mut refs = Vec::new();
    datasource_refs(&dashboard, &mut refs);
    assert!(!refs.is_empty());
    for (kind, uid) in refs {
        if kind != "grafana" {
            assert_eq!(
                uid,
                provisioned_datasource_uid(&kind),
                "a {kind} data source the dashboard uses"
            );
        }
    }

    // $__rate_interval is derived from the scrape interval Grafana is told.
    let sources = yaml("grafana/provisioning/datasources/datasources.yaml");
    let prometheus_source = sources["datasources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["type"] == "prometheus")
        .unwrap();
    assert_eq!(
        prometheus_source["jsonData"]["timeInterval"],
        yaml("prometheus.yml")["global"]["scrape_interval"]
    );
}

#[test]
fn the_dashboard_filters_by_scenario_mode_and_tool() {
    let dashboard = dashboard();
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    let names: Vec<&str> = variables.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["scenario", "mode", "tool", "service"]);
    for filter in &variables[..3] {
        assert_eq!(filter["multi"], true, "{filter}");
        assert_eq!(filter["includeAll"], true, "{filter}");
    }
    // The trace links search one service: no All, no list.
    let service = &variables[3];
    assert_eq!(service["multi"], false, "{service}");
    assert_eq!(service["includeAll"], false, "{service}");
}

#[test]
fn every_bind_mount_of_compose_exists() {
    let compose = compose();
    for service in compose["services"].as_object().unwrap().keys() {
        for (source, target) in bind_mounts(&compose, service) {
            assert!(
                source.exists(),
                "{service}: {} (mounted at {target}) is missing",
                source.display()
            );
        }
    }
}
