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
from dompromise.simulate.options import POLICIES
from dompromise.simulate.world import RunOptions, run_policy


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
