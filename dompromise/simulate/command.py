"""`dompromise simulate`: the options, and the run of our policy and the baselines over one world."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

from dompromise import config
from dompromise.demo import network as demo
from dompromise.model.network import Network, StockRow
from dompromise.promise.edt import EdtCalculator
from dompromise.replica.clock import parse_start
from dompromise.simulate import report
from dompromise.simulate.demand import DemandOptions, generate
from dompromise.simulate.policies import POLICIES
from dompromise.simulate.world import RunOptions, run_policy

DESCRIPTION = """\
Runs a network for N simulated days and measures how many delivery promises come true.

Demand is drawn from --seed (the same seed gives the same JSON): orders by hour and weekday
and by postal code over the network's zones (B2C single lines, B2B multi-line orders,
click-and-collect), purchase orders with ETA slips (--slip-rate), node outages, carriers
that may deliver late (--late-rate). Each order is promised, its best option reserved by its
promise token and committed (a few checkouts are abandoned: their holds expire), shipped on
its departure and delivered by its lane's schedule. A replica on a simulated clock applies
every command, in-process.

The same demand is then run against the baselines: greedy nearest node with stock, first
node with stock, and our promise from stock on hand only.

With --target HOST:PORT the same orders go instead to a running server over gRPC, as
checkout sends them (promise, reserve by the promise token, commit): a load test with
realistic demand that reports fill, splits, lead time, refusals and latency per RPC."""

EPILOG = """\
JSON keys (ours at the top level, each baseline under "baselines"): promise_kept_rate,
fill_rate, split_rate, mean_promised_lead_time_hours, oversold_units, holds_expired,
at_risk_lines, at_risk_recovered, repromise_would_save, orders, orders_promised; by_day
holds each day's rates. See docs/simulation.md."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--network", metavar="FILE", help="network file (YAML or JSON); default: the demo network")
    parser.add_argument("--stock", metavar="FILE", help="stock CSV; default: the demo stock (or none with --network)")
    parser.add_argument("--days", type=int, default=7, help="simulated days of orders (default 7)")
    parser.add_argument("--seed", type=int, default=1, help="the demand's random seed (default 1)")
    parser.add_argument("--orders-per-day", type=int, default=5_000, help="orders on an average weekday (default 5000)")
    parser.add_argument("--start", default="2026-11-23T00:00:00+01:00", help="the first day's start (ISO 8601)")
    parser.add_argument("--slip-rate", type=float, default=0.0, help="share of purchase orders arriving 1-3 days late")
    parser.add_argument("--late-rate", type=float, default=0.0, help="share of shipments delivered a day late")
    parser.add_argument("--outages", type=int, default=1, help="nodes drained for 6 hours on a random day (default 1)")
    parser.add_argument(
        "--policies",
        default=",".join(POLICIES),
        help=f"comma-separated, ours first (default {','.join(POLICIES)})",
    )
    parser.add_argument(
        "--target",
        metavar="HOST:PORT",
        help="send the same orders to a running server over gRPC instead (promise, reserve by token, commit): "
        "a load test with realistic demand; run the server on the same network (e.g. serve --in-memory "
        "--clock simulated --start ...). Reports fill, splits, lead time, refusals, latency; not kept rates",
    )
    parser.add_argument("--in-flight", type=int, default=8, help="with --target: orders outstanding at once (8)")
    parser.add_argument("--max-orders", type=int, default=0, help="with --target: send only the first N orders")
    parser.add_argument("--json", metavar="OUT", help="write the report here (default: stdout)")
    parser.add_argument("--png", metavar="OUT", help="plot the rates by day here (needs matplotlib)")


def run(args: argparse.Namespace) -> int:
    try:
        problems = _problems(args)
        start_ns = parse_start(args.start)
    except ValueError as error:
        print(f"dompromise simulate: --start: {error}", file=sys.stderr)
        return 2
    if problems:
        print("dompromise simulate: " + "; ".join(problems), file=sys.stderr)
        return 2
    try:
        report_document = drive_target(args, start_ns) if args.target else simulate(args, start_ns)
    except config.ConfigError as error:
        print(f"dompromise simulate: bad network or stock:\n{error}", file=sys.stderr)
        return 2
    text = json.dumps(report_document, indent=2, sort_keys=True)
    if args.json:
        with open(args.json, "w") as out:
            out.write(text + "\n")
    else:
        print(text)
    if args.target:
        print(f"dompromise simulate: {report_document['orders_per_second']} orders/s", file=sys.stderr)
        return 0
    if args.png:
        report.write_png(args.png, report_document)
    timings, cpu = report_document["settings"]["seconds"], report_document["settings"]["cpu_seconds"]
    print(f"dompromise simulate: wall seconds {timings}, CPU seconds {cpu}", file=sys.stderr)
    return 0


def _problems(args: argparse.Namespace) -> list[str]:
    problems = []
    if args.days < 1:
        problems.append("--days must be >= 1")
    if args.orders_per_day < 1:
        problems.append("--orders-per-day must be >= 1")
    for name in ("slip_rate", "late_rate"):
        if not 0 <= getattr(args, name) <= 1:
            problems.append(f"--{name.replace('_', '-')} must be from 0 to 1")
    if args.in_flight < 1 or args.max_orders < 0:
        problems.append("--in-flight must be >= 1 and --max-orders >= 0")
    if args.target and args.png:
        problems.append("--png plots the in-process run's days: not with --target")
    unknown = [p for p in args.policies.split(",") if p not in POLICIES]
    if unknown:
        problems.append(f"--policies: unknown {unknown} (known: {', '.join(POLICIES)})")
    return problems


def _network_and_stock(args: argparse.Namespace) -> tuple[Network, list[StockRow]]:
    if args.network:
        network = config.load_network(args.network)
        stock = config.load_stock_csv(args.stock, network) if args.stock else []
    else:
        network = demo.demo_network()
        stock = config.load_stock_csv(args.stock, network) if args.stock else demo.demo_stock(network)
    return network, list(stock)


def _demand_options(args: argparse.Namespace) -> DemandOptions:
    return DemandOptions(
        days=args.days,
        orders_per_day=args.orders_per_day,
        seed=args.seed,
        slip_rate=args.slip_rate,
        outages=args.outages,
    )


def drive_target(args: argparse.Namespace, start_ns: int) -> dict[str, Any]:
    """The same orders to a running server (target.py); the report names the settings."""
    from dompromise.simulate import target  # noqa: PLC0415 - grpc only for this mode

    network, stock = _network_and_stock(args)
    world = generate(network, stock, start_ns, _demand_options(args))
    document = target.run(args.target, world, args.in_flight, args.max_orders)
    document["settings"] = {"days": args.days, "seed": args.seed, "orders_per_day": args.orders_per_day}
    return document


def simulate(args: argparse.Namespace, start_ns: int) -> dict[str, Any]:
    network, stock = _network_and_stock(args)
    settings = Settings(
        days=args.days,
        orders_per_day=args.orders_per_day,
        seed=args.seed,
        start=args.start,
        slip_rate=args.slip_rate,
        late_rate=args.late_rate,
        outages=args.outages,
        policies=tuple(args.policies.split(",")),
        network_name=args.network or "demo",
    )
    return run_in_process(network, stock, start_ns, settings)


@dataclass(frozen=True)
class Settings:
    """One simulation: what the command line sets (tests build it directly)."""

    days: int = 7
    orders_per_day: int = 5_000
    seed: int = 1
    start: str = "2026-11-23T00:00:00+01:00"
    slip_rate: float = 0.0
    late_rate: float = 0.0
    outages: int = 1
    policies: tuple[str, ...] = POLICIES
    network_name: str = "demo"


def run_in_process(network: Network, stock: list[StockRow], start_ns: int, settings: Settings) -> dict[str, Any]:
    """The world drawn from the seed, each policy run over it in this process, and the report document."""
    options = DemandOptions(
        days=settings.days,
        orders_per_day=settings.orders_per_day,
        seed=settings.seed,
        slip_rate=settings.slip_rate,
        outages=settings.outages,
    )
    world = generate(network, list(stock), start_ns, options)
    run_options = RunOptions(late_rate=settings.late_rate, seed=settings.seed)
    edt = EdtCalculator(network)
    runs = [run_policy(network, list(stock), world, policy, run_options, edt) for policy in settings.policies]
    described = {
        "days": settings.days,
        "seed": settings.seed,
        "orders_per_day": settings.orders_per_day,
        "start": settings.start,
        "slip_rate": settings.slip_rate,
        "late_rate": settings.late_rate,
        "outages": settings.outages,
        "network": settings.network_name,
        # Wall time of each policy's run: excluded from the same-seed comparison (see tests).
        "seconds": {run.policy: round(run.seconds, 2) for run in runs},
        "cpu_seconds": {run.policy: round(run.cpu_seconds, 2) for run in runs},
    }
    placed_ns = [order.time_ns for order in world.orders]
    return report.document(runs, placed_ns, settings.days, described)
