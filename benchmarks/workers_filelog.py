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

from benchmarks.grpc_ceiling import Server, build_request, check_answer, grpc_frame, load

# The target of issue 19: two file-log workers serve this many times one worker's reads.
SPEEDUP_TARGET = 1.6


def start(workers: int, workdir: str) -> Server:
    data = os.path.join(workdir, f"data-{workers}")
    argv = [sys.executable, "-m", "dompromise", "--log-level", "warning", "serve", "--port", "0"]
    argv += ["--data-dir", data, "--workers", str(workers)]
    return Server(f"workers-{workers}", argv, workdir, pin=False)


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per h2load run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each measured run")
    parser.add_argument("--clients", type=int, default=16, help="h2load connections")
    parser.add_argument("--streams", type=int, default=8, help="h2load streams per connection")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="1 round of 1 s: checks it runs, no verdict")
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
        for round_index in range(args.rounds):
            for workers, server in servers.items():
                measured = load(
                    f"workers-{workers}", server.target, frame_path, frame_bytes, args, args.clients, args.streams
                )
                runs[workers].append(measured.rpc_per_s)
                p99[workers].append(measured.p99_ms)
                loads.append(os.getloadavg()[0])
                print(
                    f"  round {round_index + 1} --workers {workers}: {measured.rpc_per_s:8.0f} RPC/s"
                    f"  p50 {measured.p50_ms:.2f} ms  p99 {measured.p99_ms:.2f} ms  load {loads[-1]:.2f}",
                    flush=True,
                )
        for server in servers.values():  # still answering OK after the load
            check_answer(server.target, request)
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
        "how": f"h2load -t 1 -c {args.clients} -m {args.streams}, UNPINNED (workers, h2load and other load share "
        f"every core), {args.rounds} alternated rounds of {args.duration:g}s after {args.warmup:g}s warm-up",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average_1m": {"min": min(loads), "max": max(loads), "median": statistics.median(loads)},
        "rpc_per_s_median": {"workers_1": round(one), "workers_2": round(two)},
        "p99_ms_median": {"workers_1": statistics.median(p99[1]), "workers_2": statistics.median(p99[2])},
        "ratio_2_over_1": round(ratio, 3),
        "target_ratio": SPEEDUP_TARGET,
        "met": None if args.smoke else ratio >= SPEEDUP_TARGET,
        "memory_after_load_workers_2": memory,
        "runs": {"workers_1": runs[1], "workers_2": runs[2]},
    }


if __name__ == "__main__":
    raise SystemExit(main())
