"""GetAvailability's answer built in-process, two ways: the message path (GetAvailability's message,
then SerializeToString) against the bytes written from the core's arrays (GetAvailabilityBytes,
dompromise/wire). No gRPC, no event loop: microseconds per call of each, and of the writer alone.

  python -m benchmarks.wire_encode                     # demo network and 200 x 10,000, 1 and 100 SKUs
  python -m benchmarks.wire_encode --calls 500 --json out.json

Both are timed on the same requests, alternated in blocks of 25 calls (message, bytes, writer, message,
...) so drift on a shared machine hits both alike; medians are reported. Each request names random SKUs (fixed
seed) found in the network; the two answers are checked equal before timing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

if __package__ in (None, ""):  # run as `python benchmarks/wire_encode.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np

from benchmarks.grpc_ceiling import machine
from benchmarks.networks import synthetic_network
from dompromise.demo import network as demo
from dompromise.inventory.engine import Engine
from dompromise.log import MemoryLog
from dompromise.replica.bootstrap import stock_records
from dompromise.replica.local import Replica
from dompromise.service.availability import AvailabilityServicer
from dompromise.v1 import availability_pb2 as pb

VIEWS = {
    "basic": pb.AVAILABILITY_VIEW_BASIC,
    "totals": pb.AVAILABILITY_VIEW_TOTALS,
    "full": pb.AVAILABILITY_VIEW_FULL,
}
SKU_COUNTS = (1, 100)
BLOCK_CALLS = 25


def demo_engine() -> Engine:
    """The demo network and stock of `dompromise serve --in-memory`."""
    network = demo.demo_network()
    replica = Replica(Engine(network), MemoryLog())
    replica.bootstrap(list(stock_records(demo.demo_stock(network))))
    return replica.engine


def finished(coroutine):
    """A handler's result: it never suspends, so one step runs it."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the handler suspended")


def measure(name: str, engine: Engine, sku_count: int, view: str, calls: int, seed: int) -> dict:
    servicer = AvailabilityServicer(engine)
    ids = [sku.sku_id for sku in engine.network.skus]
    rng = np.random.default_rng(seed)
    requests = [
        pb.GetAvailabilityRequest(sku_ids=[ids[i] for i in rng.choice(len(ids), sku_count)], view=VIEWS[view])
        for _ in range(16)
    ]
    get = AvailabilityServicer.GetAvailability.__wrapped__
    get_bytes = AvailabilityServicer.GetAvailabilityBytes.__wrapped__
    nodes = engine.node_selection()
    with_cells = view != "totals"
    for request in requests:
        encoded = finished(get_bytes(servicer, request, None))
        assert encoded == finished(get(servicer, request, None)).SerializeToString(), "the two answers differ"
        assert engine.availability_bytes(request.sku_ids, nodes, with_cells, view == "full", 128) == encoded
    ways = {
        "message_us": lambda r: finished(get(servicer, r, None)).SerializeToString(),
        "bytes_us": lambda r: finished(get_bytes(servicer, r, None)),
        "writer_us": lambda r: engine.availability_bytes(r.sku_ids, nodes, with_cells, view == "full", 128),
    }
    times: dict[str, list[float]] = {way: [] for way in ways}
    # Blocks of BLOCK_CALLS calls each way in turn: each way runs in its own steady state (the message
    # path's garbage would otherwise cool the caches of whichever way comes next); the first call of
    # each block is not counted.
    for block in range(max(calls // BLOCK_CALLS, 1)):
        for way, answer in ways.items():
            for call in range(BLOCK_CALLS + 1):
                request = requests[(block + call) % len(requests)]
                start = time.perf_counter_ns()
                answer(request)
                spent = (time.perf_counter_ns() - start) / 1000
                if call:
                    times[way].append(spent)
    row: dict = {
        "network": name,
        "nodes": len(nodes),
        "skus_per_request": sku_count,
        "view": view,
        "calls": calls,
        "response_bytes": len(encoded_answer(servicer, requests[0])),
    }
    row.update({key: round(statistics.median(values), 2) for key, values in times.items()})
    row["speedup"] = round(row["message_us"] / row["bytes_us"], 1)
    return row


def encoded_answer(servicer: AvailabilityServicer, request: pb.GetAvailabilityRequest) -> bytes:
    answer: bytes = finished(AvailabilityServicer.GetAvailabilityBytes.__wrapped__(servicer, request, None))
    return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.wire_encode", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per case (each way)")
    parser.add_argument("--views", default="basic,totals,full", help="comma list of basic, totals, full")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    info = machine()
    print(f"machine: {info}", flush=True)
    engines = {"demo": demo_engine(), "200x10000": synthetic_network(200, 10_000, args.seed).engine}
    rows = []
    print(
        f"{'network':10} {'SKUs':>4} {'view':6} {'bytes':>8} {'message us':>10} {'bytes us':>9} {'writer us':>9}"
        f" {'x':>6}"
    )
    for name, engine in engines.items():
        for sku_count in SKU_COUNTS:
            for view in args.views.split(","):
                # The 200-node FULL view of 100 SKUs takes ~6 ms on the message path: fewer calls.
                calls = args.calls if sku_count * len(engine.node_selection()) < 10_000 else max(args.calls // 10, 50)
                row = measure(name, engine, sku_count, view, calls, args.seed)
                rows.append(row)
                print(
                    f"{name:10} {sku_count:4} {view:6} {row['response_bytes']:8} {row['message_us']:10.2f}"
                    f" {row['bytes_us']:9.2f} {row['writer_us']:9.2f} {row['speedup']:6.1f}",
                    flush=True,
                )
    info["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3]
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"machine": info, "argv": sys.argv[1:], "results": rows}, out, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
