//! `parabench analyze` on traces recorded from seven agent frameworks by the harness in
//! `frameworks/` (`frameworks/run.sh --record`): each is analysed exactly.
//!
//! Every framework ran the same plan: one model response asks for `search` x4 and `db`
//! x2, the next for `fetch` x3, the last answers. The truth is read from the trace here,
//! independently of parabench's rules: the calls of the plan's tools (the outermost
//! span of each, where an agent's trace is joined with its server's), the first
//! response's in one step and the second's in another. parabench must find exactly those
//! steps, with the same calls, the same most-in-flight, and their work and wall.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use common::{parabench, read_json, temp_dir, text};
use serde_json::Value;

const PLAN_TOOLS: [&str; 3] = ["search", "db", "fetch"];

/// What one fixture must show beyond the plan.
struct Fixture {
    file: &'static str,
    /// The most calls in flight in the first step: the framework's own limit.
    step1_in_flight: u64,
    /// Tool spans set aside: (reason, count).
    set_aside: &'static [(&'static str, u64)],
    /// Calls joined with the server's spans inside them.
    joined: u64,
}

const FIXTURES: [Fixture; 10] = [
    Fixture {
        file: "pydantic_ai.jsonl",
        step1_in_flight: 6,
        set_aside: &[],
        joined: 0,
    },
    Fixture {
        file: "pydantic_ai_joined.jsonl",
        step1_in_flight: 6,
        set_aside: &[],
        joined: 9,
    },
    Fixture {
        file: "langgraph_openinference.jsonl",
        step1_in_flight: 6,
        set_aside: &[],
        joined: 0,
    },
    Fixture {
        file: "langgraph_openllmetry.jsonl",
        step1_in_flight: 6,
        set_aside: &[],
        joined: 0,
    },
    Fixture {
        file: "openai_agents.jsonl",
        step1_in_flight: 6,
        set_aside: &[],
        joined: 0,
    },
    Fixture {
        file: "smolagents.jsonl",
        step1_in_flight: 6,
        set_aside: &[("answer", 1)],
        joined: 0,
    },
    Fixture {
        file: "strands.jsonl",
        step1_in_flight: 6,
        set_aside: &[],
        joined: 0,
    },
    // FunctionAgent's `call_tool` step runs 4 workers by default: two calls wait.
    Fixture {
        file: "llamaindex.jsonl",
        step1_in_flight: 4,
        set_aside: &[],
        joined: 0,
    },
    // ADK writes a summary span, `execute_tool (merged)`, after each response's calls.
    Fixture {
        file: "adk.jsonl",
        step1_in_flight: 6,
        set_aside: &[("summary", 2)],
        joined: 0,
    },
    Fixture {
        file: "adk_legacy.jsonl",
        step1_in_flight: 6,
        set_aside: &[("summary", 2)],
        joined: 0,
    },
];

fn fixture(name: &str) -> PathBuf {
    common::root().join("tests/traces/frameworks").join(name)
}

/// One span of a trace file, as the truth needs it.
struct RawSpan {
    id: String,
    parent: String,
    start: u64,
    end: u64,
    tool: Option<String>,
}

fn attributes(span: &Value) -> HashMap<&str, &str> {
    span["attributes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| Some((a["key"].as_str()?, a["value"]["stringValue"].as_str()?)))
        .collect()
}

/// The plan tool a span calls, if it is a tool span of one, by whichever convention.
fn plan_tool(span: &Value) -> Option<String> {
    let attrs = attributes(span);
    let is_tool = attrs.get("gen_ai.operation.name") == Some(&"execute_tool")
        || attrs.get("openinference.span.kind") == Some(&"TOOL")
        || attrs.get("traceloop.span.kind") == Some(&"tool");
    let name = span["name"].as_str().unwrap_or("");
    let tool = ["gen_ai.tool.name", "tool.name", "traceloop.entity.name"]
        .iter()
        .find_map(|k| attrs.get(k).copied())
        .or_else(|| name.strip_prefix("execute_tool "))?;
    (is_tool && PLAN_TOOLS.contains(&tool)).then(|| tool.to_string())
}

fn read_spans(file: &str) -> Vec<RawSpan> {
    let text = std::fs::read_to_string(fixture(file)).unwrap();
    let mut spans = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let doc: Value = serde_json::from_str(line).unwrap();
        for rs in doc["resourceSpans"].as_array().unwrap() {
            for ss in rs["scopeSpans"].as_array().unwrap() {
                for span in ss["spans"].as_array().unwrap() {
                    let time = |k: &str| span[k].as_str().unwrap().parse::<u64>().unwrap();
                    spans.push(RawSpan {
                        id: span["spanId"].as_str().unwrap().to_string(),
                        parent: span["parentSpanId"].as_str().unwrap_or("").to_string(),
                        start: time("startTimeUnixNano"),
                        end: time("endTimeUnixNano"),
                        tool: plan_tool(span),
                    });
                }
            }
        }
    }
    spans
}

/// One step of the truth.
#[derive(Debug, Default)]
struct TrueStep {
    tools: BTreeMap<String, u64>,
    work_ns: u64,
    start: u64,
    end: u64,
    intervals: Vec<(u64, u64)>,
}

impl TrueStep {
    fn max_in_flight(&self) -> u64 {
        let mut events: Vec<(u64, i64)> = self.intervals.iter().flat_map(|&(s, e)| [(s, 1), (e, -1)]).collect();
        // An end at an instant makes room for a start then.
        events.sort_by_key(|&(t, d)| (t, d));
        let (mut now, mut most) = (0i64, 0i64);
        for (_, d) in events {
            now += d;
            most = most.max(now);
        }
        most as u64
    }
}

/// The plan's two steps as the trace shows them: the outermost span of each call.
fn truth(file: &str) -> [TrueStep; 2] {
    let spans = read_spans(file);
    let by_id: HashMap<&str, &RawSpan> = spans.iter().map(|s| (s.id.as_str(), s)).collect();
    let inside_a_call = |span: &RawSpan| {
        let mut parent = by_id.get(span.parent.as_str());
        while let Some(p) = parent {
            if p.tool.is_some() {
                return true;
            }
            parent = by_id.get(p.parent.as_str());
        }
        false
    };
    let mut steps = [TrueStep::default(), TrueStep::default()];
    for span in spans.iter().filter(|s| s.tool.is_some() && !inside_a_call(s)) {
        let tool = span.tool.clone().unwrap();
        let step = &mut steps[usize::from(tool == "fetch")];
        *step.tools.entry(tool).or_default() += 1;
        step.work_ns += span.end - span.start;
        step.start = if step.intervals.is_empty() {
            span.start
        } else {
            step.start.min(span.start)
        };
        step.end = step.end.max(span.end);
        step.intervals.push((span.start, span.end));
    }
    steps
}

fn analyse(file: &str) -> Value {
    analyse_with_text(file).0
}

/// The analysis, and what the terminal shows.
fn analyse_with_text(file: &str) -> (Value, String) {
    let dir = temp_dir(&format!("frameworks-{file}"));
    let json = dir.join("analysis.json");
    let (code, stdout, stderr) = text(&parabench(&[
        "analyze",
        fixture(file).to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let analysis = read_json(&json);
    common::assert_matches_schema("analysis-v1.schema.json", &analysis);
    (analysis, stdout)
}

fn within(got: f64, want: f64, share: f64) -> bool {
    (got - want).abs() <= share * want
}

#[test]
fn each_frameworks_trace_is_analysed_into_exactly_the_steps_of_its_plan() {
    for f in FIXTURES {
        let truth = truth(f.file);
        let plan: [BTreeMap<String, u64>; 2] = [
            BTreeMap::from([("search".into(), 4), ("db".into(), 2)]),
            BTreeMap::from([("fetch".into(), 3)]),
        ];
        // The fixture itself holds the plan, with the framework's known limit.
        assert_eq!([truth[0].tools.clone(), truth[1].tools.clone()], plan, "{}", f.file);
        assert_eq!(
            (truth[0].max_in_flight(), truth[1].max_in_flight()),
            (f.step1_in_flight, 3),
            "{}",
            f.file
        );

        let (a, terminal) = analyse_with_text(f.file);
        let steps = a["steps"].as_array().unwrap();
        // A step's trace is shown by a prefix of its id, leading zeros and all.
        let trace_id = steps[0]["trace_id"].as_str().unwrap();
        assert!(
            terminal.contains(&trace_id[..8]),
            "{}: {trace_id} in {terminal}",
            f.file
        );
        assert_eq!(steps.len(), 2, "{}: {:#}", f.file, a["steps"]);
        assert_eq!(a["total"]["calls"], 9, "{}", f.file);
        for (step, want) in steps.iter().zip(&truth) {
            let tools: BTreeMap<String, u64> = serde_json::from_value(step["tools"].clone()).unwrap();
            assert_eq!(tools, want.tools, "{}", f.file);
            assert_eq!(step["max_in_flight"], want.max_in_flight(), "{}", f.file);
            let work = want.work_ns as f64 / 1e9;
            let wall = (want.end - want.start) as f64 / 1e9;
            assert!(
                within(step["work_s"].as_f64().unwrap(), work, 0.02),
                "{}: work {step:#} vs {work}",
                f.file
            );
            assert!(
                within(step["wall_s"].as_f64().unwrap(), wall, 0.02),
                "{}: wall {step:#} vs {wall}",
                f.file
            );
        }

        let set_aside: Vec<(String, u64)> = a["set_aside"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["reason"].as_str().unwrap().to_string(), s["spans"].as_u64().unwrap()))
            .collect();
        let want: Vec<(String, u64)> = f.set_aside.iter().map(|&(r, n)| (r.to_string(), n)).collect();
        assert_eq!(set_aside, want, "{}", f.file);
        assert_eq!(a["joined"]["calls"].as_u64().unwrap_or(0), f.joined, "{}", f.file);

        // Never a recommendation above what any step had in flight.
        let observed = steps
            .iter()
            .map(|s| s["max_in_flight"].as_u64().unwrap())
            .max()
            .unwrap();
        assert!(
            a["recommended"].as_u64().unwrap() <= observed,
            "{}: {}",
            f.file,
            a["reason"]
        );
    }
}

#[test]
fn llamaindex_is_recommended_its_observed_four_and_told_what_six_would_give() {
    let a = analyse("llamaindex.jsonl");
    assert_eq!(a["recommended"], 4, "{}", a["reason"]);
    let reason = a["reason"].as_str().unwrap();
    assert!(
        reason.contains("No step had more than 4 calls in flight") && reason.contains("the ideal schedule at 6"),
        "{reason}"
    );
    // Its first step had two calls waiting for a worker: well below its ideal.
    let efficiency = a["steps"][0]["efficiency"].as_f64().unwrap();
    assert!((0.5..0.8).contains(&efficiency), "{efficiency}");
}

#[test]
fn a_joined_trace_shows_each_calls_server_time_and_the_clients_overhead() {
    let a = analyse("pydantic_ai_joined.jsonl");
    let joined = &a["joined"];
    // The agent's `execute_tool`, FastMCP's `tools/call` inside it, and the server's
    // `tools/call` inside that: three spans of one call.
    assert_eq!(
        (joined["calls"].as_u64(), joined["inner_spans"].as_u64()),
        (Some(9), Some(18))
    );
    for call in joined["per_call"].as_array().unwrap() {
        let (client, server, overhead) = (
            call["client_s"].as_f64().unwrap(),
            call["server_s"].as_f64().unwrap(),
            call["overhead_s"].as_f64().unwrap(),
        );
        // The server's own latency is the scenario's (50 to 100 ms), inside the client's.
        assert!((0.049..0.2).contains(&server) && server < client, "{call}");
        assert!((overhead - (client - server)).abs() < 1e-9, "{call}");
    }
    for tool in ["search", "db", "fetch"] {
        let figures = &a["tools"][tool];
        let (p50, p99) = (
            figures["overhead_p50_s"].as_f64().unwrap(),
            figures["overhead_p99_s"].as_f64().unwrap(),
        );
        assert!(0.0 < p50 && p50 <= p99, "{tool}: {figures}");
    }
    for step in a["steps"].as_array().unwrap() {
        assert!(step["overhead_p99_s"].as_f64().unwrap() > 0.0, "{step}");
    }
}

#[test]
fn a_calibrated_scenario_holds_the_calls_and_none_of_the_spans_set_aside() {
    let dir = temp_dir("frameworks-calibrated");
    let scenario = dir.join("adk.toml");
    let (code, _, stderr) = text(&parabench(&[
        "analyze",
        fixture("adk.jsonl").to_str().unwrap(),
        "--scenario",
        scenario.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&scenario).unwrap();
    let parsed = parabench::scenario::parse(&text, &scenario).unwrap();
    let mut tools: Vec<&str> = parsed.plan.tools().iter().map(|t| t.name.as_str()).collect();
    tools.sort_unstable();
    // ADK's summary span `(merged tools)` is no tool of the workload.
    assert_eq!(tools, ["db", "fetch", "model", "search"], "{text}");
    let calls = |tool: &str| {
        let id = parsed.plan.tools().iter().position(|t| t.name == tool).unwrap();
        parsed.plan.calls().iter().filter(|c| c.tool.index() == id).count()
    };
    assert_eq!((calls("search"), calls("db"), calls("fetch")), (4, 2, 3), "{text}");
}
