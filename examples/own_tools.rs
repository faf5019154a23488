//! Runs your own async tools through the executor from Rust, with no scenario file.
//!
//! Four searches feed four fetches, and one CPU-bound summary waits for every fetch. The
//! search API allows 2 requests at once and 20 per second; one fetch fails once and is
//! retried. Run it with `cargo run --example own_tools`.

use std::num::NonZeroU32;
use std::time::Duration;

use parabench::clock::Clock;
use parabench::executor::{CallContext, Executor, ExecutorConfig, Jitter, RetryPolicy, Tool, ToolError};
use parabench::plan::{PlanBuilder, ToolId, ToolSpec};

/// One value serves every tool of the plan: the executor hands each call to `call`, which
/// dispatches on the call's tool.
struct Agent {
    search: ToolId,
    fetch: ToolId,
}

impl Tool for Agent {
    // Every tool returns text; a dependent reads its dependencies' through the context.
    type Output = String;

    async fn call(&self, ctx: CallContext<'_, String>) -> Result<String, ToolError> {
        let call = ctx.call();
        if call.tool == self.search {
            // Stands in for an HTTP request: it waits, and holds no thread while it does.
            tokio::time::sleep(Duration::from_millis(150)).await;
            Ok(format!("https://example.com/{}", call.id))
        } else if call.tool == self.fetch {
            // A fetch whose search failed is skipped, never run, so the output is there.
            let url = ctx.dependency_outputs().flatten().next().expect("the search succeeded");
            tokio::time::sleep(Duration::from_millis(120)).await;
            if call.id == "fetch-2" && ctx.attempt() == 1 {
                // Retryable: the executor backs off and calls again.
                return Err(ToolError::new("503 from the origin"));
            }
            Ok(format!("<{} bytes from {url}>", 1000 + url.len()))
        } else {
            // CPU work must not run on the executor's task: it would stall every other call.
            let pages: Vec<String> = ctx.dependency_outputs().flatten().cloned().collect();
            tokio::task::spawn_blocking(move || {
                let words: usize = pages.iter().map(|p| p.split_whitespace().count()).sum();
                std::thread::sleep(Duration::from_millis(50));
                format!("{} pages, {words} words", pages.len())
            })
            .await
            .map_err(ToolError::permanent)
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut plan = PlanBuilder::new();
    // The API's own limits, enforced beside the global one.
    let search = plan.tool(ToolSpec::io("search").with_max_concurrency(2).with_rate_limit(20.0));
    let fetch = plan.tool(ToolSpec::io("fetch"));
    let summarize = plan.tool(ToolSpec::cpu("summarize"));
    let mut fetches = Vec::new();
    for i in 1..=4 {
        let s = plan.call(format!("search-{i}"), search);
        let f = plan.call(format!("fetch-{i}"), fetch);
        plan.depends_on(f, s);
        fetches.push(f);
    }
    let summary = plan.call("summary", summarize);
    for f in fetches {
        plan.depends_on(summary, f);
    }
    let plan = plan.build()?;

    let config = ExecutorConfig {
        // Up to 3 attempts, 50 ms then 100 ms apart before jitter.
        retry: RetryPolicy::new(
            NonZeroU32::new(3).expect("non-zero"),
            Duration::from_millis(50),
            2.0,
            Duration::from_millis(500),
            Jitter::Full,
        )?,
        // A hung request costs one attempt, not the run.
        attempt_timeout: Some(Duration::from_secs(1)),
        ..ExecutorConfig::with_max_concurrency(4)
    };
    let run = Executor::new(config)
        .run(&plan, &Agent { search, fetch }, &Clock::real())
        .await;

    let ms = |d: Option<Duration>| d.map_or("-".into(), |d| format!("{:.1} ms", d.as_secs_f64() * 1e3));
    println!(
        "{:<9} {:<6} {:>8} {:>11} {:>11}  output",
        "call", "status", "attempts", "queue wait", "service"
    );
    // Outcomes come back in input order, whatever order the calls ended in.
    for (call, outcome) in plan.calls().iter().zip(&run.calls) {
        println!(
            "{:<9} {:<6} {:>8} {:>11} {:>11}  {}",
            call.id,
            outcome.status,
            outcome.attempts,
            ms(outcome.queue_wait()),
            ms(outcome.service_time()),
            outcome.output.as_deref().unwrap_or("-"),
        );
    }
    println!("wall {}", ms(Some(run.wall)));
    Ok(())
}
