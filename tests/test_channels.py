"""Channel views in the engine: what a view answers is exactly what a
reservation through it can take, for any stock, rules and protections."""

from __future__ import annotations

import dataclasses

from conftest import small_network
from hypothesis import given, settings
from hypothesis import strategies as st

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import ITEM_OK, ITEM_STATUS, ON_HAND_SET, Engine
from dompromise.model.views import ProtectedAllocation, SkuQuantities, View

NODES = ("DC-1", "WH-N", "ST-1")  # the small network's sellable nodes
T0 = 10**18

protections = st.lists(
    st.builds(
        lambda segment, fixed, quantity, percent, node: ProtectedAllocation(
            segment,
            quantity=quantity if fixed else 0,
            percent=0 if fixed else percent,
            node_ids=(node,) if node else (),
        ),
        st.sampled_from(["premium", "b2b"]),
        st.booleans(),
        st.integers(1, 30),
        st.integers(1, 60),
        st.sampled_from([None, *NODES]),
    ),
    max_size=4,
)


class Log:
    """Applies records to an engine in order, with the log's clock."""

    def __init__(self, engine: Engine):
        self.engine, self.position = engine, 0

    def apply(self, record: log_pb2.LogRecord):
        self.position += 1
        record.log_time_ns = T0 + self.position
        return self.engine.apply_record(record, self.position)


@settings(max_examples=80, deadline=None)
@given(
    on_hand=st.lists(st.integers(0, 80), min_size=3, max_size=3),
    rules=st.lists(st.one_of(st.none(), st.integers(0, 20)), min_size=3, max_size=3),
    sku_rule=st.one_of(st.none(), st.integers(0, 20)),
    view_safety=st.one_of(st.none(), st.integers(0, 25)),
    protected=protections,
    segment=st.sampled_from(["", "premium", "b2b"]),
)
def test_a_views_answer_is_what_a_reservation_through_it_can_take(
    on_hand, rules, sku_rule, view_safety, protected, segment
):
    safety = None if view_safety is None else SkuQuantities(default=view_safety)
    view = View("shop", segments=("premium", "b2b"), safety_stock=safety, protected=tuple(protected))
    engine = Engine(dataclasses.replace(small_network(), views=(view,)))
    log = Log(engine)
    log.apply(
        log_pb2.LogRecord(
            update_on_hand=log_pb2.UpdateOnHand(
                sku_ids=["PAD-1"] * 3, node_ids=list(NODES), ops=[ON_HAND_SET] * 3, quantities=on_hand
            )
        )
    )
    set_ids = [(node, quantity) for node, quantity in zip(NODES, rules) if quantity is not None]
    body = log_pb2.SetSafetyStock(
        sku_ids=["PAD-1"] * len(set_ids), node_ids=[n for n, _ in set_ids], quantities=[q for _, q in set_ids]
    )
    if sku_rule is not None:
        body.sku_ids.append("PAD-1"), body.node_ids.append(""), body.quantities.append(sku_rule)
    if body.sku_ids:
        log.apply(log_pb2.LogRecord(set_safety_stock=body))
    channel = engine.channel("shop", segment)
    nodes = engine.node_selection(channel=channel)
    shown = engine.availability(["PAD-1"], nodes, channel=channel).cells.tolist()
    for node_id, cell in zip(engine.node_ids(nodes), shown):
        for quantity, fits in ((cell + 1, False), (cell, True)):
            if quantity == 0:
                continue
            reserve = log_pb2.Reserve(
                sku_ids=["PAD-1"],
                node_ids=[node_id],
                quantities=[quantity],
                ttl_ns=10**12,
                channel_view_id="shop",
                customer_segment=segment,
            )
            fixed, percent, view_stock = engine.reserve_protection(channel, ["PAD-1"], [node_id])
            reserve.protected_quantities.extend(fixed)
            reserve.protected_percents.extend(percent)
            reserve.channel_safety_stock_quantities.extend(view_stock)
            outcome = log.apply(log_pb2.LogRecord(reserve=reserve))
            assert (outcome.item_status[0] == ITEM_OK) == fits, (node_id, cell, quantity)
            if fits:  # give it back: the next node starts from the same state
                log.apply(log_pb2.LogRecord(release=log_pb2.Resolve(reservation_id=outcome.reservation.reservation_id)))
            else:
                assert outcome.item_available[0] == cell
    assert engine.core.check_invariants()


def test_a_record_with_protection_columns_of_the_wrong_length_is_malformed_not_fatal():
    engine = Engine(small_network())
    log = Log(engine)
    log.apply(
        log_pb2.LogRecord(
            update_on_hand=log_pb2.UpdateOnHand(sku_ids=["PAD-1"], node_ids=["DC-1"], ops=[ON_HAND_SET], quantities=[5])
        )
    )
    outcome = log.apply(
        log_pb2.LogRecord(
            reserve=log_pb2.Reserve(
                sku_ids=["PAD-1", "PAD-1"],
                node_ids=["DC-1", "DC-1"],
                quantities=[1, 1],
                ttl_ns=10**12,
                protected_quantities=[1],
            )
        )
    )
    assert set(outcome.item_status) == {ITEM_STATUS["MALFORMED"]}
    assert int(engine.core.bucket_array("held")[0, 0]) == 0
