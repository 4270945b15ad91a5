"""Reserve records applied from their bytes (inventory/_records.pyx) leave what apply_record leaves.

Two engines over the same network take the same log: one parses every payload and applies it with
apply_record, the other hands the payloads to apply_payload / replay_payload (the fast path for the
reserves it takes, apply_record for the rest). After every record their answers are equal; at the end
their core digests, reservation books (the snapshot arrays, remembered answers byte for byte) and
capacity counts. Records cover what the fast path must judge as the core does: unknown SKUs and nodes,
a disabled node, short stock, partial fill, a zero or negative ttl, zero and negative quantities, more
lines than it takes, retried and conflicting request ids, non-ASCII ids, holds expiring between records,
commits and releases naming them, and payloads encoded other than canonically (it must leave those).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dompromise import limits
from dompromise.demo import network as demo
from dompromise.internal.v1 import log_pb2
from dompromise.inventory._records import FAST_LINES
from dompromise.inventory.engine import COMMAND_RESULT, ITEM_STATUS, Engine
from dompromise.reservations.book import ReservationBook, encode_outcome, unpack_text

NETWORK = demo.demo_network()
SKUS = [sku.sku_id for sku in NETWORK.skus[:6]] + ["NO-SUCH-SKU"]
NODES = [node.node_id for node in NETWORK.nodes[:4]] + ["NO-SUCH-NODE"]
DISABLED = NODES[3]
START_NS = 1_800_000_000 * 10**9
TTL_NS = 60 * 10**9


def start_records() -> list[log_pb2.LogRecord]:
    """Scarce stock at every (SKU, node) of the test, and one node disabled."""
    pairs = [(sku, node) for sku in SKUS[:-1] for node in NODES[:-1]]
    return [
        log_pb2.LogRecord(
            log_time_ns=START_NS,
            update_on_hand=log_pb2.UpdateOnHand(
                sku_ids=[s for s, _ in pairs],
                node_ids=[n for _, n in pairs],
                ops=[1] * len(pairs),
                quantities=[5 + 3 * i for i in range(len(pairs))],
            ),
        ),
        log_pb2.LogRecord(
            log_time_ns=START_NS, set_node_status=log_pb2.SetNodeStatus(node_ids=[DISABLED], statuses=[3])
        ),
    ]


@dataclass
class Step:
    kind: str  # reserve, onhand, commit, release, tick
    advance_ns: int
    lines: list[tuple[int, int, int]]  # (sku, node, quantity) choices
    partial: bool = False
    ttl_ns: int = TTL_NS
    order_id: str = ""
    customer_id: str = ""
    request: int = -1  # request id number, -1 none
    nonce: int = 0
    encoding: str = "canonical"  # canonical, reordered, unpacked
    target: int = 0  # commit / release: which earlier record


# Mostly known SKUs at enabled nodes (NODES[3] is disabled, the last of each list unknown).
line = st.tuples(
    st.sampled_from([0, 1, 2, 3, 4, 5, 0, 1, 6]),
    st.sampled_from([0, 1, 2, 0, 1, 2, 3, 4]),
    st.sampled_from([1, 1, 1, 1, 2, 2, 3, 7, 40, 0, -1]),
)
# Mostly one to three lines; sometimes none, or more than the fast path takes.
lines = st.one_of(
    st.lists(line, min_size=1, max_size=3),
    st.lists(line, min_size=1, max_size=3),
    st.lists(line, min_size=0, max_size=FAST_LINES + 2),
)
ids = st.sampled_from(["", "o-1", "o-2", "cust", "ordré-ü", 'q"uote\\'])
steps = st.lists(
    st.one_of(
        st.builds(
            Step,
            kind=st.just("reserve"),
            advance_ns=st.sampled_from([0, 1, 10**9, TTL_NS // 2, TTL_NS + 1]),
            lines=lines,
            partial=st.booleans(),
            ttl_ns=st.sampled_from([TTL_NS, TTL_NS, TTL_NS, TTL_NS, TTL_NS, 1, 0, -5, 2**62]),
            order_id=ids,
            customer_id=ids,
            request=st.integers(-1, 40),
            nonce=st.sampled_from([0, 1, 2**64 - 1, 0x1234_5678_9ABC_DEF0]),
            encoding=st.sampled_from(["canonical", "canonical", "canonical", "reordered", "unpacked"]),
        ),
        st.builds(
            Step,
            kind=st.sampled_from(["onhand", "commit", "release", "tick"]),
            advance_ns=st.sampled_from([0, 10**9, TTL_NS + 1]),
            lines=lines,
            request=st.integers(-1, 6),
            target=st.integers(0, 30),
        ),
    ),
    min_size=1,
    max_size=30,
)


def _varint(value: int) -> bytes:
    value &= 2**64 - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _unpacked(record: log_pb2.LogRecord) -> bytes:
    """The record with its Reserve's quantities written one field each (valid protobuf, not canonical)."""
    reserve = log_pb2.Reserve()
    reserve.CopyFrom(record.reserve)
    quantities = list(reserve.quantities)
    del reserve.quantities[:]
    body = reserve.SerializeToString() + b"".join(b"\x18" + _varint(q) for q in quantities)
    head = log_pb2.LogRecord(log_time_ns=record.log_time_ns, request_id=record.request_id, id_nonce=record.id_nonce)
    return head.SerializeToString() + b"\x5a" + _varint(len(body)) + body


def payloads_of(steps_taken: list[Step]) -> list[bytes]:
    out = [record.SerializeToString() for record in start_records()]
    time_ns = START_NS
    for step in steps_taken:
        time_ns += step.advance_ns
        request_id = f"req-{step.request}" if step.request >= 0 else ""
        record = log_pb2.LogRecord(log_time_ns=time_ns, request_id=request_id)
        if step.kind == "reserve":
            record.id_nonce = step.nonce
            record.reserve.sku_ids.extend(SKUS[s] for s, _, _ in step.lines)
            record.reserve.node_ids.extend(NODES[n] for _, n, _ in step.lines)
            record.reserve.quantities.extend(q for _, _, q in step.lines)
            record.reserve.allow_partial = step.partial
            record.reserve.ttl_ns = step.ttl_ns
            record.reserve.order_id = step.order_id
            record.reserve.customer_id = step.customer_id
            if step.encoding == "reordered":
                tail = log_pb2.LogRecord(log_time_ns=time_ns, request_id=request_id, id_nonce=step.nonce)
                out.append(log_pb2.LogRecord(reserve=record.reserve).SerializeToString() + tail.SerializeToString())
                continue
            if step.encoding == "unpacked" and step.lines:
                out.append(_unpacked(record))
                continue
        elif step.kind == "onhand":
            record.update_on_hand.sku_ids.extend(SKUS[s] for s, _, _ in step.lines)
            record.update_on_hand.node_ids.extend(NODES[n] for _, n, _ in step.lines)
            record.update_on_hand.ops.extend(2 for _ in step.lines)
            record.update_on_hand.quantities.extend(abs(q) for _, _, q in step.lines)
        elif step.kind in ("commit", "release"):
            resolve = record.commit if step.kind == "commit" else record.release
            resolve.reservation_id = f"R{step.target}"
        else:
            record.tick.SetInParent()
        out.append(record.SerializeToString())
    return out


def assert_same_state(general: Engine, fast: Engine) -> None:
    assert fast.core.digest() == general.core.digest()
    books = general._book.export(), fast._book.export()
    assert books[0].keys() == books[1].keys()
    for name in books[0]:
        assert books[0][name].dtype == books[1][name].dtype, name
        assert np.array_equal(books[0][name], books[1][name]), name
    assert fast.capacity.counts() == general.capacity.counts()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_payloads_apply_as_records_do(steps_taken):
    general, fast, replayed, timed = Engine(NETWORK), Engine(NETWORK), Engine(NETWORK), Engine(NETWORK)
    for position, payload in enumerate(payloads_of(steps_taken), start=1):
        expected = general.apply_record(log_pb2.LogRecord.FromString(payload), position)
        got = fast.apply_payload(payload, position)
        assert got == expected, position
        assert encode_outcome(got) == encode_outcome(expected)
        replayed.replay_payload(payload, position)
        # As a Redis entry carries it: the time beside the payload, not in it.
        untimed = log_pb2.LogRecord.FromString(payload)
        time_ns, untimed.log_time_ns = untimed.log_time_ns, 0
        assert timed.apply_payload(untimed.SerializeToString(), position, log_time_ns=time_ns) == expected
    assert_same_state(general, fast)
    assert_same_state(general, replayed)
    assert_same_state(general, timed)


def reserve_payload(position_time_ns: int, request_id: str = "r", lines: int = 1, **fields) -> bytes:
    return log_pb2.LogRecord(
        log_time_ns=position_time_ns,
        request_id=request_id,
        id_nonce=7,
        reserve=log_pb2.Reserve(
            sku_ids=SKUS[:lines], node_ids=[NODES[0]] * lines, quantities=[1] * lines, ttl_ns=TTL_NS, **fields
        ),
    ).SerializeToString()


def test_the_fast_path_takes_canonical_few_line_reserves_and_leaves_the_rest():
    engine = Engine(NETWORK)
    for position, payload in enumerate((r.SerializeToString() for r in start_records()), start=1):
        engine.replay_payload(payload, position)
    reserves = engine._records._reserves  # what took each record: the test's only look inside
    position = engine.log_position
    taken = [
        reserve_payload(START_NS + 1, "a"),
        reserve_payload(START_NS + 2, "b", lines=FAST_LINES if FAST_LINES <= len(SKUS) else len(SKUS)),
        reserve_payload(START_NS + 3, "", order_id="o", customer_id="c"),
    ]
    for payload in taken:
        position += 1
        assert reserves.replay(payload, position), payload
    left = [
        reserve_payload(START_NS + 4, "a"),  # a retry: answered with the first outcome, the general way
        reserve_payload(START_NS + 5, "d", channel_view_id="v"),  # a field this path does not take
        log_pb2.LogRecord(log_time_ns=START_NS + 6, tick=log_pb2.Tick()).SerializeToString(),
        reserve_payload(START_NS - 1, "e"),  # log time going backwards: the general way refuses it
    ]
    for payload in left:
        assert not reserves.replay(payload, position + 1)
        assert engine.log_position == position, "a record left is not applied"
    first = engine.apply_payload(left[0], position + 1)
    assert first.reservation is not None and first.reservation.reservation_id == f"R{position - 2}-{7:016x}"
    assert first.result == COMMAND_RESULT["OK"] and first.item_status == (ITEM_STATUS["OK"],)


WINDOW_NS = limits.IDEMPOTENCY_WINDOW_SECONDS * 10**9


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([0, 1, WINDOW_NS // 2, WINDOW_NS - 1, WINDOW_NS, WINDOW_NS + 1]), st.booleans()))
)
def test_the_idempotency_window_forgets_exactly_the_keys_older_than_it(steps_taken):
    """forget_before skips its scan while nothing can be due: it keeps exactly the keys seen within the window."""
    book, kept, time_ns = ReservationBook(), [], START_NS
    for number, (advance_ns, remember) in enumerate(steps_taken):
        time_ns += advance_ns
        book.forget_before(time_ns)
        kept = [(key, seen_ns) for key, seen_ns in kept if seen_ns >= time_ns - WINDOW_NS]
        if remember:
            book.remember_encoded(f"k{number}", bytes(16), time_ns, b"{}")
            kept.append((f"k{number}", time_ns))
        arrays = book.export()
        assert unpack_text(arrays["key_blob"], arrays["key_offsets"]) == [key for key, _ in kept]
