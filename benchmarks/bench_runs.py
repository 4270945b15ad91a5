"""Full runs of `dompromise bench` for BENCHMARKS.md, and its CI smoke run.

  python -m benchmarks.bench_runs smoke       # CI, about 10 s: the CLI end to end, answers checked
  python -m benchmarks.bench_runs workloads --rounds 3 --json benchmarks/results/bench_workloads.json
  python -m benchmarks.bench_runs sweep --json benchmarks/results/bench_open_loop.json \\
      --png benchmarks/results/bench_open_loop.png

Every run of ours is `dompromise serve --data-dir <fresh tmp>` (the durable
default: file log, fdatasync group commit) on the demo network, loaded by the
driver's Python client processes on the same machine.

workloads: per round, a no-op grpc.aio ceiling (benchmarks/servers.py noop,
answering every GetAvailability with the bytes ours gives for one SKU) and
ours under the same pure-availability load, then ours under the mixed
(80% availability, 15% promise, 5% reserve + commit/release) and the pure
reserve + commit/release loads. Closed loop, --processes x --in-flight.

sweep: open loop at several target rates of the mixed workload, latency from
the intended send time; plots p50 / p99 / p99.9 against the achieved rate.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile

if __package__ in (None, ""):  # run as `python benchmarks/bench_runs.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.servers import dompromise_serve
from dompromise.client.bench import driver
from dompromise.client.bench.options import DEFAULT_MIX, BenchConfig

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_TIMEOUT_SECONDS = 120
SWEEP_RATES = (200, 400, 600, 800, 1000, 1200, 1400, 1600, 2000)


def problems(document: dict) -> list[str]:
    """What is wrong with a bench result: errors where none may be, percentiles out of order, nothing done."""
    found = []
    if document["operations"]["ok"] == 0:
        found.append("no operation completed")
    for kind, stats in document["kinds"].items():
        if stats["ok"]:
            latency = stats["latency_ms"]
            if not 0 < latency["p50"] <= latency["p99"] <= latency["p99_9"] <= latency["max"]:
                found.append(f"{kind}: percentiles out of order {latency}")
        allowed = {"UNIMPLEMENTED"} if kind == "promise" else set()  # the promise engine is not built yet
        unexpected = {code: n for code, n in stats["failed_by_code"].items() if code not in allowed}
        if unexpected:
            found.append(f"{kind}: failed {unexpected}")
    if document.get("contended", {}).get("oversell"):
        found.append(f"oversell {document['contended']['oversell']}")
    return found


def run_cli(target: str, *args: str) -> dict:
    """`python -m dompromise bench` as a user runs it; returns its JSON."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "bench.json")
        done = subprocess.run(
            [sys.executable, "-m", "dompromise", "bench", "--target", target, "--json", path, "--quiet", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=BENCH_TIMEOUT_SECONDS,
        )
        print(done.stdout, end="", flush=True)
        if done.returncode != 0:
            raise SystemExit(f"dompromise bench exited {done.returncode}:\n{done.stderr}")
        with open(path) as file:
            return json.load(file)


def smoke(args) -> int:
    failures = []
    with dompromise_serve() as target:
        closed = run_cli(target, "--mix", DEFAULT_MIX, "--duration", "2", "--warmup", "0.5", "--in-flight", "8")
        failures += [f"closed loop: {p}" for p in problems(closed)]
        if closed["kinds"]["reserve"]["ok"] == 0:
            failures.append("closed loop: no reserve completed")
        rate = 200
        opened = run_cli(
            target, "--mix", "availability=90,reserve=10", "--rate", str(rate), "--duration", "1.5", "--warmup", "0.3"
        )
        failures += [f"open loop: {p}" for p in problems(opened)]
        achieved = opened["open_loop"]["achieved_ops_per_second"]
        if abs(achieved - rate) > 0.1 * rate:
            failures.append(f"open loop: achieved {achieved} ops/s, scheduled {rate}")
    for failure in failures:
        print(f"bench smoke: FAILED: {failure}", file=sys.stderr)
    print("bench smoke: ok" if not failures else "bench smoke: FAILED")
    return 1 if failures else 0


def _availability_response(target: str, path: str) -> None:
    """The bytes ours answers for one stocked SKU: what the no-op ceiling returns to every request."""
    import grpc

    from dompromise.v1 import availability_pb2, availability_pb2_grpc

    plan, _ = driver.prepare(BenchConfig(target=target, mix="availability"))
    with grpc.insecure_channel(target) as channel:
        response = availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability(
            availability_pb2.GetAvailabilityRequest(sku_ids=plan.sku_ids[:1]), timeout=10
        )
    with open(path, "wb") as file:
        file.write(response.SerializeToString())


def _noop_ceiling(config: BenchConfig, workdir: str) -> dict:
    """The same pure-availability load against the no-op server (catalogue read from ours)."""
    from benchmarks.grpc_ceiling import Server

    response_path = os.path.join(workdir, "response.bin")
    with dompromise_serve("--in-memory") as ours:
        _availability_response(ours, response_path)
        plan, setup = driver.prepare(dataclasses.replace(config, target=ours))
    noop = Server(
        "ceiling", [sys.executable, "-m", "benchmarks.servers", "noop", "--response", response_path], workdir, pin=False
    )
    try:
        plan = dataclasses.replace(plan, target=noop.target)
        tallies = driver.run_clients(config, driver.client_main, plan)
        document = driver.summarize(dataclasses.replace(config, target=noop.target), plan, setup, tallies)
    finally:
        noop.stop()
    return document


def _row(document: dict, kind: str | None = None) -> dict:
    stats = document["kinds"][kind] if kind else document["operations"]
    return {
        "ok_per_second": stats["ok_per_second"],
        "p50_ms": stats["latency_ms"]["p50"],
        "p99_ms": stats["latency_ms"]["p99"],
        "p99_9_ms": stats["latency_ms"]["p99_9"],
        "failed_by_code": stats["failed_by_code"],
        "rpc_ok_per_second": document["rpc_totals"]["ok_per_second"],
    }


def workloads(args) -> int:
    base = dict(
        processes=args.processes,
        in_flight=args.in_flight,
        duration_seconds=args.duration,
        warmup_seconds=args.warmup,
        quiet=True,
    )
    names = ("ceiling-availability", "availability", "mixed", "reserve")
    runs: dict[str, list[dict]] = {name: [] for name in names}
    failures = []
    with tempfile.TemporaryDirectory(prefix="bench_runs.") as workdir:
        for number in range(args.rounds):
            runs["ceiling-availability"].append(
                _noop_ceiling(BenchConfig(target="", mix="availability", **base), workdir)
            )
            with dompromise_serve() as target:
                for name, mix in (("availability", "availability"), ("mixed", DEFAULT_MIX), ("reserve", "reserve")):
                    document = driver.run(BenchConfig(target=target, mix=mix, **base))
                    failures += [f"round {number + 1} {name}: {p}" for p in problems(document)]
                    runs[name].append(document)
            print(
                f"round {number + 1}: "
                + "  ".join(f"{name} {runs[name][-1]['operations']['ok_per_second']:,.0f} ops/s" for name in names),
                flush=True,
            )
    summary = {}
    for name in names:
        rows = [_row(d) for d in runs[name]]
        summary[name] = {
            key: statistics.median(r[key] for r in rows)
            for key in ("ok_per_second", "p50_ms", "p99_ms", "p99_9_ms", "rpc_ok_per_second")
        }
        summary[name]["per_round_ok_per_second"] = [r["ok_per_second"] for r in rows]
        if name == "mixed":
            summary[name]["kinds"] = {
                kind: statistics.median(_row(d, kind)["ok_per_second"] for d in runs[name])
                for kind in runs[name][0]["kinds"]
            }
            summary[name]["failed_by_code_round1"] = rows[0]["failed_by_code"]
    paired = [
        o["operations"]["ok_per_second"] / c["operations"]["ok_per_second"]
        for c, o in zip(runs["ceiling-availability"], runs["availability"])
    ]
    summary["availability"]["ratio_to_ceiling_per_round"] = [round(r, 3) for r in paired]
    summary["availability"]["ratio_to_ceiling_median"] = round(statistics.median(paired), 3)
    result = {
        "machine": _machine(),
        "argv": sys.argv[1:],
        "config": base,
        "summary": summary,
        "runs": runs,
        "failures": failures,
    }
    print(json.dumps(summary, indent=1))
    _write(args.json, result)
    for failure in failures:
        print(f"bench_runs: FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def sweep(args) -> int:
    rates = [float(r) for r in args.rates.split(",")] if args.rates else list(SWEEP_RATES)
    base = dict(processes=args.processes, duration_seconds=args.duration, warmup_seconds=args.warmup, quiet=True)
    points = []
    with dompromise_serve() as target:
        closed = driver.run(BenchConfig(target=target, mix=DEFAULT_MIX, in_flight=args.in_flight, **base))
        print(
            f"closed loop {args.processes} x {args.in_flight}: {closed['operations']['ok_per_second']:,.0f} ops/s",
            flush=True,
        )
        for rate in rates:
            document = driver.run(BenchConfig(target=target, mix=DEFAULT_MIX, rate=rate, **base))
            latency = document["operations"]["latency_ms"]
            point = {
                "target_rate": rate,
                "achieved_rate": document["open_loop"]["achieved_ops_per_second"],
                "ok_per_second": document["operations"]["ok_per_second"],
                "p50_ms": latency["p50"],
                "p99_ms": latency["p99"],
                "p99_9_ms": latency["p99_9"],
                "max_ms": latency["max"],
                "send_lag_p99_ms": document["open_loop"]["send_lag_ms"]["p99"],
                "failed_by_code": document["operations"]["failed_by_code"],
                "document": document,
            }
            points.append(point)
            print(
                f"target {rate:7,.0f}  achieved {point['achieved_rate']:8,.1f}  p50 {point['p50_ms']} ms  "
                f"p99 {point['p99_ms']} ms  p99.9 {point['p99_9_ms']} ms  driver lag p99 "
                f"{point['send_lag_p99_ms']} ms",
                flush=True,
            )
    result = {
        "machine": _machine(),
        "argv": sys.argv[1:],
        "mix": DEFAULT_MIX,
        "config": base,
        "closed_loop_ok_per_second": closed["operations"]["ok_per_second"],
        "closed_loop": closed,
        "points": points,
    }
    _write(args.json, result)
    if args.png:
        plot(result, args.png)
    return 0


def plot(result: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = result["points"]
    achieved = [p["achieved_rate"] for p in points]
    figure, axes = plt.subplots(figsize=(8, 5))
    for key, label, style in (("p50_ms", "p50", "o-"), ("p99_ms", "p99", "s-"), ("p99_9_ms", "p99.9", "^--")):
        axes.plot(achieved, [p[key] for p in points], style, label=label)
    for point in points:  # which target rate each point ran at: overloaded points fall short of it
        axes.annotate(
            f"{point['target_rate']:,.0f}",
            (point["achieved_rate"], point["p99_ms"]),
            textcoords="offset points",
            xytext=(4, 6),
            fontsize=7,
            color="dimgrey",
        )
    axes.axvline(
        result["closed_loop_ok_per_second"],
        color="grey",
        linestyle=":",
        label=f"closed loop max ({result['closed_loop_ok_per_second']:,.0f} ops/s)",
    )
    axes.set_yscale("log")
    axes.set_xlabel("achieved operations/s (open loop; grey labels: the target rate, lines in target order)")
    axes.set_ylabel("latency from intended send, ms (log)")
    machine = result["machine"]
    axes.set_title(
        f"dompromise bench, mixed {result['mix']}\n"
        f"durable file log, demo network, {machine['nproc']} vCPUs shared by server and "
        f"{result['config']['processes']} client processes",
        fontsize=9,
    )
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=110)
    print(f"wrote {path}")


def _machine() -> dict:
    def git(*argv: str) -> str:  # read-only: which code was measured
        return subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True).stdout.strip()

    return {
        **driver.machine_info([]),
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted": git("status", "--porcelain", "--", "dompromise").splitlines(),
    }


def _write(path: str | None, result: dict) -> None:
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as out:
            json.dump(result, out, indent=1)
        print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_runs",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    kinds = parser.add_subparsers(dest="kind", required=True)
    kinds.add_parser("smoke", help="CI: seconds, the CLI end to end, answers checked")
    full = kinds.add_parser("workloads", help="ceiling, availability, mixed and reserve, alternating rounds")
    full.add_argument("--rounds", type=int, default=3)
    full.add_argument("--in-flight", type=int, default=16)
    sweeping = kinds.add_parser("sweep", help="open loop at several rates of the mixed workload, and the plot")
    sweeping.add_argument("--rates", default="", help=f"comma list of ops/s (default {SWEEP_RATES})")
    sweeping.add_argument("--in-flight", type=int, default=16, help="for the closed-loop reference run")
    sweeping.add_argument("--png", help="write the latency-vs-throughput plot here")
    for sub in (full, sweeping):
        sub.add_argument("--processes", type=int, default=2)
        sub.add_argument("--duration", type=float, default=10)
        sub.add_argument("--warmup", type=float, default=2)
        sub.add_argument("--json")
    args = parser.parse_args(argv)
    return {"smoke": smoke, "workloads": workloads, "sweep": sweep}[args.kind](args)


if __name__ == "__main__":
    sys.exit(main())
