"""The frameworks harness's plan on LangGraph: the prebuilt ReAct agent
(`langgraph.prebuilt.create_react_agent`, deprecated since LangGraph 1.0 in favour of
`langchain.agents.create_agent`, but still shipped) with its default ToolNode.

What LangGraph does with one response's tool calls: the agent graph's default `version="v2"`
routes each tool call to the `tools` node as its own `Send`, so one response of N calls
becomes N tasks of one Pregel superstep, run as concurrent asyncio tasks with no limit
unless the run's config sets `max_concurrency`. The model is a scripted `BaseChatModel`
(no LLM, no network); the local tools are the harness's async tools, called with `ainvoke`.

Tracing (`--tracing`): `openinference` (default; openinference-instrumentation-langchain's
LangChainInstrumentor) or `openllmetry` (opentelemetry-instrumentation-langchain's
LangchainInstrumentor). Both are LangChain callback handlers; nothing is sent anywhere
but the trace file (LangSmith tracing is switched off).

MCP: `--session default` uses langchain-mcp-adapters' MultiServerMCPClient and its
`get_tools()`, whose tools open a new MCP session for every call; `--session shared` loads
the tools from one `client.session(...)`, so every call goes through that session.
"""

import asyncio
import os
import sys
import time
import warnings
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))
import harness  # noqa: E402

# Nothing leaves the machine: no LangSmith, no Traceloop telemetry.
for key in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING"):
    os.environ[key] = "false"
os.environ.setdefault("TRACELOOP_TELEMETRY", "false")
warnings.filterwarnings("ignore", message=".*create_react_agent has been moved.*")

from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, ToolMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402
from langchain_core.tools import StructuredTool  # noqa: E402
from langgraph.prebuilt import create_react_agent  # noqa: E402


class ScriptedModel(BaseChatModel):
    """Answers with the plan: all of one turn's calls as the tool calls of one AIMessage."""

    def _response(self, messages):
        results = sum(isinstance(m, ToolMessage) for m in messages)
        turn = harness.turn_of(results)
        if turn == len(harness.PLAN):
            return AIMessage(content=harness.ANSWER)
        calls = [
            {"name": tool, "args": args, "id": f"call_{turn + 1}_{i + 1}", "type": "tool_call"}
            for i, (tool, args) in enumerate(harness.PLAN[turn])
        ]
        return AIMessage(content="", tool_calls=calls)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        time.sleep(harness.MODEL_SECONDS)
        return ChatResult(generations=[ChatGeneration(message=self._response(messages))])

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):
        await asyncio.sleep(harness.MODEL_SECONDS)
        return ChatResult(generations=[ChatGeneration(message=self._response(messages))])

    def bind_tools(self, tools, **kwargs):
        return self

    @property
    def _llm_type(self):
        return "scripted"


def local_tools():
    return [
        StructuredTool.from_function(coroutine=fn, name=name, description=harness.TOOL_DESCRIPTIONS[name])
        for name, fn in harness.ASYNC_TOOLS.items()
    ]


def instrument(args):
    if not args.trace:
        return None
    provider = harness.tracer_provider(args.trace, "langgraph")
    tracing = args.tracing or "openinference"
    if tracing == "openinference":
        from openinference.instrumentation.langchain import LangChainInstrumentor

        LangChainInstrumentor().instrument(tracer_provider=provider)
    elif tracing == "openllmetry":
        from opentelemetry.instrumentation.langchain import LangchainInstrumentor

        LangchainInstrumentor().instrument(tracer_provider=provider)
    else:
        sys.exit(f"unknown --tracing {tracing!r}: openinference or openllmetry")
    return provider


async def run_agent(tools):
    agent = create_react_agent(ScriptedModel(), tools)
    state = await agent.ainvoke({"messages": [("user", "Run the plan.")]})
    messages = state["messages"]
    results = sum(isinstance(m, ToolMessage) and m.status == "success" for m in messages)
    return messages[-1].content, results


async def main(args):
    if args.mode == "local":
        return await run_agent(local_tools())
    from langchain_mcp_adapters.client import MultiServerMCPClient
    from langchain_mcp_adapters.tools import load_mcp_tools

    client = MultiServerMCPClient({"plan": {"url": args.url, "transport": "streamable_http"}})
    if args.session == "default":
        return await run_agent(await client.get_tools())
    async with client.session("plan") as session:
        return await run_agent(await load_mcp_tools(session))


if __name__ == "__main__":
    args = harness.arguments()
    provider = instrument(args)
    try:
        answer, results = asyncio.run(main(args))
    finally:
        harness.finish(provider)
    harness.report("LangGraph", version("langgraph"), args, answer, results)
