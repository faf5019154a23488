"""Strands Agents (strands-agents 1.62.0) on the frameworks harness's plan.

- Model: `ScriptedModel`, a custom provider (subclass of `strands.models.Model`) whose async
  `stream()` emits Bedrock-style stream events: turn 1 is one assistant message of 6 toolUse
  blocks (search x4, db x2), turn 2 one of 3 (fetch x3), turn 3 the answer text. It sleeps
  MODEL_SECONDS (asyncio) per response. No network.
- Tools: the harness's async functions wrapped with `@strands.tool`; strands awaits coroutine
  tools on the agent's loop (sync ones would go to `asyncio.to_thread`).
- Executor: the Agent's default, `ConcurrentToolExecutor` (agent.py: `tool_executor or
  ConcurrentToolExecutor()`): one asyncio task per toolUse of a response, no limit.
- Tracing: strands' own OpenTelemetry spans (`strands.telemetry.tracer`, GenAI semantic
  conventions: invoke_agent / execute_event_loop_cycle / chat / execute_tool). The Tracer takes
  the global tracer provider, so the harness's `tracer_provider()` is set (and handed to
  `StrandsTelemetry`) before the Agent is built. Over MCP, the `mcp` 2.x SDK adds its own
  `tools/call` CLIENT spans and sends their trace context in `params._meta`.
- MCP: `MCPClient(lambda: streamable_http_client(URL))` (mcp 2.x renamed the docs'
  `streamablehttp_client`), `with client: tools = client.list_tools_sync()`. One MCPClient holds
  ONE ClientSession on a background thread with its own event loop; each call is handed over with
  `run_coroutine_threadsafe` as its own task, so calls are concurrent over that one session. The
  default is therefore already one shared session: `--session shared` takes the same path.
"""

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))
import harness  # noqa: E402

from strands import Agent, tool  # noqa: E402
from strands.models import Model  # noqa: E402

FRAMEWORK = "strands"


class ScriptedModel(Model):
    """Answers with the plan's tool uses, turn by turn, counted from the tool results seen."""

    def __init__(self):
        self.config = {"model_id": "scripted"}

    def update_config(self, **model_config):
        self.config.update(model_config)

    def get_config(self):
        return self.config

    async def structured_output(self, output_model, prompt, system_prompt=None, **kwargs):
        raise NotImplementedError
        yield  # pragma: no cover

    async def stream(self, messages, tool_specs=None, system_prompt=None, **kwargs):
        seen = sum(1 for m in messages for block in m["content"] if "toolResult" in block)
        turn = harness.turn_of(seen)
        await asyncio.sleep(harness.MODEL_SECONDS)
        yield {"messageStart": {"role": "assistant"}}
        if turn < len(harness.PLAN):
            for i, (name, args) in enumerate(harness.PLAN[turn]):
                yield {"contentBlockStart": {"start": {"toolUse": {"toolUseId": f"t{turn}_{i}", "name": name}}}}
                yield {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(args)}}}}
                yield {"contentBlockStop": {}}
            stop = "tool_use"
        else:
            yield {"contentBlockDelta": {"delta": {"text": harness.ANSWER}}}
            yield {"contentBlockStop": {}}
            stop = "end_turn"
        yield {"messageStop": {"stopReason": stop}}
        yield {"metadata": {"usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
                            "metrics": {"latencyMs": int(harness.MODEL_SECONDS * 1000)}}}


async def run(tools):
    agent = Agent(model=ScriptedModel(), tools=tools, callback_handler=None, name="parabench")
    result = await agent.invoke_async("Run the plan.")
    results = sum(1 for m in agent.messages for block in m["content"] if "toolResult" in block)
    return str(result).strip(), results


def main():
    args = harness.arguments()
    provider = None
    if args.trace:
        from strands.telemetry import StrandsTelemetry

        provider = harness.tracer_provider(args.trace, FRAMEWORK)
        StrandsTelemetry(tracer_provider=provider)  # strands' Tracer reads the global provider
    try:
        if args.mode == "local":
            answer, results = asyncio.run(run([tool(f) for f in harness.ASYNC_TOOLS.values()]))
        else:
            from mcp.client.streamable_http import streamable_http_client
            from strands.tools.mcp import MCPClient

            # --session default and shared: the same path, as the default is one session already.
            client = MCPClient(lambda: streamable_http_client(args.url))
            with client:
                tools = client.list_tools_sync()
                answer, results = asyncio.run(run(tools))
    finally:
        harness.finish(provider)
    from importlib.metadata import version

    harness.report(FRAMEWORK, version("strands-agents"), args, answer, results)


if __name__ == "__main__":
    main()
