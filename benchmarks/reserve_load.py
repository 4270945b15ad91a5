"""Durable write throughput and recovery time (the reservations issue's targets).

  python -m benchmarks.reserve_load rpc      # Reserve RPCs/s through `dompromise serve --data-dir`
  python -m benchmarks.reserve_load recovery # start-up time after 1M logged commands

rpc: a real server on the embedded file log (fdatasync group commit), driven by
client processes running grpc.aio with many calls in flight, each call a
Reserve with a unique request_id and a short TTL; reports acknowledged
reserves/s, lines/s, latency, and the log's records per fdatasync. `--lines N`
sends N lines per Reserve (batched lines). Clients are Python, on the same 2
cores as the server: figures are a lower bound of what the server can do.

recovery: appends COMMANDS reserve records to a file log through the replica
(snapshots every --snapshot-every records, as `serve` does), then times a
cold Replica.recover() with snapshots; --worst-case then moves the newest
snapshot aside and times the recovery from the one before it (a whole
interval of records to replay).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SKU_POOL = 500


def _demo_skus() -> list[str]:
    from dompromise.demo import network as demo

    return [sku.sku_id for sku in demo.demo_network().skus[:SKU_POOL]]


def _client(target: str, seconds: float, in_flight: int, lines: int, number: int, queue) -> None:
    import grpc
    from google.protobuf import duration_pb2

    from dompromise.v1 import reservation_pb2 as pb
    from dompromise.v1 import reservation_pb2_grpc

    skus = _demo_skus()

    async def run():
        latencies, errors = [], 0
        async with grpc.aio.insecure_channel(target) as channel:
            stub = reservation_pb2_grpc.ReservationServiceStub(channel)
            deadline = time.monotonic() + seconds
            sent = 0

            async def worker(worker_number):
                nonlocal sent, errors
                while time.monotonic() < deadline:
                    sent += 1
                    first = (sent * 7 + worker_number) % SKU_POOL
                    request = pb.ReserveInventoryRequest(
                        request_id=f"bench-{number}-{worker_number}-{sent}",
                        ttl=duration_pb2.Duration(seconds=2),
                        lines=[
                            pb.ReservationLine(sku_id=skus[(first + k) % SKU_POOL], node_id="DC-NAT", quantity=1)
                            for k in range(lines)
                        ],
                    )
                    started = time.perf_counter()
                    try:
                        await stub.ReserveInventory(request, timeout=10)
                        latencies.append(time.perf_counter() - started)
                    except grpc.RpcError:
                        errors += 1

            await asyncio.gather(*(worker(w) for w in range(in_flight)))
        queue.put((latencies, errors))

    asyncio.run(run())


def rpc(args) -> dict:
    data = tempfile.mkdtemp(prefix="reserve-load-")
    server = subprocess.Popen(
        [sys.executable, "-m", "dompromise", "serve", "--port", "0", "--data-dir", data],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    target = server.stdout.readline().strip().rsplit(" ", 1)[-1]
    try:
        _stock_up(target)
        queue = multiprocessing.Queue()
        clients = [
            multiprocessing.Process(target=_client, args=(target, args.seconds, args.in_flight, args.lines, n, queue))
            for n in range(args.clients)
        ]
        started = time.monotonic()
        for client in clients:
            client.start()
        results = [queue.get(timeout=args.seconds + 60) for _ in clients]
        elapsed = time.monotonic() - started
        for client in clients:
            client.join(10)
    finally:
        server.terminate()
        server.wait(30)
    latencies = sorted(line for r in results for line in r[0])
    acknowledged = len(latencies)
    log_bytes = sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data) if f.endswith(".log"))
    return {
        "lines_per_reserve": args.lines,
        "clients": args.clients,
        "in_flight_per_client": args.in_flight,
        "seconds": round(elapsed, 2),
        "acknowledged": acknowledged,
        "errors": sum(r[1] for r in results),
        "reserves_per_second": round(acknowledged / args.seconds),
        "lines_per_second": round(acknowledged * args.lines / args.seconds),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2) if latencies else None,
        "log_bytes": log_bytes,
    }


def _stock_up(target: str) -> None:
    import grpc

    from dompromise.v1 import inventory_pb2, inventory_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        inventory_pb2_grpc.InventoryServiceStub(channel).UpdateStock(
            inventory_pb2.UpdateStockRequest(
                updates=[
                    inventory_pb2.StockUpdate(sku_id=sku, node_id="DC-NAT", kind=1, quantity=10**12)
                    for sku in _demo_skus()
                ]
            )
        )


def recovery(args) -> dict:
    from dompromise.demo import network as demo
    from dompromise.internal.v1 import log_pb2
    from dompromise.inventory.engine import Engine
    from dompromise.log import FileLog
    from dompromise.replica.bootstrap import stock_records
    from dompromise.replica.local import Replica

    network = demo.demo_network()
    skus = _demo_skus()
    data = tempfile.mkdtemp(prefix="recovery-")
    writer = Replica(Engine(network), FileLog(data), snapshot_directory=data)
    writer.bootstrap([writer.status_changes(), *stock_records([])])
    writer.bootstrap(
        [
            log_pb2.LogRecord(
                update_on_hand=log_pb2.UpdateOnHand(
                    sku_ids=skus, node_ids=["DC-NAT"] * len(skus), ops=[1] * len(skus), quantities=[10**12] * len(skus)
                )
            )
        ]
    )
    started = time.monotonic()
    chunk = 10_000
    for first in range(0, args.commands, chunk):
        writer.bootstrap(
            [
                log_pb2.LogRecord(
                    request_id=f"r{i}",
                    reserve=log_pb2.Reserve(
                        sku_ids=[skus[i % SKU_POOL]], node_ids=["DC-NAT"], quantities=[1], ttl_ns=3600 * 10**9
                    ),
                )
                for i in range(first, min(first + chunk, args.commands))
            ]
        )
        if (
            writer.engine.log_position // args.snapshot_every
            != (writer.engine.log_position - chunk) // args.snapshot_every
        ):
            writer.snapshot_now()
    written_seconds = time.monotonic() - started
    final_digest = writer.engine.core.digest()
    writer.close()

    def timed() -> tuple[list[float], int]:
        timings = []
        for _ in range(args.repeat):
            started = time.monotonic()
            reader = Replica(Engine(network), FileLog(data), snapshot_directory=data)
            replayed = reader.recover()
            timings.append(time.monotonic() - started)
            assert reader.engine.core.digest() == final_digest, "recovered state differs"
            reader.close()
        return timings, replayed

    timings, replayed = timed()
    result = {
        "commands": args.commands,
        "snapshot_every": args.snapshot_every,
        "write_seconds": round(written_seconds, 1),
        "recover_seconds_median": round(statistics.median(timings), 3),
        "recover_seconds_all": [round(t, 3) for t in timings],
        "records_replayed_after_snapshot": replayed,
    }
    if args.worst_case:
        # The newest snapshot moved aside: the one before it plus a whole interval of records to replay.
        from dompromise.log.snapshot import snapshot_paths

        newest = snapshot_paths(data)[-1]
        os.rename(newest, newest + ".aside")
        timings, replayed = timed()
        result.update(
            worst_recover_seconds_median=round(statistics.median(timings), 3),
            worst_recover_seconds_all=[round(t, 3) for t in timings],
            worst_records_replayed_after_snapshot=replayed,
        )
    shutil.rmtree(data, ignore_errors=True)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reserve_load", description=__doc__.split("\n\n")[0])
    kinds = parser.add_subparsers(dest="kind", required=True)
    load = kinds.add_parser("rpc")
    load.add_argument("--seconds", type=float, default=10)
    load.add_argument("--clients", type=int, default=2)
    load.add_argument("--in-flight", type=int, default=64)
    load.add_argument("--lines", type=int, default=1)
    rec = kinds.add_parser("recovery")
    rec.add_argument("--commands", type=int, default=1_000_000)
    rec.add_argument("--snapshot-every", type=int, default=50_000)
    rec.add_argument("--repeat", type=int, default=3)
    rec.add_argument(
        "--worst-case",
        action="store_true",
        help="then move the newest snapshot aside and time again (an interval of records to replay)",
    )
    args = parser.parse_args(argv)
    result = rpc(args) if args.kind == "rpc" else recovery(args)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
