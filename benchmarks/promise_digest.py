"""A digest of PromiseDelivery's answers to seeded random orders: run it in two trees and compare the output to
check that a change to the promise path leaves every answer byte-identical.

  PYTHONPATH=/path/to/main python benchmarks/promise_digest.py --seed 7 --count 500 > main.txt
  PYTHONPATH=. python benchmarks/promise_digest.py --seed 7 --count 500 > ours.txt && cmp main.txt ours.txt

(run by path: it imports only dompromise, so the other tree needs no copy of it.)

The demo network and stock, tokens signed with a fixed key, nonce and clock; orders of 1-20 distinct SKUs with
random fill policies, shipment caps, sourcing modes, split lines, methods, destinations (postal codes and pickup
stores), as-of times and latest delivery times. With --capped, every node's daily capacity is cut to 1 or 2
orders and days are filled with reservations first, so capacity moves ready times. One line per order: the
sha256 of PromiseDeliveryBytes' answer (checked equal to PromiseDelivery's message, serialized) and how many
options it has and how many of them draw on more than one node; or the error an order gets. In a tree with the
compiled request reader (dompromise/wire/promise_request.pyx) each order's bytes are read with it too: its request
must be request_of's, or none when request_of refuses the order.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import random

from dompromise.demo import network as demo
from dompromise.errors import DompromiseError
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.model.network import Network
from dompromise.promise.token import TokenSigner
from dompromise.replica.bootstrap import stock_records
from dompromise.service.promise import Promiser
from dompromise.v1 import promise_pb2

try:
    from dompromise.wire.promise_request import read_promise_request
except ImportError:  # a tree from before the reader
    read_promise_request = None

# Tuesday 2026-11-24 10:00 in Paris, within the demo calendars (benchmarks/grpc_ceiling.py PROMISE_AS_OF_NS).
AS_OF_NS = 1_795_510_800 * 10**9
HOUR_NS = 3_600 * 10**9
SKUS_ORDERED = 40  # the SKUs orders draw from: few, so that nodes are short of some and consolidations happen
RESERVATIONS = 60  # with --capped: one-unit reservations filling days before the orders
DESTINATIONS = (("59000", "FR"), ("75001", "FR"), ("13001", "FR"), ("33000", "FR"), ("44000", "FR"))


def capped(network: Network, rng: random.Random) -> Network:
    """The network with every node's daily capacity cut to 1 or 2 orders."""
    assert network.transport is not None, "the demo network has a transport section"
    shipping = tuple(
        dataclasses.replace(s, daily_capacity_orders=rng.choice([1, 2])) for s in network.transport.node_shipping
    )
    return dataclasses.replace(network, transport=dataclasses.replace(network.transport, node_shipping=shipping))


def stocked(network: Network, rng: random.Random, skus: list[str], reservations: int) -> Engine:
    """An engine with the demo stock, then `reservations` one-unit reservations at random nodes, in log order."""
    engine = Engine(network)
    position = 0
    for record in stock_records(demo.demo_stock(network)):
        position += 1
        engine.apply_record(record, position)
    nodes = [node.node_id for node in network.nodes]
    times_ns = sorted(
        AS_OF_NS - rng.randrange(0, 2) * 24 * HOUR_NS + rng.randrange(-2, 10) * HOUR_NS for _ in range(reservations)
    )
    for at_ns in times_ns:
        position += 1
        body = log_pb2.Reserve(
            sku_ids=[rng.choice(skus)], node_ids=[rng.choice(nodes)], quantities=[1], ttl_ns=72 * HOUR_NS
        )
        engine.apply_record(log_pb2.LogRecord(log_time_ns=at_ns, reserve=body), position)  # a refusal is fine
    return engine


def random_request(
    rng: random.Random, skus: list[str], pickup_node_ids: list[str]
) -> promise_pb2.PromiseDeliveryRequest:
    line_count = rng.choice([1, 1, 2, 3, 5, 10, 10, 20])
    request = promise_pb2.PromiseDeliveryRequest(
        lines=[
            promise_pb2.OrderLine(sku_id=sku_id, quantity=rng.choice([1, 1, 2, 4, 10, 50]))
            for sku_id in rng.sample(skus, line_count)
        ],
        fill_policy=rng.choice([0, 1, 2, 3]),
        max_shipments=rng.choice([0, 1, 2, 3, 5]),
        sourcing_mode=rng.choice([0, 1, 2]),
        split_lines=rng.random() < 0.3,
        stock_on_hand_only=rng.random() < 0.2,
        max_options=rng.choice([0, 1, 3, 10]),
        min_fill_percent=rng.choice([0, 30, 80]),
    )
    if rng.random() < 0.8:
        request.postal_code, request.country_code = rng.choice(DESTINATIONS)
    else:
        request.pickup_node_id = rng.choice(pickup_node_ids)
    if rng.random() < 0.3:
        request.delivery_methods.extend(rng.sample([1, 2, 3], rng.randint(1, 2)))
    request.as_of_time.FromNanoseconds(AS_OF_NS + rng.randrange(-20, 60) * HOUR_NS)
    if rng.random() < 0.1:
        request.deliver_before_time.FromNanoseconds(AS_OF_NS + rng.randrange(24, 120) * HOUR_NS)
    return request


def digest(promiser: Promiser, request: promise_pb2.PromiseDeliveryRequest) -> str:
    try:
        promise_request = promiser.request_of(request)
        data = promiser.response_bytes(promise_request, promiser.promise_rows(promise_request))
        answer = promiser.promise(promise_request)
    except DompromiseError as error:
        if _read(promiser, request) is not None:
            return "MISMATCH: the reader took a request request_of refuses"
        return f"error {type(error).__name__} {str(error)[:80]}"
    if _read(promiser, request) not in (None, promise_request):
        return "MISMATCH between the request read from the bytes and request_of's"
    if data != promiser.response(promise_request, answer).SerializeToString():
        return "MISMATCH between PromiseDeliveryBytes and PromiseDelivery"
    multi_node = sum(
        len(option.shipments) > 1 or any(line.source_node_id for s in option.shipments for line in s.lines)
        for option in answer.options
    )
    return f"{hashlib.sha256(data).hexdigest()[:16]} options={len(answer.options)} multi_node={multi_node}"


def _read(promiser: Promiser, request: promise_pb2.PromiseDeliveryRequest) -> object:
    """The request as PromiseDeliveryBytes reads it from its bytes (None: declined, or no reader in this tree)."""
    if read_promise_request is None:
        return None
    read = read_promise_request(request.SerializeToString())
    return None if read is None else promiser.request_of_read(read)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.promise_digest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--capped", action="store_true", help="capacities of 1-2 orders a day, days filled first")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    network = demo.demo_network()
    if args.capped:
        network = capped(network, rng)
    skus = rng.sample([sku.sku_id for sku in network.skus], SKUS_ORDERED)
    engine = stocked(network, rng, skus, RESERVATIONS if args.capped else 0)
    promiser = Promiser(engine, TokenSigner(b"k" * 32, nonce=lambda: "0123456789abcdef"), lambda: AS_OF_NS)
    pickup_node_ids = [node.node_id for node in network.nodes if node.node_id.startswith("ST-")]
    for _ in range(args.count):
        print(digest(promiser, random_request(rng, skus, pickup_node_ids)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
