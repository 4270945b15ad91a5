"""PromiseDelivery of two source trees against the no-op ceiling, in one run: rounds alternate ceiling, A, B.

  python -m benchmarks.promise_ab --a /path/to/base/tree --b . --scenarios promise-1,promise-10 --rounds 5

benchmarks/grpc_ceiling.py measures one tree against the ceiling; on a shared machine two such runs minutes
apart see different loads. Here both trees' servers (`dompromise serve --in-memory`, each from its own tree)
and the no-op one run at once, pinned to CPU 0 with h2load on CPU 1 as grpc_ceiling pins them, and every
round loads the three in turn: "ratio per round" is each tree over the ceiling run just before it. The
answers are checked (tokens aside) equal across the three before and after the load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from benchmarks import grpc_ceiling as ceiling


def start_tree(name: str, tree: str, workdir: str, pin: bool) -> ceiling.Server:
    """`dompromise serve --in-memory` from `tree`'s sources (no bytecode written there); grpc_ceiling.Server
    runs this tree's, so the process is started here and handed to its port wait."""
    argv = [sys.executable, "-m", "dompromise", "--log-level", "warning", "serve", "--port", "0", "--in-memory"]
    if pin:
        argv = ["taskset", "-c", str(ceiling.SERVER_CPU)] + argv
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree), PYTHONDONTWRITEBYTECODE="1")
    server = ceiling.Server.__new__(ceiling.Server)
    server.name, server.log_path = name, os.path.join(workdir, f"{name}.stderr")
    with open(server.log_path, "wb") as log:
        server.process = subprocess.Popen(argv, cwd=os.path.abspath(tree), stdout=subprocess.PIPE, stderr=log, env=env)
    server.port = server._wait_port(timeout_seconds=120)
    server.target = f"127.0.0.1:{server.port}"
    return server


def run(scenario: str, args: argparse.Namespace) -> dict:
    line_count, clients, streams = ceiling.PROMISE_SCENARIOS[scenario]
    servers: dict[str, ceiling.Server] = {}
    try:
        servers["a"] = start_tree("a", args.a, args.workdir, args.pin)
        servers["b"] = start_tree("b", args.b, args.workdir, args.pin)
        request = ceiling.promise_request(line_count)
        reference, stripped = ceiling.check_promise(servers["a"].target, request)
        ceiling.check_promise(servers["b"].target, request, stripped)
        response_path = os.path.join(args.workdir, "response.bin")
        with open(response_path, "wb") as file:
            file.write(reference)
        servers["ceiling"] = ceiling.Server(
            "ceiling",
            [sys.executable, "-m", "benchmarks.servers", "noop", "--service", "promise", "--response", response_path],
            args.workdir,
            args.pin,
        )
        ceiling.check_promise(servers["ceiling"].target, request, stripped)
        frame_path = os.path.join(args.workdir, "request.bin")
        with open(frame_path, "wb") as file:
            file.write(ceiling.grpc_frame(request.SerializeToString()))
        frame_bytes = len(ceiling.grpc_frame(reference))
        rates: dict[str, list[float]] = {name: [] for name in ("ceiling", "a", "b")}
        loads = []
        for round_index in range(args.rounds):
            loads.append(open("/proc/loadavg").read().split()[0])
            for name in ("ceiling", "a", "b"):
                result = ceiling.load(
                    name, servers[name].target, frame_path, frame_bytes, args, clients, streams, ceiling.PROMISE_METHOD
                )
                rates[name].append(result.rpc_per_s)
                print(f"  {scenario} round {round_index + 1} {name:8} {result.rpc_per_s:8.0f} RPC/s", flush=True)
        for name in ("a", "b", "ceiling"):
            ceiling.check_promise(servers[name].target, request, stripped)
    finally:
        for server in servers.values():
            server.stop()
    summary = {"scenario": scenario, "response_bytes": len(reference), "loadavg_1min_per_round": loads}
    for name in ("ceiling", "a", "b"):
        summary[name] = {"rpc_per_s_rounds": rates[name], "rpc_per_s_median": statistics.median(rates[name])}
    for name in ("a", "b"):
        per_round = [x / c for x, c in zip(rates[name], rates["ceiling"])]
        summary[f"ratio_{name}_per_round"] = [round(r, 3) for r in per_round]
        summary[f"ratio_{name}"] = round(statistics.median(per_round), 3)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.promise_ab", description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", required=True, help="a source tree with its core built (the baseline)")
    parser.add_argument("--b", default=".", help="another (default: this one)")
    parser.add_argument("--scenarios", default="promise-1,promise-10")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=6)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    args.requests = 0
    args.pin = len(os.sched_getaffinity(0)) >= 2 and shutil.which("taskset") is not None
    results = []
    with tempfile.TemporaryDirectory(prefix="promise_ab.") as workdir:
        args.workdir = workdir
        for scenario in args.scenarios.split(","):
            results.append(run(scenario, args))
            r = results[-1]
            print(f"{scenario}: ratio a {r['ratio_a']} {r['ratio_a_per_round']}", end="  ")
            print(f"b {r['ratio_b']} {r['ratio_b_per_round']}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                {"machine": ceiling.machine(), "argv": sys.argv[1:], "a": args.a, "b": args.b, "results": results},
                out,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
