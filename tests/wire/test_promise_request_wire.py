"""PromiseDeliveryRequest read from its wire bytes (dompromise/wire/promise_request.pyx) is request_of's request.

For random bytes of requests, valid and not (every field, unknown fields, wrong wire types, methods packed or
not, fields repeated, embedded messages split in two, strings past ASCII or too long, bytes cut short), the reader
either declines (None) or, with the resolver, returns exactly the PromiseRequest Promiser.request_of builds from the
decoded message (equal, field types too), its clock pinned; whatever the guard or _validate refuses it declines.
Then named cases (what is taken, what is merged, the zone cache) and over a real server: the garage orders answer
what a server without the reader answers, bad requests the same statuses, details and metadata.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from pathlib import Path
from typing import NamedTuple

import grpc
import pytest
from conftest import ServerThread
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from benchmarks.grpc_ceiling import GARAGE_ORDER, PROMISE_AS_OF_NS
from dompromise import limits
from dompromise.demo import network as demo
from dompromise.errors import DompromiseError, NotFoundError
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log import MemoryLog
from dompromise.model.document import network_document
from dompromise.promise.token import TokenSigner
from dompromise.promise.types import PromiseRequest
from dompromise.replica.bootstrap import stock_records as demo_stock_records
from dompromise.replica.local import Replica
from dompromise.service import pipeline
from dompromise.service.decoding import Undecodable, guarded
from dompromise.service.promise import FILL_POLICIES, METHOD_SETS, SOURCINGS, Promiser, _validate
from dompromise.v1 import promise_pb2, reservation_pb2, reservation_pb2_grpc
from dompromise.wire.promise_request import (
    LIMITS,
    REQUEST_FIELDS,
    SKUS_KEPT,
    PromiseRequestRead,
    PromiseRequestResolver,
    read_promise_request,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "promise"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "service"))
from scenario_network import stocked_engine  # noqa: E402
from test_service_availability import field_violations  # noqa: E402

KEY = b"k" * 32
NOW_NS = PROMISE_AS_OF_NS  # Tuesday 2026-11-24 10:00 in Paris
DECODE = guarded(promise_pb2.PromiseDeliveryRequest.FromString)


@functools.cache
def demo_replica_parts() -> tuple[object, list[object]]:
    network = demo.demo_network()
    return network, list(demo_stock_records(demo.demo_stock(network)))


def demo_replica() -> Replica:
    network, records = demo_replica_parts()
    replica = Replica(Engine(network), MemoryLog())
    replica.bootstrap(records)
    return replica


def demo_engine() -> Engine:
    return demo_replica().engine


@functools.cache
def pinned_promiser() -> Promiser:
    """The demo network, a fixed clock: both paths take as_of from it when the request gives none."""
    return Promiser(demo_engine(), TokenSigner(KEY), lambda: NOW_NS)


# ---- the wire, written by hand (protobuf writes only canonical bytes) -------------------------------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # a negative number as protobuf writes an int32 / int64: ten bytes
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(number: int, wire_type: int, payload: int | bytes) -> bytes:
    key = varint(number << 3 | wire_type)
    if wire_type == 0:
        assert isinstance(payload, int)
        return key + varint(payload)
    assert isinstance(payload, bytes)
    if wire_type == 2:
        return key + varint(len(payload)) + payload
    return key + payload  # 1 (8 bytes) and 5 (4 bytes): given whole


def text(number: int, value: bytes) -> bytes:
    return field(number, 2, value)


def garage_bytes(line_count: int, **extra: object) -> bytes:
    message = promise_pb2.PromiseDeliveryRequest(
        lines=[
            promise_pb2.OrderLine(sku_id=sku, quantity=quantity, unit=unit)
            for sku, quantity, unit in GARAGE_ORDER[:line_count]
        ],
        postal_code="59000",
        country_code="FR",
        **extra,  # type: ignore[arg-type]
    )
    message.as_of_time.FromNanoseconds(NOW_NS)
    return message.SerializeToString()


# ---- random requests ----------------------------------------------------------------------------------------

SKUS = [sku.encode() for sku, _, _ in GARAGE_ORDER] + [b"BAT-STR-10948"]
BAD_SKUS = [b"", b"NOPE-1", b"BRK DSC", b"BRK-\xc3\xa9", b"\xff", b"x" * 129, b"\x07A", b"A\x7f"]
UNITS = [b"litre", b"can_5l", b"pallet", b"each"]  # OIL-MOT-11027 has the first two, BAT-STR-10948 pallets
BAD_UNITS = [b"bogus", b"\xc3\xa9"]
POSTAL_CODES = [b"59000", b"69007", b"75011", b"13001"]
BAD_POSTAL_CODES = [b"99999", b"1" * 17, b"59\xc3\xa9", b"\x00"]
ZONES = [b"FR-59", b"FR-LYON", b"FR-IDF"]
NODES = [b"DC-NAT", b"ST-PARIS", b"ST-LILLE"]
COUNTRIES = [b"", b"FR"]
BAD_COUNTRIES = [b"FRA", b"\xc3\xa9"]
TIERS = [b"", b"gold"]
BAD_TIERS = [b"x" * 1025, b"\xed\xa0\x80"]  # too long for the guard; a surrogate: not UTF-8
NOW_SECONDS = NOW_NS // 10**9
BAD_SECONDS = [0, -1, limits.TIME_SECONDS_MAX, 2**40]
BAD_NANOS = [10**9, -1]
# Numbers as sent, by field: (field number, the values _validate takes, values it refuses or protobuf truncates).
NUMBERS = {
    9: (range(4), [4, -1, 2**32 + 1]),  # fill_policy
    10: (range(101), [101, -1, 2**32 + 50]),  # min_fill_percent
    11: (range(21), [21, -1]),  # max_shipments
    12: (range(3), [3, -1, 2**32 + 1]),  # sourcing_mode
    15: (range(21), [21, -1]),  # max_options
    16: (range(2), [2, 2**32]),  # stock_on_hand_only (a bool: protobuf reads any other number as true)
    18: (range(2), [2, -1]),  # split_lines
}
DEFECTS = [
    "sku",
    "quantity",
    "unit",
    "required_attributes",
    "unknown_field",
    "unknown_line_field",
    "unknown_customer_field",
    "unknown_time_field",
    "wrong_wire_type",
    "postal_code",
    "zone_id",
    "pickup_node_id",
    "country_code",
    "two_destinations",
    "no_destination",
    "method",
    "number",
    "time",
    "tier",
    "segment",
    "channel_view_id",
    "no_line",
    "cut",
]


@st.composite
def unknown_fields(draw: st.DrawFn, numbers: list[int]) -> bytes:
    """A field the message does not have, or one it has with another wire type."""
    number = draw(st.sampled_from(numbers))
    wire_type = draw(st.sampled_from([0, 1, 2, 5]))
    payload = {0: 7, 1: b"\x00" * 8, 2: b"ab", 5: b"\x00" * 4}[wire_type]
    return field(number, wire_type, payload)


@st.composite
def timestamps(draw: st.DrawFn, number: int, seconds: int, defect: str | None) -> list[bytes]:
    """A Timestamp field: once, or twice that protobuf merges (a field in each, or one given again)."""
    if defect == "time":
        seconds = draw(st.sampled_from(BAD_SECONDS))
    nanos = (
        draw(st.sampled_from(BAD_NANOS))
        if defect == "time" and draw(st.booleans())
        else draw(st.integers(0, 10**9 - 1))
    )
    parts = [field(1, 0, seconds)] if seconds or draw(st.booleans()) else []
    if nanos or draw(st.booleans()):
        parts.append(field(2, 0, nanos))
    if draw(st.booleans()):
        parts.insert(0, field(1, 0, draw(st.sampled_from([NOW_SECONDS, 0]))))  # replaced by the one after it
    if defect == "unknown_time_field":
        parts.append(draw(unknown_fields([1, 2, 3])))
    parts = draw(st.permutations(parts)) if defect else parts
    split = draw(st.integers(0, len(parts)))
    bodies = [b"".join(parts[:split]), b"".join(parts[split:])] if draw(st.booleans()) else [b"".join(parts)]
    return [field(number, 2, body) for body in bodies]


@st.composite
def lines(draw: st.DrawFn, defect: str | None) -> bytes:
    """An OrderLine: an id and a quantity (maybe given twice: the last counts), maybe a unit, in any order."""
    sku = draw(st.sampled_from(SKUS))
    parts = [text(1, draw(st.sampled_from(SKUS + BAD_SKUS)))] if draw(st.integers(0, 4)) == 0 else []
    parts.append(text(1, draw(st.sampled_from(BAD_SKUS)) if defect == "sku" else sku))
    if draw(st.integers(0, 4)) == 0:
        parts.insert(0, field(2, 0, draw(st.integers(-1, 9))))
    if defect == "quantity":
        parts.append(field(2, 0, draw(st.sampled_from([0, -1, limits.QUANTITY_MAX + 1, 2**63]))))
    else:
        parts.append(field(2, 0, draw(st.one_of(st.integers(1, 40), st.just(limits.QUANTITY_MAX)))))
    if defect == "unit":
        parts.append(text(3, draw(st.sampled_from(BAD_UNITS))))
    elif draw(st.integers(0, 3)) == 0:
        parts.append(text(3, draw(st.sampled_from([b"", *UNITS]))))
    if defect == "required_attributes":
        parts.append(text(4, text(1, b"lot") + text(2, b"L1")))  # {"lot": "L1"}
    if defect == "unknown_line_field":
        parts.append(draw(unknown_fields([1, 2, 3, 5, 9])))
    return field(1, 2, b"".join(draw(st.permutations(parts))))


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """A request's bytes: its fields in any order, some repeated (the last value counts), some messages merged;
    half of them with one defect (a value _validate or request_of refuses, or one this reader declines)."""
    defect = draw(st.sampled_from(DEFECTS)) if draw(st.booleans()) else None
    line_count = 0 if defect == "no_line" else draw(st.integers(1, 4))
    parts = [draw(lines(defect if i == 0 else None)) for i in range(line_count)]
    destinations = {
        "postal_code": [text(2, draw(st.sampled_from(POSTAL_CODES)))],
        "zone_id": [text(6, draw(st.sampled_from(ZONES)))],
        "pickup_node_id": [text(3, draw(st.sampled_from(NODES)))],
    }
    chosen = draw(st.sampled_from(sorted(destinations)))
    if defect == "no_destination":
        chosen = None
    elif defect == "two_destinations":
        parts += destinations["postal_code"] + destinations["zone_id"]
    elif defect in ("postal_code", "zone_id", "pickup_node_id"):
        chosen = defect
        bad = {"postal_code": BAD_POSTAL_CODES, "zone_id": [b"NOPE"], "pickup_node_id": [b"NOPE"]}[defect]
        destinations[defect] = [
            text({"postal_code": 2, "zone_id": 6, "pickup_node_id": 3}[defect], draw(st.sampled_from(bad)))
        ]
    if chosen is not None:
        parts += destinations[chosen]
    if chosen == "postal_code" or defect == "country_code":
        parts.append(text(7, draw(st.sampled_from(BAD_COUNTRIES if defect == "country_code" else COUNTRIES))))
    if chosen == "postal_code" and draw(st.integers(0, 3)) == 0:
        parts += destinations["pickup_node_id"]  # a store beside the address
    methods = draw(st.lists(st.sampled_from([1, 2, 3]), max_size=3))
    if defect == "method":
        methods.append(draw(st.sampled_from([0, 4, -1])))
    if methods:
        how = draw(st.sampled_from(["packed", "unpacked", "both"]))
        if how == "unpacked":
            parts += [field(4, 0, method) for method in methods]
        elif how == "packed":
            parts.append(field(4, 2, b"".join(varint(method) for method in methods)))
        else:
            parts += [field(4, 2, varint(methods[0])), *(field(4, 0, method) for method in methods[1:])]
    times = sorted(draw(st.lists(st.integers(NOW_SECONDS - 3600, NOW_SECONDS + 7 * 86_400), min_size=3, max_size=3)))
    for number, seconds in ((5, times[0]), (13, times[1]), (14, times[2])):  # as_of, deliver_after, deliver_before
        if draw(st.integers(0, 2)) == 0:
            parts += draw(timestamps(number, seconds, defect if number == 5 else None))
    if draw(st.booleans()) or defect in ("tier", "segment", "unknown_customer_field"):
        customer = [text(2, draw(st.sampled_from(BAD_TIERS if defect == "tier" else TIERS)))]
        if draw(st.booleans()) or defect == "segment":
            customer.append(text(3, b"\xff" if defect == "segment" else b"b2b"))
        if draw(st.booleans()):
            customer.append(text(1, b"C-1"))
        if defect == "unknown_customer_field":
            customer.append(draw(unknown_fields([1, 2, 3, 4])))
        parts += [field(8, 2, body) for body in draw(st.permutations(customer))]
    bad_number = draw(st.sampled_from(sorted(NUMBERS))) if defect == "number" else None
    for number, (good, bad) in NUMBERS.items():
        for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
            parts.append(field(number, 0, draw(st.sampled_from(good))))
        if number == bad_number:
            parts.append(field(number, 0, draw(st.sampled_from(bad))))
    if defect == "channel_view_id" or draw(st.integers(0, 5)) == 0:
        parts.append(text(17, draw(st.sampled_from([b"garages", b"nope"])) if defect == "channel_view_id" else b""))
    if defect == "unknown_field":
        parts.append(draw(unknown_fields([19, 99, 536870911])))
    if defect == "wrong_wire_type":
        parts.append(draw(unknown_fields([1, 2, 5, 9, 16])))
    data = b"".join(draw(st.permutations(parts)))
    if defect == "cut":
        data = data[: draw(st.integers(0, len(data) - 1))]
    return data


def expected_of(promiser: Promiser, data: bytes) -> tuple[PromiseRequest | None, bool]:
    """(request_of's request from the decoded bytes, or None when it refuses them; whether the guard or _validate
    refuses them)."""
    message = DECODE(data)
    if isinstance(message, Undecodable):
        return None, True
    try:
        _validate(message)
    except DompromiseError:
        return None, True
    try:
        return promiser.request_of(message), False
    except DompromiseError:
        return None, False


def assert_read_as_request_of(promiser: Promiser, data: bytes) -> str:
    """The reader declines `data` or reads request_of's request from it; returns what happened."""
    expected, refused = expected_of(promiser, data)  # first: request_of fills the zone cache the resolver reads
    read = read_promise_request(data)
    if refused:
        assert read is None, "a request the guard or _validate refuses must be declined"
        return "refused"
    if read is None:
        return "declined"
    resolved = promiser.request_of_read(read)
    if resolved is None:
        return "declined by the resolver"
    assert expected is not None, "a request request_of refuses must be declined"
    assert resolved == expected
    assert type(resolved) is PromiseRequest
    assert [type(value) for value in resolved] == [type(value) for value in expected]
    for got, want in ((resolved.sku_ids, expected.sku_ids), (resolved.quantities, expected.quantities)):
        assert [type(value) for value in got] == [type(value) for value in want]
    assert {type(method) for method in resolved.methods} == {type(method) for method in expected.methods}
    return "taken"


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_random_requests_are_declined_or_read_as_request_of_reads_them(data):
    event(assert_read_as_request_of(pinned_promiser(), data))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_are_declined_or_read_as_request_of_reads_them(data):
    event(assert_read_as_request_of(pinned_promiser(), data))


# ---- named cases --------------------------------------------------------------------------------------------


def test_the_limits_and_the_request_fields_are_the_projects():
    assert LIMITS == {name: getattr(limits, name) for name in LIMITS}
    assert REQUEST_FIELDS == PromiseRequest._fields


@pytest.mark.parametrize("line_count", [1, 10])
def test_the_garage_orders_are_taken(line_count):
    data = garage_bytes(line_count)
    assert assert_read_as_request_of(pinned_promiser(), data) == "taken"


def taken(data: bytes) -> PromiseRequest:
    """The request read from `data` (it must be taken), checked equal to request_of's."""
    assert assert_read_as_request_of(pinned_promiser(), data) == "taken"
    read = read_promise_request(data)
    assert read is not None
    resolved = pinned_promiser().request_of_read(read)
    assert resolved is not None
    return resolved


LINE = field(1, 2, text(1, b"BRK-DSC-10627") + field(2, 0, 2))


def test_fields_in_any_order_later_values_replacing_earlier_ones():
    data = text(2, b"75011") + field(9, 0, 3) + LINE + text(2, b"59000") + field(10, 0, 40) + field(9, 0, 2)
    request = taken(data)
    assert request.fill_policy == 2 and request.min_fill_percent == 40 and request.zone_id == "FR-59"
    line = field(1, 2, field(2, 0, 7) + text(1, b"NOPE") + text(1, b"FLT-AIR-12011") + field(2, 0, 3))
    request = taken(line + text(6, b"FR-59"))
    assert request.sku_ids == ("FLT-AIR-12011",) and request.quantities == (3,)


def test_methods_packed_unpacked_and_both():
    for methods in (field(4, 2, b"\x01\x03"), field(4, 0, 1) + field(4, 0, 3), field(4, 2, b"\x03") + field(4, 0, 1)):
        assert {int(method) for method in taken(LINE + text(6, b"FR-59") + methods).methods} == {1, 3}
    assert len(taken(LINE + text(6, b"FR-59") + field(4, 2, b"")).methods) == 3  # none named: all


def test_embedded_messages_given_twice_are_merged():
    seconds, nanos = field(1, 0, NOW_NS // 10**9), field(2, 0, 5)
    request = taken(LINE + text(6, b"FR-59") + field(5, 2, seconds) + field(5, 2, nanos))
    assert request.as_of_ns == NOW_NS + 5
    request = taken(LINE + text(6, b"FR-59") + field(8, 2, text(2, b"gold")) + field(8, 2, text(1, b"C-1")))
    assert request.customer_tier == "gold"


def test_as_of_comes_from_the_clock_when_absent():
    assert taken(LINE + text(6, b"FR-59")).as_of_ns == NOW_NS


@pytest.mark.parametrize(
    "data",
    [
        LINE + text(6, b"FR-59") + text(17, b"garages"),  # a channel view
        field(1, 2, text(1, b"BRK-DSC-10627") + field(2, 0, 2) + text(4, text(1, b"lot"))) + text(6, b"FR-59"),
        LINE + text(6, b"FR-59") + field(19, 0, 1),  # a field this reader does not know
        LINE + text(6, b"FR-59") + field(9, 0, 2**32 + 1),  # protobuf reads FILL_OR_KILL (truncated): declined
        LINE + text(6, b"FR-59") + field(16, 0, 2),  # a bool as 2: declined
        LINE + text(6, b"FR-59") + b"\x48\x81\x00",  # fill_policy 1 in a varint that is not minimal
        LINE + text(6, b"FR-59") + field(8, 2, text(2, "é".encode())),  # past ASCII
    ],
)
def test_doubtful_requests_are_declined(data):
    assert not isinstance(DECODE(data), Undecodable)  # protobuf reads them: request_of answers them
    assert read_promise_request(data) is None


def test_units_are_converted_and_unknown_units_declined():
    litres = field(1, 2, text(1, b"OIL-MOT-11027") + field(2, 0, 5) + text(3, b"litre"))
    assert taken(litres + text(6, b"FR-59")).quantities == (5_000,)
    bogus = field(1, 2, text(1, b"OIL-MOT-11027") + field(2, 0, 5) + text(3, b"bogus"))
    read = read_promise_request(bogus + text(6, b"FR-59"))
    assert read is not None and pinned_promiser().request_of_read(read) is None


def test_a_postal_code_is_taken_once_its_zone_is_in_the_cache():
    promiser = Promiser(demo_engine(), TokenSigner(KEY), lambda: NOW_NS)
    data = LINE + text(2, b"13001")
    read = read_promise_request(data)
    assert isinstance(read, PromiseRequestRead)
    assert promiser.request_of_read(read) is None  # not looked up yet: request_of looks it up
    expected = promiser.request_of(promise_pb2.PromiseDeliveryRequest.FromString(data))
    assert promiser.request_of_read(read) == expected
    nowhere = read_promise_request(LINE + text(2, b"99999"))
    assert nowhere is not None
    with pytest.raises(DompromiseError):
        promiser.request_of(promise_pb2.PromiseDeliveryRequest.FromString(nowhere.data))
    assert promiser.request_of_read(nowhere) is None  # no zone: request_of answers NOT_FOUND


def test_the_resolver_follows_the_network_after_a_catalog_change():
    """A record that retires a SKU changes the network between two requests: the request of that SKU, taken
    before, is left to request_of after (NOT_FOUND), as request_of's own rebuild (_current) would have it."""
    engine = stocked_engine({("PAD", "DC"): 5})
    promiser = Promiser(engine, TokenSigner(KEY), lambda: NOW_NS)
    read = read_promise_request(field(1, 2, text(1, b"RARE") + field(2, 0, 1)) + text(6, b"Z59"))
    assert read is not None
    assert promiser.request_of_read(read) == promiser.request_of(
        promise_pb2.PromiseDeliveryRequest.FromString(read.data)
    )
    outcome = engine.apply_record(log_pb2.LogRecord(log_time_ns=3, retire_skus=log_pb2.RetireSkus(sku_ids=["RARE"])), 2)
    assert outcome.applied_count == 1
    assert promiser.request_of_read(read) is None
    with pytest.raises(NotFoundError):
        promiser.request_of(promise_pb2.PromiseDeliveryRequest.FromString(read.data))


def test_the_resolver_is_rebuilt_after_a_network_change():
    """A ChangeNetwork record without zone Z59 between two requests: the resolver of the old network took Z59, the
    new network's leaves it to request_of (NOT_FOUND)."""
    engine = stocked_engine({("PAD", "DC"): 5})
    promiser = Promiser(engine, TokenSigner(KEY), lambda: NOW_NS)
    read = read_promise_request(field(1, 2, text(1, b"PAD") + field(2, 0, 1)) + text(6, b"Z59"))
    assert read is not None and promiser.request_of_read(read) is not None
    transport = engine.network.transport
    assert transport is not None
    without_z59 = dataclasses.replace(
        transport,
        zones=tuple(zone for zone in transport.zones if zone.zone_id != "Z59"),
        lanes=tuple(lane for lane in transport.lanes if lane.to_zone_id != "Z59"),
    )
    document = network_document(dataclasses.replace(engine.network, transport=without_z59))
    record = log_pb2.LogRecord(log_time_ns=3, change_network=log_pb2.ChangeNetwork(network_document=document))
    engine.apply_record(record, 2)
    assert {zone.zone_id for zone in engine.network.transport.zones} == {"Z69"}
    assert promiser.request_of_read(read) is None
    with pytest.raises(NotFoundError):
        promiser.request_of(promise_pb2.PromiseDeliveryRequest.FromString(read.data))


def test_a_resolver_asks_the_engine_once_per_sku_and_unit_and_keeps_a_bounded_number():
    """The SKUs found known and the unit sizes found are remembered (the network cannot change under a resolver);
    past SKUS_KEPT of either, it starts again."""
    asked: list[tuple[str, ...]] = []

    def sku(sku_id: str) -> object:
        asked.append((sku_id,))
        return sku_id

    def unit_size(sku_id: str, unit: str) -> int:
        asked.append((sku_id, unit))
        return 12

    resolver = PromiseRequestResolver(
        PromiseRequest,
        sku,
        unit_size,
        frozenset({"Z"}),
        {},
        sku,
        lambda: NOW_NS,
        METHOD_SETS,
        FILL_POLICIES,
        SOURCINGS,
        5,
    )

    def resolve(sku_id: bytes, unit: bytes = b"") -> PromiseRequest:
        read = read_promise_request(field(1, 2, text(1, sku_id) + field(2, 0, 2) + text(3, unit)) + text(6, b"Z"))
        assert read is not None
        resolved = resolver.resolve(read)
        assert isinstance(resolved, PromiseRequest)
        return resolved

    assert resolve(b"A").quantities == (2,) and resolve(b"A", b"box").quantities == (24,)
    assert resolve(b"A", b"box").quantities == (24,) and resolve(b"A").sku_ids == ("A",)
    assert asked == [("A",), ("A", "box")]
    for number in range(SKUS_KEPT):
        resolve(f"B{number}".encode())
    assert asked[-1] == (f"B{SKUS_KEPT - 1}",)
    resolve(b"A")
    assert asked[-1] == ("A",)  # forgotten: asked again


# ---- over gRPC: a server without the reader is "before" ------------------------------------------------------


@pytest.fixture(scope="module")
def servers():
    """(with the reader, without it): two servers of the demo network and stock."""
    with_reader = ServerThread(demo_replica(), token_key=KEY)
    raw = pipeline.RAW_METHODS[pipeline.PROMISE_DELIVERY]
    pipeline.RAW_METHODS[pipeline.PROMISE_DELIVERY] = dataclasses.replace(raw, reader=None)
    try:
        without = ServerThread(demo_replica(), token_key=KEY)
    finally:
        pipeline.RAW_METHODS[pipeline.PROMISE_DELIVERY] = raw
    try:
        yield with_reader, without
    finally:
        with_reader.stop()
        without.stop()


class Called(NamedTuple):
    code: grpc.StatusCode
    answer: bytes | None
    details: str | None
    violations: dict[str, str]
    metadata: list[tuple[str, str]]  # trailing, but the log id (each server's own)


def call(target: str, data: bytes) -> Called:
    """PromiseDelivery of the request bytes `data`."""
    with grpc.insecure_channel(target) as channel:
        method = channel.unary_unary(pipeline.PROMISE_DELIVERY)
        try:
            answer, done = method.with_call(data, timeout=30)
            code, details, violations = grpc.StatusCode.OK, None, {}
        except grpc.RpcError as error:
            answer, done, code, details, violations = (
                None,
                error,
                error.code(),
                error.details(),
                field_violations(error),
            )
        metadata = [(key, value) for key, value in done.trailing_metadata() or () if key != "x-dompromise-log-id"]
        return Called(code, answer, details, violations, metadata)


def without_tokens(answer: bytes) -> tuple[bytes, list[object]]:
    """The answer with its tokens cleared, and the holds they carry."""
    response = promise_pb2.PromiseDeliveryResponse.FromString(answer)
    signer = TokenSigner(KEY)
    holds = [signer.verify(option.promise_token).holds for option in response.options]
    for option in response.options:
        option.ClearField("promise_token")
    return response.SerializeToString(), holds


@pytest.mark.parametrize("line_count", [1, 10])
def test_the_garage_orders_answer_as_before(servers, monkeypatch, line_count):
    with_reader, without = servers
    data = garage_bytes(line_count)
    call(with_reader.target, data)  # the zone of 59000 looked up (request_of), then kept
    promiser = with_reader.built.servicers["dompromise.v1.PromiseService"]._promiser
    asked = []
    monkeypatch.setattr(promiser, "request_of", lambda message: asked.append(message))
    now = call(with_reader.target, data)
    assert asked == [], "the garage order is read from its bytes, not decoded"
    before = call(without.target, data)
    assert now.code == before.code == grpc.StatusCode.OK and now.metadata == before.metadata
    assert now.answer is not None and before.answer is not None
    assert without_tokens(now.answer) == without_tokens(before.answer)
    # A token of an answer from the bytes reserves its plan (on both servers: their states stay the same).
    for server, called in ((with_reader, now), (without, before)):
        token = promise_pb2.PromiseDeliveryResponse.FromString(called.answer).options[0].promise_token
        with grpc.insecure_channel(server.target) as channel:
            reserved = reservation_pb2_grpc.ReservationServiceStub(channel).ReserveInventory(
                reservation_pb2.ReserveInventoryRequest(request_id=f"garage-{line_count}", promise_token=token),
                timeout=30,
            )
        assert (
            reserved.reservation.reservation_id
            and reserved.log_position == int(dict(now.metadata)["x-dompromise-position"]) + 1
        )


def bad_requests() -> list[bytes]:
    lines_max = field(1, 2, text(1, b"BRK-DSC-10627") + field(2, 0, 1)) * (limits.PROMISE_LINES_MAX + 1)
    return [
        b"\xff\xff\xff",  # not a message
        garage_bytes(1)[:-1],  # cut mid-field
        LINE + text(2, b"5" * 10_000),  # a string longer than the guard takes
        LINE + text(6, "é".encode() * 600),  # too long in bytes, not in characters
        LINE + text(2, b"\xed\xa0\x80"),  # not UTF-8
        field(1, 2, text(1, b"NOPE-1") + field(2, 0, 1)) + text(6, b"FR-59"),  # unknown SKU
        field(1, 2, text(1, b"BRK-DSC-10627")),  # quantity 0, no destination
        LINE + text(6, b"NOPE"),  # unknown zone
        LINE + text(2, b"99999"),  # no zone for the postal code
        LINE + text(3, b"NOPE"),  # unknown pickup node
        LINE + text(6, b"FR-59") + text(17, b"nope"),  # unknown view
        LINE + text(6, b"FR-59") + field(9, 0, 7) + field(4, 0, 5),  # unknown policy and method
        field(1, 2, text(1, b"OIL-MOT-11027") + field(2, 0, 5) + text(3, b"bogus")) + text(6, b"FR-59"),
        field(1, 2, text(1, b"OIL-MOT-11027") + field(2, 0, 5) + text(4, text(1, b"nokey") + text(2, b"1")))
        + text(6, b"FR-59"),
        lines_max + text(6, b"FR-59"),
        b"",  # no line
    ]


def test_bad_requests_answer_as_before(servers):
    with_reader, without = servers
    for data in bad_requests():
        now = call(with_reader.target, data)
        assert now.code != grpc.StatusCode.OK, data[:40]
        assert now == call(without.target, data), data[:40]
