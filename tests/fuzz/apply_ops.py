"""Random command sequences for the core, as plain data, applied through the engine's record path.

An op is a JSON-ready list (kind first); `record_of` turns it into a log record in the state it meets
(a reservation is picked by its number among those issued so far, so a sequence means the same on every
run and can be kept as a corpus file in tests/fuzz/corpus/apply/). `Run` applies the records to two
engines and checks, after each record, what the core promises whatever the input:

- no quantity is negative, and the core's own invariants hold (Core.check_invariants);
- a reserve never claims past what a position has: where a record raised a position's claims (held +
  allocated + open backorders), they stay within on hand + open supply; only a command that lowers on
  hand or supply (a count, a supply change) may leave claims above it;
- a hold resolves once: once it leaves HELD it never holds again, and a released, expired or shipped
  reservation never changes; a token reserves once;
- the same input gives the same state: a second engine fed the same records has the same digest after
  each record, and a snapshot of the end state restores to that digest.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence

import numpy as np

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import ITEM_OK, ON_HAND_ADJUST, ON_HAND_SET, RESULT, Engine
from dompromise.model.network import Network

Op = list  # [kind, arguments...]: JSON-ready

START_NS = 1_790_000_000 * 10**9
SECOND_NS = 10**9
DAY_NS = 86_400 * SECOND_NS
# Commands that may lower on hand or open supply: they alone may leave claims above what a position has
# (a physical count below the holds, a supply cut or closed under a backorder).
LOWERING = frozenset(("on_hand", "supply", "receive"))
HELD, COMMITTED, RELEASED, EXPIRED, SHIPPED = 1, 2, 3, 4, 5
FINAL = frozenset((RELEASED, EXPIRED, SHIPPED))


@dataclasses.dataclass
class Issued:
    """What the sequence has created so far, for ops that name things by number."""

    reservation_ids: list[str] = dataclasses.field(default_factory=list)


def record_of(op: Op, network: Network, issued: Issued, time_ns: int) -> log_pb2.LogRecord:
    """The log record of `op` at `time_ns`. Unknown numbers become ids nobody issued."""
    kind, args = str(op[0]), op[1:]
    nodes = [node.node_id for node in network.nodes]
    skus = [sku.sku_id for sku in network.skus]

    def sku(i: int) -> str:
        return skus[i] if 0 <= i < len(skus) else "NO-SKU"

    def node(i: int) -> str:
        return nodes[i] if 0 <= i < len(nodes) else "NO-NODE"

    def reservation(pick: int) -> str:
        ids = issued.reservation_ids
        return ids[pick % len(ids)] if ids and pick >= 0 else "R999-0000000000000001"

    record = log_pb2.LogRecord(log_time_ns=time_ns)
    if kind == "on_hand":
        s, n, op_kind, quantity = args
        record.update_on_hand.CopyFrom(
            log_pb2.UpdateOnHand(
                sku_ids=[sku(s)],
                node_ids=[node(n)],
                ops=[ON_HAND_SET if op_kind == "set" else ON_HAND_ADJUST],
                quantities=[int(quantity)],
            )
        )
    elif kind == "reserve":
        lines, partial, ttl_seconds, token = args
        body = log_pb2.Reserve(
            sku_ids=[sku(line[0]) for line in lines],
            node_ids=[node(line[1]) for line in lines],
            quantities=[int(line[2]) for line in lines],
            backorder_by_ns=[time_ns + int(line[3]) * DAY_NS if line[3] else 0 for line in lines],
            allow_partial=bool(partial),
            ttl_ns=int(ttl_seconds) * SECOND_NS,
            order_id=f"O{len(issued.reservation_ids)}",
        )
        if token:
            body.promise_token_key = f"token-{token}".encode()
            # Valid for the whole run: an expired token is refused before it reaches the log, so a token
            # forgotten after its expiry never meets a second reserve in the service.
            body.promise_token_expire_ns = START_NS + 10_000 * DAY_NS
        record.reserve.CopyFrom(body)
    elif kind in ("commit", "release"):
        getattr(record, kind).CopyFrom(log_pb2.Resolve(reservation_id=reservation(args[0]), order_id="O"))
    elif kind == "extend":
        record.extend.CopyFrom(log_pb2.Extend(reservation_id=reservation(args[0]), ttl_ns=int(args[1]) * SECOND_NS))
    elif kind in ("ship", "cancel_lines"):
        pick, line, quantity = args
        getattr(record, kind).CopyFrom(
            log_pb2.LineChange(reservation_id=reservation(pick), line_numbers=[int(line)], quantities=[int(quantity)])
        )
    elif kind == "return":
        s, n, quantity, disposition = args
        record.return_stock.CopyFrom(
            log_pb2.ReturnStock(
                sku_ids=[sku(s)], node_ids=[node(n)], quantities=[int(quantity)], dispositions=[int(disposition)]
            )
        )
    elif kind == "supply":
        number, s, n, supply_kind, quantity, eta_days = args
        record.upsert_supply.CopyFrom(
            log_pb2.UpsertSupply(
                supply_ids=[f"PO-{number}"],
                sku_ids=[sku(s)],
                node_ids=[node(n)],
                kinds=[int(supply_kind)],
                quantities=[int(quantity)],
                eta_ns=[time_ns + int(eta_days) * DAY_NS],
            )
        )
    elif kind == "receive":
        number, quantity, disposition = args
        record.receive_supply.CopyFrom(
            log_pb2.ReceiveSupply(
                supply_ids=[f"PO-{number}"], quantities=[int(quantity)], dispositions=[int(disposition)]
            )
        )
    else:
        assert kind == "tick", kind
        record.tick.CopyFrom(log_pb2.Tick())
    return record


def claims_and_supply(engine: Engine) -> tuple[np.ndarray, np.ndarray]:
    """Per position (SKU-major): held + allocated + open backorders, and on hand + open supply."""
    core = engine.core
    claims = core.bucket_array("held").ravel() + core.bucket_array("allocated").ravel()
    have = core.bucket_array("on_hand").ravel().copy()
    nodes = core.node_count
    for index in range(core.reservation_count):
        state, _, sku, node, open_quantity, _, due_ns = core.reservation(index)
        if state in (HELD, COMMITTED):
            for s, n, quantity, due in zip(sku.tolist(), node.tolist(), open_quantity.tolist(), due_ns.tolist()):
                if due > 0:
                    claims[s * nodes + n] += quantity
    for index in range(core.supply_count):
        found = core.supply(index)
        assert found is not None
        s, n, _, _, quantity, _ = found
        have[s * nodes + n] += quantity
    return claims, have


def reservation_states(engine: Engine) -> list[int]:
    core = engine.core
    states = []
    for index in range(core.reservation_count):
        found = core.reservation(index)
        assert found is not None
        states.append(int(found[0]))
    return states


class Run:
    """Two engines over the same network fed the same records, checked after each."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.engine = Engine(network, clock_ns=lambda: START_NS)
        self.twin = Engine(network, clock_ns=lambda: START_NS)
        self.issued = Issued()
        self.time_ns = START_NS
        self.position = 0
        self.tokens: dict[str, str] = {}  # token -> the reservation id it reserved
        for record in (opening_stock(network, self.time_ns), opening_supply(network, self.time_ns)):
            self.position += 1
            for engine in (self.engine, self.twin):
                engine.apply_record(record, self.position)
        self.records = 0
        # What happened, by kind (an OK outcome, a reused token, ...): a fuzz run that never reached a
        # path checks nothing there.
        self.reached: Counter[str] = Counter()

    def apply(self, op: Op, step_seconds: int, request_id: str = "") -> None:
        self.time_ns += step_seconds * SECOND_NS
        record = record_of(op, self.network, self.issued, self.time_ns)
        record.request_id = request_id
        record.id_nonce = self.position + 1  # a writer's random part; fixed here so runs repeat
        claims_before, have_before = claims_and_supply(self.engine)
        states_before = reservation_states(self.engine)
        self.position += 1
        outcome = self.engine.apply_record(record, self.position)
        twin_outcome = self.twin.apply_record(record, self.position)
        self.records += 1
        assert outcome == twin_outcome, (op, outcome, twin_outcome)
        # The core's digest after every record (the whole state's, network and catalog included, costs a
        # network document each: compared at the end, with every snapshot array).
        assert self.engine.core.digest() == self.twin.core.digest(), op
        self._check_quantities(str(op[0]), claims_before, have_before, op)
        self._check_holds(states_before, op)
        self._note(op, outcome, record)

    def _check_quantities(self, kind: str, claims_before: np.ndarray, have_before: np.ndarray, op: Op) -> None:
        core = self.engine.core
        for name in ("on_hand", "held", "allocated", "unavailable", "safety_stock", "available"):
            assert (core.bucket_array(name) >= 0).all(), (name, op)
        assert core.check_invariants(), op
        held_allocated = core.bucket_array("held").ravel() + core.bucket_array("allocated").ravel()
        on_hand = core.bucket_array("on_hand").ravel()
        claims, have = claims_and_supply(self.engine)
        raised = claims > claims_before
        # What a command raised stays within what the position has...
        assert (claims[raised] <= have[raised]).all(), (op, claims[raised], have[raised])
        stock_raised = raised & (held_allocated > 0)
        assert (held_allocated[stock_raised] <= on_hand[stock_raised]).all(), op
        # ...and only a count or a supply change may leave a position claimed past it.
        if kind not in LOWERING:
            excess_before = np.maximum(claims_before - have_before, 0)
            assert (np.maximum(claims - have, 0) <= excess_before).all(), op

    def _check_holds(self, states_before: Sequence[int], op: Op) -> None:
        states = reservation_states(self.engine)
        assert len(states) >= len(states_before), op
        for before, after in zip(states_before, states):
            if before in FINAL:
                assert after == before, (op, before, after)  # resolved once, for good
            elif before == COMMITTED:
                assert after in (COMMITTED, RELEASED, SHIPPED), (op, before, after)
        for state in states[len(states_before) :]:
            assert state in (HELD, COMMITTED, EXPIRED, SHIPPED, RELEASED), state

    def _note(self, op: Op, outcome, record: log_pb2.LogRecord) -> None:
        kind = str(op[0])
        ok = outcome.result == RESULT["OK"] and not outcome.conflict and not outcome.token_reused
        if (ok or outcome.result == 0) and (not outcome.item_status or ITEM_OK in outcome.item_status):
            self.reached[kind] += 1
        if outcome.token_reused:
            self.reached["token_reused"] += 1
        if outcome.conflict:
            self.reached["request_id_conflict"] += 1
        if kind == "reserve" and outcome.reservation is not None and any(line[4] for line in outcome.reservation.lines):
            self.reached["backorder_held"] += 1
        if kind == "reserve":
            token = op[4]
            if outcome.token_reused:
                assert token and token in self.tokens, op
                assert outcome.reservation.reservation_id == self.tokens[str(token)]
            elif outcome.result == RESULT["OK"] and not outcome.conflict and outcome.reservation is not None:
                reservation_id = outcome.reservation.reservation_id
                if reservation_id not in self.issued.reservation_ids:
                    self.issued.reservation_ids.append(reservation_id)
                if token:
                    assert str(token) not in self.tokens or record.request_id, op  # a token reserves once
                    self.tokens.setdefault(str(token), reservation_id)
        if kind in ("commit", "release") and outcome.result == RESULT["OK"] and not outcome.conflict:
            assert outcome.reservation is not None

    def finish(self) -> None:
        """The end state survives a snapshot: restored, it has the same digest."""
        self.reached["expired"] += reservation_states(self.engine).count(EXPIRED)
        assert self.engine.state_digest() == self.twin.state_digest()
        arrays, meta = self.engine.export_state()
        twin_arrays, _ = self.twin.export_state()
        assert sorted(arrays) == sorted(twin_arrays)
        for name, array in arrays.items():  # the reservation book, supply and source ids too
            assert np.array_equal(array, twin_arrays[name]), name
        restored = Engine.from_state(self.network, arrays, meta)
        assert restored.state_digest() == self.engine.state_digest()


def opening_stock(network: Network, time_ns: int) -> log_pb2.LogRecord:
    """Some stock at every position (10 + sku + node), so holds meet stock from the first op."""
    rows = [(sku, node, 10 + s + n) for s, sku in enumerate(network.skus) for n, node in enumerate(network.nodes)]
    return log_pb2.LogRecord(
        log_time_ns=time_ns,
        update_on_hand=log_pb2.UpdateOnHand(
            sku_ids=[sku.sku_id for sku, _, _ in rows],
            node_ids=[node.node_id for _, node, _ in rows],
            ops=[ON_HAND_SET] * len(rows),
            quantities=[quantity for _, _, quantity in rows],
        ),
    )


def opening_supply(network: Network, time_ns: int) -> log_pb2.LogRecord:
    """Purchase orders PO-0 to PO-3 (the names supply and receive ops use) of 30 units due in 2 days at the
    first two SKUs x first two nodes, so backorders have supply to meet from the first op."""
    positions = [(s, n) for s in range(2) for n in range(2)]
    return log_pb2.LogRecord(
        log_time_ns=time_ns,
        upsert_supply=log_pb2.UpsertSupply(
            supply_ids=[f"PO-{i}" for i in range(len(positions))],
            sku_ids=[network.skus[s].sku_id for s, _ in positions],
            node_ids=[network.nodes[n].node_id for _, n in positions],
            kinds=[2] * len(positions),  # SupplyKind PURCHASE_ORDER
            quantities=[30] * len(positions),
            eta_ns=[time_ns + 2 * DAY_NS] * len(positions),
        ),
    )


def run_ops(network: Network, ops: Sequence[tuple[Op, int, str]]) -> Run:
    """Applies (op, step seconds, request_id) in order, checking after each; the run for its figures."""
    run = Run(network)
    for op, step_seconds, request_id in ops:
        run.apply(op, step_seconds, request_id)
    run.finish()
    return run
