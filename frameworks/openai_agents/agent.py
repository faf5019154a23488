"""The frameworks harness's plan on the OpenAI Agents SDK (openai-agents), traced with
OpenInference (openinference-instrumentation-openai-agents).

- The agent: `Agent` + `Runner.run` with defaults. The model is a custom
  `agents.models.interface.Model` whose `get_response` returns the plan's calls as
  `ResponseFunctionToolCall` items (6 in one response, then 3, then the answer) inside a
  `generation_span`, as the SDK's own models and `agents.testing.ScriptedModel` do (the
  runner makes no model span itself).
- Tools: local `@function_tool`s on the harness's async functions. The runner starts one
  asyncio task per function call of a response, with no limit by default
  (`RunConfig.tool_execution.max_function_tool_concurrency=None`).
- MCP: `MCPServerStreamableHttp(params={"url": URL})`, as the docs show: one `ClientSession`
  for the server object's lifetime, whose requests it serializes with an `asyncio.Lock`
  (`_serialize_session_requests = True`), so the calls of one response reach the server one
  at a time. That is already one session, so `--session shared` runs the same client.
- Tracing: `OpenAIAgentsInstrumentor().instrument(tracer_provider=...)` replaces the SDK's
  trace processors (by default an exporter to OpenAI's backend) with its own, which turns the
  SDK's spans into OpenTelemetry spans: nothing is sent to the internet. It also makes each
  span the current OpenTelemetry span, so the MCP SDK's `tools/call` client spans nest under
  the tool spans and carry their trace context in `params._meta` to the server.
"""

import asyncio
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))
import harness  # noqa: E402

os.environ.setdefault("OPENAI_API_KEY", "dummy")

from agents import Agent, Runner, function_tool, generation_span  # noqa: E402
from agents.items import ModelResponse  # noqa: E402
from agents.models.interface import Model  # noqa: E402
from agents.usage import Usage  # noqa: E402
from openai.types.responses import (  # noqa: E402
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

FRAMEWORK = "openai-agents"


def version():
    from importlib.metadata import version as v

    return v("openai-agents")


class ScriptedModel(Model):
    """Answers with the plan: the calls of harness.PLAN[turn], then harness.ANSWER."""

    async def get_response(self, system_instructions, input, model_settings, tools,
                           output_schema, handoffs, tracing, *, previous_response_id,
                           conversation_id, prompt):
        items = [] if isinstance(input, str) else input
        done = sum(1 for item in items if _type(item) == "function_call_output")
        turn = harness.turn_of(done)
        messages = [{"role": "user", "content": input}] if isinstance(input, str) else [_dict(i) for i in input]
        with generation_span(model="scripted", input=messages) as span:
            await asyncio.sleep(harness.MODEL_SECONDS)
            if turn < len(harness.PLAN):
                output = [
                    ResponseFunctionToolCall(
                        type="function_call", id=f"fc_{turn}_{i}", call_id=f"call_{turn}_{i}",
                        name=tool, arguments=json.dumps(args), status="completed",
                    )
                    for i, (tool, args) in enumerate(harness.PLAN[turn])
                ]
            else:
                output = [
                    ResponseOutputMessage(
                        type="message", id="msg_final", role="assistant", status="completed",
                        content=[ResponseOutputText(type="output_text", text=harness.ANSWER, annotations=[])],
                    )
                ]
            span.span_data.output = [item.model_dump() for item in output]
        return ModelResponse(output=output, usage=Usage(), response_id=None)

    def stream_response(self, *args, **kwargs):
        raise NotImplementedError("the harness runs Runner.run, not streamed")


def _dict(item):
    return item if isinstance(item, dict) else item.model_dump()


def _type(item):
    return item.get("type") if isinstance(item, dict) else getattr(item, "type", None)


def local_tools():
    return [function_tool(harness.ASYNC_TOOLS[name]) for name in ("search", "db", "fetch")]


def count_results(result):
    return sum(1 for item in result.new_items if item.type == "tool_call_output_item")


async def run(args):
    model = ScriptedModel()
    if args.mode == "local":
        agent = Agent(name="planner", instructions="Follow the plan.", model=model, tools=local_tools())
        result = await Runner.run(agent, "go")
        return result.final_output, count_results(result)

    from agents.mcp import MCPServerStreamableHttp

    # --session default and shared are the same client: it already keeps one session.
    async with MCPServerStreamableHttp(params={"url": args.url}) as server:
        agent = Agent(name="planner", instructions="Follow the plan.", model=model, mcp_servers=[server])
        result = await Runner.run(agent, "go")
        return result.final_output, count_results(result)


def main():
    args = harness.arguments()
    provider = None
    if args.trace:
        from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor

        provider = harness.tracer_provider(args.trace, f"{FRAMEWORK}-agent")
        # exclusive_processor (the default) replaces the SDK's OpenAI exporter.
        OpenAIAgentsInstrumentor().instrument(tracer_provider=provider)
    else:
        from agents import set_trace_processors

        set_trace_processors([])  # no OpenAI trace export without --trace either
    try:
        answer, results = asyncio.run(run(args))
    finally:
        harness.finish(provider)
    harness.report(FRAMEWORK, version(), args, answer, results)


if __name__ == "__main__":
    main()
