"""The replay fast paths write what the general ones do: Command columns, id
interning, reservation reads and the encoded answers the idempotency cache keeps."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dompromise import _core
from dompromise._core import COMMAND_KIND, Command, Core
from dompromise.internal.v1 import log_pb2
from dompromise.reservations.book import Outcome, ReservationView, _outcome_data, decode_outcome, encode_outcome


def generic(outcome: Outcome) -> bytes:
    """encode_outcome as it was: json.dumps of the dataclasses."""
    return json.dumps(_outcome_data(outcome), separators=(",", ":")).encode()


text = st.text(max_size=6)
number = st.integers(-(2**63), 2**63 - 1)
numbers = st.lists(number, max_size=4).map(tuple)
lines = st.lists(st.tuples(text, text, number, number, number), max_size=8).map(tuple)  # both ways (_FEW_LINES)
held = st.lists(st.lists(st.tuples(text, text), max_size=2).map(tuple), max_size=3).map(tuple)
views = st.none() | st.builds(ReservationView, text, number, number, number, text, text, lines, held)
outcomes = st.builds(Outcome, number, number, number, numbers, numbers, numbers, number, views, st.booleans())


@settings(max_examples=300, deadline=None)
@given(outcomes)
def test_encoded_answers_are_the_generic_json(outcome):
    assert encode_outcome(outcome) == generic(outcome)
    assert decode_outcome(encode_outcome(outcome)) == outcome


def test_encoded_answers_with_parts_or_bools_fall_back():
    part = Outcome(3, 4, 1, (0,), (2,), (5,), 1)
    wave = Outcome(3, 4, 0, parts=(part, part))
    assert encode_outcome(wave) == generic(wave)
    odd = Outcome(True, 4, False, (0,), (1,), (2,), True)  # bools where ints belong: json's spelling
    assert encode_outcome(odd) == generic(odd)
    quoted = Outcome(
        1,
        2,
        reservation=ReservationView(
            'R"1\\', 1, 2, 3, "ordre é", "\u2603\n", (("s\t", "n", 1, 0, 0),), ((("k", "v\x00"),),)
        ),
    )
    assert encode_outcome(quoted) == generic(quoted)


def test_command_columns_match_numpy_conversion():
    kind = COMMAND_KIND["RESERVE"]
    for sku, node, quantity in [
        ((), (), ()),
        ([1, 2], (0, 1), [3, 4]),
        (np.array([1, 2], np.int64), np.array([0, 1], np.int8), np.array([3.0, 4.0])),
        (np.arange(6, dtype=np.int32)[::2], [0, 1, 0], [1, 1, 1]),
    ]:
        command = Command(kind, 5, sku, node, quantity)
        count = len(sku)
        for name, want, dtype in [("sku", sku, np.int32), ("node", node, np.int32), ("quantity", quantity, np.int64)]:
            column = getattr(command, name)
            assert column.dtype == dtype and column.flags.c_contiguous
            assert np.array_equal(column, np.asarray(want, dtype=dtype))
        assert command.op.dtype == np.int8 and np.array_equal(command.op, np.zeros(count))
        assert command.line.dtype == np.int32 and np.array_equal(command.line, np.zeros(count))
        assert command.ref.dtype == np.int64 and np.array_equal(command.ref, np.full(count, -1))
        assert command.time_ns.dtype == np.int64 and np.array_equal(command.time_ns, np.zeros(count))
        assert command.floor.dtype == np.int64 and np.array_equal(command.floor, np.zeros(count))
        for name in ("status", "on_hand_after", "available_after", "filled"):
            assert len(getattr(command, name)) == count and not getattr(command, name).any()
    taken = np.array([1, 2], np.int32)
    assert Command(kind, 5, taken, taken, [1, 1]).sku is taken  # a column of the right type is not copied
    with pytest.raises(AssertionError):
        Command(kind, 5, [1, 2], [0], [1, 1])


def test_indices_and_int64_columns():
    index = {"a": 0, "b": 7}
    ids = log_pb2.Reserve(sku_ids=["b", "x", "a"]).sku_ids
    got = _core.indices_of(index, ids, -1)
    assert got.dtype == np.int32 and got.tolist() == [7, -1, 0]
    assert _core.indices_of(index, []).tolist() == []
    values = log_pb2.Reserve(quantities=[1, -2, 2**63 - 1]).quantities
    got = _core.int64_column(values)
    assert got.dtype == np.int64 and got.tolist() == [1, -2, 2**63 - 1]
    with pytest.raises(OverflowError):
        _core.int64_column([2**63])
    # Sequences are read by index (protobuf fields, lists, tuples, arrays); any other sized iterable is iterated.
    assert _core.indices_of(index, ("a", "b")).tolist() == [0, 7]
    assert _core.indices_of(index, np.array(["b", "a"], dtype=object)).tolist() == [7, 0]
    assert _core.indices_of(index, {"b": 1}.keys()).tolist() == [7]
    assert _core.indices_of(index, {"x"}).tolist() == [-1]
    assert _core.int64_column(np.array([3, 4])).tolist() == [3, 4]
    assert _core.int64_column({5: None}.keys()).tolist() == [5]


def test_reservation_lists_read_what_reservation_does():
    core = Core(2, 3)
    core.apply(Command(COMMAND_KIND["UPDATE_ON_HAND"], 1, [0, 1, 2], [0, 1, 1], [5, 5, 5], [1, 1, 1]))
    command = Command(COMMAND_KIND["RESERVE"], 2, [0, 2], [0, 1], [2, 3], deadline_ns=100)
    core.apply(command)
    index = command.reservation
    arrays, lists = core.reservation(index), core.reservation_lists(index)
    assert lists[0] == int(arrays[0]) and lists[1] == int(arrays[1])
    assert [list(a.tolist()) for a in arrays[2:]] == list(lists[2:])
    assert all(type(x) is int for x in (lists[0], lists[1], *lists[2], *lists[4]))
    assert core.reservation_lists(-1) is None and core.reservation_lists(index + 1) is None


def test_capacity_rebuild_counts_as_refreshing_each_reservation():
    """Engine.from_state's vectorised CapacityCounts.rebuild holds what a refresh of
    every reservation (the per-record path) does: counts, keys and expiries."""
    from dompromise.demo import network as demo
    from dompromise.inventory.capacity import CapacityCounts
    from dompromise.inventory.engine import Engine

    network = demo.demo_network()
    engine = Engine(network)
    skus = [sku.sku_id for sku in network.skus][:40]
    nodes = [node.node_id for node in network.nodes]
    pairs = [(s, n) for s in skus for n in nodes]
    position, at = 0, 1_800_000_000 * 10**9

    def apply(**command):
        nonlocal position, at
        position += 1
        at += 3 * 3600 * 10**9  # hours apart: orders across local days and time zones
        engine.apply_record(log_pb2.LogRecord(log_time_ns=at, **command), position)

    apply(
        update_on_hand=log_pb2.UpdateOnHand(
            sku_ids=[s for s, _ in pairs],
            node_ids=[n for _, n in pairs],
            ops=[1] * len(pairs),
            quantities=[1000] * len(pairs),
        )
    )
    rng = np.random.default_rng(7)
    for i in range(120):
        count = int(rng.integers(1, 5))
        apply(
            reserve=log_pb2.Reserve(
                sku_ids=[skus[int(k)] for k in rng.integers(0, len(skus), count)],
                node_ids=[nodes[int(k)] for k in rng.integers(0, len(nodes), count)],
                quantities=[1] * count,
                ttl_ns=int(rng.integers(1, 40)) * 3600 * 10**9,
            )
        )
        if i % 3 == 0:
            apply(commit=log_pb2.Resolve(reservation_id=f"R{position - 2 if i else position}"))
        if i % 7 == 0:
            apply(release=log_pb2.Resolve(reservation_id=f"R{position - 1}"))
    assert engine.capacity.enabled and engine.capacity.counts()
    arrays, meta = engine.export_state()
    restored = Engine.from_state(network, arrays, meta)
    slow = CapacityCounts(network)
    slow._drop_old(engine.core.log_time_ns)
    for index in range(engine.core.reservation_count):
        slow._refresh(engine.core, index, int(arrays["book_create_ns"][index]))
    fast = restored.capacity
    assert fast.counts() == slow.counts() == engine.capacity.counts()
    assert fast._held == slow._held
    assert sorted(fast._expiries) == sorted(slow._expiries)
