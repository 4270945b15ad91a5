"""Read throughput of `serve --workers 2` against `--workers 1` on the file log, and memory per worker.

Two servers run side by side on the demo network, each its own data
directory: `serve --workers 1` and `serve --workers 2` (worker 0 writes the
log, worker 1 follows it). h2load (one thread, UNPINNED: the workers, the
load generator and whatever else runs share every core) sends single-SKU
GetAvailability over many connections (SO_REUSEPORT hashes each connection to
a worker; more connections spread them more evenly). Rounds alternate
1, 2, 1, 2 ... so drift on a shared machine hits both alike; the verdict is
the ratio of medians. The answers are checked OK before and after, and
h2load's data bytes per request must match the answer's frame.

Memory: RSS and PSS (/proc/PID/smaps_rollup) of the supervisor and of each
worker of the 2-worker server after the load.

  python -m benchmarks.workers_filelog                  # 5 rounds of 10 s each
  python -m benchmarks.workers_filelog --smoke          # seconds, no verdict
  python -m benchmarks.workers_filelog --json benchmarks/results/workers_filelog.json
  python -m benchmarks.workers_filelog --per-core       # worker i on CPU i (h2load still unpinned)

`--per-core` asks what a second core adds when each worker has one: every
thread of worker i is pinned to CPU i (so the one-worker server gets one
core, the two-worker server two), h2load stays unpinned. Without it a single
worker already spreads over more than one core (gRPC's own threads), which on
a 2-core machine leaves a second worker little to add.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

if __package__ in (None, ""):  # run as `python benchmarks/workers_filelog.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from benchmarks.grpc_ceiling import Server, build_request, check_answer, grpc_frame, load
from dompromise.v1 import inventory_pb2, inventory_pb2_grpc

# The target of issue 19: two file-log workers serve this many times one worker's reads.
SPEEDUP_TARGET = 1.6
# Sequential writes timed through each worker (the writer, and a reader that forwards them).
WRITES_TIMED = 200
# Connections opened at most to find one that reaches a given worker.
CHANNELS_MAX = 64


def start(workers: int, workdir: str) -> Server:
    data = os.path.join(workdir, f"data-{workers}")
    argv = [sys.executable, "-m", "dompromise", "--log-level", "warning", "serve", "--port", "0"]
    argv += ["--data-dir", data, "--workers", str(workers)]
    return Server(f"workers-{workers}", argv, workdir, pin=False)


def pin_per_core(supervisor_pid: int) -> dict[int, int]:
    """Pins every thread of worker i to CPU i (threads started later inherit it); returns {worker: cpu}."""
    pinned = {}
    for index, pid in sorted(worker_pids(supervisor_pid).items()):
        cpu = index % (os.cpu_count() or 1)
        for thread in os.listdir(f"/proc/{pid}/task"):
            os.sched_setaffinity(int(thread), {cpu})
        pinned[index] = cpu
    return pinned


def memory_kib(pid: int) -> dict[str, int]:
    """RSS (status) and PSS (smaps_rollup) of a process, in KiB."""
    found = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                found["rss_kib"] = int(line.split()[1])
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                found["pss_kib"] = int(line.split()[1])
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes used so far, in seconds."""
    ticks = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def worker_pids(supervisor_pid: int) -> dict[int, int]:
    """worker index -> pid of a supervisor's workers (their command lines say --worker-index)."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            if parent != supervisor_pid:
                continue
            with open(f"/proc/{name}/cmdline", "rb") as source:
                argv = source.read().split(b"\0")
        except OSError:
            continue
        if b"--worker-index" in argv:
            found[int(argv[argv.index(b"--worker-index") + 1])] = int(name)
    return found


def channel_to(target: str, worker: int) -> grpc.Channel:
    """A channel of its own connection that reaches `worker` (named by x-dompromise-worker)."""
    for _ in range(CHANNELS_MAX):
        channel = grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        _, call = health_pb2_grpc.HealthStub(channel).Check.with_call(health_pb2.HealthCheckRequest(), timeout=10)
        if dict(call.trailing_metadata()).get("x-dompromise-worker") == str(worker):
            return channel
        channel.close()
    raise RuntimeError(f"no connection reached worker {worker}")


def write_latency_ms(channel: grpc.Channel, sku_id: str) -> dict[str, float]:
    """Median and p99 of WRITES_TIMED sequential one-line UpdateStock calls (each fdatasynced), in ms."""
    stub = inventory_pb2_grpc.InventoryServiceStub(channel)
    times = []
    for index in range(WRITES_TIMED):
        request = inventory_pb2.UpdateStockRequest(
            updates=[inventory_pb2.StockUpdate(sku_id=sku_id, node_id="DC-NAT", kind=1, quantity=100 + index)]
        )
        started = time.perf_counter()
        stub.UpdateStock(request, timeout=10)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": round(times[len(times) // 2], 3), "p99_ms": round(times[int(len(times) * 0.99)], 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per h2load run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each measured run")
    parser.add_argument("--clients", type=int, default=16, help="h2load connections")
    parser.add_argument("--streams", type=int, default=8, help="h2load streams per connection")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="1 round of 1 s: checks it runs, no verdict")
    parser.add_argument("--per-core", action="store_true", help="pin worker i's threads to CPU i")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.duration, args.warmup = 1, 1.0, 0.0
    args.requests, args.pin = 0, False
    with tempfile.TemporaryDirectory(prefix="dp-workers-") as workdir:
        args.workdir = workdir
        result = run(args)
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)
            out.write("\n")
    return 0


def run(args: argparse.Namespace) -> dict:
    servers = {1: start(1, args.workdir), 2: start(2, args.workdir)}
    try:
        pinning = {w: pin_per_core(server.process.pid) for w, server in servers.items()} if args.per_core else {}
        request = build_request(servers[1].target, 1, "basic", args.seed)
        reference = check_answer(servers[1].target, request)
        check_answer(servers[2].target, request)
        frame_path = os.path.join(args.workdir, "request.bin")
        with open(frame_path, "wb") as file:
            file.write(grpc_frame(request.SerializeToString()))
        frame_bytes = len(grpc_frame(reference))
        runs: dict[int, list[float]] = {1: [], 2: []}
        p99: dict[int, list[float]] = {1: [], 2: []}
        loads = [os.getloadavg()[0]]
        cores: dict[int, list[float]] = {1: [], 2: []}
        for round_index in range(args.rounds):
            for workers, server in servers.items():
                pids = list(worker_pids(server.process.pid).values())
                cpu_before, wall_before = cpu_seconds(pids), time.monotonic()
                measured = load(
                    f"workers-{workers}", server.target, frame_path, frame_bytes, args, args.clients, args.streams
                )
                # Cores the workers got over warm-up and run: how much of the machine was theirs.
                cores[workers].append((cpu_seconds(pids) - cpu_before) / (time.monotonic() - wall_before))
                runs[workers].append(measured.rpc_per_s)
                p99[workers].append(measured.p99_ms)
                loads.append(os.getloadavg()[0])
                print(
                    f"  round {round_index + 1} --workers {workers}: {measured.rpc_per_s:8.0f} RPC/s"
                    f"  p50 {measured.p50_ms:.2f} ms  p99 {measured.p99_ms:.2f} ms  cores {cores[workers][-1]:.2f}"
                    f"  load {loads[-1]:.2f}",
                    flush=True,
                )
        for server in servers.values():  # still answering OK after the load
            check_answer(server.target, request, reference)
        writes = {}
        for worker in (0, 1):  # after the read load: its answer above stays the reference
            channel = channel_to(servers[2].target, worker)
            try:
                writes[f"through worker {worker}"] = write_latency_ms(channel, request.sku_ids[0])
            finally:
                channel.close()
        pids = worker_pids(servers[2].process.pid)
        memory = {"supervisor": memory_kib(servers[2].process.pid)}
        memory.update({f"worker {index}": memory_kib(pid) for index, pid in sorted(pids.items())})
    finally:
        for server in servers.values():
            server.stop()
    one, two = statistics.median(runs[1]), statistics.median(runs[2])
    ratio = two / one
    return {
        "what": "single-SKU GetAvailability (basic view), demo network, file log: serve --workers 2 vs --workers 1",
        "how": f"h2load -t 1 -c {args.clients} -m {args.streams}, UNPINNED, "
        + (
            "each worker's threads pinned to its own CPU (worker i on CPU i), "
            if args.per_core
            else "workers UNPINNED (workers, h2load and other load share every core), "
        )
        + f"{args.rounds} alternated rounds of {args.duration:g}s after {args.warmup:g}s warm-up",
        "worker_cpus": {f"workers_{w}": cpus for w, cpus in pinning.items()},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average_1m": {"min": min(loads), "max": max(loads), "median": statistics.median(loads)},
        "rpc_per_s_median": {"workers_1": round(one), "workers_2": round(two)},
        "p99_ms_median": {"workers_1": statistics.median(p99[1]), "workers_2": statistics.median(p99[2])},
        "ratio_2_over_1": round(ratio, 3),
        # CPU the workers got (user + system, per wall second): the ratio is bounded by what the machine gave.
        "worker_cores_median": {
            "workers_1": round(statistics.median(cores[1]), 2),
            "workers_2": round(statistics.median(cores[2]), 2),
        },
        "rpc_per_core_second_median": {
            "workers_1": round(statistics.median(r / c for r, c in zip(runs[1], cores[1]))),
            "workers_2": round(statistics.median(r / c for r, c in zip(runs[2], cores[2]))),
        },
        "target_ratio": SPEEDUP_TARGET,
        "met": None if args.smoke else ratio >= SPEEDUP_TARGET,
        "memory_after_load_workers_2": memory,
        "write_latency_workers_2": writes,
        "write_latency_how": f"{WRITES_TIMED} sequential one-line UpdateStock (Python client), each fdatasynced; "
        "worker 1 forwards to worker 0 and answers once its own tail applied the write",
        "runs": {"workers_1": runs[1], "workers_2": runs[2]},
    }


if __name__ == "__main__":
    raise SystemExit(main())
