"""A tiny agent traced with the OpenTelemetry Python SDK, as real agents are.

Two turns: a model call, then tool calls. The first turn runs three tools at once in
threads (each tool span's parent is the agent span, as GenAI instrumentations make it);
the second runs two tools one after the other. Exported over OTLP to the endpoint given,
with the protocol given (http/protobuf or grpc), gzip-compressed on request.

usage: python_agent.py ENDPOINT PROTOCOL [gzip]
"""

import sys
import threading
import time

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

endpoint, protocol = sys.argv[1], sys.argv[2]
gzip = len(sys.argv) > 3 and sys.argv[3] == "gzip"

if protocol == "grpc":
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from grpc import Compression

    exporter = OTLPSpanExporter(endpoint=endpoint, insecure=True,
                                compression=Compression.Gzip if gzip else None)
else:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.exporter.otlp.proto.http import Compression

    exporter = OTLPSpanExporter(endpoint=endpoint + "/v1/traces",
                                compression=Compression.Gzip if gzip else Compression.NoCompression)

provider = TracerProvider(resource=Resource.create({"service.name": "python-agent"}))
provider.add_span_processor(BatchSpanProcessor(exporter))
tracer = provider.get_tracer("python_agent")


def chat():
    with tracer.start_as_current_span("chat gpt-4o", attributes={"gen_ai.operation.name": "chat"}):
        time.sleep(0.02)


def tool(name, seconds, parent, fail=False):
    token = context.attach(parent)
    try:
        with tracer.start_as_current_span(
            f"execute_tool {name}",
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name},
        ) as span:
            time.sleep(seconds)
            if fail:
                span.set_status(Status(StatusCode.ERROR, "tool failed"))
    finally:
        context.detach(token)


with tracer.start_as_current_span("invoke_agent travel", attributes={"gen_ai.operation.name": "invoke_agent"}):
    agent = context.get_current()
    chat()
    threads = [threading.Thread(target=tool, args=(n, s, agent))
               for n, s in [("search", 0.10), ("weather", 0.05), ("flights", 0.15)]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    chat()
    tool("book", 0.05, agent, fail=True)
    tool("pay", 0.05, agent)
    chat()

provider.shutdown()
