"""Reservation events: backorders put at risk by supply that slips, and holds at
nodes that stop taking demand, re-evaluated after every applied batch.

Derived, not replicated: every replica applies the same log and so derives
the same events at the same log positions (an event's version is the log
position after which it holds). The tracker remembers which backorder lines
are at risk, so it reports changes only: AT_RISK (with the time the line can
now be covered, if any), BACK_ON_TRACK when supply covers it again, and
NODE_UNAVAILABLE for open lines at a node that was disabled or drained.

At risk is decided by pegging one position's backorders against its supply
in date order (supply first at equal times, starting from the stock on hand
not otherwise spoken for): a backorder that takes the balance below zero is
at risk, and it is expected when a later supply brings the balance back.
Re-evaluated positions are those the batch's records name; a change that
only frees stock (a release, an expiry) never creates risk, and is caught as
BACK_ON_TRACK the next time the position is named.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine

NODE_ENABLED = 1
RESERVATION_OPEN = (1, 2)  # HELD, COMMITTED


class EventType(enum.IntEnum):
    """proto: dompromise.v1.ReservationEventType."""

    AT_RISK = 1
    BACK_ON_TRACK = 2
    NODE_UNAVAILABLE = 3


@dataclass(frozen=True)
class ReservationEvent:
    version: int  # the log position the event holds after
    event_type: EventType
    reservation_id: str
    order_id: str
    customer_id: str
    line_number: int
    sku_id: str
    node_id: str
    quantity: int
    backorder_by_ns: int  # the line's date (0: a hold on stock)
    expected_ns: int  # AT_RISK: when supply can cover it again (0: no supply in sight)


class EventTracker:
    """Turns applied log records into reservation events; keeps the last EVENTS_KEPT for resuming."""

    EVENTS_KEPT = 100_000

    def __init__(self, engine: Engine):
        self._engine = engine
        self._at_risk: dict[int, int] = {}  # arena line -> expected_ns
        self.recent: deque[ReservationEvent] = deque(maxlen=self.EVENTS_KEPT)

    def restart(self) -> None:
        """Forgets what is at risk and the kept events (tracking stopped: they may be stale)."""
        self._at_risk.clear()
        self.recent.clear()

    def on_batch(self, position: int, records: Iterable[log_pb2.LogRecord]) -> list[ReservationEvent]:
        """Events after a batch applied through `position` (call after applying)."""
        positions: set[tuple[int, int]] = set()
        disabled: set[int] = set()
        for record in records:
            self._positions_named(record, positions, disabled)
        events = [event for node in sorted(disabled) for event in self._node_events(node, position)]
        for sku, node in sorted(positions):
            events += self._position_events(sku, node, position)
        self.recent.extend(events)
        return events

    # ---- which positions a record touches -----------------------------------------

    def _positions_named(self, record: log_pb2.LogRecord, positions: set[tuple[int, int]], disabled: set[int]) -> None:
        engine = self._engine
        which = record.WhichOneof("command")
        if which in ("update_on_hand", "upsert_supply", "reserve", "return_stock"):
            body = getattr(record, which)
            positions.update(self._known(body.sku_ids, body.node_ids))
        elif which == "receive_supply":
            for supply_id in record.receive_supply.supply_ids:
                supply = engine.supply(supply_id)
                if supply is not None:
                    positions.update(self._known([supply.sku_id], [supply.node_id]))
        elif which == "ship":
            view = engine.reservation(record.ship.reservation_id)
            if view is not None:
                positions.update(self._known([line[0] for line in view.lines], [line[1] for line in view.lines]))
        elif which == "set_node_status":
            for node_id, status in zip(record.set_node_status.node_ids, record.set_node_status.statuses):
                if status != NODE_ENABLED and engine.node(node_id) is not None:
                    disabled.add(engine.network.nodes.index(engine.node(node_id)))

    def _known(self, sku_ids: Iterable[str], node_ids: Iterable[str]) -> set[tuple[int, int]]:
        skus = self._engine.sku_indices(list(sku_ids)).tolist()
        nodes = self._engine.node_indices(list(node_ids)).tolist()
        return {(s, n) for s, n in zip(skus, nodes) if s >= 0 and n >= 0}

    # ---- at risk ----------------------------------------------------------------

    def _position_events(self, sku: int, node: int, version: int) -> list[ReservationEvent]:
        core = self._engine.core
        supplies, backorders = core.position_plan(sku, node)
        now_at_risk = _pegged(core.net_on_hand(sku, node), supplies, backorders)
        events = []
        for line, _, _ in backorders:
            before, after = self._at_risk.get(line), now_at_risk.get(line)
            if after is not None and after != before:
                self._at_risk[line] = after
                events.append(self._event(EventType.AT_RISK, line, version, after))
            elif after is None and before is not None:
                del self._at_risk[line]
                events.append(self._event(EventType.BACK_ON_TRACK, line, version, 0))
        return events

    def _node_events(self, node: int, version: int) -> list[ReservationEvent]:
        """Every open line at the node: it no longer takes demand, the order needs another source."""
        core, events = self._engine.core, []
        for reservation in range(core.reservation_count):
            found = core.reservation(reservation)
            assert found is not None, reservation  # every index below reservation_count is one
            state, _, _, nodes, quantities, _, _ = found
            if state not in RESERVATION_OPEN:
                continue
            for number, (line_node, quantity) in enumerate(zip(nodes.tolist(), quantities.tolist())):
                if line_node == node and quantity > 0:
                    events.append(self._line_event(EventType.NODE_UNAVAILABLE, reservation, number, version, 0))
        return events

    def _event(self, event_type: EventType, line: int, version: int, expected_ns: int) -> ReservationEvent:
        reservation = self._engine.core.reservation_of_line(line)
        first = _first_line(self._engine, reservation, line)
        return self._line_event(event_type, reservation, line - first, version, expected_ns)

    def _line_event(
        self, event_type: EventType, reservation: int, number: int, version: int, expected_ns: int
    ) -> ReservationEvent:
        view = self._engine.reservation_view(reservation)
        sku_id, node_id, quantity, _, due_ns = view.lines[number]
        return ReservationEvent(
            version,
            event_type,
            view.reservation_id,
            view.order_id,
            view.customer_id,
            number,
            sku_id,
            node_id,
            quantity,
            due_ns,
            expected_ns,
        )


def _first_line(engine: Engine, reservation: int, line: int) -> int:
    """The arena index of the reservation's first line: the lowest line of the same reservation."""
    core, first = engine.core, line
    while first > 0 and core.reservation_of_line(first - 1) == reservation:
        first -= 1
    return first


def _pegged(
    net_on_hand: int, supplies: list[tuple[int, int, int, int]], backorders: list[tuple[int, int, int]]
) -> dict[int, int]:
    """Backorder lines at risk -> when supply brings the balance back to zero (0: never).

    supplies: [(supply, kind, eta_ns, quantity)], backorders: [(line, due_ns, quantity)], each in date order.
    """
    events = sorted(
        [(eta, 0, quantity, -1) for _, _, eta, quantity in supplies]
        + [(due, 1, -quantity, line) for line, due, quantity in backorders]
    )
    balance = net_on_hand
    short: list[int] = []
    at_risk: dict[int, int] = {}
    for time_ns, _, change, line in events:
        balance += change
        if line >= 0 and balance < 0:
            short.append(line)
        elif line < 0 and balance >= 0 and short:
            for waiting in short:
                at_risk[waiting] = time_ns
            short = []
    for waiting in short:
        at_risk[waiting] = 0
    return at_risk
