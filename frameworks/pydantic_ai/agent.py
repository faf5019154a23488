"""The frameworks harness's plan on pydantic-ai (pydantic-ai-slim 2.78).

The model is pydantic-ai's own `FunctionModel` with an async function that follows
`harness.PLAN` (no LLM, no network) and sleeps `harness.MODEL_SECONDS` per response.
pydantic-ai runs one response's tool calls with its default executor: the
'parallel' execution mode, one asyncio task per call, with no limit on how many run
at once. Local tools are the harness's async ones, registered with `Tool(...)`.

Over MCP the tools come from `MCPToolset(URL)`, the MCP client pydantic-ai 2.x
documents (the `MCPServerStreamableHTTP` of 1.x was removed in 2.0): one FastMCP
`Client` over streamable HTTP, connected once by `async with agent:` and used by
every call of the run. With `--session default` it negotiates the MCP 2026-07-28
protocol, which has no sessions (the server sees every call as "stateless");
`--session shared` hands `MCPToolset` a FastMCP `Client(URL, mode="legacy")`, so the
initialize handshake opens one MCP session that every call goes through.

Tracing: pydantic-ai's own OpenTelemetry instrumentation
(`Agent.instrument_all(InstrumentationSettings(tracer_provider=...))`: 2.x dropped
`Agent(instrument=...)`; data format version 5, the default, GenAI
conventions: `invoke_agent`, `chat {model}`, `execute_tool {tool}` spans). Over MCP,
FastMCP's client adds a `tools/call {tool}` client span and the MCP SDK an
`MCP send tools/call {tool}` span under each `execute_tool`, and the trace context is
sent in `params._meta`, so `parabench serve --trace-file` spans join the trace.
"""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))
import harness  # noqa: E402

from pydantic_ai import Agent, Tool, __version__  # noqa: E402
from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart, ToolReturnPart  # noqa: E402
from pydantic_ai.models.function import AgentInfo, FunctionModel  # noqa: E402
from pydantic_ai.models.instrumented import InstrumentationSettings  # noqa: E402


async def scripted(messages, info: AgentInfo) -> ModelResponse:
    """One response per call: the calls of PLAN[turn], all in one message, then the answer."""
    await asyncio.sleep(harness.MODEL_SECONDS)
    results = sum(isinstance(p, ToolReturnPart) for m in messages for p in getattr(m, "parts", []))
    turn = harness.turn_of(results)
    if turn < len(harness.PLAN):
        return ModelResponse(parts=[ToolCallPart(tool, dict(args)) for tool, args in harness.PLAN[turn]])
    return ModelResponse(parts=[TextPart(harness.ANSWER)])


def tool_results(result):
    return sum(isinstance(p, ToolReturnPart) for m in result.all_messages() for p in getattr(m, "parts", []))


async def main(args):
    provider = harness.tracer_provider(args.trace, "pydantic_ai-agent") if args.trace else None
    if provider:  # 2.x has no `Agent(instrument=...)`; this sets it for every agent
        Agent.instrument_all(InstrumentationSettings(tracer_provider=provider))
    model = FunctionModel(scripted, model_name="scripted")
    if args.mode == "local":
        tools = [Tool(fn, name=name) for name, fn in harness.ASYNC_TOOLS.items()]
        agent = Agent(model, name="harness", tools=tools)
        result = await agent.run("run the plan")
    else:
        from fastmcp.client import Client
        from pydantic_ai.mcp import MCPToolset

        # default: the URL, as documented. FastMCP 4 negotiates the sessionless 2026-07-28
        # protocol (`server/discover`, no Mcp-Session-Id). shared: the same toolset on a
        # FastMCP client pinned to the initialize handshake, so all calls carry one session id.
        client = Client(args.url, mode="legacy") if args.session == "shared" else args.url
        agent = Agent(model, name="harness", toolsets=[MCPToolset(client)])
        async with agent:
            result = await agent.run("run the plan")
    harness.finish(provider)
    harness.report("pydantic_ai", __version__, args, result.output, tool_results(result))


if __name__ == "__main__":
    asyncio.run(main(harness.arguments()))
