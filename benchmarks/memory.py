"""Resident memory of a replica holding 10M (SKU, node) positions (issue 4: <= 1.2 GB).

  python -m benchmarks.memory                 # 200 nodes x 50,000 SKUs
  python -m benchmarks.memory --smoke         # 20 x 5,000

Builds the engine for a synthetic network, stocks every position through
one on-hand command per SKU block, adds open supply on a fifth of the
positions and one feed source, then reports peak RSS, the core's own bytes
per position and the process baseline (interpreter + libraries) so the
figures can be told apart. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys

import numpy as np

from benchmarks.networks import build_network
from dompromise._core import COMMAND_KIND, Command
from dompromise.inventory.engine import Engine

BLOCK_SKUS = 5_000


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--skus", type=int, default=50_000)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    nodes, skus = (20, 5_000) if args.smoke else (args.nodes, args.skus)
    baseline_mb = rss_mb()
    network = build_network(nodes, skus)
    engine = Engine(network, clock_ns=lambda: 10**18)
    after_engine_mb = rss_mb()
    core = engine.core
    rng = np.random.default_rng(1)
    for first in range(0, skus, BLOCK_SKUS):
        count = min(BLOCK_SKUS, skus - first) * nodes
        position = np.arange(first * nodes, first * nodes + count)
        core.apply(
            Command(
                COMMAND_KIND["UPDATE_ON_HAND"],
                10**18,
                (position // nodes).astype(np.int32),
                (position % nodes).astype(np.int32),
                rng.integers(0, 100, size=count),
                np.ones(count, np.int8),
                ref=np.zeros(count, np.int64),
                time_ns=np.ones(count, np.int64),
            )
        )
    supplied = rng.choice(nodes * skus, size=nodes * skus // 5, replace=False)
    core.apply(
        Command(
            COMMAND_KIND["UPSERT_SUPPLY"],
            10**18,
            (supplied // nodes).astype(np.int32),
            (supplied % nodes).astype(np.int32),
            np.full(supplied.size, 10),
            np.full(supplied.size, 2, np.int8),
            time_ns=np.full(supplied.size, 10**18 + 10**14),
            ref=np.arange(supplied.size),
        )
    )
    core.check_invariants() if args.smoke else None
    positions = nodes * skus
    peak_mb = rss_mb()  # before export_state, which copies every array
    state_bytes = sum(array.nbytes for array in core.export_state().values())
    print(
        json.dumps(
            {
                "positions": positions,
                "nodes": nodes,
                "skus": skus,
                "supplies": int(core.supply_count),
                "peak_rss_mb": round(peak_mb),
                "process_baseline_mb": round(baseline_mb),
                "engine_built_rss_mb": round(after_engine_mb),
                "state_bytes_per_position": round(state_bytes / positions, 1),
                "rss_bytes_per_position": round((peak_mb - baseline_mb) * 2**20 / positions, 1),
                "target_mb_for_10M": 1200,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
