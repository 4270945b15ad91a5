"""What API keys and metrics cost: single-SKU GetAvailability, plain vs keyed + metered, against the no-op ceiling.

Three servers in one run, each pinned to CPU 0 in turn while h2load drives it
from CPU 1 (benchmarks/grpc_ceiling.py's harness): the no-op ceiling, ours as
the demo serves it (plain, no keys, no metrics), and ours with `--auth-keys`
(every call carries `authorization: Bearer <key>`, checked against a file of
five keys) and `--metrics-port` (every call counted and timed). Rounds
alternate the servers, so drift hits all alike, each round starting one
server later than the last (none always first, or always after the same
one). The issue's
budget: production / plain >= 0.95 (auth + metrics cost <= 5%). With
--noop-pipeline, also the no-op servicer behind our call pipeline
(service/pipeline.py, positions in the metadata): ceiling -> noop-pipeline is
what the pipeline costs, noop-pipeline -> plain what our handler costs.
With --split, also keys alone, metrics alone, and header-only: the plain
server sent the production calls' `authorization` header, which it ignores.
header-only / plain is what the header costs the transport (grpc's HPACK
decoding: nghttp2, h2load's HTTP/2 library, never indexes `authorization`,
so every call carries the value; the metadata handed to Python), paid by any
bearer-token scheme; production / header-only is what our key check and
metrics cost beyond it. The server's CPU per call is reported whole and as
user time alone (the kernel's share swings most with the machine's load);
benchmarks/production_instructions.py counts instructions, steadier still.

  python -m benchmarks.production_overhead --json benchmarks/results/production_overhead.json
  python -m benchmarks.production_overhead --smoke
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import grpc_ceiling as ceiling

KEY = "benchmark-key-" + "b" * 40
# The runs whose calls carry `authorization: Bearer KEY`.
KEYED = ("production", "keys-only", "header-only")
SCOPES = ("availability:read", "promise", "reserve", "inventory:write", "network:admin")


def keys_file(workdir: str) -> str:
    path = os.path.join(workdir, "keys.yaml")
    with open(path, "w") as out:
        out.write("keys:\n")
        for index, scope in enumerate(SCOPES):
            key = KEY if index == 0 else f"other-key-{index}-" + "o" * 40
            out.write(f"  - name: k{index}\n    key: {key}\n    scopes: [{scope}]\n")
    return path


def start(name: str, extra: list[str], workdir: str, pin: bool) -> ceiling.Server:
    argv = [sys.executable, "-m", "dompromise", "--log-level", "warning", "serve", "--port", "0", "--in-memory"]
    return ceiling.Server(name, argv + extra, workdir, pin)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) the process has used so far."""
    user, system = user_system_seconds(pid)
    return user + system


def user_system_seconds(pid: int) -> tuple[float, float]:
    """The process's user and system CPU time so far (every thread)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / os.sysconf("SC_CLK_TCK"), int(fields[12]) / os.sysconf("SC_CLK_TCK")


def load(server: ceiling.Server, name: str, frame_path: str, frame_bytes: int, args, headers=()) -> ceiling.Run:
    """One measured h2load run (after a warm-up); the run's `cpu_us_per_rpc` is the server's CPU time per call,
    steadier than RPC/s when others load the machine."""
    clients, streams = args.clients, args.streams
    if args.warmup:
        ceiling.h2load(
            server.target, frame_path, clients, streams, args.warmup, 0, args.pin, args.workdir, headers=headers
        )
    user_before, system_before = user_system_seconds(server.process.pid)
    stats, latencies = ceiling.h2load(
        server.target,
        frame_path,
        clients,
        streams,
        args.duration,
        args.requests,
        args.pin,
        args.workdir,
        headers=headers,
    )
    if (
        stats["failed"]
        or stats["non_200"]
        or abs(stats["data_bytes"] / stats["done"] - frame_bytes) > 0.01 * frame_bytes
    ):
        raise RuntimeError(f"{name}: h2load saw failures or short answers (a refused call has no body): {stats}")
    user_after, system_after = user_system_seconds(server.process.pid)
    cpu_us_per_rpc = (user_after + system_after - user_before - system_before) / stats["done"] * 1e6
    p50, p99 = (ceiling.np.percentile(latencies, (50, 99)) / 1000).tolist()
    run = ceiling.Run(name, stats["rpc_per_s"], stats["done"], round(p50, 3), round(p99, 3), latencies)
    run.cpu_us_per_rpc = round(cpu_us_per_rpc, 1)  # an attribute of this benchmark's runs only
    # User time alone: what the server's own code (ours, Python, grpc's) costs a call, without the kernel's
    # share (socket calls, thread wake-ups), which swings most with what else runs on the machine.
    run.user_us_per_rpc = round((user_after - user_before) / stats["done"] * 1e6, 1)
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("-c", "--clients", type=int, default=8)
    parser.add_argument("-m", "--streams", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument(
        "--split",
        action="store_true",
        help="also servers with keys only and metrics only, and the plain one sent the bearer header (header-only)",
    )
    parser.add_argument(
        "--noop-pipeline",
        action="store_true",
        help="also the no-op server registered through our call pipeline (service/pipeline.py): what it costs alone",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.duration, args.warmup = 1, 0, 0
    with tempfile.TemporaryDirectory() as workdir:
        args.workdir = workdir
        servers = {}
        try:
            servers["plain"] = start("plain", [], workdir, args.pin)
            servers["production"] = start(
                "production", ["--auth-keys", keys_file(workdir), "--metrics-port", "0"], workdir, args.pin
            )
            request = ceiling.build_request(servers["plain"].target, 1, "basic", args.seed)
            reference = ceiling.check_answer(servers["plain"].target, request)
            response_path = os.path.join(workdir, "response.bin")
            with open(response_path, "wb") as file:
                file.write(reference)
            servers["ceiling"] = ceiling.Server(
                "ceiling",
                [sys.executable, "-m", "benchmarks.servers", "noop", "--response", response_path],
                workdir,
                args.pin,
            )
            if args.noop_pipeline:
                servers["noop-pipeline"] = ceiling.Server(
                    "noop-pipeline",
                    [sys.executable, "-m", "benchmarks.servers", "noop", "--pipeline", "--response", response_path],
                    workdir,
                    args.pin,
                )
            frame_path = os.path.join(workdir, "request.bin")
            with open(frame_path, "wb") as file:
                file.write(ceiling.grpc_frame(request.SerializeToString()))
            frame_bytes = len(ceiling.grpc_frame(reference))
            if args.split:  # each half of the cost alone
                servers["keys-only"] = start("keys-only", ["--auth-keys", keys_file(workdir)], workdir, args.pin)
                servers["metrics-only"] = start("metrics-only", ["--metrics-port", "0"], workdir, args.pin)
            # The plain server sent the production calls' header: what the header costs the transport (HPACK,
            # grpc's metadata), which any bearer-token scheme pays, apart from our check of it.
            targets = dict(servers, **({"header-only": servers["plain"]} if args.split else {}))
            runs: dict[str, list[float]] = {name: [] for name in targets}
            cpu: dict[str, list[float]] = {name: [] for name in targets}
            user: dict[str, list[float]] = {name: [] for name in targets}
            names = list(runs)
            for round_index in range(args.rounds):
                # Each round starts one server later: none always runs first, or right after the same one.
                shift = round_index % len(names)
                for name in names[shift:] + names[:shift]:
                    headers = (f"authorization: Bearer {KEY}",) if name in KEYED else ()
                    run = load(targets[name], name, frame_path, frame_bytes, args, headers)
                    runs[name].append(run.rpc_per_s)
                    cpu[name].append(run.cpu_us_per_rpc)
                    user[name].append(run.user_us_per_rpc)
                    print(
                        f"  round {round_index + 1} {name:13} {run.rpc_per_s:9.0f} RPC/s  p50 {run.p50_ms:.2f} ms"
                        f"  {run.cpu_us_per_rpc:6.1f} us CPU/RPC ({run.user_us_per_rpc:6.1f} user)"
                    )
        finally:
            for server in servers.values():
                server.stop()
    medians = {name: statistics.median(values) for name, values in runs.items()}
    result = {
        "benchmark": "production_overhead",
        "scenario": "GetAvailability, 1 SKU, basic view, demo network (the ceiling harness single scenario)",
        "clients": args.clients,
        "streams": args.streams,
        "rounds": args.rounds,
        "duration_seconds": args.duration,
        "rpc_per_s": runs,
        "rpc_per_s_median": medians,
        "plain_over_ceiling": round(medians["plain"] / medians["ceiling"], 3),
        "production_over_ceiling": round(medians["production"] / medians["ceiling"], 3),
        "production_over_plain": round(medians["production"] / medians["plain"], 3),
        "over_plain": {name: round(median / medians["plain"], 3) for name, median in medians.items()},
        "production_over_plain_per_round": [round(p / q, 3) for p, q in zip(runs["production"], runs["plain"])],
        # The server's CPU time per call (all threads, /proc/PID/stat): the same comparisons, less noisy.
        "cpu_us_per_rpc": cpu,
        "cpu_us_per_rpc_median": {name: statistics.median(values) for name, values in cpu.items()},
        "cpu_plain_over_production": round(statistics.median(cpu["plain"]) / statistics.median(cpu["production"]), 3),
        "cpu_ceiling_over_plain": round(statistics.median(cpu["ceiling"]) / statistics.median(cpu["plain"]), 3),
        "user_us_per_rpc": user,
        "user_us_per_rpc_median": {name: statistics.median(values) for name, values in user.items()},
        "machine": ceiling.machine(),
    }
    if "header-only" in medians:  # the bearer header's transport cost, and what ours costs beyond it
        result["header_only_over_plain"] = round(medians["header-only"] / medians["plain"], 3)
        result["production_over_header_only"] = round(medians["production"] / medians["header-only"], 3)
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
