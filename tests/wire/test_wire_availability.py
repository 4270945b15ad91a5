"""GetAvailability answered as bytes written from the core's arrays (dompromise/wire/availability.pyx):
the same bytes as the generated classes' serialization of GetAvailability's message, the same errors.

Property tests draw random networks (unicode and empty ids, every node status, tags), random state
(on hand up to QUANTITY_MAX, holds, commits, unavailable reasons, safety stock) and random requests
(unknown, duplicate, invalid ids, every view, filters); explicit examples cover what they cannot
reach cheaply (variants, catalog and node status changes, negative figures, large answers); a real
server on port 0 answers the same bytes over a socket.
"""

from __future__ import annotations

import itertools

import grpc
import numpy as np
import pytest
from conftest import ServerThread, small_network, stock_record
from google.rpc import status_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dompromise import _core, limits
from dompromise.errors import DompromiseError
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log import MemoryLog
from dompromise.model import document
from dompromise.model.network import BaseUnit, Network, Node, NodeStatus, NodeType, Sku
from dompromise.replica.local import Replica
from dompromise.service.availability import AvailabilityServicer, WatchSelection, _varint
from dompromise.service.errors import to_status
from dompromise.service.validation import id_violations
from dompromise.v1 import availability_pb2 as pb
from dompromise.wire.availability import BUFFER_KEPT_BYTES_MAX, AvailabilityWriter, encode_strings

KIND = _core.COMMAND_KIND
SET, ADJUST = _core.ON_HAND_OP["SET"], _core.ON_HAND_OP["ADJUST"]
SCOPES = list(_core.SAFETY_STOCK_SCOPE.values())
REASONS = list(_core.UNAVAILABLE_REASON.values())
VIEWS = (
    pb.AVAILABILITY_VIEW_UNSPECIFIED,
    pb.AVAILABILITY_VIEW_BASIC,
    pb.AVAILABILITY_VIEW_FULL,
    pb.AVAILABILITY_VIEW_TOTALS,
)
UNKNOWN_VIEW = 9
TAGS = ("north", "south", "store", "ünïcode")
METHOD = "/dompromise.v1.AvailabilityService/GetAvailability"
PROPERTY_SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

# Ids as clients send them: mostly plain, some unicode, some with what ids may not hold (spaces,
# controls, nothing at all, too many characters).
plain_ids = st.text(alphabet="ABCXYZ-0123456789_.", min_size=1, max_size=8)
unicode_ids = st.text(alphabet="ÉéßŁ螺丝钉😀Ωж-1", min_size=1, max_size=6)
odd_ids = st.one_of(
    st.just(""),
    st.text(st.characters(codec="utf-8"), max_size=6),
    st.sampled_from(["A B", "TAB\t", "NBSP\u00a0", "ZWSP\u200b", "X" * 128, "X" * 129, "É" * 129, "\x7f"]),
)
ids = st.one_of(plain_ids, plain_ids, unicode_ids, odd_ids)
quantities = st.one_of(
    st.integers(-20, 300),
    st.sampled_from([0, 127, 128, 16_383, 16_384, 2**31, 2**35, limits.QUANTITY_MAX - 1, limits.QUANTITY_MAX]),
)


class Clock:
    def __init__(self) -> None:
        self.now_ns = 1_800_000_000 * 10**9

    def tick(self) -> int:
        self.now_ns += 1_000
        return self.now_ns


@st.composite
def networks(draw) -> Network:
    node_ids = draw(st.lists(ids, min_size=1, max_size=6, unique=True))
    nodes = tuple(
        Node(
            node_id,
            NodeType.STORE,
            status=draw(st.sampled_from([NodeStatus.ENABLED] * 3 + [NodeStatus.DRAIN, NodeStatus.DISABLED])),
            tags=tuple(draw(st.sets(st.sampled_from(TAGS), max_size=2))),
        )
        for node_id in node_ids
    )
    sku_ids = draw(st.lists(ids, min_size=1, max_size=8, unique=True))
    skus = tuple(Sku(sku_id, base_unit=draw(st.sampled_from(list(BaseUnit)))) for sku_id in sku_ids)
    return Network(nodes=nodes, skus=skus)


# Writes, applied to the core as a log would: (kind, SKU, node, a number, another) with SKU and
# node taken modulo the network's counts.
positions = st.tuples(st.integers(0, 99), st.integers(0, 99))
writes = st.lists(
    st.one_of(
        st.tuples(st.just("on_hand"), positions, st.sampled_from([SET, SET, ADJUST]), quantities),
        st.tuples(st.just("reserve"), positions, st.integers(1, 400), st.booleans()),
        st.tuples(st.just("unavailable"), positions, st.sampled_from(REASONS), quantities),
        st.tuples(st.just("safety"), positions, st.sampled_from(SCOPES), st.integers(0, 300)),
    ),
    max_size=30,
)


def stocked_engine(network: Network, changes) -> Engine:
    """An engine over `network` whose core applied every position a stock, then `changes`."""
    engine, clock = Engine(network), Clock()
    core = engine.core
    node_count, sku_count = len(network.nodes), len(network.skus)
    every = list(itertools.product(range(sku_count), range(node_count)))
    core.apply(
        _core.Command(
            KIND["UPDATE_ON_HAND"],
            clock.tick(),
            [s for s, _ in every],
            [n for _, n in every],
            [(7 * s + 3 * n) % 40 for s, n in every],
            [SET] * len(every),
        )
    )
    for kind, (sku, node), first, second in changes:
        sku, node = sku % sku_count, node % node_count
        if kind == "on_hand":
            core.apply(_core.Command(KIND["UPDATE_ON_HAND"], clock.tick(), [sku], [node], [second], [first]))
        elif kind == "reserve":
            hold = _core.Command(
                KIND["RESERVE"], clock.tick(), [sku], [node], [first], deadline_ns=clock.now_ns + 10**15
            )
            core.apply(hold)
            if second and hold.result == _core.COMMAND_RESULT["OK"]:
                core.apply(_core.Command(KIND["COMMIT"], clock.tick(), reservation=hold.reservation))
        elif kind == "unavailable":
            core.apply(_core.Command(KIND["SET_UNAVAILABLE"], clock.tick(), [sku], [node], [second], [first]))
        else:
            core.apply(_core.Command(KIND["SET_SAFETY_STOCK"], clock.tick(), [sku], [node], [second], [first]))
    assert core.check_invariants()
    return engine


@st.composite
def requests(draw, network: Network) -> pb.GetAvailabilityRequest:
    known = [sku.sku_id for sku in network.skus]
    sku_ids = draw(
        st.one_of(
            st.lists(st.sampled_from(known), min_size=1, max_size=6),  # found, duplicates
            st.lists(st.one_of(st.sampled_from(known), ids), min_size=0, max_size=6),  # anything
        )
    )
    request = pb.GetAvailabilityRequest(sku_ids=sku_ids, view=draw(st.sampled_from(VIEWS * 4 + (UNKNOWN_VIEW,))))
    if draw(st.integers(0, 4)) == 0:  # a filter, now and then: known and unknown nodes and tags
        node_ids = [node.node_id for node in network.nodes]
        request.node_ids.extend(draw(st.lists(st.one_of(st.sampled_from(node_ids), ids), max_size=3)))
        request.node_tags.extend(draw(st.lists(st.sampled_from(TAGS + ("none",)), max_size=2)))
    return request


def finished(coroutine):
    """A servicer method's result: it never awaits anything that suspends, so one step runs it."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the handler suspended")


def outcome(call) -> tuple:
    """("ok", bytes), or ("error", the status the error maps to): what a client would get."""
    try:
        return "ok", call()
    except DompromiseError as error:
        status = to_status(error)
        return "error", type(error).__name__, status.code, status.details, status.trailing_metadata


def message_bytes(servicer: AvailabilityServicer, request: pb.GetAvailabilityRequest) -> bytes:
    """The answer of the message path (GetAvailability), serialized by the generated classes."""
    response = finished(AvailabilityServicer.GetAvailability.__wrapped__(servicer, request, None))
    return response.SerializeToString()


def encoded_bytes(servicer: AvailabilityServicer, request: pb.GetAvailabilityRequest) -> bytes:
    answer = finished(AvailabilityServicer.GetAvailabilityBytes.__wrapped__(servicer, request, None))
    assert isinstance(answer, bytes)
    return answer


class WriterSpy:
    """Counts what the engine's writer answered (bytes, or None: the message path then)."""

    def __init__(self, engine: Engine) -> None:
        self.written = self.declined = 0
        self._engine = engine
        self._real = real = engine.availability_bytes

        def counted(*args, **kwargs):
            answer = real(*args, **kwargs)
            if answer is None:
                self.declined += 1
            else:
                self.written += 1
            return answer

        engine.availability_bytes = counted

    def restore(self) -> None:
        self._engine.availability_bytes = self._real


def is_plain_and_valid(request: pb.GetAvailabilityRequest) -> bool:
    """A request the writer must answer: no filter, a known view, 1 to the limit of valid ids."""
    return (
        not request.node_ids
        and not request.node_tags
        and request.view in VIEWS
        and 0 < len(request.sku_ids) <= limits.AVAILABILITY_SKUS_MAX
        and not id_violations(request.sku_ids, "sku_ids")
    )


# ---- properties -------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(st.data(), networks(), writes)
def test_bytes_are_the_messages_and_errors_the_same(data, network, changes):
    engine = stocked_engine(network, changes)
    servicer = AvailabilityServicer(engine)
    spy = WriterSpy(engine)
    for _ in range(3):
        request = data.draw(requests(network))
        written_before = spy.written
        expected = outcome(lambda: message_bytes(servicer, request))
        assert outcome(lambda: encoded_bytes(servicer, request)) == expected
        if is_plain_and_valid(request):  # no variants here: the writer answers every plain request
            assert spy.written == written_before + 1


@PROPERTY_SETTINGS
@given(st.data(), networks(), writes)
def test_watch_messages_are_the_messages(data, network, changes):
    """WatchAvailability's messages embed the written availability: the same bytes as the message."""
    engine = stocked_engine(network, changes)
    servicer = AvailabilityServicer(engine)
    known = [sku.sku_id for sku in network.skus]
    sku_ids = data.draw(st.lists(st.one_of(st.sampled_from(known), plain_ids, unicode_ids), min_size=1, max_size=5))
    view = data.draw(st.sampled_from(VIEWS))
    full_answer = data.draw(st.booleans())
    log_id = data.draw(st.sampled_from(["", "log-1", "ünï"]))
    nodes = engine.node_selection()
    selection = WatchSelection((), (), (), False)
    expected = pb.WatchAvailabilityResponse(version=engine.log_position, full_answer=full_answer, log_id=log_id)
    servicer._fill_answer(expected.availability, sku_ids, nodes, view)
    spy = WriterSpy(engine)
    encoded = servicer._watch_response(sku_ids, nodes, selection, view, full_answer, log_id)
    assert encoded == expected.SerializeToString()
    assert spy.written == 1


@st.composite
def wide_networks(draw) -> Network:
    """Rows wider than the writer's runs of eight cells (wire/availability.pyx _put_available), and not
    a multiple of them."""
    nodes = tuple(Node(f"N{i:02d}", NodeType.STORE) for i in range(draw(st.integers(7, 41))))
    skus = tuple(Sku(f"S{i}") for i in range(draw(st.integers(1, 4))))
    return Network(nodes=nodes, skus=skus)


@PROPERTY_SETTINGS
@given(st.data(), wide_networks(), st.lists(st.tuples(st.just("on_hand"), positions, st.just(SET), quantities)))
def test_wide_rows_are_the_messages(data, network, changes):
    """Runs of small cells (one byte each) broken by larger, negative-free or not, at any place in a row,
    over all the columns or a selection of them."""
    engine = stocked_engine(network, changes)
    servicer, spy = AvailabilityServicer(engine), WriterSpy(engine)
    node_ids = [node.node_id for node in network.nodes]
    request = pb.GetAvailabilityRequest(
        sku_ids=[sku.sku_id for sku in network.skus], view=data.draw(st.sampled_from(VIEWS))
    )
    if data.draw(st.booleans()):
        request.node_ids.extend(data.draw(st.lists(st.sampled_from(node_ids), min_size=1, max_size=len(node_ids))))
    assert encoded_bytes(servicer, request) == message_bytes(servicer, request)
    assert spy.written == 1


# ---- explicit examples ------------------------------------------------------------------------


def small_engine() -> Engine:
    replica = Replica(Engine(small_network()), MemoryLog())
    replica.bootstrap([stock_record(replica.engine)])
    return replica.engine


@pytest.mark.parametrize("view", VIEWS)
def test_a_plain_request_is_written_in_every_view(view):
    engine = small_engine()
    servicer, spy = AvailabilityServicer(engine), WriterSpy(engine)
    request = pb.GetAvailabilityRequest(sku_ids=["CABLE-1", "NOPE", "PAD-1", "CABLE-1"], view=view)
    encoded = encoded_bytes(servicer, request)
    assert spy.written == 1 and spy.declined == 0
    assert encoded == message_bytes(servicer, request)
    answer = pb.GetAvailabilityResponse.FromString(encoded)
    assert [item.sku_id for item in answer.items] == ["CABLE-1", "NOPE", "PAD-1", "CABLE-1"]
    assert answer.items[0] == answer.items[3] and answer.items[0].available_quantity > 0
    assert answer.log_position == engine.log_position == 1


@pytest.mark.parametrize(
    "request_",
    [
        pb.GetAvailabilityRequest(),
        pb.GetAvailabilityRequest(sku_ids=["PAD-1"]),
        pb.GetAvailabilityRequest(sku_ids=["PAD-1"], view=UNKNOWN_VIEW),
        pb.GetAvailabilityRequest(sku_ids=["A B", "PAD-1"], view=UNKNOWN_VIEW),
        pb.GetAvailabilityRequest(sku_ids=["PAD-1"] * (limits.AVAILABILITY_SKUS_MAX + 1)),
        pb.GetAvailabilityRequest(sku_ids=[""] + ["PAD-1"] * limits.AVAILABILITY_SKUS_MAX),
        pb.GetAvailabilityRequest(sku_ids=["PAD-1"] * limits.AVAILABILITY_SKUS_MAX, view=pb.AVAILABILITY_VIEW_FULL),
        pb.GetAvailabilityRequest(sku_ids=["PAD-1"], unit="box"),
        pb.GetAvailabilityRequest(sku_ids=["PAD-1"], with_variants=True, view=pb.AVAILABILITY_VIEW_TOTALS),
    ],
)
def test_requests_setting_sku_ids_and_view_alone_or_not_answer_as_the_message_path(request_):
    """The servicer tells a request setting only sku_ids and view from its fields set (ListFields): each
    such request, valid or not, and one setting more, answers or fails as the message path does."""
    servicer = AvailabilityServicer(small_engine())
    assert outcome(lambda: encoded_bytes(servicer, request_)) == outcome(lambda: message_bytes(servicer, request_))


def test_filters_are_written_with_their_columns():
    engine = small_engine()
    servicer, spy = AvailabilityServicer(engine), WriterSpy(engine)
    request = pb.GetAvailabilityRequest(sku_ids=["PAD-1"], node_tags=["regional"], view=pb.AVAILABILITY_VIEW_FULL)
    encoded = encoded_bytes(servicer, request)
    assert spy.written == 1
    assert encoded == message_bytes(servicer, request)
    assert list(pb.GetAvailabilityResponse.FromString(encoded).node_ids) == ["WH-N"]


def test_full_view_writes_reasons_and_buckets_in_field_order():
    engine = small_engine()
    core, clock = engine.core, Clock()
    clock.now_ns = core.log_time_ns
    core.apply(_core.Command(KIND["SET_UNAVAILABLE"], clock.tick(), [0, 0], [0, 0], [2, 3], [REASONS[0], REASONS[3]]))
    core.apply(_core.Command(KIND["RESERVE"], clock.tick(), [0], [0], [1], deadline_ns=clock.now_ns + 10**12))
    servicer = AvailabilityServicer(engine)
    request = pb.GetAvailabilityRequest(sku_ids=["PAD-1"], view=pb.AVAILABILITY_VIEW_FULL)
    encoded = encoded_bytes(servicer, request)
    assert encoded == message_bytes(servicer, request)
    item = pb.GetAvailabilityResponse.FromString(encoded).items[0]
    assert item.node_damaged_quantities[0] == 2 and item.node_display_quantities[0] == 3
    assert item.node_held_quantities[0] == 1 and item.node_unavailable_quantities[0] == 5


def test_negative_and_largest_figures_are_ten_byte_varints_as_protobuf_writes_them():
    """The core refuses negative quantities; a state read back with some (from_state) still
    answers what protobuf writes for them (a negative int64 takes 10 bytes)."""
    engine = small_engine()
    state = engine.core.export_state()
    state["on_hand"][:3] = [-1, -(2**63), 2**63 - 1]
    state["held"][:2] = [-5, 2**62]
    engine = Engine(small_network(), core=_core.Core.from_state(state))
    servicer = AvailabilityServicer(engine)
    request = pb.GetAvailabilityRequest(sku_ids=["PAD-1", "CABLE-1"], view=pb.AVAILABILITY_VIEW_FULL)
    encoded = encoded_bytes(servicer, request)
    assert encoded == message_bytes(servicer, request)
    assert list(pb.GetAvailabilityResponse.FromString(encoded).items[0].node_on_hand_quantities[:3]) == [
        -1,
        -(2**63),
        2**63 - 1,
    ]


def test_a_sku_with_variants_goes_the_message_path():
    network = small_network()
    network = Network(nodes=network.nodes, skus=network.skus, attributes=("lot",))
    replica = Replica(Engine(network), MemoryLog())
    lot = log_pb2.AttributeSet(keys=["lot"], values=["L1"])
    replica.bootstrap(
        [
            stock_record(replica.engine),
            log_pb2.LogRecord(
                update_on_hand=log_pb2.UpdateOnHand(
                    sku_ids=["PAD-1"], node_ids=["DC-1"], ops=[SET], quantities=[5], attributes=[lot]
                )
            ),
        ]
    )
    engine = replica.engine
    servicer, spy = AvailabilityServicer(engine), WriterSpy(engine)
    for sku_ids, written in ((["CABLE-1"], 1), (["CABLE-1", "PAD-1"], 0)):
        request = pb.GetAvailabilityRequest(sku_ids=sku_ids, view=pb.AVAILABILITY_VIEW_FULL)
        before = spy.written
        encoded = encoded_bytes(servicer, request)
        assert spy.written == before + written
        assert encoded == message_bytes(servicer, request)
    assert pb.GetAvailabilityResponse.FromString(encoded).items[1].available_quantity == 10 + 5 + 11 + 12


def test_columns_follow_node_status_and_rows_follow_the_catalog():
    engine = small_engine()
    servicer = AvailabilityServicer(engine)
    request = pb.GetAvailabilityRequest(sku_ids=["PAD-1", "NEW-1"], view=pb.AVAILABILITY_VIEW_BASIC)
    first = encoded_bytes(servicer, request)
    assert list(pb.GetAvailabilityResponse.FromString(first).node_ids) == ["DC-1", "WH-N", "ST-1"]
    engine.apply_record(
        log_pb2.LogRecord(
            log_time_ns=engine.core.log_time_ns + 1,
            set_node_status=log_pb2.SetNodeStatus(node_ids=["DC-1", "ST-2"], statuses=[3, 1]),
        ),
        engine.log_position + 1,
    )
    new = Sku("NEW-1", base_unit=BaseUnit.GRAM)
    engine.apply_record(
        log_pb2.LogRecord(
            log_time_ns=engine.core.log_time_ns + 1,
            upsert_skus=log_pb2.UpsertSkus(sku_documents=[document.sku_document(new)]),
        ),
        engine.log_position + 1,
    )
    encoded = encoded_bytes(servicer, request)
    assert encoded == message_bytes(servicer, request)
    answer = pb.GetAvailabilityResponse.FromString(encoded)
    assert list(answer.node_ids) == ["WH-N", "ST-1", "ST-2"]
    assert answer.items[1].status == 1 and answer.items[1].base_unit == BaseUnit.GRAM


def test_a_large_answer_is_written_and_its_buffer_not_kept():
    nodes = tuple(Node(f"N{i:03d}", NodeType.STORE) for i in range(200))
    skus = tuple(Sku(f"S{i:04d}") for i in range(800))
    engine = stocked_engine(Network(nodes=nodes, skus=skus), [])
    servicer = AvailabilityServicer(engine)
    request = pb.GetAvailabilityRequest(sku_ids=[sku.sku_id for sku in skus], view=pb.AVAILABILITY_VIEW_FULL)
    encoded = encoded_bytes(servicer, request)
    assert len(encoded) > BUFFER_KEPT_BYTES_MAX
    assert encoded == message_bytes(servicer, request)
    writer = AvailabilityWriter()
    sku_index = {sku.sku_id: i for i, sku in enumerate(skus)}
    base_units = np.ones(len(skus), dtype=np.int32)
    nodes_index = np.arange(200, dtype=np.int32)
    field = encode_strings(1, [node.node_id for node in nodes])
    big = writer.write(engine.core, sku_index, request.sku_ids, nodes_index, field, base_units, None, True, True, 0)
    assert big == encoded and writer.capacity == 0  # freed after the call
    small = writer.write(engine.core, sku_index, ["S0001"], nodes_index, field, base_units, None, True, True, 0)
    assert small is not None and 0 < writer.capacity <= BUFFER_KEPT_BYTES_MAX


def test_encode_strings_is_a_repeated_string_field():
    values = ["", "DC-1", "螺丝", "x" * 300]
    assert encode_strings(1, values) == pb.GetAvailabilityResponse(node_ids=values).SerializeToString()
    assert encode_strings(1, []) == b""
    with pytest.raises(TypeError):
        encode_strings(1, [b"bytes"])


def test_watch_lengths_are_varints():
    assert _varint(0) == b"\x00"
    for length in (1, 127, 128, 300, 16_383, 16_384, 2**21):
        assert _varint(length) == pb.WatchAvailabilityResponse(log_id="x" * length).SerializeToString()[1:-length]


def test_the_writer_checks_its_arguments():
    engine = small_engine()
    writer = AvailabilityWriter()
    units = np.ones(4, dtype=np.int32)
    index = {"PAD-1": 0}
    with pytest.raises(ValueError, match="node index"):
        writer.write(engine.core, index, ["PAD-1"], np.array([5], np.int32), b"", units, None, True, False, 0)
    with pytest.raises(TypeError, match="nodes"):
        writer.write(engine.core, index, ["PAD-1"], np.array([0], np.int64), b"", units, None, True, False, 0)
    with pytest.raises(ValueError, match="row"):
        writer.write(engine.core, {"PAD-1": 4}, ["PAD-1"], np.array([0], np.int32), b"", units, None, True, False, 0)
    with pytest.raises(TypeError, match="str"):
        writer.write(engine.core, index, [b"PAD-1"], np.array([0], np.int32), b"", units, None, True, False, 0)
    with pytest.raises(ValueError, match="totals"):
        writer.write(engine.core, index, ["PAD-1"], np.array([0], np.int32), b"x", units, None, False, False, 0)


# ---- over a real socket -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served():
    """A real server (every interceptor) on port 0 over a random-looking network with odd ids."""
    node_ids = ["DC-1", "Entrepôt-Nord", "店-1", "ST-2", "SUP"]
    statuses = [NodeStatus.ENABLED, NodeStatus.ENABLED, NodeStatus.ENABLED, NodeStatus.DRAIN, NodeStatus.DISABLED]
    nodes = tuple(
        Node(node_id, NodeType.STORE, status=status, tags=(TAGS[i % 4],))
        for i, (node_id, status) in enumerate(zip(node_ids, statuses))
    )
    skus = tuple(
        Sku(sku_id, base_unit=list(BaseUnit)[i % 4])
        for i, sku_id in enumerate(["PAD-1", "ÉCROU-7", "螺丝钉", "BIG", "A B", "Z" * 128])
    )
    changes = [
        ("on_hand", (3, 0), SET, limits.QUANTITY_MAX),
        ("on_hand", (3, 1), SET, limits.QUANTITY_MAX),
        ("reserve", (0, 0), 3, True),
        ("reserve", (0, 1), 2, False),
        ("unavailable", (1, 2), REASONS[1], 4),
        ("safety", (2, 2), SCOPES[0], 1),
    ]
    engine = stocked_engine(Network(nodes=nodes, skus=skus), changes)
    running = ServerThread(engine)
    channel = grpc.insecure_channel(running.target)
    raw = channel.unary_unary(METHOD, request_serializer=pb.GetAvailabilityRequest.SerializeToString)
    yield engine, raw
    channel.close()
    running.stop()


def over_grpc(raw, request: pb.GetAvailabilityRequest) -> tuple:
    try:
        return "ok", raw(request, timeout=10)
    except grpc.RpcError as error:
        status = rpc_status.from_call(error)
        return "error", error.code().value[0], error.details(), status


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_a_real_server_answers_the_message_bytes(served, data):
    engine, raw = served
    network = engine.network
    request = data.draw(requests(network))
    servicer = AvailabilityServicer(engine)  # reads the server's engine: the server only reads too
    expected = outcome(lambda: message_bytes(servicer, request))
    got = over_grpc(raw, request)
    if expected[0] == "ok":
        assert got == expected
        return
    _, _, code, details, trailing = expected
    expected_status = status_pb2.Status.FromString(dict(trailing)["grpc-status-details-bin"])
    assert got == ("error", code.value[0], details, expected_status)


def test_a_real_server_writes_plain_requests(served):
    engine, raw = served
    spy = WriterSpy(engine)
    try:
        for view in VIEWS:
            request = pb.GetAvailabilityRequest(sku_ids=["ÉCROU-7", "BIG", "nope", "BIG"], view=view)
            encoded = raw(request, timeout=10)
            assert encoded == message_bytes(AvailabilityServicer(engine), request)
            assert pb.GetAvailabilityResponse.FromString(encoded).items[1].available_quantity > 2 * limits.QUANTITY_MAX
        assert spy.written == len(VIEWS)
    finally:
        spy.restore()
