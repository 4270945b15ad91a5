"""The load test with realistic demand: `dompromise simulate --target` against a fresh server.

  python -m benchmarks.simulate_target --smoke      # CI (make bench-smoke): 300 orders, answers checked
  python -m benchmarks.simulate_target --orders-per-day 5000 --in-flight 16 --json out.json

A `dompromise serve --in-memory --clock simulated --start <the simulation's
start> --speed 0` child process (the demo network and stock, the same as the
in-process run's) gets one simulated day of orders, each as checkout sends it:
PromiseDelivery, ReserveInventory with the promise token, CommitReservation.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

if __package__ in (None, ""):  # run as `python benchmarks/simulate_target.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.servers import dompromise_serve
from dompromise.demo import network as demo
from dompromise.replica.clock import parse_start
from dompromise.simulate import target
from dompromise.simulate.demand import DemandOptions, generate

START = "2026-11-23T00:00:00+01:00"
SMOKE_ORDERS = 300
# Concurrent checkouts may race for the last units: the token then fails ABORTED with the
# fresh alternative (counted as a refusal). Any other failure is a bug.
ALLOWED_FAILURES = {"ReserveInventory:ABORTED"}


def problems(document: dict) -> list[str]:
    found = []
    if document["server_clock"] != "simulated":
        found.append(f"server clock {document['server_clock']!r}, not simulated")
    if not 0 < document["orders_promised"] <= document["orders"]:
        found.append(f"orders promised {document['orders_promised']} of {document['orders']}")
    if not 0 < document["fill_rate"] <= 1:
        found.append(f"fill rate {document['fill_rate']}")
    unexpected = {k: n for k, n in document["failed_by_code"].items() if k not in ALLOWED_FAILURES}
    if unexpected:
        found.append(f"failed {unexpected}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help=f"CI: {SMOKE_ORDERS} orders of one day")
    parser.add_argument("--orders-per-day", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--json", default="", help="write the report here")
    args = parser.parse_args()
    network = demo.demo_network()
    options = DemandOptions(days=1, orders_per_day=args.orders_per_day, seed=args.seed)
    world = generate(network, demo.demo_stock(network), parse_start(START), options)
    with dompromise_serve("--in-memory", "--clock", "simulated", "--start", START, "--speed", "0") as address:
        document = target.run(address, world, args.in_flight, SMOKE_ORDERS if args.smoke else 0)
    print(
        f"simulate --target: {document['orders_sent']} orders in {document['seconds']} s "
        f"({document['orders_per_second']}/s), promised {document['orders_promised']}, "
        f"fill {document['fill_rate']}, split {document['split_rate']}, refused {document['reserve_refused']}, "
        f"PromiseDelivery p50/p99 {document['latency_ms'].get('PromiseDelivery')} ms"
    )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(document, out, indent=2, sort_keys=True)
    found = problems(document)
    for problem in found:
        print(f"simulate --target: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
