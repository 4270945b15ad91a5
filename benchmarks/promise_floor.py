"""How close PromiseDelivery could get to the no-op ceiling with a free handler: our server with its handler
answering fixed bytes ("floor"), beside the ceiling and our real server, in alternating rounds.

  python -m benchmarks.promise_floor --rounds 4

The floor server is `dompromise serve --in-memory` (the demo network) with
PromiseServicer.PromiseDeliveryBytes replaced, in that process only, by a
coroutine returning the answer our real server gave (read from a file): the
same interceptors, metadata, decoding and framing, no promise. floor / ceiling
is what the stack around the handler leaves; ours / floor what the handler costs.
Pinned as grpc_ceiling pins (server on CPU 0, h2load -c 4 -m 4 on CPU 1).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile

from benchmarks import grpc_ceiling as ceiling
from benchmarks.promise_ab import start_tree

NAMES = ("ceiling", "floor", "ours")


def serve_floor(response_path: str) -> int:
    """Runs the floor server (this process): PromiseDelivery answers the bytes in `response_path`."""
    from dompromise import cli
    from dompromise.service import promise

    with open(response_path, "rb") as file:
        data = file.read()

    async def fixed(self: object, request: object, context: object) -> bytes:
        return data

    promise.PromiseServicer.PromiseDeliveryBytes = fixed  # type: ignore[method-assign]
    return cli.main(["--log-level", "warning", "serve", "--port", "0", "--in-memory"])


def measure(args: argparse.Namespace, line_count: int) -> dict:
    servers: dict[str, ceiling.Server] = {}
    try:
        servers["ours"] = start_tree("ours", ".", args.workdir, args.pin)
        request = ceiling.promise_request(line_count)
        reference, stripped = ceiling.check_promise(servers["ours"].target, request)
        path = os.path.join(args.workdir, "response.bin")
        with open(path, "wb") as file:
            file.write(reference)
        noop = [sys.executable, "-m", "benchmarks.servers", "noop", "--service", "promise", "--response", path]
        servers["ceiling"] = ceiling.Server("ceiling", noop, args.workdir, args.pin)
        floor = [sys.executable, "-m", "benchmarks.promise_floor", "--serve-floor", path]
        servers["floor"] = ceiling.Server("floor", floor, args.workdir, args.pin)
        for name in NAMES:
            ceiling.check_promise(servers[name].target, request, stripped)
        frame = os.path.join(args.workdir, "request.bin")
        with open(frame, "wb") as file:
            file.write(ceiling.grpc_frame(request.SerializeToString()))
        size = len(ceiling.grpc_frame(reference))
        rates: dict[str, list[float]] = {name: [] for name in NAMES}
        loads = []
        for round_index in range(args.rounds):
            loads.append(open("/proc/loadavg").read().split()[0])
            for name in NAMES:
                run = ceiling.load(name, servers[name].target, frame, size, args, 4, 4, ceiling.PROMISE_METHOD)
                rates[name].append(run.rpc_per_s)
                print(f"  {line_count} line(s) round {round_index + 1} {name:8} {run.rpc_per_s:8.0f} RPC/s", flush=True)
    finally:
        for server in servers.values():
            server.stop()
    result: dict = {"order_lines": line_count, "loadavg_1min_per_round": loads, "rpc_per_s_rounds": rates}
    for name in ("floor", "ours"):
        per_round = [x / c for x, c in zip(rates[name], rates["ceiling"])]
        result[f"{name}_ratio_per_round"] = [round(r, 3) for r in per_round]
        result[f"{name}_ratio"] = round(statistics.median(per_round), 3)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.promise_floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--lines", default="1", help="comma list of order sizes (grpc_ceiling's garage order)")
    parser.add_argument("--duration", type=float, default=6)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--serve-floor", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_floor:
        return serve_floor(args.serve_floor)
    args.requests, args.pin = 0, len(os.sched_getaffinity(0)) >= 2
    results = []
    with tempfile.TemporaryDirectory(prefix="promise_floor.") as workdir:
        args.workdir = workdir
        for line_count in [int(n) for n in args.lines.split(",")]:
            results.append(measure(args, line_count))
            r = results[-1]
            print(f"{line_count} line(s): floor/ceiling {r['floor_ratio']}, ours/ceiling {r['ours_ratio']}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"machine": ceiling.machine(), "argv": sys.argv[1:], "results": results}, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
