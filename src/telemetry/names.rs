//! Every name parabench's telemetry exports, in one place: span names, attribute keys,
//! metric names and their attribute keys.
//!
//! Dashboards, users' queries and the tests depend on each of these strings (docs/contracts.md,
//! "Contract: telemetry names"); the code that exports and the checks that read
//! (`tests/dashboards.rs`, `tests/telemetry.rs`, the table in docs/telemetry.md) take them
//! from here, so a rename is one edit that every check sees.

/// The root span of an invocation: `scenario {name}`.
pub const SCENARIO_SPAN: &str = "scenario";
/// One run of the comparison: `run {mode}`.
pub const RUN_SPAN: &str = "run";
/// One tool call (the GenAI operation name): `execute_tool {tool}`.
pub const EXECUTE_TOOL: &str = "execute_tool";
/// One attempt of a call, a child of its `execute_tool` span.
pub const ATTEMPT_SPAN: &str = "attempt";
/// The event on an attempt that precedes a retry's backoff.
pub const BACKOFF_EVENT: &str = "backoff";
/// The root span of `parabench serve`: `serve {scenario}`.
pub const SERVE_SPAN: &str = "serve";
/// A served call, named as the MCP conventions name a server's span: `tools/call {tool}`.
pub const MCP_TOOLS_CALL: &str = "tools/call";

/// Attribute keys of spans (and of the resource).
pub mod attr {
    /// The scenario's name (scenario span, resource).
    pub const SCENARIO: &str = "parabench.scenario";
    /// The seed of the draws (scenario span).
    pub const SEED: &str = "parabench.seed";
    /// `real` or `virtual` (scenario span).
    pub const CLOCK: &str = "parabench.clock";
    /// A fresh id per invocation (scenario span, resource).
    pub const RUN_ID: &str = "parabench.run_id";
    /// Set when the work was cut short (scenario span).
    pub const PARTIAL: &str = "parabench.partial";
    /// The measured speedup (scenario span).
    pub const SPEEDUP: &str = "parabench.speedup";
    /// Its work–span bound (scenario span).
    pub const SPEEDUP_BOUND: &str = "parabench.speedup_bound";
    /// speedup / bound (scenario span).
    pub const EFFICIENCY: &str = "parabench.efficiency";
    /// `sequential`, `parallel` or `batch` (run span).
    pub const MODE: &str = "parabench.mode";
    /// The run's global limit (run span).
    pub const MAX_CONCURRENCY: &str = "parabench.max_concurrency";
    /// Calls in the plan (run span).
    pub const CALLS: &str = "parabench.calls";
    /// The run's wall time in seconds (run span).
    pub const WALL_S: &str = "parabench.wall_s";
    /// The GenAI operation, `execute_tool` (call span).
    pub const GEN_AI_OPERATION: &str = "gen_ai.operation.name";
    /// The tool's name (call span).
    pub const GEN_AI_TOOL_NAME: &str = "gen_ai.tool.name";
    /// The call's id (call span).
    pub const GEN_AI_TOOL_CALL_ID: &str = "gen_ai.tool.call.id";
    /// `io` or `cpu` (call span).
    pub const TOOL_KIND: &str = "parabench.tool.kind";
    /// The call's priority (call span).
    pub const PRIORITY: &str = "parabench.priority";
    /// Attempts started (call span).
    pub const ATTEMPTS: &str = "parabench.attempts";
    /// How the call or attempt ended (call and attempt spans).
    pub const OUTCOME: &str = "parabench.outcome";
    /// Seconds the ready call waited for a slot (call span).
    pub const QUEUE_WAIT_S: &str = "parabench.queue_wait_s";
    /// The call whose failure skipped this one (call span).
    pub const CAUSE: &str = "parabench.cause";
    /// The OpenTelemetry convention's error class, the outcome of a call that failed.
    pub const ERROR_TYPE: &str = "error.type";
    /// The attempt's number, from 1 (attempt span).
    pub const ATTEMPT: &str = "parabench.attempt";
    /// The backoff before the next attempt, in seconds (backoff event).
    pub const BACKOFF_S: &str = "parabench.backoff_s";
    /// Calls the client made (serve span).
    pub const SERVED_CALLS: &str = "parabench.served.calls";
    /// Client sessions seen (serve span).
    pub const SESSIONS: &str = "parabench.served.sessions";
    /// The MCP method, `tools/call` (served call span).
    pub const MCP_METHOD: &str = "mcp.method.name";
    /// The MCP session the call came in (served call span).
    pub const MCP_SESSION_ID: &str = "mcp.session.id";
    /// The JSON-RPC id of the call's request (served call span).
    pub const JSONRPC_REQUEST_ID: &str = "jsonrpc.request.id";
    /// `tcp` (streamable HTTP) or `pipe` (stdio) (served call span).
    pub const NETWORK_TRANSPORT: &str = "network.transport";
    /// The how-many-th call of its tool in its session, from 0: the key of its draws
    /// (served call span).
    pub const CALL_NTH: &str = "parabench.call.nth";
    /// The same tool and arguments had failed before in the session (served call span).
    pub const RETRY: &str = "parabench.retry";
    /// Its tool was at its limit when the call arrived (served call span).
    pub const BEYOND_LIMIT: &str = "parabench.beyond_limit";

    /// Every key above of parabench, GenAI, MCP or JSON-RPC (not the general `error.type`
    /// and `network.transport`).
    pub const ALL: [&str; 31] = [
        SCENARIO,
        SEED,
        CLOCK,
        RUN_ID,
        PARTIAL,
        SPEEDUP,
        SPEEDUP_BOUND,
        EFFICIENCY,
        MODE,
        MAX_CONCURRENCY,
        CALLS,
        WALL_S,
        GEN_AI_OPERATION,
        GEN_AI_TOOL_NAME,
        GEN_AI_TOOL_CALL_ID,
        TOOL_KIND,
        PRIORITY,
        ATTEMPTS,
        OUTCOME,
        QUEUE_WAIT_S,
        CAUSE,
        ATTEMPT,
        BACKOFF_S,
        SERVED_CALLS,
        SESSIONS,
        MCP_METHOD,
        MCP_SESSION_ID,
        JSONRPC_REQUEST_ID,
        CALL_NTH,
        RETRY,
        BEYOND_LIMIT,
    ];
}

/// Metric names, and the keys of their data points' attributes.
pub mod metric {
    /// Service time of a tool call (histogram, seconds).
    pub const TOOL_DURATION: &str = "parabench.tool.duration";
    /// Time a ready call waited for a slot (histogram, seconds).
    pub const TOOL_QUEUE_WAIT: &str = "parabench.tool.queue_wait";
    /// Tool calls ended, by outcome (counter).
    pub const TOOL_CALLS: &str = "parabench.tool.calls";
    /// Attempts after a call's first (counter).
    pub const TOOL_RETRIES: &str = "parabench.tool.retries";
    /// Calls holding a slot (gauge).
    pub const IN_FLIGHT: &str = "parabench.executor.in_flight";
    /// The run's global limit (gauge).
    pub const MAX_CONCURRENCY: &str = "parabench.executor.max_concurrency";
    /// Sequential wall time over parallel wall time (gauge).
    pub const SPEEDUP: &str = "parabench.run.speedup";

    /// Every metric, in the order of the table in docs/telemetry.md.
    pub const ALL: [&str; 7] = [
        TOOL_DURATION,
        TOOL_QUEUE_WAIT,
        TOOL_CALLS,
        TOOL_RETRIES,
        IN_FLIGHT,
        MAX_CONCURRENCY,
        SPEEDUP,
    ];

    /// The tool's name.
    pub const TOOL: &str = "tool";
    /// The run's mode.
    pub const MODE: &str = "mode";
    /// How the call ended.
    pub const OUTCOME: &str = "outcome";
    /// The scenario's name (the speedup gauge).
    pub const SCENARIO: &str = "scenario";
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The telemetry names of docs/contracts.md, spelt out: dashboards and users' queries
    /// break if one of these changes, so a change must be deliberate here too.
    #[test]
    fn the_names_are_the_contracts() {
        assert_eq!(
            metric::ALL,
            [
                "parabench.tool.duration",
                "parabench.tool.queue_wait",
                "parabench.tool.calls",
                "parabench.tool.retries",
                "parabench.executor.in_flight",
                "parabench.executor.max_concurrency",
                "parabench.run.speedup",
            ]
        );
        let spans = [
            SCENARIO_SPAN,
            RUN_SPAN,
            EXECUTE_TOOL,
            ATTEMPT_SPAN,
            SERVE_SPAN,
            MCP_TOOLS_CALL,
        ];
        assert_eq!(
            spans,
            ["scenario", "run", "execute_tool", "attempt", "serve", "tools/call"]
        );
        for (key, contract) in [
            (attr::GEN_AI_OPERATION, "gen_ai.operation.name"),
            (attr::GEN_AI_TOOL_NAME, "gen_ai.tool.name"),
            (attr::GEN_AI_TOOL_CALL_ID, "gen_ai.tool.call.id"),
            (attr::QUEUE_WAIT_S, "parabench.queue_wait_s"),
            (attr::ATTEMPT, "parabench.attempt"),
            // The OpenTelemetry conventions for MCP.
            (attr::MCP_METHOD, "mcp.method.name"),
            (attr::MCP_SESSION_ID, "mcp.session.id"),
            (attr::JSONRPC_REQUEST_ID, "jsonrpc.request.id"),
        ] {
            assert_eq!(key, contract);
        }
        // No key twice.
        let mut keys = attr::ALL.to_vec();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), attr::ALL.len());
    }
}
