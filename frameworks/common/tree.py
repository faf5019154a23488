"""Prints the span trees of an OTLP/JSON Lines file (the harness's trace files): each
span's name, kind, start and end in ms from its trace's first span, and the attributes
that tell tool and model calls apart. For reading what a framework emits.

usage: python3 tree.py FILE [--all-attributes]
"""

import json
import sys

KEYS = (
    "gen_ai.operation.name", "gen_ai.tool.name", "gen_ai.system", "gen_ai.agent.name",
    "openinference.span.kind", "tool.name", "traceloop.span.kind", "traceloop.entity.name",
    "mcp.method.name", "error.type",
)
KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


def value(v):
    for key in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if key in v:
            return v[key]
    return json.dumps(v)[:60]


def main():
    path = sys.argv[1]
    every = "--all-attributes" in sys.argv
    spans = []
    for line in open(path, encoding="utf-8"):
        if not line.strip():
            continue
        doc = json.loads(line)
        for rs in doc.get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                scope = ss.get("scope", {}).get("name", "")
                for s in ss.get("spans", []):
                    s["_scope"] = scope
                    spans.append(s)
    by_trace = {}
    for s in spans:
        by_trace.setdefault(s["traceId"], []).append(s)
    for trace_id, members in by_trace.items():
        t0 = min(int(s["startTimeUnixNano"]) for s in members)
        ids = {s["spanId"] for s in members}
        children = {}
        for s in members:
            parent = s.get("parentSpanId") or ""
            children.setdefault(parent if parent in ids else "", []).append(s)
        print(f"trace {trace_id}")

        def show(s, depth):
            start = (int(s["startTimeUnixNano"]) - t0) / 1e6
            end = (int(s["endTimeUnixNano"]) - t0) / 1e6
            attrs = {a["key"]: value(a["value"]) for a in s.get("attributes", [])}
            shown = attrs if every else {k: v for k, v in attrs.items() if k in KEYS}
            status = s.get("status", {}).get("code")
            extra = " ERROR" if status == 2 else ""
            print(f"{'  ' * depth}{s['name']} [{KINDS.get(s.get('kind', 0), '?')}] "
                  f"{start:.3f}-{end:.3f} ms{extra} {shown if shown else ''} ({s['_scope']})")
            for c in sorted(children.get(s["spanId"], []), key=lambda c: int(c["startTimeUnixNano"])):
                show(c, depth + 1)

        for root in sorted(children.get("", []), key=lambda c: int(c["startTimeUnixNano"])):
            show(root, 1)


if __name__ == "__main__":
    main()
