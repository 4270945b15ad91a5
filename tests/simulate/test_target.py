"""`dompromise simulate --target`: the simulated orders against a real `dompromise serve --clock simulated`."""

from __future__ import annotations

import json

import grpc

from dompromise.demo import network as demo
from dompromise.replica.clock import parse_start
from dompromise.simulate.demand import DemandOptions, generate
from dompromise.v1 import inventory_pb2, inventory_pb2_grpc, reservation_pb2, reservation_pb2_grpc
from tests.processes import Serving, dompromise

START = "2026-11-23T00:00:00+01:00"  # simulate's default start: the server promises as of the same instant
COMMITTED = reservation_pb2.RESERVATION_STATE_COMMITTED


def test_the_orders_reach_a_simulated_clock_server_and_are_committed_there(tmp_path):
    server = Serving("--in-memory", "--clock", "simulated", "--start", START, "--speed", "0")
    out = tmp_path / "target.json"
    try:
        finished = dompromise(
            "simulate",
            "--target",
            server.target,
            "--days",
            "1",
            "--orders-per-day",
            "60",
            "--in-flight",
            "1",  # one at a time: no token races, so every refusal would be a bug
            "--json",
            str(out),
            timeout=120,
        )
        assert finished.returncode == 0, finished.stderr
        document = json.loads(out.read_text())
        network = demo.demo_network()
        options = DemandOptions(days=1, orders_per_day=60)
        world = generate(network, demo.demo_stock(network), parse_start(START), options)
        with grpc.insecure_channel(server.target) as channel:
            stub = reservation_pb2_grpc.ReservationServiceStub(channel)
            committed = _committed_orders(stub, [order.order_id for order in world.orders])
            inventory = inventory_pb2_grpc.InventoryServiceStub(channel)
            last_po = world.purchase_orders[-1]
            announced = inventory.GetSupply(inventory_pb2.GetSupplyRequest(supply_id=last_po.supply_id), timeout=10)
    finally:
        assert server.stop() == 0
    assert document["server_clock"] == "simulated"
    assert (announced.supply.sku_id, announced.supply.quantity) == (last_po.sku_id, last_po.quantity)
    assert announced.supply.eta.ToNanoseconds() == last_po.eta_ns
    assert document["orders_sent"] == len(world.orders)
    assert document["orders"] == sum(1 for order in world.orders if not order.abandoned)
    assert document["failed_by_code"] == {} and document["reserve_refused"] == 0
    assert 0 < document["orders_promised"] <= document["orders"]
    assert 0.5 < document["fill_rate"] <= 1
    assert document["latency_ms"]["PromiseDelivery"]["p50"] > 0
    # What the client counted is what the server holds: one committed reservation per promised order.
    assert not committed & {o.order_id for o in world.orders if o.abandoned}
    assert len(committed) == document["orders_promised"]


def _committed_orders(stub: reservation_pb2_grpc.ReservationServiceStub, order_ids: list[str]) -> set[str]:
    found = set()
    for order_id in order_ids:
        answer = stub.ListReservations(reservation_pb2.ListReservationsRequest(order_id=order_id), timeout=10)
        if any(r.state == COMMITTED for r in answer.reservations):
            found.add(order_id)
    return found


def test_target_refuses_a_png():
    finished = dompromise("simulate", "--target", "127.0.0.1:1", "--png", "x.png")
    assert finished.returncode == 2 and "--png" in finished.stderr
