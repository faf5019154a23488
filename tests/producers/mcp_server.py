"""A real MCP server for the tests of real tools: the official MCP Python SDK's server
(`MCPServer`, called FastMCP before the SDK's 2.0), over streamable HTTP or stdio.

Tools:
- `work(i, ms)`: `ms` milliseconds (default 50) behind a semaphore of 4: the server
  works on at most 4 calls at once, so no client gets more than 4x from it, whatever its
  own limit;
- `echo(text)`: answers "echo: TEXT";
- `flaky(key)`: an error result (isError) the first time it sees a key, then a result.

Every call appends one JSON line to LOG when it ends: its tool, arguments, the W3C
`traceparent` its request carried in `_meta`, and its start and end (seconds, monotonic).

usage: mcp_server.py http PORT LOG | stdio LOG
"""

import asyncio
import json
import sys
import time

from mcp.server import MCPServer
from mcp.server.mcpserver import Context

mode = sys.argv[1]
log_path = sys.argv[3] if mode == "http" else sys.argv[2]
log = open(log_path, "a", encoding="utf-8")
capacity = asyncio.Semaphore(4)
seen_keys = set()
server = MCPServer("capacity-4")


def traceparent(ctx):
    meta = ctx.request_context.meta
    if meta is None:
        return None
    if isinstance(meta, dict):
        return meta.get("traceparent")
    return getattr(meta, "traceparent", None) or (getattr(meta, "model_extra", None) or {}).get("traceparent")


def record(tool, arguments, ctx, start):
    log.write(json.dumps({"tool": tool, "arguments": arguments, "traceparent": traceparent(ctx),
                          "start": start, "end": time.monotonic()}) + "\n")
    log.flush()


@server.tool()
async def work(i: int, ctx: Context, ms: int = 50) -> str:
    """`ms` milliseconds of work; at most 4 at once."""
    start = time.monotonic()
    async with capacity:
        await asyncio.sleep(ms / 1000)
    record("work", {"i": i, "ms": ms}, ctx, start)
    return f"work {i} done"


@server.tool()
async def echo(text: str, ctx: Context) -> str:
    """Answers with the text it was sent."""
    start = time.monotonic()
    record("echo", {"text": text}, ctx, start)
    return f"echo: {text}"


@server.tool()
async def flaky(key: str, ctx: Context) -> str:
    """Fails (isError) the first time it sees a key."""
    start = time.monotonic()
    record("flaky", {"key": key}, ctx, start)
    if key not in seen_keys:
        seen_keys.add(key)
        raise ValueError(f"first try of {key} fails")
    return f"flaky {key} ok"


if mode == "http":
    server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
else:
    server.run("stdio")
