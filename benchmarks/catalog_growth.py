"""Catalog growth while serving, and reconciling an unchanged config (issue 14).

    python -m benchmarks.catalog_growth [--skus 100000] [--nodes 100] [--base-skus 100000] [--json out.json]

1. `reconcile`: an unchanged 3,000-SKU config (the demo network) against a state that already
   has it (model/reconcile.py over Engine.sku): target <= 200 ms.
2. `growth`: a network of --nodes x --base-skus positions (10M by default) takes --skus new SKUs
   as UpsertSkus log records of CATALOG_SKUS_MAX each, applied by the engine in log order, while
   single-SKU reads run between the records (as the replica's event loop interleaves them): the
   whole change <= 5 s, read latency p99 during it <= 50 ms; then reads and reserves after growth
   against before (ratio ~1: no slowdown).
Everything in one process, one run; figures are ratios and bounded times.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import time

import numpy as np

from dompromise import limits
from dompromise.demo.network import demo_network
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.model import document, reconcile
from dompromise.model.network import Network, Node, NodeType, Sku


def reconcile_ms(rounds: int = 5) -> list[float]:
    network = demo_network()
    engine = Engine(network)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        assert reconcile.network_change(engine.network, network) is None
        assert reconcile.catalog_upserts(network.skus, engine.sku, engine.is_retired) == []
        times.append((time.perf_counter() - started) * 1000)
    return times


def read_us(engine: Engine, sku_ids: list[str], count: int) -> list[float]:
    nodes = engine.node_selection()
    times = []
    for _ in range(count):
        sku = random.choice(sku_ids)
        started = time.perf_counter()
        engine.availability([sku], nodes)
        times.append((time.perf_counter() - started) * 1e6)
    return times


def reserve_us(engine: Engine, sku_ids: list[str], position: int, count: int) -> tuple[list[float], int]:
    times = []
    for _ in range(count):
        position += 1
        record = log_pb2.LogRecord(
            log_time_ns=10**18 + position,
            reserve=log_pb2.Reserve(sku_ids=[random.choice(sku_ids)], node_ids=["N0"], quantities=[1], ttl_ns=10**15),
        )
        started = time.perf_counter()
        engine.apply_record(record, position)
        times.append((time.perf_counter() - started) * 1e6)
    return times, position


def growth(node_count: int, base_skus: int, new_skus: int) -> dict[str, object]:
    network = Network(
        nodes=tuple(Node(f"N{i}", NodeType.STORE) for i in range(node_count)),
        skus=tuple(Sku(f"S{i}") for i in range(base_skus)),
    )
    engine = Engine(network)
    base_ids = [sku.sku_id for sku in network.skus]
    hot = min(10_000, base_skus)  # SKUs with stock, read and reserved
    position = 1
    engine.apply_record(
        log_pb2.LogRecord(
            log_time_ns=10**18,
            update_on_hand=log_pb2.UpdateOnHand(
                sku_ids=base_ids[:hot], node_ids=["N0"] * hot, ops=[1] * hot, quantities=[10**6] * hot
            ),
        ),
        position,
    )
    reads_before = read_us(engine, base_ids[:hot], 5_000)
    reserves_before, position = reserve_us(engine, base_ids[:hot], position, 3_000)
    documents = [document.sku_document(Sku(f"NEW-{i}", brand="Acme")) for i in range(new_skus)]
    during: list[float] = []
    change_started = time.perf_counter()
    for start in range(0, new_skus, limits.CATALOG_SKUS_MAX):
        position += 1
        record = log_pb2.LogRecord(
            log_time_ns=10**18 + position,
            upsert_skus=log_pb2.UpsertSkus(sku_documents=documents[start : start + limits.CATALOG_SKUS_MAX]),
        )
        applied = time.perf_counter()
        engine.apply_record(record, position)
        # A read waiting behind this record on the event loop waits this long at most, then reads.
        stall_us = (time.perf_counter() - applied) * 1e6
        during.extend(stall_us + t for t in read_us(engine, base_ids[:hot], 20))
    change_s = time.perf_counter() - change_started
    assert engine.sku(f"NEW-{new_skus - 1}") is not None
    reads_after = read_us(engine, base_ids[:hot], 5_000)
    reserves_after, position = reserve_us(engine, base_ids[:hot], position, 3_000)
    return {
        "positions_before": node_count * base_skus,
        "skus_added": new_skus,
        "change_seconds": change_s,
        "read_p99_ms_during_change": float(np.percentile(during, 99)) / 1000,
        "read_median_us_before": float(np.median(reads_before)),
        "read_median_us_after": float(np.median(reads_after)),
        "read_ratio_after_before": float(np.median(reads_after) / np.median(reads_before)),
        "reserve_median_us_before": float(np.median(reserves_before)),
        "reserve_median_us_after": float(np.median(reserves_after)),
        "reserve_ratio_after_before": float(np.median(reserves_after) / np.median(reserves_before)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--base-skus", type=int, default=100_000)
    parser.add_argument("--json")
    args = parser.parse_args()
    times = reconcile_ms()
    result: dict[str, object] = {
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "reconcile_unchanged_3000_skus_ms": times,
        "reconcile_median_ms": float(np.median(times)),
    }
    result.update(growth(args.nodes, args.base_skus, args.skus))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            out.write(text + "\n")


if __name__ == "__main__":
    main()
