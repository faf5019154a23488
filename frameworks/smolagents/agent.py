"""smolagents (ToolCallingAgent) on the frameworks harness's plan.

What the framework does: `ToolCallingAgent` asks its `Model` for one `ChatMessage` per step;
when the message holds several tool calls it runs them in a `ThreadPoolExecutor` with
`max_tool_threads` workers (default None: the executor's own default, min(32, cores + 4)),
one thread per call; a single call runs inline. The run ends when the model calls the
built-in `final_answer` tool. smolagents tools are synchronous (`Tool.forward`), so the
local tools are the harness's sync ones (`harness.SYNC_TOOLS`).

The model is a scripted `smolagents.models.Model` subclass: turn 1 asks for the 6 calls in
one message, turn 2 for the 3 fetches, turn 3 calls `final_answer` with `harness.ANSWER`.

Tracing: OpenInference (`openinference-instrumentation-smolagents`,
`SmolagentsInstrumentor().instrument(tracer_provider=...)`): spans `ToolCallingAgent.run`,
`Step N`, `<Model class>.generate` and one span per tool call named after the tool's class.
The instrumentor only wraps `generate` of the Model classes that the `smolagents` module
exports, so the scripted model is exposed there before instrumenting (else it has no span).

MCP: `smolagents.MCPClient({"url": URL, "transport": "streamable-http"})` (mcpadapt
underneath) opens ONE `mcp.ClientSession` on an event loop in a background thread and
every tool call is submitted to it with `asyncio.run_coroutine_threadsafe`: `--session
default` therefore already is one shared session, and `--session shared` is the same code.
"""

import contextlib
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))
import harness  # noqa: E402

import smolagents  # noqa: E402
from smolagents import Tool, ToolCallingAgent  # noqa: E402
from smolagents.memory import ActionStep  # noqa: E402
from smolagents.models import (  # noqa: E402
    ChatMessage, ChatMessageToolCall, ChatMessageToolCallFunction, MessageRole, Model, TokenUsage,
)


class ScriptedModel(Model):
    """Returns the plan's tool calls; counts the tool results it has seen in the history."""

    def generate(self, messages, stop_sequences=None, response_format=None, tools_to_call_from=None, **kwargs):
        time.sleep(harness.MODEL_SECONDS)
        # Each finished step shows up as a tool-call message (the calls) followed by a
        # tool-response message (their observations, joined in one text).
        seen, pending = 0, 0
        for m in messages:
            if m.role == MessageRole.TOOL_CALL:
                pending = str(m.content).count("'type': 'function'")
            elif m.role == MessageRole.TOOL_RESPONSE:
                seen, pending = seen + pending, 0
        turn = harness.turn_of(seen)
        if turn < len(harness.PLAN):
            calls = [(f"call_{turn}_{i}", name, args) for i, (name, args) in enumerate(harness.PLAN[turn])]
        else:
            calls = [(f"call_{turn}_0", "final_answer", {"answer": harness.ANSWER})]
        return ChatMessage(
            role=MessageRole.ASSISTANT,
            content=None,
            tool_calls=[ChatMessageToolCall(ChatMessageToolCallFunction(arguments=args, name=name), id=cid, type="function")
                        for cid, name, args in calls],
            token_usage=TokenUsage(input_tokens=0, output_tokens=0),
        )


class HarnessTool(Tool):
    """One of the harness's sync local tools as a smolagents Tool."""

    output_type = "string"
    skip_forward_signature_validation = True

    def __init__(self, name):
        self.name = name
        self.description = harness.TOOL_DESCRIPTIONS[name]
        self.inputs = {harness.TOOL_PARAMS[name]: {"type": "string", "description": harness.TOOL_PARAMS[name]}}
        self._fn = harness.SYNC_TOOLS[name]
        super().__init__()

    def forward(self, **kwargs):
        return self._fn(**kwargs)


def run(tools):
    agent = ToolCallingAgent(tools=tools, model=ScriptedModel(model_id="scripted"))
    # The agent logs (rich) to stdout by default; keep stdout for report()'s JSON line.
    with contextlib.redirect_stdout(sys.stderr):
        answer = agent.run("Run the plan.")
    results = sum(1 for s in agent.memory.steps if isinstance(s, ActionStep) and s.error is None
                  for c in (s.tool_calls or []) if c.name != "final_answer")
    return answer, results


def main():
    args = harness.arguments()
    provider = None
    if args.trace:
        from openinference.instrumentation.smolagents import SmolagentsInstrumentor

        provider = harness.tracer_provider(args.trace, "smolagents")
        smolagents.ScriptedModel = ScriptedModel  # so that the instrumentor wraps its generate()
        SmolagentsInstrumentor().instrument(tracer_provider=provider)
    try:
        if args.mode == "local":
            answer, results = run([HarnessTool(name) for name in harness.SYNC_TOOLS])
        else:
            # default and shared alike: MCPClient holds one ClientSession for all calls.
            with smolagents.MCPClient({"url": args.url, "transport": "streamable-http"},
                                      structured_output=False) as tools:
                answer, results = run(tools)
    finally:
        harness.finish(provider)
    harness.report("smolagents", smolagents.__version__, args, answer, results)


if __name__ == "__main__":
    main()
