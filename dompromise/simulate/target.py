"""`dompromise simulate --target HOST:PORT`: the simulated demand against a real server, over gRPC.

The benchmark suite's load test with realistic demand: the world's purchase
orders are announced (UpsertSupply), then the very orders the in-process run
draws from --seed (same hours, postal codes, B2C / B2B /
click-and-collect mix) go, in time order, to a running server as checkout
sends them: PromiseDelivery (partial fill, up to 3 shipments for a B2B
order), ReserveInventory with the best option's promise token, then
CommitReservation, or nothing for an abandoned checkout (its hold expires
by the server's clock). --in-flight orders are outstanding at once.

Measured: the order metrics a server answers for (orders promised,
fill_rate, split_rate, mean promised lead time from the answer's as-of
time), reserves the token could not hold, RPC failures by status code,
latency per RPC and orders per second. Not measured: promises kept (that
needs shipments and deliveries over simulated days, which only the
in-process run follows). The server should hold the same network and stock
(the demo's: `dompromise serve --in-memory`) and, to promise in the
simulated week, run on a simulated clock (`--clock simulated --start ...`):
the answers' x-dompromise-clock metadata is reported as `server_clock`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import grpc

from dompromise.simulate.demand import NS_PER_HOUR, Order, World
from dompromise.v1 import (
    common_pb2,
    inventory_pb2,
    inventory_pb2_grpc,
    promise_pb2,
    promise_pb2_grpc,
    reservation_pb2,
    reservation_pb2_grpc,
)

B2B_SHIPMENTS_MAX = 3
HOLD_TTL_SECONDS = 20 * 60  # a checkout's hold, as in-process
SUPPLIES_PER_REQUEST = 500  # purchase orders per UpsertSupply: well under the server's item limit
RPC_TIMEOUT_SECONDS = 10.0
LATENCY_QUANTILES = (0.5, 0.99)


@dataclass
class TargetTally:
    orders: int = 0
    orders_promised: int = 0
    requested_units: int = 0
    planned_units: int = 0
    split: int = 0
    lead_ns: int = 0
    reserve_refused: int = 0
    failed_by_code: dict[str, int] = field(default_factory=dict)
    latency_s: dict[str, list[float]] = field(default_factory=dict)
    server_clock: str = "wall"
    sent: int = 0


async def _timed(tally: TargetTally, name: str, method: Any, request: Any) -> Any:
    """The answer of one RPC, timed; None when it failed (counted by status code)."""
    started = time.perf_counter()
    call = method(request, timeout=RPC_TIMEOUT_SECONDS)
    try:
        answer = await call
    except grpc.aio.AioRpcError as error:
        code = error.code().name
        tally.failed_by_code[f"{name}:{code}"] = tally.failed_by_code.get(f"{name}:{code}", 0) + 1
        return None
    tally.latency_s.setdefault(name, []).append(time.perf_counter() - started)
    if name == "PromiseDelivery" and tally.server_clock == "wall":
        trailing = await call.trailing_metadata()
        if any(key == "x-dompromise-clock" and value == "simulated" for key, value in trailing or ()):
            tally.server_clock = "simulated"
    return answer


def promise_request(order: Order) -> promise_pb2.PromiseDeliveryRequest:
    multi_line = len(order.sku_ids) > 1
    return promise_pb2.PromiseDeliveryRequest(
        lines=[promise_pb2.OrderLine(sku_id=s, quantity=q) for s, q in zip(order.sku_ids, order.quantities)],
        postal_code="" if order.pickup_node_id else order.postal_code,
        pickup_node_id=order.pickup_node_id,
        fill_policy=promise_pb2.FILL_POLICY_PARTIAL,
        min_fill_percent=1,
        max_shipments=B2B_SHIPMENTS_MAX if multi_line else 1,
        sourcing_mode=promise_pb2.SOURCING_MODE_ORDER_LEVEL,
        max_options=1,
    )


async def _checkout(
    order: Order,
    tally: TargetTally,
    promise: promise_pb2_grpc.PromiseServiceStub,
    reservations: reservation_pb2_grpc.ReservationServiceStub,
) -> None:
    """One order as checkout runs it: promise, reserve the best option by its token, commit."""
    tally.sent += 1
    tally.orders += not order.abandoned
    if not order.abandoned:
        tally.requested_units += sum(order.quantities)
    answer = await _timed(tally, "PromiseDelivery", promise.PromiseDelivery, promise_request(order))
    if answer is None or not answer.options:
        return
    best = answer.options[0]
    reserve = reservation_pb2.ReserveInventoryRequest(
        request_id=f"{order.order_id}-reserve", promise_token=best.promise_token, order_id=order.order_id
    )
    reserve.ttl.FromSeconds(HOLD_TTL_SECONDS)
    held = await _timed(tally, "ReserveInventory", reservations.ReserveInventory, reserve)
    if held is None or not held.reservation.reservation_id:
        tally.reserve_refused += not order.abandoned
        return
    if order.abandoned:
        return
    commit = reservation_pb2.CommitReservationRequest(
        request_id=f"{order.order_id}-commit", reservation_id=held.reservation.reservation_id
    )
    if await _timed(tally, "CommitReservation", reservations.CommitReservation, commit) is None:
        return
    tally.orders_promised += 1
    tally.planned_units += sum(line.quantity for s in best.shipments for line in s.lines)
    tally.split += len(best.shipments) > 1
    as_of_ns = answer.as_of_time.ToNanoseconds()
    tally.lead_ns += max(0, best.earliest_delivery_time.ToNanoseconds() - as_of_ns)


async def drive(target: str, world: World, in_flight: int, orders_max: int = 0) -> dict[str, Any]:
    """Sends the world's orders (the first `orders_max`, 0: all) to `target`; returns the report."""
    orders = list(world.orders[:orders_max] if orders_max else world.orders)
    tally = TargetTally()
    queue: asyncio.Queue[Order] = asyncio.Queue()
    for order in orders:
        queue.put_nowait(order)
    async with grpc.aio.insecure_channel(target) as channel:
        await _announce_supply(world, inventory_pb2_grpc.InventoryServiceStub(channel))
        promise = promise_pb2_grpc.PromiseServiceStub(channel)
        reservations = reservation_pb2_grpc.ReservationServiceStub(channel)

        async def worker() -> None:
            while not queue.empty():
                await _checkout(queue.get_nowait(), tally, promise, reservations)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(max(1, in_flight))))
        seconds = time.perf_counter() - started
    return report(tally, target, seconds, in_flight)


async def _announce_supply(world: World, inventory: inventory_pb2_grpc.InventoryServiceStub) -> None:
    """The world's purchase orders at their first ETA, as the in-process run announces them at its start
    (receipts and slips follow simulated days, which only the in-process run lives through)."""
    for first in range(0, len(world.purchase_orders), SUPPLIES_PER_REQUEST):
        supplies = []
        for po in world.purchase_orders[first : first + SUPPLIES_PER_REQUEST]:
            supply = inventory_pb2.Supply(
                supply_id=po.supply_id,
                sku_id=po.sku_id,
                node_id=po.node_id,
                kind=common_pb2.SUPPLY_KIND_PURCHASE_ORDER,
                quantity=po.quantity,
            )
            supply.eta.FromNanoseconds(po.eta_ns)
            supplies.append(supply)
        request = inventory_pb2.UpsertSupplyRequest(supplies=supplies, request_id=f"simulate-supply-{first}")
        await inventory.UpsertSupply(request, timeout=RPC_TIMEOUT_SECONDS)


def report(tally: TargetTally, target: str, seconds: float, in_flight: int) -> dict[str, Any]:
    def ratio(part: int, whole: int) -> float:
        return round(part / whole, 6) if whole else 0.0

    latency_ms = {}
    for name, samples in sorted(tally.latency_s.items()):
        ordered = sorted(samples)
        latency_ms[name] = {
            f"p{round(q * 100)}": round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3, 3)
            for q in LATENCY_QUANTILES
        }
    return {
        "target": target,
        "server_clock": tally.server_clock,
        "orders": tally.orders,
        "orders_promised": tally.orders_promised,
        "fill_rate": ratio(tally.planned_units, tally.requested_units),
        "split_rate": ratio(tally.split, tally.orders_promised),
        "mean_promised_lead_time_hours": round(tally.lead_ns / tally.orders_promised / NS_PER_HOUR, 3)
        if tally.orders_promised
        else 0.0,
        "reserve_refused": tally.reserve_refused,
        "failed_by_code": dict(sorted(tally.failed_by_code.items())),
        "latency_ms": latency_ms,
        "in_flight": in_flight,
        "seconds": round(seconds, 3),
        "orders_sent": tally.sent,
        "orders_per_second": round(tally.sent / seconds, 1) if seconds else 0.0,
    }


def run(target: str, world: World, in_flight: int, orders_max: int = 0) -> dict[str, Any]:
    return asyncio.run(drive(target, world, in_flight, orders_max))
