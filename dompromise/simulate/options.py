"""`dompromise simulate` options: kept apart from the simulator so building the CLI parser imports nothing heavy
(as `client/bench/options.py` is for `dompromise bench`)."""

from __future__ import annotations

import argparse

# The policies a run compares, ours first (simulate/policies.py plans each).
POLICIES = ("promise", "greedy_nearest", "first_with_stock", "on_hand_only")

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
