//! The HTML report in a real headless browser: it renders without script errors, draws
//! every attempt of the JSON report, shows its speedup, asks nothing of the network, and
//! its screenshot is not blank.

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::path::{Path, PathBuf};

use common::{parabench, read_json, temp_dir, text};
use serde_json::Value;

/// Runs `scenario` on the virtual clock with `--json` and `--html`; returns both paths.
fn run_with_html(dir: &Path, scenario: &str) -> (PathBuf, PathBuf) {
    let stem = Path::new(scenario).file_stem().unwrap().to_string_lossy().into_owned();
    common::virtual_run(dir, Some(scenario), &stem, true)
}

fn attempts(run: &Value) -> u64 {
    run["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["attempts"].as_u64().unwrap())
        .sum()
}

fn never_started(run: &Value) -> usize {
    run["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["start_s"].is_null())
        .count()
}

#[test]
fn the_page_draws_every_attempt_and_shows_the_reports_speedup() {
    let dir = temp_dir("html-attempts");
    // Retries, timeouts and backoffs; then a deadline that cancels calls mid-attempt or
    // before they start.
    for scenario in ["scenarios/partial_failure.toml", "scenarios/deadline.toml"] {
        let (json, html) = run_with_html(&dir, scenario);
        let report = read_json(&json);
        let dom = browser::dump_dom(&html);
        browser::assert_rendered_cleanly(&dom);

        let runs = report["runs"].as_array().unwrap();
        let in_report: u64 = runs.iter().map(attempts).sum();
        assert!(in_report > 0);
        let drawn: u64 = browser::attribute(&dom, "page", "data-attempt-segments")
            .expect("the page counts what it drew")
            .parse()
            .unwrap();
        assert_eq!(
            drawn, in_report,
            "{scenario}: attempt segments drawn vs attempts in the report"
        );
        let markers: usize = browser::attribute(&dom, "page", "data-markers")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(markers, runs.iter().map(never_started).sum::<usize>(), "{scenario}");
        if scenario.contains("partial_failure") {
            assert!(
                in_report > runs.iter().map(|r| r["calls"].as_array().unwrap().len() as u64).sum(),
                "the scenario has retries, so more segments than calls"
            );
        } else {
            assert!(markers > 0, "the deadline leaves calls that never started");
        }

        if scenario.contains("deadline") {
            // Both runs hit the deadline: no speedup, but the calls each completed.
            assert!(report["speedup"].is_null(), "{scenario}");
            assert!(
                browser::text_of(&dom, "speedup").is_none(),
                "{scenario}: no speedup shown"
            );
            let within = &report["within_deadline"];
            for run in within["runs"].as_array().unwrap() {
                let mode = run["mode"].as_str().unwrap();
                let shown = browser::text_of(&dom, &format!("completed-{mode}")).expect("completed calls shown");
                assert_eq!(shown, format!("{} of {}", run["completed"], run["calls"]), "{mode}");
            }
            let ratio: f64 = browser::attribute(&dom, "completed-ratio", "data-value")
                .expect("the ratio is shown")
                .parse()
                .unwrap();
            assert_eq!(ratio, within["ratio"].as_f64().unwrap());
        } else {
            let speedup = report["speedup"].as_f64().unwrap();
            let shown = browser::text_of(&dom, "speedup").expect("the speedup is shown");
            assert_eq!(shown, format!("{speedup:.2}×"), "{scenario}");
            let value: f64 = browser::attribute(&dom, "speedup", "data-value")
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(value, speedup, "{scenario}: the page carries the report's exact figure");
        }
        let expectations = report["expectations"].as_array().unwrap();
        assert_eq!(dom.matches("<li data-ok=").count(), expectations.len(), "{scenario}");

        // One row per tool draws the same attempts.
        let by_tool = browser::dump_dom_at(&html, "#rows=tool");
        browser::assert_rendered_cleanly(&by_tool);
        assert_eq!(
            browser::attribute(&by_tool, "page", "data-attempt-segments"),
            Some(in_report.to_string()),
            "{scenario}: rows per tool"
        );
    }
}

#[test]
fn calls_in_flight_reach_the_limits_and_never_pass_them() {
    let dir = temp_dir("html-in-flight");
    // 20 independent calls at max_concurrency 5; agent_mix has tools with their own limits.
    for (scenario, parallel_peak) in [
        ("scenarios/independent_io.toml", Some(5)),
        ("scenarios/agent_mix.toml", None),
    ] {
        let (json, html) = run_with_html(&dir, scenario);
        let report = read_json(&json);
        let dom = browser::dump_dom(&html);
        browser::assert_rendered_cleanly(&dom);
        for run in report["runs"].as_array().unwrap() {
            let mode = run["mode"].as_str().unwrap();
            let peaks: Value = serde_json::from_str(
                &browser::attribute(&dom, &format!("inflight-{mode}"), "data-peaks")
                    .expect("the chart records its peaks"),
            )
            .unwrap();
            let all = &peaks["all calls"];
            assert_eq!(all["limit"], run["max_concurrency"], "{scenario} {mode}");
            assert!(all["peak"].as_u64().unwrap() <= run["max_concurrency"].as_u64().unwrap());
            for (tool, stats) in run["tools"].as_object().unwrap() {
                let band = &peaks[tool.as_str()];
                assert!(band["peak"].as_u64().unwrap() >= 1, "{scenario} {mode} {tool}");
                if let Some(limit) = stats["max_concurrency"].as_u64() {
                    assert_eq!(band["limit"].as_u64(), Some(limit), "{scenario} {mode} {tool}");
                    assert!(band["peak"].as_u64().unwrap() <= limit, "{scenario} {mode} {tool}");
                }
            }
            if mode == "sequential" {
                assert_eq!(all["peak"], 1, "{scenario}");
            } else if let Some(peak) = parallel_peak {
                assert_eq!(all["peak"], peak, "{scenario}");
            }
        }
    }
}

#[test]
fn the_page_names_no_host_and_forbids_every_request() {
    let dir = temp_dir("html-offline");
    let (_, html) = run_with_html(&dir, "scenarios/agent_mix.toml");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("Content-Security-Policy") && page.contains("default-src 'none'"),
        "the page forbids requests itself"
    );
    for needle in [
        "http://",
        "https://",
        "src=\"//",
        "href=\"//",
        "src='//",
        "href='//",
        "url(",
    ] {
        assert!(!page.contains(needle), "the page names a location: {needle}");
    }
    assert!(
        !page.contains(" src=") && !page.contains(" href="),
        "the page loads nothing by attribute"
    );
}

#[test]
fn the_page_reports_its_own_script_errors_and_blocked_requests() {
    // The checks above are only as good as the page's error catching: break a page on
    // purpose and see the breakage reported in the DOM.
    let dir = temp_dir("html-broken");
    let (_, html) = run_with_html(&dir, "scenarios/independent_io.toml");
    let page = std::fs::read_to_string(&html).unwrap();
    let broken = page.replacen(
        "<main id=\"page\"",
        "<img src=\"https://example.invalid/pixel.png\" alt=\"\"><script>notDefinedAnywhere();</script><main id=\"page\"",
        1,
    );
    let broken_path = dir.join("broken.html");
    std::fs::write(&broken_path, broken).unwrap();
    let dom = browser::dump_dom(&broken_path);
    let errors = browser::text_of(&dom, "script-errors").unwrap_or_default();
    let count: usize = browser::attribute(&dom, "script-errors", "data-count")
        .unwrap()
        .parse()
        .unwrap();
    assert!(count >= 2, "{errors}");
    assert!(errors.contains("notDefinedAnywhere"), "{errors}");
    assert!(errors.contains("blocked request"), "{errors}");
}

#[test]
fn the_screenshot_is_not_blank() {
    // The page of docs/report.png, made the same way (see README, "HTML report").
    let dir = temp_dir("html-screenshot");
    let (_, html) = run_with_html(&dir, "scenarios/partial_failure.toml");
    let png_path = dir.join("report.png");
    browser::screenshot(&html, &png_path, 1280, 900);
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png_path).unwrap()));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (1280, 900));
    let channels = info.color_type.samples();
    let colours: std::collections::HashSet<&[u8]> = pixels[..info.buffer_size()].chunks(channels).collect();
    assert!(
        colours.len() > 50,
        "only {} distinct colours: a blank page?",
        colours.len()
    );
    // The outcomes of this run are on screen, in the page's Okabe-Ito colours.
    for (name, rgb) in [
        ("ok", [0x00, 0x9E, 0x73]),
        ("error", [0xD5, 0x5E, 0x00]),
        ("timeout", [0xE6, 0x9F, 0x00]),
    ] {
        assert!(
            colours.iter().any(|c| c[..3] == rgb),
            "no {name} colour in the screenshot"
        );
    }
}

#[test]
fn a_report_from_before_attempts_were_recorded_draws_one_bar_per_call() {
    let dir = temp_dir("html-old-report");
    let (json, _) = run_with_html(&dir, "scenarios/partial_failure.toml");
    let mut report = read_json(&json);
    let mut started = 0;
    for run in report["runs"].as_array_mut().unwrap() {
        for call in run["calls"].as_array_mut().unwrap() {
            call.as_object_mut().unwrap().remove("attempt_spans");
            started += usize::from(!call["start_s"].is_null());
        }
        for tool in run["tools"].as_object_mut().unwrap().values_mut() {
            tool.as_object_mut().unwrap().remove("max_concurrency");
        }
    }
    let old = common::write(&dir, "old.json", &report.to_string());
    let html = dir.join("old.html");
    let (code, _, stderr) = text(&parabench(&[
        "report",
        old.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let dom = browser::dump_dom(&html);
    browser::assert_rendered_cleanly(&dom);
    assert_eq!(
        browser::attribute(&dom, "page", "data-attempt-segments"),
        Some(started.to_string())
    );
}

#[test]
fn the_tune_page_plots_every_level_and_marks_the_recommendation() {
    let dir = temp_dir("html-tune");
    let (json, html) = (dir.join("tune.json"), dir.join("tune.html"));
    let out = parabench(&[
        "tune",
        "scenarios/agent_mix.toml",
        "--clock",
        "virtual",
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    let (code, _, stderr) = text(&out);
    assert_eq!(code, 0, "{stderr}");
    let tune = read_json(&json);
    let levels = tune["levels"].as_array().unwrap().len();
    assert!(levels >= 3);
    let recommended = tune["recommended"].as_u64().expect("agent_mix has a recommendation");

    let dom = browser::dump_dom(&html);
    browser::assert_rendered_cleanly(&dom);
    for chart in ["throughput-chart", "p99-chart"] {
        assert_eq!(
            browser::attribute(&dom, chart, "data-points"),
            Some(levels.to_string()),
            "{chart}: every level is plotted"
        );
        assert_eq!(
            browser::attribute(&dom, chart, "data-recommended-marked"),
            Some(recommended.to_string()),
            "{chart}"
        );
    }
    assert_eq!(browser::text_of(&dom, "recommended"), Some(recommended.to_string()));
    assert!(
        dom.contains(tune["reason"].as_str().unwrap()),
        "the reason is in words on the page"
    );

    // `parabench report` renders the saved tune JSON to the same page.
    let again = dir.join("again.html");
    let (code, _, stderr) = text(&parabench(&[
        "report",
        json.to_str().unwrap(),
        "--html",
        again.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read(&html).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn hovering_a_bar_names_its_call() {
    let dir = temp_dir("html-hover");
    let (_, html) = run_with_html(&dir, "scenarios/independent_io.toml");
    // Hover where the page says a time and a row are, as a reader's pointer would.
    let hover = r#"<script>
(function () {
  function hover(mode, row, t) {
    const c = document.querySelector('#timeline-' + mode + ' canvas');
    const d = c.dataset, box = c.getBoundingClientRect();
    const x = box.left + Number(d.x0) + (t / Number(d.horizon)) * (Number(d.x1) - Number(d.x0));
    const y = box.top + Number(d.top) + (row + 0.5) * Number(d.rowHeight);
    c.dispatchEvent(new MouseEvent('mousemove', { clientX: x, clientY: y, bubbles: true }));
    const tip = document.getElementById('tooltip');
    return tip.hidden ? '(hidden)' : tip.textContent;
  }
  const out = document.createElement('pre');
  out.id = 'hover-results';
  out.textContent = [hover('parallel', 0, 0.05), hover('parallel', 0, 0.15), hover('sequential', 0, 1.05)].join('\n');
  document.body.appendChild(out);
})();
</script></body>"#;
    let page = std::fs::read_to_string(&html).unwrap().replacen("</body>", hover, 1);
    let scripted = dir.join("hover.html");
    std::fs::write(&scripted, page).unwrap();
    let dom = browser::dump_dom(&scripted);
    browser::assert_rendered_cleanly(&dom);
    let results = browser::text_of(&dom, "hover-results").unwrap();
    let lines: Vec<&str> = results.lines().collect();
    // 20 calls of 100 ms, 5 at a time: slot 1 runs call1, then call6; one at a time,
    // call11 runs from 1.0 s to 1.1 s.
    assert!(lines[0].starts_with("call1 · api · ok"), "{results}");
    assert!(lines[1].starts_with("call6 · api · ok"), "{results}");
    assert!(lines[2].starts_with("call11 · api · ok"), "{results}");
    assert!(lines[2].contains("attempt 1: 1.000 s → 1.100 s"), "{results}");
    assert!(lines[2].contains("depends on: nothing"), "{results}");
}

#[test]
fn a_large_run_is_drawn_whole_on_canvas_and_the_page_says_so() {
    let dir = temp_dir("html-large");
    let scenario = common::write(
        &dir,
        "large.toml",
        r#"
name = "large"
seed = 3
[executor]
max_concurrency = 20
[executor.retry]
max_attempts = 3
initial_backoff = "10ms"
[tools.api]
latency = { dist = "exponential", mean = "50ms" }
failure_rate = 0.1
max_concurrency = 12
[[generate]]
tool = "api"
count = 3000
"#,
    );
    let (json, html) = run_with_html(&dir, scenario.to_str().unwrap());
    let report = read_json(&json);
    let attempts: u64 = report["runs"].as_array().unwrap().iter().map(attempts).sum();
    let bytes = std::fs::metadata(&html).unwrap().len();
    let dom = browser::dump_dom(&html);
    browser::assert_rendered_cleanly(&dom);
    assert_eq!(
        browser::attribute(&dom, "page", "data-attempt-segments"),
        Some(attempts.to_string())
    );
    let note = browser::text_of(&dom, "scale-note").expect("the page says how it draws this many calls");
    assert!(
        note.contains("6,000 calls in all runs") && note.contains("canvas"),
        "{note}"
    );
    // A figure to read, not a limit to assert: the machine is shared.
    eprintln!(
        "6,000 calls: {bytes} bytes, drawn by the page in {} ms",
        browser::attribute(&dom, "page", "data-render-ms").unwrap()
    );
}

#[test]
fn the_analysis_page_draws_each_step_as_it_happened_and_ideal_and_the_what_if_curve() {
    let dir = temp_dir("html-analysis");
    let html = dir.join("analysis.html");
    let json = dir.join("analysis.json");
    let traces: Vec<String> = ["genai.jsonl", "openinference.json", "jaeger_fan_out.json"]
        .iter()
        .map(|f| common::root().join("tests/traces").join(f).display().to_string())
        .collect();
    let mut args = vec!["analyze"];
    args.extend(traces.iter().map(String::as_str));
    args.extend(["--html", html.to_str().unwrap(), "--json", json.to_str().unwrap()]);
    let (code, _, stderr) = text(&parabench(&args));
    assert_eq!(code, 0, "{stderr}");
    let analysis = read_json(&json);
    let dom = browser::dump_dom(&html);
    browser::assert_rendered_cleanly(&dom);
    let steps = analysis["steps"].as_array().unwrap();
    let calls: u64 = steps.iter().map(|s| s["calls"].as_u64().unwrap()).sum();
    let attr = |name: &str| browser::attribute(&dom, "page", name).unwrap().parse::<u64>().unwrap();
    // Few steps: every one is drawn, each call twice.
    assert_eq!(attr("data-steps-drawn"), steps.len() as u64);
    assert_eq!((attr("data-bars-observed"), attr("data-bars-ideal")), (calls, calls));
    let points: u64 = browser::attribute(&dom, "what-if", "data-points")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(points, 5, "one point per level of --levels");
    assert_eq!(dom.matches("data-kind=\"serial\"").count(), 1);
    assert_eq!(dom.matches("data-kind=\"fan_out\"").count(), 1);
    let recommended = browser::attribute(&dom, "recommended", "data-value").unwrap();
    assert_eq!(recommended, analysis["recommended"].to_string());
}

/// Over `condensed::DETAIL_LIMIT` calls a run is condensed: its first calls drawn one by
/// one, every call in the aggregates. Checks what the page says it drew against `calls`
/// (per run) and `peak` (the global limit the parallel run filled).
fn assert_condensed_page(dom: &str, runs: usize, calls: u64, peak: u64) {
    browser::assert_rendered_cleanly(dom);
    let page = |name: &str| browser::attribute(dom, "page", name).unwrap();
    assert_eq!(page("data-calls"), (calls * runs as u64).to_string());
    assert_eq!(page("data-condensed-runs"), runs.to_string());
    // Every attempt of the calls drawn one by one is drawn.
    assert_eq!(page("data-attempt-segments"), page("data-attempts-in-report"));
    let note = browser::text_of(dom, "scale-note").expect("the page says what it aggregated");
    assert!(
        note.contains("first 10,000 calls to start") && note.contains("aggregate every call"),
        "{note}"
    );
    let peaks: Value = serde_json::from_str(
        &browser::attribute(dom, "inflight-parallel", "data-peaks")
            .unwrap()
            .replace("&quot;", "\""),
    )
    .unwrap();
    assert_eq!(peaks["all calls"]["peak"], peak, "{peaks}");
    assert_eq!(
        browser::attribute(dom, "inflight-parallel", "data-buckets").as_deref(),
        Some("1000")
    );
    let rows: u64 = browser::attribute(dom, "occupancy-parallel", "data-rows")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(rows, peak.min(64));
    let cells: u64 = browser::attribute(dom, "occupancy-parallel", "data-cells")
        .unwrap()
        .parse()
        .unwrap();
    assert!(cells >= rows * 900, "{cells} occupied cells of {rows} rows × 1,000");
    let points: u64 = browser::attribute(dom, "service-parallel", "data-points")
        .unwrap()
        .parse()
        .unwrap();
    assert!(points > 2_000, "{points} points of p50, p99 and max");
}

#[test]
fn a_run_of_a_hundred_thousand_calls_is_drawn_condensed_in_a_page_of_a_few_megabytes() {
    let dir = temp_dir("html-100k");
    let scenario = common::root().join("tests/scale/hundred_thousand_virtual.toml");
    let (_, html) = run_with_html(&dir, scenario.to_str().unwrap());
    let bytes = std::fs::metadata(&html).unwrap().len();
    // 42 MB before runs were condensed, and a page Chromium could not draw.
    assert!(bytes < 10_000_000, "{bytes} bytes");
    let dom = browser::dump_dom(&html);
    assert_condensed_page(&dom, 2, 100_000, 64);
    eprintln!(
        "100,000 calls per run: {bytes} bytes, drawn in {} ms",
        browser::attribute(&dom, "page", "data-render-ms").unwrap()
    );
}

#[test]
fn a_run_at_the_call_limit_is_drawn_condensed_in_a_page_under_ten_megabytes() {
    use parabench::report::Render;
    use parabench::report::html::Html;
    use parabench::report::model::{CallReport, Report};

    // A real report's frame (one parallel run), its calls replaced by as many as a
    // report may keep a record of: 1,024 slots, each running calls of 1 to 64 ms back to back.
    let dir = temp_dir("html-limit");
    let (json, _) = common::virtual_run(&dir, None, "frame", false);
    let mut report: Report = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    report
        .runs
        .retain(|r| r.mode != parabench::executor::RunMode::Sequential);
    let run = &mut report.runs[0];
    let tool = run.tools.keys().next().unwrap().clone();
    let template = run.calls[0].clone();
    let calls = parabench::report::model::MAX_CALL_RECORDS;
    let mut next_free = vec![0u64; 1024];
    run.calls = (0..calls)
        .map(|i| {
            let slot = i % 1024;
            let start = next_free[slot];
            // 1 to 64 ms, by a multiplicative hash of the call's index.
            let end = start + 1 + ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58);
            next_free[slot] = end;
            let (start, end) = (start as f64 / 1e3, end as f64 / 1e3);
            CallReport {
                id: format!("c{i}"),
                tool: tool.clone(),
                queued_s: Some(0.0),
                start_s: Some(start),
                end_s: end,
                attempt_spans: Vec::new(),
                ..template.clone()
            }
        })
        .collect();
    run.max_concurrency = 1024;
    run.wall_s = run.calls.iter().map(|c| c.end_s).fold(0.0, f64::max);
    let html = dir.join("limit.html");
    let mut page = Vec::new();
    Html.render(&report, &mut page).unwrap();
    std::fs::write(&html, &page).unwrap();
    assert!(page.len() < 10_000_000, "{} bytes", page.len());
    let dom = browser::dump_dom(&html);
    assert_condensed_page(&dom, 1, calls as u64, 1024);
    eprintln!(
        "{calls} calls: {} bytes, drawn in {} ms",
        page.len(),
        browser::attribute(&dom, "page", "data-render-ms").unwrap()
    );
}
