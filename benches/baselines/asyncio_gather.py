#!/usr/bin/env python3
"""The pattern parabench is measured against, in Python asyncio.

`asyncio.gather` over every call, one `asyncio.Semaphore(max_concurrency)` around each,
and a success/error record per call: the shape of `execute_tools_parallel` in the
"Parallel Tool Execution Patterns" guide of the Python agent framework aiecs (2.2.0). Prints the per-call overhead of zero-latency calls at the limits of
`cargo bench --bench executor` (1, 5, 64, 1024), in ns per call, and the wall time of
fixed-latency calls against their ideal.

    python3 benches/baselines/asyncio_gather.py [--criterion target/criterion]

With `--criterion`, it also reads the Rust figures of the last
`cargo bench --bench executor` run and prints them side by side with the ratios.
Standard library only; `cargo bench` never needs it.
"""

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from pathlib import Path

LIMITS = (1, 5, 64, 1024)
CALLS = 4096  # as CALLS in benches/executor.rs


async def zero_latency_tool(i):
    """Returns at once: what is left to time is the pattern's own overhead."""
    return i


def fixed_latency_tool(latency_s):
    async def tool(i):
        await asyncio.sleep(latency_s)
        return i

    return tool


async def execute_parallel(tool, calls, max_concurrency):
    """One record per call, in input order, whatever fails."""
    semaphore = asyncio.Semaphore(max_concurrency)

    async def one(i):
        async with semaphore:
            try:
                return {"index": i, "success": True, "result": await tool(i)}
            except Exception as error:  # a failed call is data, as in the guide
                return {"index": i, "success": False, "error": str(error)}

    return await asyncio.gather(*(one(i) for i in range(calls)))


async def check_records():
    """A failing call gives an error record in its place; the others are unaffected."""

    async def odd_fails(i):
        if i % 2:
            raise RuntimeError(f"call {i} failed")
        return i

    records = await execute_parallel(odd_fails, 4, 2)
    assert [r["index"] for r in records] == [0, 1, 2, 3]
    assert [r["success"] for r in records] == [True, False, True, False]
    assert records[1]["error"] == "call 1 failed" and records[2]["result"] == 2


async def zero_latency_ns_per_call(limit, runs):
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        records = await execute_parallel(zero_latency_tool, CALLS, limit)
        samples.append((time.perf_counter_ns() - start) / CALLS)
        assert len(records) == CALLS and all(r["success"] for r in records)
    return statistics.median(samples), min(samples)


async def fixed_latency_wall(calls, limit, latency_s):
    start = time.perf_counter()
    records = await execute_parallel(fixed_latency_tool(latency_s), calls, limit)
    wall = time.perf_counter() - start
    assert len(records) == calls and all(r["success"] for r in records)
    return wall


def criterion_ns_per_call(criterion, benchmark):
    """Criterion's mean per iteration over its Elements throughput, or None."""
    base = Path(criterion, *benchmark.split("/"), "new")
    try:
        mean = json.loads((base / "estimates.json").read_text())["mean"]["point_estimate"]
        elements = json.loads((base / "benchmark.json").read_text())["throughput"]["Elements"]
    except (OSError, KeyError, TypeError, ValueError):
        return None
    return mean / elements


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="runs per limit (median reported)")
    parser.add_argument("--criterion", help="criterion's output directory, for the side-by-side table")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    asyncio.run(check_records())

    print(f"asyncio.gather + Semaphore · CPython {platform.python_version()} · {CALLS} zero-latency calls per run, "
          f"median of {args.runs} runs")
    print(f"{'benchmark':<40} {'ns/call':>9} {'best':>9}")
    python = {}
    for limit in LIMITS:
        median, best = asyncio.run(zero_latency_ns_per_call(limit, args.runs))
        python[limit] = median
        print(f"{f'zero_latency_c{limit}/python_asyncio_gather':<40} {median:>9.0f} {best:>9.0f}")

    fixed = []
    for calls, limit, latency_s in ((1000, 10, 0.001), (10, 5, 0.1)):
        wall = asyncio.run(fixed_latency_wall(calls, limit, latency_s))
        ideal = -(-calls // limit) * latency_s
        fixed.append({"calls": calls, "max_concurrency": limit, "latency_s": latency_s, "wall_s": wall,
                      "ideal_s": ideal})
        print(f"fixed latency: {calls} × {latency_s * 1e3:g} ms at c{limit}: wall {wall:.4f} s, "
              f"ideal {ideal:.4f} s ({wall / ideal:.3f}× the ideal)")

    if args.json:
        Path(args.json).write_text(json.dumps({"zero_latency_ns_per_call": python, "fixed_latency": fixed}, indent=2))

    if args.criterion:
        rows = [("parabench", "parabench/noop"), ("joinset_semaphore", "joinset_semaphore"),
                ("futures_buffered", "futures_buffered"), ("futures_buffer_unordered", "futures_buffer_unordered")]
        print(f"\nns per call (Rust: {args.criterion}, last `cargo bench --bench executor` run)")
        print(f"{'limit':>6} " + " ".join(f"{name:>24}" for name, _ in rows)
              + f" {'python':>9} {'pb/joinset':>10} {'python/pb':>9}")
        for limit in LIMITS:
            rust = {name: criterion_ns_per_call(args.criterion, f"zero_latency_c{limit}/{bench}")
                    for name, bench in rows}
            if rust["parabench"] is None:
                print(f"{limit:>6} (no criterion figures for zero_latency_c{limit})")
                continue
            cells = " ".join(f"{rust[name]:>24.1f}" if rust[name] else f"{'-':>24}" for name, _ in rows)
            joinset = rust["joinset_semaphore"]
            ratio = f"{rust['parabench'] / joinset:>10.2f}" if joinset else f"{'-':>10}"
            print(f"{limit:>6} {cells} {python[limit]:>9.0f} {ratio} {python[limit] / rust['parabench']:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
