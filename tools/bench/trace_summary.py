#!/usr/bin/env python3
"""Tabulates a Chrome trace written by `qlab_bench generate --trace`: the
time the GPU was busy against the traced wall time, and the kernels (or, on
the CPU, the operators) that took it, most expensive first.

    tools/bench/trace_summary.py TRACE.json [--top 25] [--steady] [--sequence N]

--steady: only the decode steps replayed as CUDA graphs, past the first
quarter of them (the prefill, the first eager step and the capture left
out): wall time and GPU time per step, and the kernels of one step.
"""
import argparse
import collections
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--steady", action="store_true")
    ap.add_argument("--sequence", type=int, default=0)
    args = ap.parse_args()
    with open(args.trace) as f:
        events = [e for e in json.load(f)["traceEvents"] if e.get("ph") == "X"]
    if args.steady:
        return steady(events, args.top)
    kernels = [e for e in events if e.get("cat") == "kernel"]
    ops = [e for e in events if e.get("cat") == "cpu_op"]
    timed = kernels or ops
    if not timed:
        raise SystemExit(f"{args.trace}: no kernel or cpu_op events")
    start = min(e["ts"] for e in events)
    wall = max(e["ts"] + e["dur"] for e in events) - start
    by_name = collections.defaultdict(lambda: [0, 0.0])
    for e in timed:
        by_name[e["name"]][0] += 1
        by_name[e["name"]][1] += e["dur"]
    busy = sum(e["dur"] for e in timed)
    kind = "kernels" if kernels else "CPU operators"
    print(f"traced {wall / 1e3:.1f} ms; {kind} {busy / 1e3:.1f} ms ({busy / wall:.0%} of it), "
          f"{len(timed)} of them; {len(ops)} CPU operators launched")
    print(f"\n| {kind[:-1]} | calls | ms | share |\n|---|---:|---:|---:|")
    for name, (calls, dur) in sorted(by_name.items(), key=lambda kv: -kv[1][1])[: args.top]:
        print(f"| {name[:90]} | {calls} | {dur / 1e3:.2f} | {dur / busy:.1%} |")
    if kernels:
        host = collections.defaultdict(lambda: [0, 0.0])
        for e in ops:
            host[e["name"]][0] += 1
            host[e["name"]][1] += e["dur"]
        print("\n| CPU operator (inclusive) | calls | ms |\n|---|---:|---:|")
        for name, (calls, dur) in sorted(host.items(), key=lambda kv: -kv[1][1])[: args.top]:
            print(f"| {name[:90]} | {calls} | {dur / 1e3:.2f} |")
    if kernels and args.sequence:
        sequence(kernels, ops, args.sequence)


def sequence(kernels, ops, count):
    # A kernel's "External id" is that of the operator that launched it.
    op_of = {e["args"]["External id"]: e["name"] for e in ops if "External id" in e.get("args", {})}
    print("\n| # | kernel | us | launched by |\n|---:|---|---:|---|")
    for i, e in enumerate(sorted(kernels, key=lambda e: e["ts"])[:count]):
        launcher = op_of.get(e.get("args", {}).get("External id"), "?")
        print(f"| {i} | {e['name'][:70]} | {e['dur']:.1f} | {launcher} |")


def steady(events, top):
    launches = sorted(e["ts"] for e in events if e.get("name") == "cudaGraphLaunch")
    if len(launches) < 5:
        raise SystemExit("--steady: fewer than 5 graph launches in the trace")
    first, last = launches[len(launches) // 4], launches[-1]
    steps = len([t for t in launches if first <= t < last])
    kernels = [e for e in events if e.get("cat") == "kernel" and first <= e["ts"] < last]
    by_name = collections.defaultdict(lambda: [0, 0.0])
    for e in kernels:
        by_name[e["name"]][0] += 1
        by_name[e["name"]][1] += e["dur"]
    busy = sum(e["dur"] for e in kernels)
    print(f"{steps} steady steps: {(last - first) / steps / 1e3:.2f} ms wall, {busy / steps / 1e3:.2f} ms of "
          f"kernels, {len(kernels) / steps:.0f} kernels per step")
    print("\n| kernel | per step | ms per step | share |\n|---|---:|---:|---:|")
    for name, (calls, dur) in sorted(by_name.items(), key=lambda kv: -kv[1][1])[:top]:
        print(f"| {name[:90]} | {calls / steps:.0f} | {dur / steps / 1e3:.3f} | {dur / busy:.1%} |")


if __name__ == "__main__":
    main()
