"""What every agent of the frameworks harness shares: the plan, the local tools, the
scripted model's timing, the trace file, and the command line.

The plan (the same for every framework):

- turn 1: one model response asks for `search` x4 and `db` x2;
- turn 2: one model response asks for `fetch` x3;
- turn 3: the model answers.

Local tools sleep 100 / 50 / 80 ms (`asyncio.sleep` for async tools, `time.sleep` for
sync ones); the scripted model takes MODEL_SECONDS per response. Over MCP the same tools
come from `parabench serve frameworks/plan.toml`, which serves them with the same
latencies.

Every agent script takes the same command line:

    agent.py local --trace FILE                  local tools, traced to FILE
    agent.py mcp --url URL [--session default|shared] [--trace FILE]

and prints one JSON object on stdout: {"framework", "version", "mode", "session",
"answer", "tool_results"}. It exits non-zero if the agent did not run the whole plan.
"""

import argparse
import asyncio
import base64
import json
import sys
import threading
import time

# Per turn, the calls one model response asks for: (tool, arguments).
PLAN = [
    [("search", {"query": f"query {i}"}) for i in range(1, 5)] + [("db", {"sql": f"select {i}"}) for i in range(1, 3)],
    [("fetch", {"url": f"https://example.com/page/{i}"}) for i in range(1, 4)],
]
TOOL_SECONDS = {"search": 0.100, "db": 0.050, "fetch": 0.080}
TOOL_PARAMS = {"search": "query", "db": "sql", "fetch": "url"}
TOOL_DESCRIPTIONS = {
    "search": "Search the web for a query.",
    "db": "Run a read-only SQL query.",
    "fetch": "Fetch a web page.",
}
# What the scripted model takes to answer: long enough that its turns stand apart from
# the tool calls, in traces and at the server (well above `serve --step-gap`).
MODEL_SECONDS = 0.200
ANSWER = "done: 9 tool results"
CALLS = sum(len(turn) for turn in PLAN)


def turn_of(tool_results_so_far):
    """The scripted model's response index, from the tool results it has seen: 0 and 1 ask
    for tools, 2 answers. Frameworks differ in how they show the history; each agent
    counts the tool results in it and calls this."""
    done = 0
    for k, turn in enumerate(PLAN):
        if tool_results_so_far < done + len(turn):
            return k
        done += len(turn)
    return len(PLAN)


def result_text(tool, argument):
    return f"{tool} result for {argument}"


async def search(query: str) -> str:
    """Search the web for a query."""
    await asyncio.sleep(TOOL_SECONDS["search"])
    return result_text("search", query)


async def db(sql: str) -> str:
    """Run a read-only SQL query."""
    await asyncio.sleep(TOOL_SECONDS["db"])
    return result_text("db", sql)


async def fetch(url: str) -> str:
    """Fetch a web page."""
    await asyncio.sleep(TOOL_SECONDS["fetch"])
    return result_text("fetch", url)


def search_sync(query: str) -> str:
    """Search the web for a query."""
    time.sleep(TOOL_SECONDS["search"])
    return result_text("search", query)


def db_sync(sql: str) -> str:
    """Run a read-only SQL query."""
    time.sleep(TOOL_SECONDS["db"])
    return result_text("db", sql)


def fetch_sync(url: str) -> str:
    """Fetch a web page."""
    time.sleep(TOOL_SECONDS["fetch"])
    return result_text("fetch", url)


ASYNC_TOOLS = {"search": search, "db": db, "fetch": fetch}
SYNC_TOOLS = {"search": search_sync, "db": db_sync, "fetch": fetch_sync}


class JsonLinesSpanExporter:
    """Writes spans as OTLP/JSON Lines, as the Collector's `file` exporter does: one
    ExportTraceServiceRequest per line, encoded by the OTLP exporters' own encoder
    (ids in hex, times as decimal strings, enums as integers)."""

    def __init__(self, path):
        self._file = open(path, "w", encoding="utf-8")
        self._lock = threading.Lock()

    def export(self, spans):
        from google.protobuf.json_format import MessageToDict
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
        from opentelemetry.sdk.trace.export import SpanExportResult

        request = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
        _hex_ids(request)
        with self._lock:
            self._file.write(json.dumps(request, separators=(",", ":")) + "\n")
            self._file.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self):
        with self._lock:
            self._file.close()

    def force_flush(self, timeout_millis=30000):
        return True


def _hex_ids(value):
    """Protobuf's JSON mapping writes bytes as base64; OTLP/JSON writes ids as hex."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(inner, str):
                value[key] = base64.b64decode(inner).hex()
            else:
                _hex_ids(inner)
    elif isinstance(value, list):
        for inner in value:
            _hex_ids(inner)


def tracer_provider(path, service_name):
    """A tracer provider that writes to `path` (OTLP/JSON Lines) in batches, as an
    agent's OTLP exporter would, set as the global provider. Call `finish(provider)`
    before exiting."""
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(JsonLinesSpanExporter(path)))
    trace.set_tracer_provider(provider)
    return provider


def finish(provider):
    if provider is not None:
        provider.force_flush()
        provider.shutdown()


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    local = sub.add_parser("local", help="local tools, traced")
    local.add_argument("--trace", required=True, help="OTLP/JSON Lines file to write")
    local.add_argument("--tracing", default=None, help="which instrumentation, where the framework has several")
    mcp = sub.add_parser("mcp", help="tools from an MCP server")
    mcp.add_argument("--url", required=True, help="streamable HTTP endpoint, e.g. http://127.0.0.1:8765/mcp")
    mcp.add_argument("--session", choices=["default", "shared"], default="default",
                     help="the framework's default MCP client, or one session shared by every call")
    mcp.add_argument("--trace", default=None, help="OTLP/JSON Lines file to write")
    mcp.add_argument("--tracing", default=None, help="which instrumentation, where the framework has several")
    return parser.parse_args(argv)


def report(framework, version, args, answer, tool_results):
    """Prints the run's summary, and fails the process if the plan did not run whole."""
    out = {
        "framework": framework,
        "version": version,
        "mode": args.mode,
        "session": getattr(args, "session", None),
        "answer": answer,
        "tool_results": tool_results,
    }
    print(json.dumps(out))
    if tool_results != CALLS or ANSWER not in str(answer):
        print(f"{framework}: expected {CALLS} tool results and the answer {ANSWER!r}", file=sys.stderr)
        sys.exit(1)
