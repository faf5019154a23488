"""Google ADK (google-adk) on the frameworks harness's plan.

The model is a scripted `BaseLlm` subclass (no Gemini, no network) whose one
`LlmResponse` per turn carries all of that turn's function calls as parts of one
message. An `LlmAgent` runs under `InMemoryRunner`; ADK's default tool executor
(`flows/llm_flows/tools/_batch_executor.py`) starts one asyncio task per call of
a response and gathers them, with no limit. Local tools are the harness's async
functions, which ADK wraps as `FunctionTool`s.

Instrumentation: ADK's own OpenTelemetry spans (google/adk/telemetry/tracing.py),
emitted through the global tracer provider that the harness sets. ADK has two
span schemas, picked by ADK_TELEMETRY_SCHEMA_VERSION_OPT_IN: `--tracing semconv`
(default, schema 2: GenAI-semconv aligned, `invoke_agent`/`generate_content`,
no `call_llm` span) or `--tracing legacy` (schema 1: `invocation`, a `call_llm`
span around each model call).

MCP: `McpToolset(StreamableHTTPConnectionParams(url))`, as ADK documents. Its
MCPSessionManager pools sessions by request headers, so every call of the run
already goes through one MCP session: `--session shared` is the same path.
"""

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))
import harness  # noqa: E402

SCHEMAS = {"semconv": "2", "legacy": "1"}


def setup_environment(args):
    # Schema of ADK's spans; read by google/adk/telemetry/_schema_version.py at each span.
    os.environ["ADK_TELEMETRY_SCHEMA_VERSION_OPT_IN"] = SCHEMAS[args.tracing or "semconv"]
    # The MCP session manager otherwise probes google.auth.default() for mTLS, which
    # looks for Google credentials and the GCE metadata server: no Google, ever.
    os.environ["GOOGLE_API_USE_CLIENT_CERTIFICATE"] = "false"
    os.environ.setdefault("GOOGLE_API_KEY", "dummy")


def scripted_model():
    from google.adk.models import BaseLlm, LlmResponse
    from google.genai import types

    class ScriptedLlm(BaseLlm):
        """Answers each turn with harness.PLAN[turn]'s calls, all in one response."""

        async def generate_content_async(self, llm_request, stream=False):
            results = sum(
                1 for c in llm_request.contents for p in (c.parts or []) if p.function_response
            )
            turn = harness.turn_of(results)
            await asyncio.sleep(harness.MODEL_SECONDS)
            if turn < len(harness.PLAN):
                parts = [
                    types.Part(function_call=types.FunctionCall(id=f"call_{turn}_{i}", name=tool, args=args))
                    for i, (tool, args) in enumerate(harness.PLAN[turn])
                ]
            else:
                parts = [types.Part(text=harness.ANSWER)]
            yield LlmResponse(content=types.Content(role="model", parts=parts))

    return ScriptedLlm(model="scripted")


async def run(args):
    from google.adk.agents import LlmAgent
    from google.adk.runners import InMemoryRunner
    from google.genai import types

    toolset = None
    if args.mode == "local":
        tools = list(harness.ASYNC_TOOLS.values())
    else:
        from google.adk.tools.mcp_tool import McpToolset, StreamableHTTPConnectionParams

        # One toolset, whose session manager keeps one pooled session per header set:
        # the default already shares one MCP session, so `shared` takes the same path.
        toolset = McpToolset(connection_params=StreamableHTTPConnectionParams(url=args.url))
        tools = [toolset]

    agent = LlmAgent(name="planner", model=scripted_model(), instruction="Run the plan.", tools=tools)
    runner = InMemoryRunner(agent=agent, app_name="parabench")
    session = await runner.session_service.create_session(app_name="parabench", user_id="user")
    answer, results = None, 0
    try:
        message = types.Content(role="user", parts=[types.Part(text="Run the plan.")])
        async for event in runner.run_async(user_id="user", session_id=session.id, new_message=message):
            results += len(event.get_function_responses())
            if event.is_final_response() and event.content and event.content.parts:
                answer = "".join(p.text or "" for p in event.content.parts)
    finally:
        if toolset is not None:
            await toolset.close()
        await runner.close()
    return answer, results


def main():
    args = harness.arguments()
    setup_environment(args)
    provider = None
    if args.trace:
        provider = harness.tracer_provider(args.trace, "adk")
    import google.adk

    try:
        answer, results = asyncio.run(run(args))
    finally:
        harness.finish(provider)
    harness.report("Google ADK", google.adk.__version__, args, answer, results)


if __name__ == "__main__":
    main()
