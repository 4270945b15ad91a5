"""Markdown table of a pytest-benchmark JSON file, for BENCHMARKS.md.

  pytest benchmarks --benchmark-only --benchmark-json=core.json
  python -m benchmarks.core_table core.json

Times per call in microseconds; p99 is over rounds (each round's time is
the mean of its calibrated iterations, so it smooths single-call spikes).
"""

from __future__ import annotations

import json
import sys

import numpy as np


def rows(path: str):
    with open(path) as file:
        report = json.load(file)
    for bench in sorted(report["benchmarks"], key=lambda b: b["stats"]["median"]):
        stats, extra = bench["stats"], bench["extra_info"]
        median_us = stats["median"] * 1e6
        # Raw rounds are in the file with --benchmark-json; results/core.json keeps only their p99.
        p99_us = (stats["p99"] if "p99" in stats else float(np.percentile(stats["data"], 99))) * 1e6
        if "apply" in bench["name"]:  # `skus` is the items per command there
            derived = f"{1 / stats['median']:,.0f} commands/s, {extra['skus'] / stats['median']:,.0f} updates/s"
        elif extra.get("skus", 1) > 1:
            derived = f"{median_us * 1000 / extra['skus']:.0f} ns/SKU"
        else:
            derived = ""
        shape = f"{extra.get('skus', '')} x {extra.get('nodes', '')}"
        yield (
            bench["name"],
            shape,
            f"{stats['min'] * 1e6:,.2f}",
            f"{median_us:,.2f}",
            f"{p99_us:,.2f}",
            f"{stats['rounds']}x{stats['iterations']}",
            derived,
        )


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    print("| benchmark | SKUs x nodes | min us | median us | p99 us | rounds x iterations | |")
    print("|---|---|---:|---:|---:|---:|---|")
    for row in rows(argv[0]):
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
