"""Catalog growth while serving, and reconciling an unchanged config (issue 14).

    python -m benchmarks.catalog_growth [--skus 100000] [--nodes 100] [--base-skus 100000] [--json out.json]
                                        [--warm-memory-mb 0]

1. `reconcile`: an unchanged 3,000-SKU config (the demo network) against a state that already
   has it (model/reconcile.py over Engine.sku): target <= 200 ms.
2. `growth`: a network of --nodes x --base-skus positions (10M by default) takes --skus new SKUs
   through a real LocalReplica (file log, fsync per batch) on one event loop, as ImportSkus
   submits them: one UpsertSkus record of CATALOG_SKUS_MAX SKUs after another, each built from
   Sku objects on the loop (as the servicer does). Meanwhile a reader task on the same loop
   reads one SKU across the network every READ_INTERVAL_S, open loop: a read's latency counts
   from when it was due, so a loop blocked for 300 ms shows as reads waiting up to 300 ms
   (no coordinated omission). Targets: the whole change <= 5 s, read p99 during it <= 50 ms.
   The same reads for IDLE_S before the change give the machine's floor (p50/p99 idle).
3. No slowdown after growth: reads and reserves on the grown engine against an engine built
   with the same catalog from the start (never grown), in alternated rounds (ratio ~1).
Everything in one process, one run; figures are ratios and bounded times.

--warm-memory-mb N touches and frees N MB before anything else. On a VM whose host backs guest
memory lazily (Firecracker here: the first touch of a page costs ~5-20 ms/MB, a later one
~0.15 ms/MB) the growth's fresh pages otherwise measure the host, not the code; the result
file says which was run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import tempfile
import time

import numpy as np

from dompromise import limits
from dompromise.demo.network import demo_network
from dompromise.gc_pause import gc_paused_then_frozen
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log.file import FileLog
from dompromise.model import document, reconcile
from dompromise.model.network import Network, Node, NodeType, Sku
from dompromise.replica.local import LocalReplica


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


READ_INTERVAL_S = 0.001
IDLE_S = 2.0  # open-loop reads before the change, with nothing else going on
ROUNDS = 6  # alternated rounds of the after-growth comparison


def read_us(engine: Engine, sku_ids: list[str], count: int) -> list[float]:
    nodes = engine.node_selection()
    times = []
    for _ in range(count):
        sku = random.choice(sku_ids)
        started = time.perf_counter()
        engine.availability([sku], nodes)
        times.append((time.perf_counter() - started) * 1e6)
    return times


def reserve_us(engine: Engine, sku_ids: list[str], count: int) -> list[float]:
    times = []
    position = engine.log_position
    time_ns = engine.core.log_time_ns
    for _ in range(count):
        position += 1
        time_ns += 1
        record = log_pb2.LogRecord(
            log_time_ns=time_ns,
            reserve=log_pb2.Reserve(sku_ids=[random.choice(sku_ids)], node_ids=["N0"], quantities=[1], ttl_ns=10**15),
        )
        started = time.perf_counter()
        engine.apply_record(record, position)
        times.append((time.perf_counter() - started) * 1e6)
    return times


def stock_record(hot_ids: list[str]) -> log_pb2.LogRecord:
    count = len(hot_ids)
    return log_pb2.LogRecord(
        log_time_ns=10**18,
        update_on_hand=log_pb2.UpdateOnHand(
            sku_ids=hot_ids, node_ids=["N0"] * count, ops=[1] * count, quantities=[10**6] * count
        ),
    )


async def reader(engine: Engine, sku_ids: list[str], latencies_us: list[float], stop: asyncio.Event) -> None:
    """Open-loop reads, one due every READ_INTERVAL_S: latency from when each was due."""
    nodes = engine.node_selection()
    due = time.perf_counter()
    while not stop.is_set():
        due += READ_INTERVAL_S
        wait = due - time.perf_counter()
        await asyncio.sleep(max(wait, 0))
        engine.availability([random.choice(sku_ids)], nodes)
        latencies_us.append((time.perf_counter() - due) * 1e6)


async def import_skus(replica: LocalReplica, new_skus: int) -> tuple[float, int]:
    """Submits the new SKUs as ImportSkus does (one record per chunk, each awaited); seconds, records."""
    records = 0
    started = time.perf_counter()
    for start in range(0, new_skus, limits.CATALOG_SKUS_MAX):
        skus = [Sku(f"NEW-{i}", brand="Acme") for i in range(start, min(start + limits.CATALOG_SKUS_MAX, new_skus))]
        upsert = log_pb2.UpsertSkus(sku_documents=[document.sku_document(sku) for sku in skus])
        outcome = await replica.submit(log_pb2.LogRecord(upsert_skus=upsert))
        assert outcome.applied_count == len(skus), outcome
        records += 1
        await asyncio.sleep(0)  # the next chunk arrives as a new stream message
    return time.perf_counter() - started, records


async def change_while_serving(engine: Engine, hot_ids: list[str], new_skus: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="catalog-growth-") as directory:
        replica = LocalReplica(engine, FileLog(directory))
        await replica.start()
        await replica.submit(stock_record(hot_ids))
        read_before_us = float(np.median(read_us(engine, hot_ids, 5_000)))
        latencies: list[float] = []
        stop = asyncio.Event()
        reading = asyncio.create_task(reader(engine, hot_ids, latencies, stop))
        await asyncio.sleep(0.2)  # reads settle before the change
        idle_from = len(latencies)
        await asyncio.sleep(IDLE_S)  # the same reads with no change going on: this machine's floor
        idle = latencies[idle_from:]
        before = len(latencies)
        change_s, records = await import_skus(replica, new_skus)
        during = latencies[before:]
        stop.set()
        await reading
        await replica.stop()
    return {
        "read_median_us_before": read_before_us,
        "read_p50_ms_idle": float(np.percentile(idle, 50)) / 1000,
        "read_p99_ms_idle": float(np.percentile(idle, 99)) / 1000,
        "records": records,
        "change_seconds": change_s,
        "reads_during_change": len(during),
        "read_p50_ms_during_change": float(np.percentile(during, 50)) / 1000,
        "read_p99_ms_during_change": float(np.percentile(during, 99)) / 1000,
        "read_max_ms_during_change": float(np.max(during)) / 1000,
        "sku_capacity_after": engine.core.sku_capacity,
    }


def after_growth(grown: Engine, built: Engine, hot_ids: list[str]) -> dict[str, object]:
    """Reads and reserves on the grown engine against the built one, alternated rounds; median ratios."""
    reads: dict[str, list[float]] = {"grown": [], "built": []}
    reserves: dict[str, list[float]] = {"grown": [], "built": []}
    for _ in range(ROUNDS):
        for name, engine in (("grown", grown), ("built", built)):
            reads[name].append(float(np.median(read_us(engine, hot_ids, 2_000))))
            reserves[name].append(float(np.median(reserve_us(engine, hot_ids, 1_000))))
    read_ratios = [g / b for g, b in zip(reads["grown"], reads["built"])]
    reserve_ratios = [g / b for g, b in zip(reserves["grown"], reserves["built"])]
    return {
        "read_median_us_grown": float(np.median(reads["grown"])),
        "read_median_us_built": float(np.median(reads["built"])),
        "read_ratio_grown_built": float(np.median(read_ratios)),
        "read_ratios_by_round": read_ratios,
        "reserve_median_us_grown": float(np.median(reserves["grown"])),
        "reserve_median_us_built": float(np.median(reserves["built"])),
        "reserve_ratio_grown_built": float(np.median(reserve_ratios)),
        "reserve_ratios_by_round": reserve_ratios,
    }


def growth(node_count: int, base_skus: int, new_skus: int) -> dict[str, object]:
    with gc_paused_then_frozen():  # as `serve` starts: what start-up built is frozen (gc_pause.py)
        nodes = tuple(Node(f"N{i}", NodeType.STORE) for i in range(node_count))
        network = Network(nodes=nodes, skus=tuple(Sku(f"S{i}") for i in range(base_skus)))
        hot_ids = [sku.sku_id for sku in network.skus[: min(10_000, base_skus)]]  # stocked, read, reserved
        engine = Engine(network)
    result: dict[str, object] = {"positions_before": node_count * base_skus, "skus_added": new_skus}
    result.update(asyncio.run(change_while_serving(engine, hot_ids, new_skus)))
    assert engine.sku(f"NEW-{new_skus - 1}") is not None
    assert engine.core.check_invariants()
    del network
    everything = Network(nodes=nodes, skus=engine.network.skus)
    built = Engine(everything)
    built.apply_record(stock_record(hot_ids), 1)
    result.update(after_growth(engine, built, hot_ids))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--base-skus", type=int, default=100_000)
    parser.add_argument("--json")
    parser.add_argument("--warm-memory-mb", type=int, default=0)
    args = parser.parse_args()
    if args.warm_memory_mb > 0:
        warm = np.ones(args.warm_memory_mb * 2**20 // 8, dtype=np.int64)
        del warm
    times = reconcile_ms()
    result: dict[str, object] = {
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "reconcile_unchanged_3000_skus_ms": times,
        "reconcile_median_ms": float(np.median(times)),
        "warm_memory_mb": args.warm_memory_mb,
    }
    result.update(growth(args.nodes, args.base_skus, args.skus))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            out.write(text + "\n")


if __name__ == "__main__":
    main()
