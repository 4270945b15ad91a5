"""One policy's run over a simulated world: a replica on a SimulatedClock, driven event by event.

Events in time order: orders (promise, reserve the plan by its token, commit;
an abandoned checkout leaves its hold to expire), departures (ship the
shipment's lines; stock not there yet: try again each hour, so the shipment
leaves later and arrives by the lane's next schedule), purchase orders
(announced at the start, a slip announced 12 hours before the first ETA,
received on arrival), node outages (drained, then enabled) and hourly ticks
(holds expire by the log's clock). The run then follows deliveries for
FOLLOW_DAYS after the last order's day.
"""

from __future__ import annotations

import heapq
import random
import time
from dataclasses import dataclass, field

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import RESULT, SUPPLY_KIND, Engine
from dompromise.log.memory import MemoryLog
from dompromise.model.network import Network, NodeStatus, StockRow
from dompromise.promise.edt import EdtCalculator
from dompromise.promise.token import TokenSigner
from dompromise.replica import bootstrap
from dompromise.replica.clock import SimulatedClock
from dompromise.replica.local import LocalReplica
from dompromise.replica.reservation_events import EventTracker, EventType
from dompromise.reservations.book import Outcome
from dompromise.simulate.demand import NS_PER_DAY, NS_PER_HOUR, Order, World
from dompromise.simulate.policies import Plan, PlannedShipment, Planner

FOLLOW_DAYS = 7
HOLD_TTL_NS = 20 * 60 * 10**9  # a checkout's hold: 20 minutes
RETRY_NS = NS_PER_HOUR
SELLABLE = 1  # a receipt's disposition: into stock on hand (proto RETURN_DISPOSITION_SELLABLE)
# Event kinds, in the order they run at one instant: stock arrives before demand takes it.
RECEIPT, SLIP, OUTAGE, SHIP, ORDER, TICK = range(6)


@dataclass
class OrderResult:
    day: int
    requested_units: int
    planned_units: int = 0
    shipments: int = 0
    promised_earliest_ns: int = 0
    promised_latest_ns: int = 0
    delivered_ns: int = 0  # the last shipment's arrival; 0 until every shipment arrived
    arrivals: list[int] = field(default_factory=list)
    abandoned: bool = False
    reserved: bool = False


@dataclass
class RunResult:
    policy: str
    orders: list[OrderResult]
    oversold_units: int = 0
    holds_expired: int = 0
    at_risk_lines: int = 0
    at_risk_recovered: int = 0
    repromise_would_save: int = 0
    reserve_refused: int = 0
    seconds: float = 0.0  # wall
    cpu_seconds: float = 0.0  # this process's CPU: the figure that holds on a shared, loaded machine


@dataclass(frozen=True)
class RunOptions:
    late_rate: float = 0.0  # share of shipments the carrier delivers a day late
    seed: int = 1
    token_key: bytes = b"dompromise-simulation-token-key!"


class Run:
    """The replica, the planner and the event queue of one policy's run."""

    def __init__(
        self,
        network: Network,
        stock: list[StockRow],
        world: World,
        policy: str,
        options: RunOptions,
        edt: EdtCalculator | None = None,
    ):
        self.world = world
        self.options = options
        self.clock = SimulatedClock(world.start_ns)
        self.replica = LocalReplica(Engine(network, self.clock), MemoryLog(), clock_ns=self.clock)
        bootstrap.start_log(self.replica, stock, "the simulation")
        self.engine = self.replica.engine
        self.planner = Planner(policy, self.engine, edt or EdtCalculator(network))
        self.tracker = EventTracker(self.engine)
        self.signer = TokenSigner(options.token_key)
        self.result = RunResult(policy, [])
        self._queue: list[tuple[int, int, int, object]] = []
        self._sequence = 0
        self._late = random.Random(options.seed * 7_919 + 17)  # same draws for every policy, in shipment order
        self._orders: dict[str, tuple[int, Order, Plan]] = {}  # reservation id -> (order index, order, plan)
        self._at_risk: dict[tuple[str, int], bool] = {}  # (reservation, line) -> a re-promise would save it
        self._abandoned: list[str] = []

    def push(self, time_ns: int, kind: int, payload: object) -> None:
        heapq.heappush(self._queue, (time_ns, kind, self._sequence, payload))
        self._sequence += 1

    def write(self, record: log_pb2.LogRecord, tracked: bool = False) -> Outcome:
        outcome = self.replica.bootstrap([record])[0]
        if tracked:
            self._on_events(outcome.log_position, record)
        return outcome

    # ---- the run -----------------------------------------------------------

    def run(self) -> RunResult:
        self._schedule()
        follow_end_ns = self.world.end_ns + FOLLOW_DAYS * NS_PER_DAY
        while self._queue:
            time_ns, kind, _, payload = heapq.heappop(self._queue)
            if time_ns > follow_end_ns:
                break
            self.clock.advance_to(time_ns)
            self._handle(kind, payload)
        self._finish()
        return self.result

    def _schedule(self) -> None:
        world = self.world
        if world.purchase_orders:
            pos = world.purchase_orders
            self.write(
                log_pb2.LogRecord(
                    upsert_supply=log_pb2.UpsertSupply(
                        supply_ids=[po.supply_id for po in pos],
                        sku_ids=[po.sku_id for po in pos],
                        node_ids=[po.node_id for po in pos],
                        kinds=[SUPPLY_KIND["PURCHASE_ORDER"]] * len(pos),
                        quantities=[po.quantity for po in pos],
                        eta_ns=[po.eta_ns for po in pos],
                    )
                )
            )
        for po in world.purchase_orders:
            self.push(po.arrival_ns, RECEIPT, po)
            if po.notice_ns:
                self.push(po.notice_ns, SLIP, po)
        for outage in world.outages:
            self.push(outage.start_ns, OUTAGE, (outage.node_id, NodeStatus.DRAIN))
            self.push(outage.end_ns, OUTAGE, (outage.node_id, NodeStatus.ENABLED))
        for index, order in enumerate(world.orders):
            self.push(order.time_ns, ORDER, index)
        for hour in range(0, (world.end_ns - world.start_ns) // NS_PER_HOUR + FOLLOW_DAYS * 24):
            self.push(world.start_ns + hour * NS_PER_HOUR, TICK, None)

    def _handle(self, kind: int, payload: object) -> None:
        if kind == ORDER:
            assert isinstance(payload, int)
            self._order(payload)
        elif kind == SHIP:
            assert isinstance(payload, tuple)
            self._ship(*payload)
        elif kind == RECEIPT:
            self._receipt(payload)
        elif kind == SLIP:
            self._slip(payload)
        elif kind == OUTAGE:
            assert isinstance(payload, tuple)
            node_id, status = payload
            self.write(
                log_pb2.LogRecord(set_node_status=log_pb2.SetNodeStatus(node_ids=[node_id], statuses=[int(status)])),
                tracked=True,
            )
        else:
            self.write(log_pb2.LogRecord(tick=log_pb2.Tick()))

    # ---- orders --------------------------------------------------------------

    def _order(self, index: int) -> None:
        order = self.world.orders[index]
        now_ns = self.clock.now_ns()
        result = OrderResult(
            day=(order.time_ns - self.world.start_ns) // NS_PER_DAY,
            requested_units=sum(order.quantities),
            abandoned=order.abandoned,
        )
        self.result.orders.append(result)
        zone_id = None if order.pickup_node_id else self.planner.zone_for(order.postal_code)
        plan = self.planner.plan(order.sku_ids, order.quantities, zone_id, order.pickup_node_id, now_ns)
        if plan is None:
            return
        reservation_id = self._reserve(order, plan, zone_id, now_ns)
        if reservation_id is None:
            self.result.reserve_refused += 1
            return
        result.reserved = True
        result.planned_units = plan.units
        result.shipments = len(plan.shipments)
        result.promised_earliest_ns = max(s.earliest_ns for s in plan.shipments)
        result.promised_latest_ns = max(s.latest_ns for s in plan.shipments)
        self._orders[reservation_id] = (index, order, plan)
        if order.abandoned:
            self._abandoned.append(reservation_id)
            return
        self.write(log_pb2.LogRecord(commit=log_pb2.Resolve(reservation_id=reservation_id)))
        line = 0
        for number, shipment in enumerate(plan.shipments):
            lines = list(range(line, line + len(shipment.lines)))
            line += len(shipment.lines)
            self.push(max(shipment.departure_ns, now_ns), SHIP, (reservation_id, number, tuple(lines)))

    def _reserve(self, order: Order, plan: Plan, zone_id: str | None, now_ns: int) -> str | None:
        """Reserves the plan as checkout would: signed into a promise token, verified, held all or nothing."""
        holds = [list(line) for shipment in plan.shipments for line in shipment.lines]
        batch = self.signer.batch(
            now_ns + HOLD_TTL_NS,
            self.engine.log_position,
            order.sku_ids,
            order.quantities,
            zone_id or "",
            order.pickup_node_id,
            {},
        )
        content = self.signer.verify(batch.sign(holds))  # type: ignore[arg-type]
        backorders = [h.backorder_by_ns for h in content.holds]
        outcome = self.write(
            log_pb2.LogRecord(
                reserve=log_pb2.Reserve(
                    sku_ids=[h.sku_id for h in content.holds],
                    node_ids=[h.node_id for h in content.holds],
                    quantities=[h.quantity for h in content.holds],
                    ttl_ns=HOLD_TTL_NS,
                    order_id=order.order_id,
                    backorder_by_ns=backorders if any(backorders) else [],
                )
            )
        )
        if outcome.result != RESULT["OK"] or outcome.reservation is None:
            return None
        return outcome.reservation.reservation_id

    def _ship(self, reservation_id: str, number: int, lines: tuple[int, ...]) -> None:
        index, order, plan = self._orders[reservation_id]
        shipment = plan.shipments[number]
        if not self._goods_here(shipment):  # a backorder's supply is late: the shipment waits for it
            self.push(self.clock.now_ns() + RETRY_NS, SHIP, (reservation_id, number, lines))
            return
        outcome = self.write(
            log_pb2.LogRecord(
                ship=log_pb2.LineChange(
                    reservation_id=reservation_id,
                    line_numbers=list(lines),
                    quantities=[line[2] for line in shipment.lines],
                )
            )
        )
        now_ns = self.clock.now_ns()
        if outcome.result != RESULT["OK"]:  # the goods are not there yet (supply late): try again later
            self.push(now_ns + RETRY_NS, SHIP, (reservation_id, number, lines))
            return
        arrival_ns = self.planner.arrival_ns(shipment, now_ns)
        if self.options.late_rate and self._late.random() < self.options.late_rate:
            arrival_ns += NS_PER_DAY
        result = self._result_of(index)
        result.arrivals.append(arrival_ns)
        if len(result.arrivals) == len(plan.shipments):
            result.delivered_ns = max(result.arrivals)

    def _goods_here(self, shipment: PlannedShipment) -> bool:
        """Whether every backorder line's units are on the shelf, beyond what holds and commitments take.

        The core takes Ship as a fact (on hand never below zero), so it would ship a
        backorder before its purchase order arrived: the warehouse can't, and neither does
        the simulation. A line on stock is on the shelf by the core's invariant."""
        for sku_id, node_id, quantity, backorder_ns in shipment.lines:
            if backorder_ns:
                sku = int(self.engine.sku_indices([sku_id])[0])
                node = int(self.engine.node_indices([node_id])[0])
                if self.engine.core.net_on_hand(sku, node) < quantity:
                    return False
        return True

    def _result_of(self, order_index: int) -> OrderResult:
        return self.result.orders[order_index]

    # ---- supply and events ---------------------------------------------------------

    def _receipt(self, payload: object) -> None:
        po = payload
        self.write(
            log_pb2.LogRecord(
                receive_supply=log_pb2.ReceiveSupply(
                    supply_ids=[po.supply_id],  # type: ignore[attr-defined]
                    quantities=[po.quantity],  # type: ignore[attr-defined]
                    dispositions=[SELLABLE],
                )
            ),
            tracked=True,
        )

    def _slip(self, payload: object) -> None:
        po = payload
        self.write(
            log_pb2.LogRecord(
                upsert_supply=log_pb2.UpsertSupply(
                    supply_ids=[po.supply_id],  # type: ignore[attr-defined]
                    sku_ids=[po.sku_id],  # type: ignore[attr-defined]
                    node_ids=[po.node_id],  # type: ignore[attr-defined]
                    kinds=[SUPPLY_KIND["PURCHASE_ORDER"]],
                    quantities=[po.quantity],  # type: ignore[attr-defined]
                    eta_ns=[po.arrival_ns],  # type: ignore[attr-defined]
                )
            ),
            tracked=True,
        )

    def _on_events(self, position: int, record: log_pb2.LogRecord) -> None:
        for event in self.tracker.on_batch(position, [record]):
            key = (event.reservation_id, event.line_number)
            if event.event_type == EventType.AT_RISK and key not in self._at_risk:
                self.result.at_risk_lines += 1
                self._at_risk[key] = self._repromise_saves(event.reservation_id, event.sku_id, event.quantity)
            elif event.event_type == EventType.BACK_ON_TRACK and key in self._at_risk:
                self.result.at_risk_recovered += 1

    def _repromise_saves(self, reservation_id: str, sku_id: str, quantity: int) -> bool:
        """Whether promising the at-risk line again now finds a plan inside the order's promised window."""
        known = self._orders.get(reservation_id)
        if known is None:
            return False
        index, order, _ = known
        zone_id = None if order.pickup_node_id else self.planner.zone_for(order.postal_code)
        plan = self.planner.plan((sku_id,), (quantity,), zone_id, order.pickup_node_id, self.clock.now_ns())
        latest_ns = self._result_of(index).promised_latest_ns
        return (
            plan is not None
            and all(line[3] == 0 for s in plan.shipments for line in s.lines)
            and max(s.latest_ns for s in plan.shipments) <= latest_ns
        )

    def _finish(self) -> None:
        """Holds expired, units promised but never shipped (oversold), and the at-risk lines a re-promise saves."""
        expired_state = 4  # RESERVATION_STATE["EXPIRED"], as the API numbers it
        self.result.holds_expired = sum(
            1
            for rid in self._abandoned
            if (view := self.engine.reservation(rid)) is not None and view.state == expired_state
        )
        never_shipped = 0
        for index, order, plan in self._orders.values():
            result = self._result_of(index)
            if not order.abandoned and not result.delivered_ns:
                never_shipped += plan.units
        arrays, _ = self.engine.export_state()
        negative = int((-arrays["on_hand"].clip(max=0)).sum())
        self.result.oversold_units = never_shipped + negative
        late_orders = {rid for rid, (index, _, _) in self._orders.items() if _late(self._result_of(index))}
        self.result.repromise_would_save = sum(
            1 for (rid, _), saves in self._at_risk.items() if saves and rid in late_orders
        )


def _late(result: OrderResult) -> bool:
    return result.reserved and not result.abandoned and result.delivered_ns > result.promised_latest_ns


def run_policy(
    network: Network,
    stock: list[StockRow],
    world: World,
    policy: str,
    options: RunOptions,
    edt: EdtCalculator | None = None,
) -> RunResult:
    """One policy over the world. `edt`, given, is shared between runs: its tables depend on the
    network only (not on stock), and building them is most of a short run's time."""
    started, started_cpu = time.perf_counter(), time.process_time()
    result = Run(network, stock, world, policy, options, edt).run()
    result.seconds = time.perf_counter() - started
    result.cpu_seconds = time.process_time() - started_cpu
    return result
