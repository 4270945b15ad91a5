"""The shared Redis log, measured (issue 7): cross-instance visibility, write throughput, start-up.

Every run starts its own redis-server (a temp dir, a free port, never 6379)
and `dompromise serve --redis` children on loopback, pinned with taskset:
instances on CPU 0 (instance B of `visibility` on CPU 1), redis-server and
the Python clients on CPU 1. The machine has 2 cores: clients, Redis and the
server share them, so throughput figures are lower bounds.

  python -m benchmarks.redis_bench visibility   # a write on A visible on B: p50/p99 (target p99 <= 5 ms)
  python -m benchmarks.redis_bench reserve      # Reserve RPC/s, AOF everysec and always, and the no-op ceiling
  python -m benchmarks.redis_bench lines        # reserved lines/s, 100 lines per Reserve
  python -m benchmarks.redis_bench startup      # a new instance over 10M positions: start -> SERVING
  python -m benchmarks.redis_bench all --smoke  # every one briefly, answers checked (make bench-smoke)
  ... --json benchmarks/results/redis_X.json

visibility: one client keeps a read waiting on B (GetAvailability with
x-dompromise-min-position = the next position) and then sends the write to A;
the figure is from the write's send to B's answer, so it holds A's append,
Redis, B's tail read and apply, and the waiting read's answer. No polling.

reserve / lines: benchmarks/reserve_load.py's clients (grpc.aio, many calls
in flight, a unique request_id per Reserve) against `serve --redis`, then
against a no-op grpc.aio server whose ReserveInventory returns a
precomputed answer (same clients, same pinning): the ratio ours / ceiling.
Rounds alternate ceiling, everysec, always.

startup: a synthetic network (benchmarks/networks.py, 200 nodes x 50,000
SKUs = 10M positions) is stocked in process, stored in Redis as a snapshot,
followed by CATCH_UP_RECORDS Reserve records in the stream; then a fresh
`dompromise serve --config net.yaml --redis URL` is timed from its start to
the moment it reports SERVING (it prints its port right after).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ""):  # run as `python benchmarks/redis_bench.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import grpc

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER_CPU, OTHER_CPU = 0, 1
# Bounds of every wait here, in seconds.
START_SECONDS_MAX = 120
STOP_SECONDS_MAX = 30
# Start-up benchmark: records in the stream after the snapshot (the default
# --snapshot-every is 50,000: this is the worst case of a catch-up).
CATCH_UP_RECORDS = 50_000
SHARED_REDIS_PORT = 6379


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert port != SHARED_REDIS_PORT, "never the shared Redis"
    return port


def pinned(cpu: int, argv: list[str]) -> list[str]:
    """argv under taskset (not a preexec_fn: forking Python with gRPC threads can deadlock)."""
    return ["taskset", "-c", str(cpu)] + argv if shutil.which("taskset") else argv


class RedisServer:
    """Our own redis-server: temp dir, free port, AOF on with the given fsync policy."""

    def __init__(self, appendfsync: str = "everysec"):
        self.directory = tempfile.mkdtemp(prefix="redis-bench-")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            pinned(
                OTHER_CPU,
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    self.directory,
                    "--save",
                    "",
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    appendfsync,
                    "--maxmemory-policy",
                    "noeviction",
                    "--proto-max-bulk-len",
                    "2gb",
                    "--logfile",
                    "redis.log",
                ],
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + START_SECONDS_MAX
        try:
            while time.monotonic() < deadline:
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.BusyLoadingError):
                    time.sleep(0.05)
        finally:
            client.close()
        raise RuntimeError(f"redis-server on {self.port} did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS_MAX)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


class Child:
    """A server child pinned to `cpu`, ready once it prints "serving on HOST:PORT"."""

    def __init__(self, argv: list[str], cpu: int):
        self.stderr = tempfile.TemporaryFile()
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            pinned(cpu, argv),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=dict(os.environ, PYTHONPATH=REPO),
        )
        self.target = None
        deadline = self.started + START_SECONDS_MAX
        while self.target is None and time.monotonic() < deadline and self.process.poll() is None:
            if select.select([self.process.stdout], [], [], 0.05)[0]:
                match = re.search(rb"serving on (\S+:\d+)", self.process.stdout.readline())
                self.target = match.group(1).decode() if match else None
        self.ready_seconds = time.monotonic() - self.started
        if self.target is None:
            self.stop()
            raise RuntimeError(f"{argv} did not start: {self.log()[-3000:]}")

    def log(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS_MAX)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()


def serve_redis(url: str, cpu: int, *args: str) -> Child:
    return Child(
        [sys.executable, "-m", "dompromise", "--log-level", "info", "serve", "--port", "0", "--redis", url, *args], cpu
    )


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


# ---- a. visibility ---------------------------------------------------------------


def visibility(args) -> dict:
    from dompromise.service.consistency import MIN_POSITION_KEY, POSITION_KEY
    from dompromise.v1 import availability_pb2, availability_pb2_grpc, inventory_pb2, inventory_pb2_grpc

    os.sched_setaffinity(0, {SERVER_CPU})
    rounds = 50 if args.smoke else args.rounds
    redis_server = RedisServer("everysec")
    first = second = None
    try:
        first = serve_redis(redis_server.url, SERVER_CPU)
        second = serve_redis(redis_server.url, OTHER_CPU)
        from dompromise.demo import network as demo

        sku = demo.demo_network().skus[0].sku_id

        async def run():
            async with grpc.aio.insecure_channel(first.target) as a, grpc.aio.insecure_channel(second.target) as b:
                writer = inventory_pb2_grpc.InventoryServiceStub(a)
                reader = availability_pb2_grpc.AvailabilityServiceStub(b)
                read = availability_pb2.GetAvailabilityRequest(
                    sku_ids=[sku], node_ids=["DC-NAT"], view=availability_pb2.AVAILABILITY_VIEW_FULL
                )
                visible, acked, wrong = [], [], 0
                for quantity in range(rounds + 20):  # the first 20 warm up
                    head = await reader.GetAvailability(read, timeout=10)
                    expected = head.log_position + 1  # one writer: the write gets the next position
                    waiting = reader.GetAvailability(read, metadata=((MIN_POSITION_KEY, str(expected)),), timeout=10)
                    await asyncio.sleep(0.002)  # the read is on B, waiting, before the write leaves
                    started = time.perf_counter()
                    write = writer.UpdateStock(
                        inventory_pb2.UpdateStockRequest(
                            updates=[inventory_pb2.StockUpdate(sku_id=sku, node_id="DC-NAT", kind=1, quantity=quantity)]
                        ),
                        timeout=10,
                    )
                    write_done = asyncio.ensure_future(write)
                    answer = await waiting
                    seen = time.perf_counter() - started
                    response = await write_done
                    done = time.perf_counter() - started
                    assert response.log_position == expected, "another writer? positions not as expected"
                    if answer.items[0].node_on_hand_quantities[0] != quantity:
                        wrong += 1
                    assert int(dict(await write.trailing_metadata())[POSITION_KEY]) == expected
                    if quantity >= 20:
                        visible.append(seen)
                        acked.append(done)
                return visible, acked, wrong

        visible, acked, wrong = asyncio.run(run())
    finally:
        for child in (first, second):
            if child is not None:
                child.stop()
        redis_server.stop()
    assert wrong == 0, f"{wrong} reads at the write's position did not see it"
    visible.sort()
    acked.sort()
    return {
        "benchmark": "visibility",
        "rounds": rounds,
        "appendfsync": "everysec",
        "visible_on_b_p50_ms": round(percentile(visible, 0.5) * 1000, 3),
        "visible_on_b_p99_ms": round(percentile(visible, 0.99) * 1000, 3),
        "visible_on_b_max_ms": round(visible[-1] * 1000, 3),
        "write_acked_on_a_p50_ms": round(percentile(acked, 0.5) * 1000, 3),
        "write_acked_on_a_p99_ms": round(percentile(acked, 0.99) * 1000, 3),
        "reads_wrong": wrong,
        "target_p99_ms": 5.0,
    }


# ---- b. / c. throughput ------------------------------------------------------------


def _noop_reserve_server(port_queue, response_bytes: bytes) -> None:
    """A grpc.aio server (ours's options) whose ReserveInventory answers a precomputed response."""
    from dompromise import limits
    from dompromise.v1 import reservation_pb2, reservation_pb2_grpc

    response = reservation_pb2.ReserveInventoryResponse.FromString(response_bytes)

    class Noop(reservation_pb2_grpc.ReservationServiceServicer):
        async def ReserveInventory(self, request, context):
            return response

    async def run():
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", limits.MESSAGE_BYTES_MAX),
                ("grpc.max_send_message_length", limits.MESSAGE_BYTES_MAX),
                ("grpc.so_reuseport", 0),
            ],
            maximum_concurrent_rpcs=limits.CONCURRENT_RPCS_MAX,
        )
        reservation_pb2_grpc.add_ReservationServiceServicer_to_server(Noop(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        print(f"noop serving on 127.0.0.1:{port}", flush=True)
        stopping = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
        await stopping.wait()
        await server.stop(1)

    asyncio.run(run())


def _client_pinned(*args) -> None:
    from benchmarks import reserve_load

    os.sched_setaffinity(0, {OTHER_CPU})
    reserve_load._client(*args)


def drive(target: str, seconds: float, clients: int, in_flight: int, lines: int) -> dict:
    """reserve_load's clients against `target` for `seconds`; acknowledged/s, lines/s, latency."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [
        context.Process(target=_client_pinned, args=(target, seconds, in_flight, lines, n, queue))
        for n in range(clients)
    ]
    for process in processes:
        process.start()
    results = [queue.get(timeout=seconds + START_SECONDS_MAX) for _ in processes]
    for process in processes:
        process.join(STOP_SECONDS_MAX)
    latencies = sorted(latency for result in results for latency in result[0])
    errors = sum(result[1] for result in results)
    return {
        "reserves_per_second": round(len(latencies) / seconds),
        "lines_per_second": round(len(latencies) * lines / seconds),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2) if latencies else None,
        "acknowledged": len(latencies),
        "errors": errors,
    }


def one_reserve_answer(target: str, lines: int) -> bytes:
    from google.protobuf import duration_pb2

    from benchmarks import reserve_load
    from dompromise.v1 import reservation_pb2 as pb
    from dompromise.v1 import reservation_pb2_grpc

    skus = reserve_load._demo_skus()
    with grpc.insecure_channel(target) as channel:
        response = reservation_pb2_grpc.ReservationServiceStub(channel).ReserveInventory(
            pb.ReserveInventoryRequest(
                request_id="bench-reference",
                ttl=duration_pb2.Duration(seconds=2),
                lines=[pb.ReservationLine(sku_id=skus[k], node_id="DC-NAT", quantity=1) for k in range(lines)],
            ),
            timeout=10,
        )
    assert response.HasField("reservation"), "the reference reserve was not held"
    return response.SerializeToString()


def script_calls(url: str) -> int:
    import redis

    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return sum(stats.get(name, {}).get("calls", 0) for name in ("cmdstat_evalsha", "cmdstat_eval"))


def ours_round(appendfsync: str, args, lines: int, in_flight: int) -> dict:
    from benchmarks import reserve_load

    redis_server = RedisServer(appendfsync)
    child = None
    try:
        child = serve_redis(redis_server.url, SERVER_CPU)
        reserve_load._stock_up(child.target)
        one_reserve_answer(child.target, lines)
        calls_before = script_calls(redis_server.url)
        result = drive(child.target, args.seconds, args.clients, in_flight, lines)
        calls = script_calls(redis_server.url) - calls_before
        result["script_calls"] = calls
        result["records_per_script_call"] = round(result["acknowledged"] / calls, 1) if calls else None
        return result
    finally:
        if child is not None:
            child.stop()
        redis_server.stop()


def noop_round(args, lines: int, in_flight: int, response_bytes: bytes) -> dict:
    child = Child(
        [
            sys.executable,
            "-c",
            "import sys; from benchmarks.redis_bench import _noop_reserve_server; "
            "_noop_reserve_server(None, bytes.fromhex(sys.argv[1]))",
            response_bytes.hex(),
        ],
        SERVER_CPU,
    )
    try:
        return drive(child.target, args.seconds, args.clients, in_flight, lines)
    finally:
        child.stop()


def throughput(args, lines: int, in_flight: int, name: str, target: float) -> dict:
    os.sched_setaffinity(0, {OTHER_CPU})
    rounds = 1 if args.smoke else args.rounds
    if args.smoke:
        args.seconds = min(args.seconds, 1.0)
    # The reference answer of the no-op server: one real Reserve of the same shape.
    reference = RedisServer("everysec")
    try:
        child = serve_redis(reference.url, SERVER_CPU)
        try:
            from benchmarks import reserve_load

            reserve_load._stock_up(child.target)
            response_bytes = one_reserve_answer(child.target, lines)
        finally:
            child.stop()
    finally:
        reference.stop()
    runs: dict[str, list[dict]] = {"ceiling": [], "everysec": [], "always": []}
    for _ in range(rounds):
        runs["ceiling"].append(noop_round(args, lines, in_flight, response_bytes))
        runs["everysec"].append(ours_round("everysec", args, lines, in_flight))
        runs["always"].append(ours_round("always", args, lines, in_flight))
    for kind, results in runs.items():
        for result in results:
            assert result["acknowledged"] > 0, f"{kind}: nothing acknowledged"
            assert result["errors"] == 0, f"{kind}: {result['errors']} failed RPCs"
    key = "lines_per_second" if lines > 1 else "reserves_per_second"

    def median(kind, field=key):
        return statistics.median(result[field] for result in runs[kind])

    return {
        "benchmark": name,
        "lines_per_reserve": lines,
        "clients": args.clients,
        "in_flight_per_client": in_flight,
        "seconds_per_round": args.seconds,
        "rounds": rounds,
        "ceiling_median": median("ceiling"),
        "everysec_median": median("everysec"),
        "always_median": median("always"),
        "ratio_everysec_to_ceiling": round(median("everysec") / median("ceiling"), 3),
        "ratio_always_to_ceiling": round(median("always") / median("ceiling"), 3),
        "unit": key,
        "target": target,
        "runs": runs,
    }


# ---- d. start-up over 10M positions --------------------------------------------------


def startup(args) -> dict:
    from benchmarks.networks import synthetic_network
    from dompromise.config import dump_network
    from dompromise.internal.v1 import log_pb2
    from dompromise.inventory.engine import network_fingerprint
    from dompromise.log.redis.log import RedisLog

    os.sched_setaffinity(0, {OTHER_CPU})
    nodes, skus = (20, 5_000) if args.smoke else (args.nodes, args.skus)
    catch_up = 1_000 if args.smoke else CATCH_UP_RECORDS
    workdir = tempfile.mkdtemp(prefix="redis-startup-")
    redis_server = RedisServer("everysec")
    child = None
    try:
        prepared = time.monotonic()
        synthetic = synthetic_network(nodes, skus, seed=1)
        engine, network = synthetic.engine, synthetic.network
        config_path = os.path.join(workdir, "net.yaml")
        with open(config_path, "w") as file:
            file.write(dump_network(network))
        log = RedisLog(redis_server.url)
        log.claim(network_fingerprint(network))
        arrays, meta = engine.export_state()
        position = engine.log_position
        if args.store_constant_arrays:  # every table as bytes: the volume of a snapshot with all in use
            from dompromise.log.redis import log as redis_log

            redis_log.CONSTANT_ELEMENTS_MIN = 2**62
        written = time.monotonic()
        log.write_snapshot(position, arrays, meta)
        snapshot_write_seconds = time.monotonic() - written
        key = log.snapshot_key(position)
        snapshot_chunks = log.client.hlen(key)
        snapshot_bytes = log.snapshot_size(position)
        log.client.hset(log.head_key, mapping={"position": position, "time_ns": engine.core.log_time_ns})
        node_ids = [node.node_id for node in network.nodes]
        sku_ids = [sku.sku_id for sku in network.skus]
        chunk = 1_000
        for first in range(0, catch_up, chunk):
            records = [
                log_pb2.LogRecord(
                    request_id=f"startup-{i}",
                    reserve=log_pb2.Reserve(
                        sku_ids=[sku_ids[(i * 7) % len(sku_ids)]],
                        node_ids=[node_ids[0]],
                        quantities=[1],
                        ttl_ns=3600 * 10**9,
                    ),
                )
                for i in range(first, min(first + chunk, catch_up))
            ]
            count = log.write(
                [r.SerializeToString() for r in records],
                [time.time_ns()] * len(records),
                [b"bench:%d" % (first + k) for k in range(len(records))],
            )
            assert count == len(records)
        head = log.last_position
        log.close()
        prepared = time.monotonic() - prepared
        del synthetic, engine, arrays
        child = serve_redis(redis_server.url, SERVER_CPU, "--config", config_path)
        seconds = child.ready_seconds
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        with grpc.insecure_channel(child.target) as channel:
            status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10).status
            from dompromise.v1 import availability_pb2, availability_pb2_grpc

            answer = availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability(
                availability_pb2.GetAvailabilityRequest(sku_ids=[sku_ids[0]], node_ids=node_ids[:1]), timeout=10
            )
        assert status == health_pb2.HealthCheckResponse.SERVING
        assert answer.log_position >= head, "the new instance did not catch up with the stream"
        caught_up = re.search(
            r"caught up with \S+ to log position (\d+) \((\d+) records applied\) in ([\d.]+)s", child.log()
        )
    finally:
        if child is not None:
            child.stop()
        redis_server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "benchmark": "startup",
        "nodes": nodes,
        "skus": skus,
        "positions": nodes * skus,
        "snapshot_bytes": snapshot_bytes,
        "snapshot_chunks": snapshot_chunks,
        "snapshot_write_seconds": round(snapshot_write_seconds, 2),
        "catch_up_records": catch_up,
        "start_to_serving_seconds": round(seconds, 2),
        "recover_seconds_logged": float(caught_up.group(3)) if caught_up else None,
        "records_applied_logged": int(caught_up.group(2)) if caught_up else None,
        "prepare_seconds": round(prepared, 1),
        "target_seconds": 10.0,
        "constant_arrays_stored_in_full": args.store_constant_arrays,
    }


# ---- main ------------------------------------------------------------------------------


def machine() -> dict:
    def git(*argv: str) -> str:
        try:
            return subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "grpc": grpc.__version__,
        "redis_server": redis_version,
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--", "dompromise", "benchmarks")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.redis_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("which", choices=("visibility", "reserve", "lines", "startup", "all"))
    parser.add_argument("--smoke", action="store_true", help="seconds: small sizes, answers checked, no verdict")
    parser.add_argument("--json", metavar="FILE", help="write the results here too")
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="visibility: writes (default 1,000); reserve/lines: rounds of ceiling, everysec, always (default 3)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="reserve/lines: seconds per load")
    parser.add_argument("--clients", type=int, default=2, help="reserve/lines: client processes")
    parser.add_argument("--nodes", type=int, default=200, help="startup: nodes of the synthetic network")
    parser.add_argument("--skus", type=int, default=50_000, help="startup: SKUs of the synthetic network")
    parser.add_argument(
        "--store-constant-arrays",
        action="store_true",
        help="startup: store arrays of one value in full (760 MB at 10M positions), as in a "
        "snapshot where every table is in use (holds, reasons, rules, backorders, supply)",
    )
    args = parser.parse_args(argv)
    if shutil.which("redis-server") is None:
        print("redis-server not on PATH", file=sys.stderr)
        return 2
    results = []
    chosen = ("visibility", "reserve", "lines", "startup") if args.which == "all" else (args.which,)
    for which in chosen:
        if which == "visibility":
            results.append(visibility(argparse.Namespace(**{**vars(args), "rounds": args.rounds or 1_000})))
        elif which == "reserve":
            results.append(
                throughput(
                    argparse.Namespace(**{**vars(args), "rounds": args.rounds or 3}),
                    lines=1,
                    in_flight=64,
                    name="reserve",
                    target=5_000,
                )
            )
        elif which == "lines":
            results.append(
                throughput(
                    argparse.Namespace(**{**vars(args), "rounds": args.rounds or 3}),
                    lines=100,
                    in_flight=16,
                    name="lines",
                    target=40_000,
                )
            )
        else:
            results.append(startup(args))
        print(json.dumps({key: value for key, value in results[-1].items() if key != "runs"}), flush=True)
    document = {"machine": machine(), "smoke": args.smoke, "results": results}
    if args.json:
        with open(args.json, "w") as file:
            json.dump(document, file, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
