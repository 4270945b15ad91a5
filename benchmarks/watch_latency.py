"""WatchAvailability change-to-client latency with many subscribers (issue target: p99 <= 5 ms, 100 subscribers).

  python -m benchmarks.watch_latency                 # 100 subscribers, 50 updates/s for 20 s
  python -m benchmarks.watch_latency --smoke         # a few seconds, 10 subscribers (CI)
  python -m benchmarks.watch_latency --json FILE     # also write the result
  python -m benchmarks.watch_latency --no-pin        # do not pin (see below)
  python -m benchmarks.watch_latency --floor         # the same against grpc.aio's floor (below)
  python -m benchmarks.watch_latency --servers 2     # two servers, the subscribers split over them
  python -m benchmarks.watch_latency --redis-workers 2   # serve --redis --workers 2 (needs redis-server)

A real server (`dompromise serve --in-memory`, demo network) in a child
process; SUBSCRIBERS watch streams, split over PROCESSES client processes
running grpc.aio, all watching one SKU at one node; the main process writes
UpdateStock (SET) on that position at RATE per second, each update a distinct,
increasing on-hand quantity, so every arrival matches the update it carries.

Latency of update i on one stream: from just before its UpdateStock call is
sent to the arrival of the first message carrying a quantity >= its own
(coalesced updates count as delivered by the later message that carries
them). It includes the write RPC itself (reported apart as write_rpc_ms), so
it bounds change-to-client from above; the arrival minus the write's answer
(after_write_answer_ms: the change was applied before the writer was
answered) bounds it from below, and may be negative. Every process shares the machine's
cores, as the clients of a real deployment would not: a conservative figure.
Clocks: time.monotonic_ns, one system-wide clock for every process. By
default (2+ CPUs) the server is pinned to CPU 0 and every client process to
CPU 1, as grpc_ceiling does: the server's core is not shared with the
clients' parsing, the clients' core is.

--floor swaps our server for grpc.aio's floor: a bare grpc.aio server in the
same place that answers UpdateStock by encoding one WatchAvailabilityResponse
of the same shape (its quantity, one node, FULL-view fields) and pushing
those bytes to every open stream; no engine, no log, no validation. What our
server adds over it is ours; the rest is grpc.aio's per-stream cost.

--redis-workers N serves from `dompromise serve --redis URL --workers N` over a
redis-server of its own (temp dir, AOF with appendfsync everysec), pinned with
the server; each client process opens several connections (the kernel hashes
each to one worker), the writer one: subscribers on another worker than the
writer's get the change through Redis.

Server and client CPU time while writing (from /proc and process_time) are
reported per message delivered to a stream.
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
import subprocess
import sys
import tempfile
import time

import grpc

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_P99_MS = 5.0
# On-hand quantities written are QUANTITY_BASE + update number.
QUANTITY_BASE = 1_000_000
# Updates before this many are warm-up: sent, not measured.
WARMUP_UPDATES = 20
# Bounds for waits, in seconds.
START_SECONDS_MAX = 60
SUBSCRIBE_SECONDS_MAX = 60
SETTLE_SECONDS = 1.0
SERVER_CPU, CLIENT_CPU = 0, 1
# With --redis-workers: connections per client process (the kernel spreads them over the workers;
# the same for any worker count, so runs differ by the workers only).
REDIS_CONNECTIONS_PER_CLIENT = 8


# ---- the server ------------------------------------------------------------------------


def start_server(pin: bool, floor: bool = False, redis_url: str = "", workers: int = 0) -> tuple[subprocess.Popen, str]:
    """`dompromise serve --in-memory --port 0` (or the floor server) in a child process, and its address once it
    listens."""
    # taskset, not a preexec_fn: Python in a child forked from a process with gRPC
    # threads can deadlock (benchmarks/grpc_ceiling.py hung that way once).
    argv = [sys.executable, "-m", "dompromise", "--log-level", "warning", "serve", "--in-memory", "--port", "0"]
    if floor:
        argv = [sys.executable, "-m", "benchmarks.watch_latency", "--floor-server"]
    if redis_url:
        argv = [
            sys.executable,
            "-m",
            "dompromise",
            "--log-level",
            "warning",
            "serve",
            "--redis",
            redis_url,
            "--workers",
            str(workers),
            "--port",
            "0",
        ]
    if pin and shutil.which("taskset"):
        argv = ["taskset", "-c", str(SERVER_CPU)] + argv
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO)
    deadline = time.monotonic() + START_SECONDS_MAX
    while time.monotonic() < deadline and process.poll() is None:
        if select.select([process.stdout], [], [], 0.2)[0]:
            match = re.search(rb"serving on (\S+:\d+)", process.stdout.readline())
            if match:
                return process, match.group(1).decode()
    process.kill()
    raise RuntimeError("dompromise serve did not start")


def start_redis(pin: bool, directory: str) -> tuple[subprocess.Popen, str]:
    """A redis-server of our own on a free port, files in `directory`; its URL once it answers."""
    import socket

    import redis

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        directory,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--maxmemory-policy",
        "noeviction",
    ]
    if pin and shutil.which("taskset"):
        argv = ["taskset", "-c", str(SERVER_CPU)] + argv
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + START_SECONDS_MAX
    while time.monotonic() < deadline:
        try:
            if client.ping():
                return process, f"redis://127.0.0.1:{port}/0"
        except redis.RedisError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("redis-server did not start")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children (a supervisor's workers)."""
    children = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as source:
            children += [int(child) for child in source.read().split()]
    return process_cpu_seconds(pid) + sum(tree_cpu_seconds(child) for child in children)


def stop_server(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ---- the floor: a bare grpc.aio server ---------------------------------------------------

FLOOR_SKU_ID, FLOOR_NODE_ID = "FLOOR-SKU", "FLOOR-NODE"


def floor_server() -> None:
    """Serves UpdateStock and WatchAvailability as cheaply as grpc.aio allows; prints its address."""
    from dompromise.v1 import availability_pb2, common_pb2, inventory_pb2

    async def serve() -> None:
        streams: list[asyncio.Future] = []
        latest = [b""]

        def encode(version: int, quantity: int) -> bytes:
            item = availability_pb2.SkuAvailability(
                sku_id=FLOOR_SKU_ID,
                status=common_pb2.ITEM_STATUS_OK,
                available_quantity=quantity,
                node_available_quantities=[quantity],
                node_on_hand_quantities=[quantity],
                node_held_quantities=[0],
                node_allocated_quantities=[0],
                node_unavailable_quantities=[0],
                node_safety_stock_quantities=[0],
                node_damaged_quantities=[0],
                node_quarantined_quantities=[0],
                node_inspection_quantities=[0],
                node_display_quantities=[0],
            )
            return availability_pb2.WatchAvailabilityResponse(
                version=version,
                availability=availability_pb2.GetAvailabilityResponse(
                    node_ids=[FLOOR_NODE_ID], items=[item], log_position=version
                ),
            ).SerializeToString()

        version = [1]

        async def watch(request: bytes, context):
            loop = asyncio.get_running_loop()
            sent = 0
            while True:
                if version[0] == sent:  # nothing new: wait (a later update coalesces, as ours do)
                    waiter = loop.create_future()
                    streams.append(waiter)
                    await waiter
                sent = version[0]
                yield latest[0]

        async def update_stock(request, context):
            version[0] += 1
            latest[0] = encode(version[0], request.updates[0].quantity)
            waiting = list(streams)
            streams.clear()
            for waiter in waiting:
                if not waiter.done():
                    waiter.set_result(None)
            return inventory_pb2.UpdateStockResponse(applied_count=1, log_position=version[0])

        latest[0] = encode(1, 0)
        server = grpc.aio.server()
        handlers = {
            "WatchAvailability": grpc.unary_stream_rpc_method_handler(watch),
            "UpdateStock": grpc.unary_unary_rpc_method_handler(
                update_stock,
                request_deserializer=inventory_pb2.UpdateStockRequest.FromString,
                response_serializer=inventory_pb2.UpdateStockResponse.SerializeToString,
            ),
        }
        for service, names in (
            ("dompromise.v1.AvailabilityService", ("WatchAvailability",)),
            ("dompromise.v1.InventoryService", ("UpdateStock",)),
        ):
            server.add_generic_rpc_handlers(
                (grpc.method_handlers_generic_handler(service, {name: handlers[name] for name in names}),)
            )
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        print(f"serving on 127.0.0.1:{port}", flush=True)
        stopping = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
        await stopping.wait()
        await server.stop(0)

    asyncio.run(serve())


def watched_position(target: str) -> tuple[str, str]:
    """The first SKU of the demo network and its first node that takes demand."""
    from dompromise.v1 import availability_pb2, availability_pb2_grpc, network_pb2, network_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        sku_id = (
            network_pb2_grpc.NetworkServiceStub(channel)
            .ListSkus(network_pb2.ListSkusRequest(page_size=1))
            .skus[0]
            .sku_id
        )
        answer = availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability(
            availability_pb2.GetAvailabilityRequest(sku_ids=[sku_id])
        )
    return sku_id, answer.node_ids[0]


# ---- subscribers (client processes) -----------------------------------------------------


def subscriber_process(
    target: str, sku_id: str, node_id: str, streams: int, pin: bool, ready, stop, results, connections: int = 1
) -> None:
    if pin:
        os.sched_setaffinity(0, {CLIENT_CPU})
    asyncio.run(_subscribe(target, sku_id, node_id, streams, ready, stop, results, connections))


async def _subscribe(target, sku_id, node_id, streams, ready, stop, results, connections=1) -> None:
    from dompromise.v1 import availability_pb2, availability_pb2_grpc

    request = availability_pb2.WatchAvailabilityRequest(
        sku_ids=[sku_id], node_ids=[node_id], view=availability_pb2.AVAILABILITY_VIEW_FULL
    )
    arrivals: list[list[tuple[int, int]]] = [[] for _ in range(streams)]
    subscribed = [asyncio.Event() for _ in range(streams)]
    # Each channel its own connection (one worker of several, by the kernel's hash).
    channels = [
        grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)]) for _ in range(connections)
    ]
    async with channels[0]:
        stubs = [availability_pb2_grpc.AvailabilityServiceStub(channel) for channel in channels]
        calls = [stubs[number % connections].WatchAvailability(request) for number in range(streams)]

        async def read(number: int) -> None:
            mine = arrivals[number]
            try:
                async for message in calls[number]:
                    now_ns = time.monotonic_ns()
                    mine.append((message.availability.items[0].node_on_hand_quantities[0], now_ns))
                    subscribed[number].set()
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.CANCELLED:
                    raise

        readers = [asyncio.create_task(read(number)) for number in range(streams)]
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in subscribed)), SUBSCRIBE_SECONDS_MAX)
        ready.put(streams)
        cpu_start = time.process_time()
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        cpu_seconds = time.process_time() - cpu_start
        for call in calls:
            call.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        for channel in channels[1:]:
            await channel.close()
    results.put((arrivals, cpu_seconds))


# ---- measure ------------------------------------------------------------------------------


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def summary_ms(values_ns: list[int]) -> dict:
    ordered = sorted(value / 1e6 for value in values_ns)
    return {
        "p50": round(percentile(ordered, 0.50), 3),
        "p99": round(percentile(ordered, 0.99), 3),
        "max": round(ordered[-1], 3),
        "count": len(ordered),
    }


def latencies(sends: list[tuple[int, int, int]], arrivals: list[tuple[int, int]]) -> tuple[list[int], list[int], int]:
    """Per measured update: the first arrival carrying its quantity or a later one, minus its send
    time and minus its answer time.

    Returns both lists and how many updates never arrived.
    """
    from_send, from_answer, missing, cursor = [], [], 0, 0
    for quantity, sent_ns, answered_ns in sends:
        while cursor < len(arrivals) and arrivals[cursor][0] < quantity:
            cursor += 1
        if cursor == len(arrivals):
            missing += 1
        else:
            from_send.append(arrivals[cursor][1] - sent_ns)
            from_answer.append(arrivals[cursor][1] - answered_ns)
    return from_send, from_answer, missing


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc, clock ticks)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(
    subscribers: int,
    processes: int,
    rate: float,
    seconds: float,
    pin: bool,
    servers: int = 1,
    floor: bool = False,
    redis_workers: int = 0,
) -> dict:
    """One measurement; with servers > 1, that many independent in-memory servers, each written every update
    (the writes sent together, answered when all are) and watched by its share of the client processes:
    what spreading subscribers over worker processes of one shared log would give (minus the log's own hop)."""
    from dompromise.v1 import inventory_pb2, inventory_pb2_grpc

    redis_server, redis_url, connections = None, "", 1
    scratch = tempfile.TemporaryDirectory(prefix="watch-latency-")
    if redis_workers:
        servers, connections = 1, REDIS_CONNECTIONS_PER_CLIENT
        redis_server, redis_url = start_redis(pin, scratch.name)
    started = [start_server(pin, floor, redis_url, redis_workers) for _ in range(servers)]
    if pin:  # the writer shares the clients' CPU
        os.sched_setaffinity(0, {CLIENT_CPU})
    context = multiprocessing.get_context("spawn")
    ready, results, stop = context.Queue(), context.Queue(), context.Event()
    clients, channels = [], []
    try:
        targets = [target for _, target in started]
        sku_id, node_id = (FLOOR_SKU_ID, FLOOR_NODE_ID) if floor else watched_position(targets[0])
        processes = max(processes, servers)
        shares = [subscribers // processes + (1 if k < subscribers % processes else 0) for k in range(processes)]
        clients = [
            context.Process(
                target=subscriber_process,
                args=(targets[k % servers], sku_id, node_id, share, pin, ready, stop, results, connections),
            )
            for k, share in enumerate(shares)
            if share
        ]
        for client in clients:
            client.start()
        subscribed = sum(ready.get(timeout=SUBSCRIBE_SECONDS_MAX) for _ in clients)
        assert subscribed == subscribers, (subscribed, subscribers)
        sends, write_ns = [], []
        channels = [grpc.insecure_channel(target) for target in targets]
        stocks = [inventory_pb2_grpc.InventoryServiceStub(channel) for channel in channels]
        server_pids = [process.pid for process, _ in started] + ([redis_server.pid] if redis_server else [])
        server_cpu_start = sum(tree_cpu_seconds(pid) for pid in server_pids)
        count = WARMUP_UPDATES + int(rate * seconds)
        interval = 1.0 / rate
        next_time = time.monotonic()
        for number in range(1, count + 1):
            quantity = QUANTITY_BASE + number
            next_time += interval
            request = inventory_pb2.UpdateStockRequest(
                updates=[inventory_pb2.StockUpdate(sku_id=sku_id, node_id=node_id, kind=1, quantity=quantity)]
            )
            sent_ns = time.monotonic_ns()
            if servers == 1:
                stocks[0].UpdateStock(request)
            else:
                for future in [stock.UpdateStock.future(request) for stock in stocks]:
                    future.result()
            done_ns = time.monotonic_ns()
            if number > WARMUP_UPDATES:
                sends.append((quantity, sent_ns, done_ns))
                write_ns.append(done_ns - sent_ns)
            time.sleep(max(0.0, next_time - time.monotonic()))
        time.sleep(SETTLE_SECONDS)
        server_cpu_seconds = sum(tree_cpu_seconds(pid) for pid in server_pids) - server_cpu_start
        stop.set()
        reports = [results.get(timeout=SUBSCRIBE_SECONDS_MAX) for _ in clients]
        streams = [stream for arrivals, _ in reports for stream in arrivals]
        client_cpu_seconds = sum(cpu for _, cpu in reports)
    finally:
        stop.set()
        for channel in channels:
            channel.close()
        for client in clients:
            client.join(30)
        for process, _ in started:
            stop_server(process)
        if redis_server is not None:
            stop_server(redis_server)
        scratch.cleanup()
    all_latencies, after_answer, missing, messages = [], [], 0, 0
    for arrivals in streams:
        measured, measured_after_answer, lost = latencies(sends, arrivals)
        all_latencies += measured
        after_answer += measured_after_answer
        missing += lost
        messages += sum(1 for quantity, _ in arrivals if quantity > QUANTITY_BASE + WARMUP_UPDATES)
    latency = summary_ms(all_latencies)
    return {
        "benchmark": "watch_latency",
        "server": (
            "grpc.aio floor"
            if floor
            else f"dompromise serve --redis --workers {redis_workers}"
            if redis_workers
            else "dompromise serve --in-memory"
        ),
        "connections_per_client_process": connections,
        "subscribers": subscribers,
        "servers": servers,
        "client_processes": len(clients),
        "updates": len(sends),
        "rate_per_second": rate,
        "pinned": pin,
        "change_to_client_ms": latency,
        "write_rpc_ms": summary_ms(write_ns),
        "after_write_answer_ms": summary_ms(after_answer),
        "updates_not_delivered": missing,
        "messages_per_update_per_stream": round(messages / max(1, len(sends) * len(streams)), 3),
        # CPU while writing (server: from the first measured write's start to the settle's end;
        # clients: from subscribed to stop), per message delivered to a stream.
        "server_cpu_us_per_message": round(1e6 * server_cpu_seconds / max(1, messages), 1),
        "client_cpu_us_per_message": round(1e6 * client_cpu_seconds / max(1, messages), 1),
        "target_p99_ms": TARGET_P99_MS,
        "target_met": latency["p99"] <= TARGET_P99_MS,
        "machine": machine(),
    }


def machine() -> dict:
    def git(*argv: str) -> str:  # read-only: which code was measured
        return subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True).stdout.strip()

    model = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?"
    )
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted": git("status", "--porcelain", "--", "dompromise").splitlines(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.watch_latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--processes", type=int, default=2, help="client processes the subscribers are split over")
    parser.add_argument(
        "--servers",
        type=int,
        default=1,
        help="independent in-memory servers, each written every update, the subscribers split over them",
    )
    parser.add_argument("--rate", type=float, default=50.0, help="updates per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to write")
    parser.add_argument("--smoke", action="store_true", help="10 subscribers for 2 s: checks it runs, no verdict")
    parser.add_argument("--json", help="also write the result to this file")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="let the OS place every process")
    parser.add_argument("--floor", action="store_true", help="measure a bare grpc.aio server instead of ours")
    parser.add_argument(
        "--redis-workers",
        type=int,
        default=0,
        metavar="N",
        help="serve --redis --workers N over a redis-server of our own",
    )
    parser.add_argument("--floor-server", action="store_true", help=argparse.SUPPRESS)  # the floor's child process
    args = parser.parse_args(argv)
    if args.floor_server:
        floor_server()
        return 0
    args.pin = args.pin and len(os.sched_getaffinity(0)) >= 2
    if args.smoke:
        args.subscribers, args.seconds = min(args.subscribers, 10), 2.0
    result = run(
        args.subscribers,
        args.processes,
        args.rate,
        args.seconds,
        args.pin,
        args.servers,
        args.floor,
        args.redis_workers,
    )
    if args.smoke:  # too short and too few subscribers to judge the target
        result["target_met"] = None
    if result["updates_not_delivered"]:
        print(f"{result['updates_not_delivered']} updates never reached a subscriber", file=sys.stderr)
        return 1
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as file:
            file.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
