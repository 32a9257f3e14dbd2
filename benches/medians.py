#!/usr/bin/env python3
"""Print criterion's median of every benchmark run so far.

Criterion's console line shows the mean; BENCHMARKS.md reports medians,
read here from <target>/criterion/**/new/estimates.json. With a throughput
(requests per iteration), the median per request is shown too.

Usage: benches/medians.py [CRITERION_DIR]   (default: $CARGO_TARGET_DIR/criterion
or target/criterion)
"""
import json
import os
import sys
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1
            else Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "criterion")


def show(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


for estimates in sorted(root.glob("**/new/estimates.json")):
    bench = json.loads((estimates.parent / "benchmark.json").read_text())
    median = json.loads(estimates.read_text())["median"]["point_estimate"]
    line = f"{bench['full_id']:<45} median {show(median):>10}"
    elements = (bench.get("throughput") or {}).get("Elements")
    if elements:
        line += f"   {show(median / elements):>9} per request ({elements} requests)"
    print(line)
