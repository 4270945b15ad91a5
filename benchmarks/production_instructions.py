"""What API keys and metrics cost, counted in instructions: production_overhead's servers under callgrind.

On a shared 2-core machine RPC/s and even CPU time per call swing by 10% between two identical servers;
the instructions a call costs do not. Each server (production_overhead's: plain, production, keys-only,
metrics-only, header-only, and the no-op ceiling) runs under `valgrind --tool=callgrind` with counting
off; h2load warms it up, counting goes on (callgrind_control) for CALLS single-SKU GetAvailability calls,
and the instructions counted (every thread: Python, grpc's core, libc; not the kernel's) are divided by
CALLS. Ratios are against plain, like production_overhead's (plain / production is what RPC/s would be
if instructions were all a call cost).

Callgrind runs one thread at a time: a thread spinning on a mutex another holds spins its whole spin
loop (grpc's absl::Mutex), a cost that comes and goes with the scheduling (~1% of a call, either way):
--repeats averages it out.

  python -m benchmarks.production_instructions --calls 3000 --repeats 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import grpc_ceiling as ceiling
from benchmarks import production_overhead as overhead

# Starting Python and importing grpc under valgrind takes a minute or more on a loaded machine, in seconds.
START_SECONDS_MAX = 900
BEARER = f"authorization: Bearer {overhead.KEY}"
# name -> (server arguments, None for the no-op ceiling; whether calls carry the bearer header).
VARIANTS: dict[str, tuple[list[str] | None, bool]] = {
    "plain": ([], False),
    "header-only": ([], True),
    "keys-only": (["--auth-keys", "KEYS"], True),
    "metrics-only": (["--metrics-port", "0"], False),
    "production": (["--auth-keys", "KEYS", "--metrics-port", "0"], True),
    "ceiling": (None, False),
}


class CountedServer(ceiling.Server):
    """A server under callgrind, counting off until `counting(True)`."""

    def __init__(self, name: str, argv: list[str], workdir: str, pin: bool) -> None:
        self.out_path = os.path.join(workdir, f"callgrind.{name}.out")
        valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={self.out_path}"]
        super().__init__(name, valgrind + argv, workdir, pin)

    def _wait_port(self, timeout_seconds: float) -> int:
        return super()._wait_port(max(timeout_seconds, START_SECONDS_MAX))

    def stop(self) -> None:
        """SIGINT, then the time callgrind takes to drain the server and write its counts."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(START_SECONDS_MAX)

    def counting(self, on: bool) -> None:
        command = ["callgrind_control", "-i", "on" if on else "off", str(self.process.pid)]
        subprocess.run(command, check=True, capture_output=True)

    def instructions(self) -> int:
        """Every instruction counted, once the server stopped (callgrind writes its file then)."""
        with open(self.out_path) as out:  # the last line saying totals: the header's summary may say 0
            totals = [int(line.split()[1]) for line in out if line.startswith("totals:")]
        if not totals:
            raise RuntimeError(f"{self.name}: no totals in {self.out_path}")
        return totals[-1]


def measure(name: str, workdir: str, frame_path: str, args) -> float:
    """Instructions per call of one fresh server of variant `name`."""
    extra, keyed = VARIANTS[name]
    if extra is None:
        argv = [sys.executable, "-m", "benchmarks.servers", "noop", "--response", args.response_path]
    else:
        extra = [args.keys_path if part == "KEYS" else part for part in extra]
        argv = [sys.executable, "-m", "dompromise", "--log-level", "warning", "serve", "--port", "0", "--in-memory"]
        argv += extra
    server = CountedServer(name, argv, workdir, args.pin)
    headers = (BEARER,) if keyed else ()
    try:
        drive(server, frame_path, max(args.calls // 4, 1), headers, args)  # warm-up, not counted
        server.counting(True)
        drive(server, frame_path, args.calls, headers, args)
        server.counting(False)
    finally:
        server.stop()
    return server.instructions() / args.calls


def drive(server: ceiling.Server, frame_path: str, calls: int, headers: tuple[str, ...], args) -> None:
    stats, _ = ceiling.h2load(
        server.target, frame_path, args.clients, args.streams, 0, calls, args.pin, args.workdir, headers=headers
    )
    if stats["failed"] or stats["non_200"] or stats["done"] != calls:
        raise RuntimeError(f"{server.name}: h2load saw failures: {stats}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("-c", "--clients", type=int, default=8)
    parser.add_argument("-m", "--streams", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, of: " + ", ".join(VARIANTS))
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    names = args.variants.split(",")
    unknown = set(names) - set(VARIANTS)
    if unknown or "plain" not in names:
        raise SystemExit(f"--variants: plain and some of {', '.join(VARIANTS)} (unknown: {sorted(unknown)})")
    with tempfile.TemporaryDirectory() as workdir:
        args.workdir = workdir
        args.keys_path = overhead.keys_file(workdir)
        plain = overhead.start("reference", [], workdir, args.pin)  # the request and answer, outside valgrind
        try:
            request = ceiling.build_request(plain.target, 1, "basic", args.seed)
            reference = ceiling.check_answer(plain.target, request)
        finally:
            plain.stop()
        args.response_path = os.path.join(workdir, "response.bin")
        with open(args.response_path, "wb") as file:
            file.write(reference)
        frame_path = os.path.join(workdir, "request.bin")
        with open(frame_path, "wb") as file:
            file.write(ceiling.grpc_frame(request.SerializeToString()))
        counts: dict[str, list[float]] = {name: [] for name in names}
        for repeat in range(args.repeats):
            for name in names:
                counts[name].append(measure(name, workdir, frame_path, args))
                print(f"  repeat {repeat + 1} {name:13} {counts[name][-1]:9.0f} instructions/call", flush=True)
    means = {name: statistics.mean(values) for name, values in counts.items()}
    result = {
        "benchmark": "production_instructions",
        "scenario": "GetAvailability, 1 SKU, basic view, demo network, under callgrind",
        "calls": args.calls,
        "repeats": args.repeats,
        "instructions_per_call": counts,
        "instructions_per_call_mean": {name: round(mean) for name, mean in means.items()},
        # plain's instructions over each's: the RPC/s ratio if instructions were all a call cost.
        "plain_over": {name: round(means["plain"] / mean, 3) for name, mean in means.items()},
        "machine": ceiling.machine(),
    }
    if "header-only" in means and "production" in means:
        result["header_only_over_production"] = round(means["header-only"] / means["production"], 3)
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
