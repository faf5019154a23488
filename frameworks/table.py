"""Writes docs/frameworks.md from what frameworks/run.sh measured, and with --check fails
unless every run found exactly the plan.

usage: python3 table.py OUT_DIR --frameworks FW... [--check] > frameworks.md
"""

import argparse
import json
import platform
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "common"))
import harness  # noqa: E402

PLAN = [{"search": 4, "db": 2}, {"fetch": 3}]
ORDER = ["pydantic_ai", "langgraph", "openai_agents", "smolagents", "strands", "llamaindex", "adk"]
VARIANTS = {"langgraph": ["openinference", "openllmetry"], "adk": ["default", "legacy"]}
# What each framework's executor is known to do with the plan's six-call response (the
# three-call one always runs whole): the most calls in flight at once.
# None: not checked (smolagents' garbage collections, 50-110 ms on a loaded machine, can
# hold back a call past the others' end when the calls come from its worker threads).
LOCAL_STEP1 = {"llamaindex": 4}
MCP_STEP1 = {"llamaindex": 4, "openai_agents": 1, "smolagents": None}
DEFAULT_STEP1 = 6


def load(path):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None


def conventions(trace):
    """The conventions of the tool spans in a trace file, as parabench reads them."""
    found = set()
    for line in Path(trace).read_text().splitlines():
        if not line.strip():
            continue
        for rs in json.loads(line).get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                for span in ss.get("spans", []):
                    attrs = {a["key"]: a["value"].get("stringValue") for a in span.get("attributes", [])}
                    if attrs.get("gen_ai.operation.name") == "execute_tool":
                        found.add("OpenTelemetry GenAI (`gen_ai.operation.name = execute_tool`)")
                    if (attrs.get("openinference.span.kind") or "").upper() == "TOOL":
                        found.add("OpenInference (`openinference.span.kind = TOOL`)")
                    if (attrs.get("traceloop.span.kind") or "").lower() == "tool":
                        found.add("OpenLLMetry (`traceloop.span.kind = tool`)")
    return sorted(found)


def shape(analysis):
    return [s["tools"] for s in analysis["steps"]]


def step_cell(step):
    return f"{step['max_in_flight']} of {step['calls']} · {100 * step['efficiency']:.0f} %"


def steps_cell(analysis):
    if analysis is None:
        return "n/a"
    return " / ".join(step_cell(s) for s in analysis["steps"])


class Checks:
    def __init__(self):
        self.failures = []

    def expect(self, ok, what):
        if not ok:
            self.failures.append(what)


def check_run(checks, label, analysis, step1):
    if analysis is None:
        checks.expect(False, f"{label}: no report")
        return
    checks.expect(shape(analysis) == PLAN, f"{label}: steps {shape(analysis)}, expected {PLAN}")
    checks.expect(analysis["total"]["calls"] == 9, f"{label}: {analysis['total']['calls']} calls, expected 9")
    if shape(analysis) == PLAN and step1 is not None:
        got = analysis["steps"][0]["max_in_flight"]
        checks.expect(got == step1, f"{label}: step 1 had {got} calls in flight, expected {step1}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--frameworks", nargs="+", default=ORDER)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    checks = Checks()
    chosen = [fw for fw in ORDER if fw in args.frameworks]

    rows, facts, sections = [], [], []
    for fw in chosen:
        notes = json.loads((HERE / fw / "notes.json").read_text())
        name = notes["framework"]
        packages = ", ".join(f"{p} {v}" for p, v in notes["packages"].items())
        local_cells, traced = [], []
        for variant in VARIANTS.get(fw, ["default"]):
            suffix = "" if variant == "default" else f"_{variant}"
            analysis = load(out / f"{fw}{suffix}.local.analysis.json")
            check_run(checks, f"{fw}{suffix} local", analysis, LOCAL_STEP1.get(fw, DEFAULT_STEP1))
            label = "" if len(VARIANTS.get(fw, [])) < 2 else f"{variant}: "
            local_cells.append(label + steps_cell(analysis))
            trace = out / f"{fw}{suffix}.local.jsonl"
            if trace.exists():
                traced.append(label + ", ".join(conventions(trace)))
            if analysis is not None:
                for aside in analysis.get("set_aside", []):
                    traced.append(f"{label}set aside: {aside['text']}")
        mcp = {}
        for session in ("default", "shared"):
            served = load(out / f"{fw}.mcp-{session}.served.json")
            mcp[session] = served
            if served is None:
                if session == "default":
                    checks.expect(False, f"{fw} MCP default: no report")
                continue
            check_run(checks, f"{fw} MCP {session}", served, MCP_STEP1.get(fw, DEFAULT_STEP1))
            calls = served["served"]["calls"]
            checks.expect(calls == 9, f"{fw} MCP {session}: {calls} calls served, expected 9")
        if fw == "langgraph" and mcp["default"] is not None:
            sessions = len(mcp["default"]["sessions"])
            checks.expect(sessions == 9, f"langgraph MCP default: {sessions} sessions, expected one per call (9)")

        def mcp_cell(served):
            if served is None:
                return "not possible"
            sessions = len(served["sessions"])
            names = served["sessions"]
            kind = "stateless" if names == ["stateless"] else f"{sessions} session{'s' if sessions != 1 else ''}"
            return f"{steps_cell(served)} ({kind})"

        joined = load(out / f"{fw}.mcp-default.joined.json")
        join_note = None
        if joined is not None and joined.get("joined"):
            j = joined["joined"]
            check_run(checks, f"{fw} MCP default, agent and server traces joined", joined, None)
            join_note = (
                f"the server's spans join the agent's trace: {j['calls']} calls, the client's overhead around "
                f"each p50 {1000 * j['overhead_p50_s']:.1f} ms, p99 {1000 * j['overhead_p99_s']:.1f} ms"
            )
        rows.append(
            f"| {name} | {'<br>'.join(local_cells)} | {mcp_cell(mcp['default'])} | {mcp_cell(mcp['shared'])} |"
        )
        facts.append(f"| {name} | {notes['tool_execution']} |")
        section = [f"### {name}", "", f"Packages: {packages}.", ""]
        section.append(f"- **Instrumentation:** {notes['instrumentation']}")
        section.append(f"- **What parabench reads:** {'; '.join(traced) if traced else 'n/a'}.")
        section.append(f"- **Tools:** {notes['tools']}")
        section.append(f"- **Executor:** {notes['tool_execution']}")
        section.append(f"- **MCP client:** {notes['mcp_client']}")
        section.append(f"- **One shared session:** {notes['mcp_shared']}")
        if join_note:
            section.append(f"- **Joined traces:** {join_note}.")
        section.append(f"- **Tool-call span:** {notes['tool_span']}")
        section.append(f"- **Model-call span:** {notes['model_span']}")
        section += ["", "```text", notes["shape"].rstrip(), "```", ""]
        if notes.get("quirks"):
            section.append("Quirks:")
            section.append("")
            section += [f"- {q}" for q in notes["quirks"]]
            section.append("")
        sections.append("\n".join(section))

    if args.check and checks.failures:
        for failure in checks.failures:
            print(f"frameworks check: {failure}", file=sys.stderr)
        sys.exit(1)

    cores = os.cpu_count()
    print(f"""# What agent frameworks' executors really do

<!-- Generated by frameworks/run.sh (frameworks/table.py): do not edit by hand. -->

Agent frameworks promise parallel tool calls. This page shows what seven of them did with the same plan, measured
by parabench from the traces they emit (`parabench analyze`) and from the calls they sent to simulated tools over
MCP (`parabench serve`). Every figure comes from a run, not from the frameworks' docs. The harness is in
[`frameworks/`](../frameworks/): one small script per framework, each with its pinned `requirements.txt`, and
`frameworks/run.sh` regenerates this page.

**The plan.** A scripted model (no network) takes {harness.MODEL_SECONDS * 1000:.0f} ms per response. Its first response asks for
`search` ×4 and `db` ×2, its second for `fetch` ×3, its third gives the answer. The local tools sleep 100, 50 and
80 ms. Over MCP, `parabench serve frameworks/plan.toml` serves the same three tools with the same latencies.
An executor that runs each response's calls all at once needs {1000 * harness.TOOL_SECONDS["search"]:.0f} ms for
the first step and {1000 * harness.TOOL_SECONDS["fetch"]:.0f} ms for the second.

**How to read a cell.** Per step, *the most calls in flight at once* "of" *the calls in the step*, then the
step's **efficiency**: the makespan parabench's executor finds for the same calls with no limit, over the wall
time the framework took (100 % is an executor that lost nothing). Locally that wall is the tool spans' first start
to last end; over MCP it is the calls' first arrival at the server to the last answer, so it includes the MCP
client's own cost per call. The steps are grouped as docs/observed.md says; every run here found exactly the two
steps of the plan.

Measured on {platform.system()} with {cores} cores, Python {platform.python_version()}.

| framework | local tools: step 1 / step 2 | over MCP, default client | over MCP, one shared session |
|---|---|---|---|
{chr(10).join(rows)}

## Each framework's executor

| framework | how one response's calls run, and the limit |
|---|---|
{chr(10).join(facts)}

## Per framework

Source lines are of the installed packages (paths under `site-packages/`).

{chr(10).join(sections)}""")


if __name__ == "__main__":
    main()
