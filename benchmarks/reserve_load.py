"""Durable write throughput and recovery time (the reservations issue's targets).

  python -m benchmarks.reserve_load rpc      # Reserve RPCs/s through `dompromise serve --data-dir`
  python -m benchmarks.reserve_load recovery # start-up time after 1M logged commands
  python -m benchmarks.reserve_load ceiling [--json FILE]  # rpc against the no-op ceiling, one run

rpc: a real server on the embedded file log (fdatasync group commit), driven by
client processes running grpc.aio with many calls in flight, each call a
Reserve with a unique request_id and a short TTL; reports acknowledged
reserves/s, lines/s, latency, and the log's records per fdatasync. `--lines N`
sends N lines per Reserve (batched lines). Clients are Python, on the same 2
cores as the server: figures are a lower bound of what the server can do.

ceiling: the durable Reserve against the no-op ceiling in one run, rounds
alternated: `dompromise serve --data-dir` (file log, fdatasync group commit)
and a no-op grpc.aio server answering every ReserveInventory with a response
ours gave (benchmarks/servers.py noop --service reserve: the same bytes on the
wire, no work), each pinned to CPU 0 (taskset), loaded by raw grpc.aio client
processes pinned to CPU 1 (requests serialized ahead, a unique request_id
each, answers not parsed: the cheapest Python client). The ratio is ours /
no-op of acknowledged reserves/s, the medians of the rounds. --in-memory runs
ours on the memory log: what the calls cost without the disk.

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
# Client processes are spawned, not forked: the parent has used gRPC (stocking up, the sample answer) and a
# child forked after that can hang for good in grpc.aio.insecure_channel (seen here: a round never ended).
CLIENTS = multiprocessing.get_context("spawn")


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
        queue = CLIENTS.Queue()
        clients = [
            CLIENTS.Process(target=_client, args=(target, args.seconds, args.in_flight, args.lines, n, queue))
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


def _raw_client(
    target: str, seconds: float, warmup: float, in_flight: int, number: int, cpu: int | None, queue
) -> None:
    """Reserves of one line as fast as `in_flight` calls allow: requests written ahead as bytes (each a unique
    request_id before one of SKU_POOL prepared bodies), answers left as bytes. Counts the calls started after
    `warmup` seconds and finished before `seconds` more."""
    import grpc
    from google.protobuf import duration_pb2

    from dompromise.v1 import reservation_pb2 as pb

    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    bodies = [
        pb.ReserveInventoryRequest(
            ttl=duration_pb2.Duration(seconds=2), lines=[pb.ReservationLine(sku_id=sku, node_id="DC-NAT", quantity=1)]
        ).SerializeToString()
        for sku in _demo_skus()
    ]

    async def run():
        cpu_began = time.process_time()
        latencies, errors, answered = [], 0, 0
        async with grpc.aio.insecure_channel(target) as channel:
            call = channel.unary_unary(
                "/dompromise.v1.ReservationService/ReserveInventory",
                request_serializer=None,
                response_deserializer=None,
            )
            start = time.monotonic() + warmup
            deadline = start + seconds
            sent = 0

            async def worker(worker_number):
                nonlocal sent, errors, answered
                while time.monotonic() < deadline:
                    sent += 1
                    request_id = f"c-{number}-{sent}".encode()
                    request = b"\x0a" + bytes((len(request_id),)) + request_id + bodies[sent % SKU_POOL]
                    started = time.monotonic()
                    try:
                        await call(request, timeout=10)
                    except grpc.RpcError:
                        errors += 1
                        continue
                    answered += 1
                    if started >= start and time.monotonic() <= deadline:
                        latencies.append(time.monotonic() - started)

            await asyncio.gather(*(worker(w) for w in range(in_flight)))
        queue.put((latencies, errors, answered, time.process_time() - cpu_began))

    asyncio.run(run())


def _pinned_server(argv: list[str], cpu: int) -> tuple[subprocess.Popen, str]:
    """A server process pinned to `cpu`; (process, target) once it announced where it serves."""
    process = subprocess.Popen(
        ["taskset", "-c", str(cpu), sys.executable, *argv], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    line = process.stdout.readline()
    if "serving on" not in line:
        process.kill()
        raise RuntimeError(f"{argv} did not start: {line!r}")
    return process, line.strip().rsplit(" ", 1)[-1]


def process_usage(pid: int) -> tuple[float, int, int]:
    """(CPU seconds, voluntary, involuntary context switches) of process `pid` so far, every thread counted
    (Linux /proc): divided by the calls answered meanwhile, the server's cost per call, which stays
    steady on a shared machine where calls/s does not."""
    with open(f"/proc/{pid}/stat") as source:
        fields = source.read().rsplit(")", 1)[1].split()
    cpu_seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: every thread
    voluntary = involuntary = 0
    for thread in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{thread}/status") as source:
                for line in source:
                    if line.startswith("voluntary_ctxt_switches"):
                        voluntary += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        involuntary += int(line.split()[1])
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return cpu_seconds, voluntary, involuntary


def _load_round(target: str, args, server_pid: int) -> dict:
    before = process_usage(server_pid)
    queue = CLIENTS.Queue()
    clients = [
        CLIENTS.Process(
            target=_raw_client, args=(target, args.seconds, args.warmup, args.in_flight, n, args.client_cpu, queue)
        )
        for n in range(args.clients)
    ]
    for client in clients:
        client.start()
    results = [queue.get(timeout=args.seconds + args.warmup + 60) for _ in clients]
    for client in clients:
        client.join(10)
    after = process_usage(server_pid)
    answered = sum(r[2] for r in results) or 1
    latencies = sorted(seconds for r in results for seconds in r[0])
    return {
        "reserves_per_second": round(len(latencies) / args.seconds),
        # The server's CPU (every thread) and context switches over the round, per call answered in it.
        "server_cpu_us_per_call": round((after[0] - before[0]) * 1e6 / answered, 1),
        "voluntary_switches_per_call": round((after[1] - before[1]) / answered, 2),
        # The clients' own CPU (their main threads and gRPC's) per call: a client-bound round shows here.
        "client_cpu_us_per_call": round(sum(r[3] for r in results) * 1e6 / answered, 1),
        "involuntary_switches_per_call": round((after[2] - before[2]) / answered, 2),
        "errors": sum(r[1] for r in results),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2) if latencies else None,
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def _reserve_response_bytes(target: str) -> bytes:
    """One ReserveInventory answer of our server, as bytes: what the no-op server returns."""
    import grpc

    from dompromise.v1 import reservation_pb2 as pb

    request = pb.ReserveInventoryRequest(
        request_id="ceiling-sample", lines=[pb.ReservationLine(sku_id=_demo_skus()[0], node_id="DC-NAT", quantity=1)]
    )
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary("/dompromise.v1.ReservationService/ReserveInventory", request_serializer=None)
        return call(request.SerializeToString(), timeout=10)


# fdatasync calls timed on the data directory's file system before and after the rounds.
FDATASYNC_PROBES = 200


def fdatasync_ms(directory: str) -> dict:
    """p50 / p90 / max of a 200-byte append + fdatasync in `directory`, in ms: the durable figure is bound by it
    (a closed loop waits for every group's sync), and it differs between machines by 100x (0.1 to 10 ms seen)."""
    path = os.path.join(directory, "fdatasync-probe")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    times_ms = []
    try:
        for _ in range(FDATASYNC_PROBES):
            os.write(descriptor, b"x" * 200)
            began = time.perf_counter()
            os.fdatasync(descriptor)
            times_ms.append((time.perf_counter() - began) * 1e3)
    finally:
        os.close(descriptor)
        os.unlink(path)
    times_ms.sort()
    return {
        "p50": round(times_ms[len(times_ms) // 2], 3),
        "p90": round(times_ms[len(times_ms) * 9 // 10], 3),
        "max": round(times_ms[-1], 3),
    }


def ceiling(args) -> dict:
    rounds: dict[str, list[dict]] = {"ours": [], "noop": []}
    response_path = os.path.join(tempfile.mkdtemp(prefix="reserve-ceiling-"), "response.bin")
    fdatasync_before = fdatasync_ms(tempfile.gettempdir())
    for round_number in range(args.rounds):
        for side in args.sides.split(","):
            data = tempfile.mkdtemp(prefix="reserve-ceiling-")
            if side == "ours":
                argv = ["-m", "dompromise", "--log-level", "warning", "serve", "--port", "0"]
                argv += ["--in-memory"] if args.in_memory else ["--data-dir", data]
            else:
                argv = ["-m", "benchmarks.servers", "noop", "--service", "reserve", "--response", response_path]
            server, target = _pinned_server(argv, args.server_cpu)
            try:
                if side == "ours":
                    _stock_up(target)
                    with open(response_path, "wb") as out:
                        out.write(_reserve_response_bytes(target))
                result = _load_round(target, args, server.pid)
            finally:
                server.terminate()
                server.wait(30)
                shutil.rmtree(data, ignore_errors=True)
            rounds[side].append(result)
            print(f"round {round_number + 1} {side}: {result}", file=sys.stderr, flush=True)
    median = {side: _median_of(runs, "reserves_per_second") for side, runs in rounds.items()}
    cpu = {side: _median_of(runs, "server_cpu_us_per_call") for side, runs in rounds.items()}
    return {
        "benchmark": "reserve against the no-op ceiling" + (" (in-memory log: no fsync)" if args.in_memory else ""),
        "clients": args.clients,
        "in_flight_per_client": args.in_flight,
        "seconds_per_round": args.seconds,
        "server_cpu": args.server_cpu,
        "client_cpu": args.client_cpu,
        "response_bytes": os.path.getsize(response_path),
        "ours_median": median["ours"],
        "noop_median": median["noop"],
        "ratio": round(median["ours"] / median["noop"], 3) if median["noop"] else None,
        # The server's CPU per call, medians: no-op / ours is the ratio a CPU-bound server reaches.
        "ours_cpu_us_per_call": cpu["ours"],
        "noop_cpu_us_per_call": cpu["noop"],
        "cpu_ratio": round(cpu["noop"] / cpu["ours"], 3) if cpu["ours"] else None,
        "target_ratio": 0.75,
        "fdatasync_ms_before": fdatasync_before,
        "fdatasync_ms_after": fdatasync_ms(tempfile.gettempdir()),
        "rounds": rounds,
        "loadavg_at_end": os.getloadavg(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
    }


def _median_of(runs: list[dict], key: str) -> float:
    """The median of `key` over a side's rounds (0 for a side not run: --sides)."""
    return statistics.median(run[key] for run in runs) if runs else 0


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
    top = kinds.add_parser("ceiling")
    top.add_argument("--seconds", type=float, default=10)
    top.add_argument("--warmup", type=float, default=2)
    top.add_argument("--rounds", type=int, default=3)
    top.add_argument("--clients", type=int, default=2)
    top.add_argument("--in-flight", type=int, default=32)
    top.add_argument("--server-cpu", type=int, default=0)
    top.add_argument("--client-cpu", type=int, default=1, help="-1: clients not pinned")
    top.add_argument(
        "--sides", default="ours,noop", choices=("ours,noop", "ours"), help="ours alone: its CPU per call, A/B"
    )
    top.add_argument("--in-memory", action="store_true", help="ours on the memory log (no fsync): the CPU's share")
    top.add_argument("--json", help="also write the result here")
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
    if args.kind == "ceiling" and args.client_cpu < 0:
        args.client_cpu = None
    result = rpc(args) if args.kind == "rpc" else ceiling(args) if args.kind == "ceiling" else recovery(args)
    print(json.dumps(result, indent=2))
    if getattr(args, "json", None):
        with open(args.json, "w") as out:
            json.dump(result, out, indent=1)
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
