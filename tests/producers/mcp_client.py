"""Real MCP clients for the tests of `parabench serve`.

- `sdk URL`: the official Python SDK (`mcp`), traced with the OpenTelemetry SDK as an
  instrumented agent is: the SDK then sends each request's trace context in
  `params._meta` (SEP-414). Calls `io` four times at once, then `fails` once. Prints one
  JSON object: the client's `tools/call` spans (trace id, span id, JSON-RPC id) and the
  results' `isError`.
- `pydantic-ai URL`: an agent framework on MCP. A scripted model (pydantic-ai's own
  FunctionModel: no LLM, no network) asks for four `io` calls in one response; the
  agent runs them through its tool executor, first in its default parallel mode, then
  (after a pause) in its sequential mode. Prints one JSON object: each run's output.

usage: mcp_client.py sdk|pydantic-ai URL
"""

import asyncio
import json
import sys


async def sdk(url):
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    from mcp import Client

    async with Client(url) as client:
        tools = [t.name for t in (await client.list_tools()).tools]
        at_once = await asyncio.gather(*[client.call_tool("io", {"i": i}) for i in range(4)])
        failed = await client.call_tool("fails", {})
    spans = [
        {
            "name": s.name,
            "trace_id": format(s.context.trace_id, "032x"),
            "span_id": format(s.context.span_id, "016x"),
            "request_id": s.attributes.get("jsonrpc.request.id"),
        }
        for s in exporter.get_finished_spans()
        if s.attributes.get("mcp.method.name") == "tools/call"
    ]
    return {
        "tools": tools,
        "is_error": [r.is_error for r in at_once] + [failed.is_error],
        "spans": spans,
    }


async def pydantic_ai(url):
    from pydantic_ai import Agent
    from pydantic_ai.mcp import MCPToolset
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart, ToolReturnPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    def model(messages, info: AgentInfo):
        returned = [p for m in messages for p in getattr(m, "parts", []) if isinstance(p, ToolReturnPart)]
        if not returned:
            return ModelResponse(parts=[ToolCallPart("io", {"i": i}) for i in range(4)])
        return ModelResponse(parts=[TextPart(f"{len(returned)} results")])

    agent = Agent(FunctionModel(model), toolsets=[MCPToolset(url)])
    outputs = {}
    async with agent:
        outputs["parallel"] = (await agent.run("go")).output
        # Apart by far more than the step gap the test serves with (300 ms).
        await asyncio.sleep(1.0)
        with Agent.parallel_tool_call_execution_mode("sequential"):
            outputs["sequential"] = (await agent.run("go")).output
    return outputs


if __name__ == "__main__":
    mode, url = sys.argv[1], sys.argv[2]
    run = {"sdk": sdk, "pydantic-ai": pydantic_ai}[mode]
    print(json.dumps(asyncio.run(run(url))))
