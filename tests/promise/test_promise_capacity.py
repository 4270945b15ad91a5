"""Daily shipping capacity (node_shipping daily_capacity_orders) in promises.

The warehouse WH of scenario_network ships route 7 (14:00 departure, order
cut-off 13:45, delivered 16:30). Given a capacity of 2 orders a day, two
reservations at WH today push a 13:00 promise to tomorrow's 14:00 departure;
releasing one gives today back. The counts live in the engine and change only
with log records, so a replayed log and a snapshot agree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scenario_network import PARIS, network, paris, stock_records

from dompromise.internal.v1 import log_pb2
from dompromise.inventory import capacity as capacity_module
from dompromise.inventory.engine import Engine
from dompromise.model.document import network_document
from dompromise.model.network import NodeStatus
from dompromise.promise.edt import EdtCalculator
from dompromise.promise.edt_tables import local_datetime
from dompromise.promise.engine import PromiseEngine
from dompromise.promise.token import TokenSigner
from dompromise.promise.types import PromiseRequest, Reason
from dompromise.service.promise import Promiser
from dompromise.v1 import promise_pb2

HOUR_NS = 3_600 * 10**9
TODAY = dt.date(2026, 11, 24)  # a Tuesday
STOCK = {("PAD", "WH"): 10}


def capacity_network(daily: int | None = 2, node_id: str = "WH"):
    base = network()
    shipping = tuple(
        dataclasses.replace(s, daily_capacity_orders=daily) if s.node_id == node_id else s
        for s in base.transport.node_shipping
    )
    return dataclasses.replace(base, transport=dataclasses.replace(base.transport, node_shipping=shipping))


class Log:
    """An engine and the records applied to it, to replay elsewhere."""

    def __init__(self, net, stock=STOCK):
        self.network = net
        self.engine = Engine(net)
        self.records: list[log_pb2.LogRecord] = []
        for record in stock_records(stock):
            self.apply(record)

    def apply(self, record: log_pb2.LogRecord):
        self.records.append(record)
        return self.engine.apply_record(record, len(self.records))

    def reserve(
        self, at_ns: int, node: str = "WH", quantity: int = 1, ttl_ns: int = 24 * HOUR_NS, backorder_by_ns: int = 0
    ) -> str:
        body = log_pb2.Reserve(sku_ids=["PAD"], node_ids=[node], quantities=[quantity], ttl_ns=ttl_ns)
        if backorder_by_ns:
            body.backorder_by_ns.append(backorder_by_ns)
        outcome = self.apply(log_pb2.LogRecord(log_time_ns=at_ns, reserve=body))
        assert outcome.reservation is not None, outcome
        return outcome.reservation.reservation_id

    def resolve(self, which: str, reservation_id: str, at_ns: int):
        return self.apply(
            log_pb2.LogRecord(log_time_ns=at_ns, **{which: log_pb2.Resolve(reservation_id=reservation_id)})
        )

    def lines(self, which: str, reservation_id: str, at_ns: int, quantity: int):
        return self.apply(
            log_pb2.LogRecord(
                log_time_ns=at_ns,
                **{which: log_pb2.LineChange(reservation_id=reservation_id, line_numbers=[0], quantities=[quantity])},
            )
        )

    def tick(self, at_ns: int):
        return self.apply(log_pb2.LogRecord(log_time_ns=at_ns, tick=log_pb2.Tick()))

    def wh_today(self) -> int:
        return self.engine.capacity.count(1, TODAY)


def best(engine: Engine, at_ns: int):
    answer = PromiseEngine(engine, EdtCalculator(engine.network)).promise(
        PromiseRequest(("PAD",), (2,), at_ns, zone_id="Z59")
    )
    return answer


def earliest_text(answer) -> str:
    return local_datetime(answer.options[0].earliest_ns, PARIS).strftime("%Y-%m-%d %H:%M")


def candidate(answer, node_id: str):
    return next(c for c in answer.candidates if c.node_id == node_id)


def test_without_capacity_nothing_is_counted_and_today_ships():
    log = Log(network())
    for hour in (9, 10, 11):
        log.reserve(paris(2026, 11, 24, hour))
    assert not log.engine.capacity.enabled and log.engine.capacity.counts() == {}
    assert earliest_text(best(log.engine, paris(2026, 11, 24, 13))) == "2026-11-24 16:30"


def test_full_day_ships_next_working_day_and_a_release_gives_today_back():
    log = Log(capacity_network(2))
    first = log.reserve(paris(2026, 11, 24, 9))
    assert earliest_text(best(log.engine, paris(2026, 11, 24, 13))) == "2026-11-24 16:30"  # 1 of 2: room
    log.reserve(paris(2026, 11, 24, 10))
    assert log.wh_today() == 2
    answer = best(log.engine, paris(2026, 11, 24, 13))
    assert earliest_text(answer) == "2026-11-25 16:30"  # one working day later
    shipment = answer.options[0].shipments[0]
    assert (shipment.node_id, shipment.service) == ("WH", "route7")
    # The lines are ready when WH opens on its next working day with room (06:00).
    assert local_datetime(shipment.lines[0].ready_ns, PARIS).strftime("%Y-%m-%d %H:%M") == "2026-11-25 06:00"
    assert candidate(answer, "WH").reason == Reason.USED
    log.resolve("release", first, paris(2026, 11, 24, 12))
    assert log.wh_today() == 1
    assert earliest_text(best(log.engine, paris(2026, 11, 24, 13))) == "2026-11-24 16:30"


def test_friday_full_ships_monday():
    log = Log(capacity_network(1))
    log.reserve(paris(2026, 11, 27, 9))
    assert earliest_text(best(log.engine, paris(2026, 11, 27, 13))) == "2026-11-30 16:30"


def test_committed_and_shipped_orders_count_cancelled_and_expired_do_not():
    log = Log(capacity_network(5))
    committed = log.reserve(paris(2026, 11, 24, 8))
    log.resolve("commit", committed, paris(2026, 11, 24, 8, 5))
    log.lines("ship", committed, paris(2026, 11, 24, 8, 10), 1)
    assert log.engine.reservation(committed).state == capacity_module._STATE["SHIPPED"]
    cancelled = log.reserve(paris(2026, 11, 24, 9))
    expiring = log.reserve(paris(2026, 11, 24, 9, 30), ttl_ns=HOUR_NS)
    assert log.wh_today() == 3
    log.lines("cancel_lines", cancelled, paris(2026, 11, 24, 10), 1)  # every unit: released
    assert log.wh_today() == 2
    log.tick(paris(2026, 11, 24, 10, 31))  # the hold of 09:30 expired at 10:30
    assert log.engine.reservation(expiring).state == capacity_module._STATE["EXPIRED"]
    assert log.wh_today() == 1


def test_an_extended_hold_keeps_counting():
    log = Log(capacity_network(5))
    held = log.reserve(paris(2026, 11, 24, 9), ttl_ns=HOUR_NS)
    log.apply(
        log_pb2.LogRecord(
            log_time_ns=paris(2026, 11, 24, 9, 30), extend=log_pb2.Extend(reservation_id=held, ttl_ns=4 * HOUR_NS)
        )
    )
    log.tick(paris(2026, 11, 24, 10, 30))
    assert log.wh_today() == 1
    log.tick(paris(2026, 11, 24, 13, 31))
    assert log.wh_today() == 0


def test_a_backorder_counts_on_its_due_day():
    log = Log(capacity_network(1), stock={("PAD", "WH"): 0})
    log.apply(
        log_pb2.LogRecord(
            log_time_ns=paris(2026, 11, 24, 8),
            upsert_supply=log_pb2.UpsertSupply(
                supply_ids=["PO1"],
                sku_ids=["PAD"],
                node_ids=["WH"],
                kinds=[2],
                quantities=[10],
                eta_ns=[paris(2026, 11, 26, 10)],
            ),
        )
    )
    log.reserve(paris(2026, 11, 24, 9), backorder_by_ns=paris(2026, 11, 26, 10))
    assert log.engine.capacity.counts() == {(1, dt.date(2026, 11, 26).toordinal()): 1}
    # The supply lands Thursday 10:00, a full day: Friday's round.
    assert earliest_text(best(log.engine, paris(2026, 11, 24, 13))) == "2026-11-27 16:30"


def test_every_day_full_is_a_capacity_candidate(monkeypatch):
    monkeypatch.setattr(capacity_module, "CAPACITY_LOOKAHEAD_DAYS", 1)
    log = Log(capacity_network(1))
    log.reserve(paris(2026, 11, 24, 9), ttl_ns=48 * HOUR_NS)
    log.reserve(paris(2026, 11, 25, 9))  # the log is ahead of the promise's as-of: tomorrow is full too
    answer = best(log.engine, paris(2026, 11, 24, 13))
    wh = candidate(answer, "WH")
    assert wh.reason == Reason.CAPACITY and "capacity" in wh.detail
    assert all(s.node_id != "WH" for option in answer.options for s in option.shipments)


def test_replay_and_snapshot_give_the_same_counts():
    log = Log(capacity_network(2))
    ids = [log.reserve(paris(2026, 11, 24, 8 + k), ttl_ns=(k + 1) * HOUR_NS) for k in range(4)]
    log.resolve("commit", ids[3], paris(2026, 11, 24, 11, 30))
    log.reserve(paris(2026, 11, 25, 9), node="WH")
    expected = log.engine.capacity.counts()
    replayed = Engine(log.network)
    for position, record in enumerate(log.records, start=1):
        replayed.apply_record(record, position)
    arrays, meta = log.engine.export_state()
    restored = Engine.from_state(log.network, arrays, meta)
    assert replayed.capacity.counts() == restored.capacity.counts() == expected
    # By the 25th 09:00 the holds of the 24th (1 to 3 h) have expired: the committed one counts.
    assert expected == {(1, TODAY.toordinal()): 1, (1, TODAY.toordinal() + 1): 1}
    # Carrying on from the snapshot: the same records, the same counts and the same promise.
    more = [
        log_pb2.LogRecord(log_time_ns=paris(2026, 11, 25, 10), release=log_pb2.Resolve(reservation_id=ids[3])),
        log_pb2.LogRecord(log_time_ns=paris(2026, 11, 25, 13), tick=log_pb2.Tick()),
    ]
    for record in more:
        log.apply(record)
        restored.apply_record(record, len(log.records))
    assert restored.capacity.counts() == log.engine.capacity.counts()
    at = paris(2026, 11, 25, 11)
    assert best(restored, at) == best(log.engine, at)


def test_old_days_are_dropped_by_the_log_clock():
    log = Log(capacity_network(2))
    log.reserve(paris(2026, 11, 24, 9), ttl_ns=30 * 24 * HOUR_NS)
    assert log.wh_today() == 1
    log.tick(paris(2026, 11, 24, 9) + (capacity_module.CAPACITY_DAYS_KEPT + 1) * 24 * HOUR_NS)
    assert log.engine.capacity.counts() == {}
    arrays, meta = log.engine.export_state()
    assert Engine.from_state(log.network, arrays, meta).capacity.counts() == {}


@pytest.mark.parametrize("orders", [0, 1])
def test_a_day_with_room_leaves_the_ready_time_alone(orders):
    log = Log(capacity_network(2))
    for k in range(orders):
        log.reserve(paris(2026, 11, 24, 9 + k))
    assert log.engine.capacity.ready_ns(1, paris(2026, 11, 24, 13)) == paris(2026, 11, 24, 13)


def test_each_order_of_a_wave_counts_once_per_node():
    log = Log(capacity_network(5), stock={("PAD", "WH"): 10, ("PAD", "DC"): 10})
    wave = log_pb2.AllocateWave(
        orders=[
            log_pb2.WaveOrder(order_id="A", sku_ids=["PAD", "PAD"], node_ids=["WH", "WH"], quantities=[1, 1]),
            log_pb2.WaveOrder(order_id="B", sku_ids=["PAD", "PAD"], node_ids=["WH", "DC"], quantities=[1, 1]),
            log_pb2.WaveOrder(order_id="C", sku_ids=["PAD"], node_ids=["DC"], quantities=[1]),
        ]
    )
    log.apply(log_pb2.LogRecord(log_time_ns=paris(2026, 11, 24, 9), allocate_wave=wave))
    assert log.engine.capacity.counts() == {(1, TODAY.toordinal()): 2}  # DC has no capacity: not counted


def test_a_day_is_the_node_local_date():
    """23:30 in Paris on Monday is Monday there, though it is 22:30 UTC."""
    log = Log(capacity_network(2))
    log.reserve(paris(2026, 11, 23, 23, 30))
    assert log.engine.capacity.counts() == {(1, dt.date(2026, 11, 23).toordinal()): 1}
    log.reserve(paris(2026, 11, 24, 0, 30))  # 23:30 UTC on Monday: Tuesday in Paris
    assert log.engine.capacity.count(1, TODAY) == 1


@pytest.mark.parametrize("timezone", [PARIS, "America/Santiago", "Pacific/Apia", "Asia/Kolkata"])
def test_the_cached_local_day_is_the_converted_one(timezone):
    """DST changes, one at midnight (Santiago), a day a zone skipped (Apia, 2011-12-30)."""
    import random

    limited = capacity_module._Limited(1, timezone, None)
    fresh = capacity_module._Limited(1, timezone, None)
    rng = random.Random(5)
    base = paris(2011, 12, 25, 0)
    instants = sorted(base + rng.randrange(0, 600 * 24 * HOUR_NS) for _ in range(3_000))
    instants += [paris(2026, 9, 6, 4, 59) + k * 10**9 for k in range(-3, 4)]  # near Santiago's 2026 change
    for at_ns in instants + instants[::-7]:
        assert limited.day_of(at_ns) == fresh._convert(at_ns)


def test_one_promise_engine_sees_every_change_of_the_counts():
    """The counts keep each limited node's answer for the day last asked about (ready_ns), and a read skips
    the re-count when no record came since: one PromiseEngine asked again after each kind of record must see
    what a fresh engine sees (a reservation, one applied from its log bytes, a release, an expiry by the log's
    clock)."""
    log = Log(capacity_network(2))
    kept = PromiseEngine(log.engine, EdtCalculator(log.network))
    at = paris(2026, 11, 24, 13)

    def both() -> str:
        text = earliest_text(kept.promise(PromiseRequest(("PAD",), (2,), at, zone_id="Z59")))
        assert text == earliest_text(best(log.engine, at)), "a kept engine answers as a fresh one"
        return text

    assert both() == both() == "2026-11-24 16:30"
    first = log.reserve(paris(2026, 11, 24, 9))
    assert both() == "2026-11-24 16:30"  # 1 of 2: room
    # The second order applied from its log bytes (the replica's fast path), at the same log time as the
    # first: counted on the next read all the same.
    body = log_pb2.Reserve(sku_ids=["PAD"], node_ids=["WH"], quantities=[1], ttl_ns=24 * HOUR_NS)
    record = log_pb2.LogRecord(log_time_ns=paris(2026, 11, 24, 9), reserve=body)
    log.records.append(record)
    log.engine.replay_payload(record.SerializeToString(), len(log.records))
    assert both() == both() == "2026-11-25 16:30"
    log.resolve("release", first, paris(2026, 11, 24, 11))
    assert both() == "2026-11-24 16:30"
    log.reserve(paris(2026, 11, 24, 11, 30), ttl_ns=HOUR_NS)
    assert both() == "2026-11-25 16:30"
    log.tick(paris(2026, 11, 24, 12))  # the hold has not expired yet
    assert both() == "2026-11-25 16:30"
    log.tick(paris(2026, 11, 24, 12, 31))  # it expired at 12:30
    assert both() == "2026-11-24 16:30"
    assert log.wh_today() == 1


def test_a_capacity_change_of_the_network_moves_the_next_promise():
    """The kept answers belong to the counts of one network: a ChangeNetwork record that cuts the capacity
    makes new counts, and the Promiser's next promise sees the cut."""
    log = Log(capacity_network(2))
    log.reserve(paris(2026, 11, 24, 9))
    promiser = Promiser(log.engine, TokenSigner(), lambda: paris(2026, 11, 24, 13))
    request = promise_pb2.PromiseDeliveryRequest(
        lines=[promise_pb2.OrderLine(sku_id="PAD", quantity=2)], postal_code="59000", country_code="FR"
    )
    request.as_of_time.FromNanoseconds(paris(2026, 11, 24, 13))

    def earliest() -> str:
        answer = promiser.promise_rows(promiser.request_of(request))
        response = promise_pb2.PromiseDeliveryResponse.FromString(
            promiser.response_bytes(promiser.request_of(request), answer)
        )
        return local_datetime(response.options[0].earliest_delivery_time.ToNanoseconds(), PARIS).strftime(
            "%Y-%m-%d %H:%M"
        )

    assert earliest() == earliest() == "2026-11-24 16:30"
    change = log_pb2.ChangeNetwork(network_document=network_document(capacity_network(1)))
    log.apply(log_pb2.LogRecord(log_time_ns=paris(2026, 11, 24, 12), change_network=change))
    assert log.engine.capacity.cap(1, TODAY) == 1
    assert earliest() == "2026-11-25 16:30"


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 3),
    st.lists(st.integers(0, 4 * 24), max_size=6),
    st.lists(
        st.lists(st.tuples(st.sampled_from([0, 1]), st.lists(st.integers(0, 5 * 24 * 60), max_size=3)), max_size=3),
        max_size=6,
    ),
)
def test_all_have_room_is_every_ready_time_left_alone(daily, orders_hours, asks):
    """CapacityCounts.all_have_room (the capacity step's shortcut: PromiseEngine._capacity_delays) is True exactly
    when ready_ns leaves every time alone, on days full or not, kept by ready_ns or not, over nodes limited or not."""
    log = Log(capacity_network(daily), stock={("PAD", "WH"): 1_000})
    start = paris(2026, 11, 24, 8)
    for hours in sorted(orders_hours):
        log.reserve(start + hours * HOUR_NS, ttl_ns=30 * 24 * HOUR_NS)
    capacity = log.engine.capacity
    for times in asks:
        found = [
            (column, node, [start + m * 60 * 10**9 for m in minutes]) for column, (node, minutes) in enumerate(times)
        ]
        answer = capacity.all_have_room(found)  # first: the days it meets are not always the kept ones
        assert answer == all(capacity.ready_ns(node, at_ns) == at_ns for _, node, ats in found for at_ns in ats)


def test_one_promise_engine_follows_the_sellable_nodes():
    """A PromiseEngine keeps the node list of the selection array it last saw (Call.columns): a node status
    record makes a new selection, and the kept engine answers as a fresh one, the disabled node unused."""
    log = Log(network(), stock={("PAD", "WH"): 10, ("PAD", "DC"): 10})
    kept = PromiseEngine(log.engine, EdtCalculator(log.network))
    at = paris(2026, 11, 24, 13)
    request = PromiseRequest(("PAD",), (2,), at, zone_id="Z59")

    def nodes_used() -> set[str]:
        answer = kept.promise(request)
        assert answer == best(log.engine, at), "a kept engine answers as a fresh one"
        return {shipment.node_id for option in answer.options for shipment in option.shipments}

    assert "WH" in nodes_used()
    for status, expected in ((NodeStatus.DISABLED, False), (NodeStatus.ENABLED, True)):
        log.apply(
            log_pb2.LogRecord(log_time_ns=at, set_node_status=log_pb2.SetNodeStatus(node_ids=["WH"], statuses=[status]))
        )
        assert ("WH" in nodes_used()) is expected
