"""Our own Python work per WatchAvailability stream message, without gRPC.

  python -m benchmarks.watch_fanout                  # 100 streams, 2,000 writes, 3 rounds
  python -m benchmarks.watch_fanout --streams 10

The demo network's replica and the real servicer, whose WatchAvailability
generators are iterated on one event loop as grpc.aio iterates them, without
gRPC: per write, from the write's answer to the last stream's next message
(the hub marking the streams, each stream's wake-up, its message lookup,
and its encoding when the servicer yields messages for grpc.aio to encode).
All streams watch one SKU at one node (FULL view), as in
benchmarks/watch_latency.py. The rest of a stream message's cost is
grpc.aio's (measure it with `watch_latency --floor`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time

WRITES = 2_000
ROUNDS = 3


class _Context:
    """The servicer context a watch touches only when it ends."""

    async def abort(self, code, details):
        raise RuntimeError(f"{code}: {details}")


async def measure(streams: int, writes: int) -> float:
    """Microseconds per stream message."""
    from dompromise.demo import network as demo
    from dompromise.internal.v1 import log_pb2
    from dompromise.inventory.engine import Engine
    from dompromise.log import MemoryLog
    from dompromise.replica.bootstrap import stock_records
    from dompromise.replica.local import Replica
    from dompromise.replica.watch import WatchHub
    from dompromise.service.availability import AvailabilityServicer
    from dompromise.v1 import availability_pb2

    network = demo.demo_network()
    replica = Replica(Engine(network), MemoryLog())
    replica.bootstrap(list(stock_records(demo.demo_stock(network))))
    servicer = AvailabilityServicer(replica.engine, WatchHub(replica))
    sku_id, node_id = network.skus[0].sku_id, network.nodes[0].node_id
    request = availability_pb2.WatchAvailabilityRequest(
        sku_ids=[sku_id], node_ids=[node_id], view=availability_pb2.AVAILABILITY_VIEW_FULL
    )
    received = [0]
    all_received = asyncio.Event()

    async def stream() -> None:
        async for message in servicer.WatchAvailability(request, _Context()):
            if not isinstance(message, bytes):  # a servicer yielding messages: grpc.aio serializes each
                message.SerializeToString()
            received[0] += 1
            if received[0] == streams:
                all_received.set()

    await replica.start()
    tasks = [asyncio.create_task(stream()) for _ in range(streams)]
    await asyncio.wait_for(all_received.wait(), 30)  # every first message
    record = log_pb2.LogRecord(
        update_on_hand=log_pb2.UpdateOnHand(sku_ids=[sku_id], node_ids=[node_id], ops=[1], quantities=[0])
    )
    total = 0.0
    for number in range(writes):
        received[0] = 0
        all_received.clear()
        record.update_on_hand.quantities[0] = 1_000_000 + number
        await replica.submit(record)
        started = time.perf_counter()
        await all_received.wait()
        total += time.perf_counter() - started
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await replica.stop()
    return 1e6 * total / writes / streams


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.watch_fanout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--writes", type=int, default=WRITES)
    parser.add_argument("--smoke", action="store_true", help="a few writes: checks it runs")
    args = parser.parse_args(argv)
    if args.smoke:
        args.writes = 20
    rounds = [asyncio.run(measure(args.streams, args.writes)) for _ in range(1 if args.smoke else ROUNDS)]
    print(
        json.dumps(
            {
                "benchmark": "watch_fanout",
                "streams": args.streams,
                "writes": args.writes,
                "us_per_stream_message": [round(value, 2) for value in rounds],
                "median_us": round(statistics.median(rounds), 2),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
