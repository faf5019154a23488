"""LlamaIndex (llama-index-core) FunctionAgent on the frameworks harness's plan.

What the framework does: `FunctionAgent` is a workflow; one model response's tool calls
are sent as one `ToolCall` event each (`parse_agent_output`), and the `call_tool` step
runs them, at most `num_workers` at once: `@step`'s default, 4 (workflows/decorators.py).
So of turn 1's six calls, two wait for a worker. The results are collected by
`aggregate_tool_results` before the next model call.

The model: llama-index's own `MockFunctionCallingLLM` (no network) with a scripted
response generator: an async generator (the agent streams by default) that sleeps
MODEL_SECONDS and yields one assistant message carrying the plan's tool calls as
`ToolCallBlock`s, then the answer. Local tools: `FunctionTool`s from the harness's async
functions.

Instrumentation: OpenInference (`openinference-instrumentation-llama-index`,
`LlamaIndexInstrumentor`), which turns llama-index's instrumentation dispatcher spans
into OTel spans (openinference.span.kind CHAIN/LLM/TOOL/AGENT).

MCP: `--session default` is the documented `BasicMCPClient(url)` +
`McpToolSpec(client).to_tool_list_async()`; BasicMCPClient opens a new session (connect,
initialize, request, close) for every call (llama_index/tools/mcp/client.py). `--session
shared` hands McpToolSpec one MCP SDK `ClientSession`, opened once and kept open for the
run (McpToolSpec accepts any ClientSession).
"""

import asyncio
import sys
from contextlib import AsyncExitStack
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))
import harness  # noqa: E402

from llama_index.core.agent.workflow import FunctionAgent  # noqa: E402
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock  # noqa: E402
from llama_index.core.llms.mock import MockFunctionCallingLLM  # noqa: E402
from llama_index.core.tools import FunctionTool  # noqa: E402

FRAMEWORK = "llamaindex"


async def scripted_model(messages, **kwargs):
    """One response per turn: all of the turn's tool calls in one message, or the answer."""
    await asyncio.sleep(harness.MODEL_SECONDS)
    turn = harness.turn_of(sum(1 for m in messages if m.role == MessageRole.TOOL))
    if turn < len(harness.PLAN):
        blocks = [
            ToolCallBlock(tool_call_id=f"call-{turn}-{i}", tool_name=tool, tool_kwargs=args)
            for i, (tool, args) in enumerate(harness.PLAN[turn])
        ]
        yield ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks)
    else:
        yield ChatMessage(role=MessageRole.ASSISTANT, content=harness.ANSWER)


async def mcp_tools(url, session, stack):
    from llama_index.tools.mcp import BasicMCPClient, McpToolSpec

    if session == "default":
        client = BasicMCPClient(url)
    else:
        from mcp.client.session import ClientSession
        from mcp.client.streamable_http import streamable_http_client

        read, write = await stack.enter_async_context(streamable_http_client(url))
        client = await stack.enter_async_context(ClientSession(read, write))
        await client.initialize()
    return await McpToolSpec(client).to_tool_list_async()


async def run(args):
    async with AsyncExitStack() as stack:
        if args.mode == "local":
            tools = [FunctionTool.from_defaults(async_fn=fn, name=name)
                     for name, fn in harness.ASYNC_TOOLS.items()]
        else:
            tools = await mcp_tools(args.url, args.session, stack)
        agent = FunctionAgent(tools=tools, llm=MockFunctionCallingLLM(response_generator=scripted_model))
        result = await agent.run(user_msg="Run the plan.")
    done = [c for c in result.tool_calls if not c.tool_output.is_error]
    return str(result.response.content), len(done)


def main():
    args = harness.arguments()
    provider = None
    if args.trace:
        from openinference.instrumentation.llama_index import LlamaIndexInstrumentor

        provider = harness.tracer_provider(args.trace, f"{FRAMEWORK}-agent")
        LlamaIndexInstrumentor().instrument(tracer_provider=provider)
    try:
        answer, results = asyncio.run(run(args))
    finally:
        harness.finish(provider)
    harness.report(FRAMEWORK, version("llama-index-core"), args, answer, results)


if __name__ == "__main__":
    main()
