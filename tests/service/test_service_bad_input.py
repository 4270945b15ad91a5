"""Bad requests over a real socket: each gets INVALID_ARGUMENT naming its field, small trailers, one WARNING line.

The cases of the issue's attack run: undecodable bytes on every RPC, phasing whose buckets end centuries
away, a year-9999 start, bad bytes in an UploadStock stream, a 10 KB string in every string field of every
request; and the log: one WARNING line per bad request, none with a traceback, at most
BAD_REQUEST_LOG_LINES_PER_SECOND_MAX a second per method.
"""

from __future__ import annotations

import logging
import math
import re
import sys
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor
from grpc_status import rpc_status
from test_service_availability import field_violations

from dompromise import limits
from dompromise.service.bad_input import BadRequestLog
from dompromise.v1 import availability_pb2, availability_pb2_grpc, inventory_pb2, inventory_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fuzz"))
from malformed import LogCounter, Method, methods, send  # noqa: E402

LONG = "x" * 10_000
# What a default client accepts in metadata (grpc.max_metadata_size); the trailers of an error must fit.
CLIENT_METADATA_BYTES_MAX = 8 * 1024


@pytest.fixture
def server_log():
    counter = LogCounter()
    root = logging.getLogger()
    level = root.level
    root.addHandler(counter)
    root.setLevel(logging.INFO)
    yield counter
    root.removeHandler(counter)
    root.setLevel(level)


def trailer_bytes(error: grpc.RpcError) -> int:
    return len(error.details() or "") + sum(len(key) + len(value) for key, value in error.trailing_metadata() or ())


@pytest.mark.parametrize("method", methods(), ids=lambda m: m.path.rsplit("/", 1)[1])
def test_bytes_that_do_not_decode_are_invalid_argument_naming_request(channel, server_log, method: Method):
    garbage = b"\xff\xff\xff\xff\x0f"  # a truncated varint: no message of any type
    assert send(channel, method, [garbage]) == grpc.StatusCode.INVALID_ARGUMENT
    call = (
        channel.stream_unary(method.path)
        if method.client_streaming
        else channel.unary_stream(method.path)
        if method.server_streaming
        else channel.unary_unary(method.path)
    )
    with pytest.raises(grpc.RpcError) as caught:
        answer = call(iter([garbage]) if method.client_streaming else garbage, timeout=5)
        if method.server_streaming:
            list(answer)
    assert set(field_violations(caught.value)) == {"request"}
    assert method.request.full_name in field_violations(caught.value)["request"]
    assert server_log.tracebacks == 0
    assert server_log.levels["ERROR"] == 0
    assert server_log.levels["WARNING"] == 2


def test_health_and_reflection_refuse_undecodable_bytes_too(channel):
    for path in ("/grpc.health.v1.Health/Check", "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"):
        method = Method(
            path, availability_pb2.GetAvailabilityRequest.DESCRIPTOR, "Reflection" in path, "Reflection" in path
        )
        if method.client_streaming:
            with pytest.raises(grpc.RpcError) as caught:
                list(channel.stream_stream(path)(iter([b"\xff\xff\xff\xff\x0f"]), timeout=5))
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        else:
            assert send(channel, method, [b"\xff\xff\xff\xff\x0f"]) == grpc.StatusCode.INVALID_ARGUMENT


def availability_error(channel, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability(request)
    return caught.value


def test_366_buckets_of_366_days_is_invalid_argument_naming_bucket_count(channel, server_log):
    request = availability_pb2.GetAvailabilityRequest(sku_ids=["PAD-1"])
    request.phasing.bucket_count = limits.PHASING_BUCKETS_MAX
    request.phasing.bucket_duration.seconds = limits.PHASING_BUCKET_SECONDS_MAX
    error = availability_error(channel, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(error)) == {"phasing.bucket_count"}
    assert server_log.tracebacks == 0


@pytest.mark.parametrize(
    ("seconds", "nanos"), [(253_402_300_799, 0), (limits.TIME_SECONDS_MAX, 0), (1, -1), (-(10**12), 0)]
)
def test_a_start_time_out_of_range_is_invalid_argument(channel, seconds, nanos):
    request = availability_pb2.GetAvailabilityRequest(sku_ids=["PAD-1"])
    request.phasing.bucket_count = 1
    request.phasing.start_time.seconds = seconds
    request.phasing.start_time.nanos = nanos
    error = availability_error(channel, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(error)) == {"phasing.start_time"}


def test_a_start_time_just_before_2200_with_one_day_is_answered(channel):
    request = availability_pb2.GetAvailabilityRequest(sku_ids=["PAD-1"])
    request.phasing.bucket_count = 1
    request.phasing.start_time.seconds = limits.TIME_SECONDS_MAX - 2 * 86_400
    response = availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability(request)
    assert len(response.bucket_end_times) == 1


def test_undecodable_bytes_in_an_all_or_nothing_upload_apply_nothing(channel, server_log):
    stub = inventory_pb2_grpc.InventoryServiceStub(channel)
    first = inventory_pb2.UploadStockRequest(
        all_or_nothing=True, columns=inventory_pb2.StockColumns(sku_ids=["PAD-1"], node_ids=["DC-1"], quantities=[777])
    )
    upload = channel.stream_unary("/dompromise.v1.InventoryService/UploadStock")
    with pytest.raises(grpc.RpcError) as caught:
        upload(iter([first.SerializeToString(), b"\x0a\xff\xff"]), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"request"}
    del stub
    request = availability_pb2.GetAvailabilityRequest(sku_ids=["PAD-1"], node_ids=["DC-1"])
    item = availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability(request).items[0]
    assert item.available_quantity != 777
    assert server_log.tracebacks == 0


def _string_fields(descriptor, path=(), seen=frozenset()):
    """(path of field descriptors) to every string field of a request, maps' keys and values included."""
    for field in descriptor.fields:
        here = (*path, field)
        if field.message_type is not None:
            if field.message_type.GetOptions().map_entry:
                yield here
            elif field.message_type.full_name not in seen:
                yield from _string_fields(field.message_type, here, seen | {field.message_type.full_name})
        elif field.type == FieldDescriptor.TYPE_STRING:
            yield here


STRING_FIELDS = [
    (method, path) for method in methods() for path in _string_fields(method.request, (), {method.request.full_name})
]


# Valid requests on the small network (conftest): a long string in one of their fields must be the one named.
# Requests of the other RPCs start empty: their answer may name a missing field first, and must still be small.
BASES = {
    "GetAvailability": {"sku_ids": ["PAD-1"]},
    "PromiseDelivery": {"lines": [{"sku_id": "PAD-1", "quantity": 1}], "postal_code": "69007"},
    "ReserveInventory": {"request_id": "r1", "lines": [{"sku_id": "PAD-1", "node_id": "DC-1", "quantity": 1}]},
    "UpdateStock": {"updates": [{"sku_id": "PAD-1", "node_id": "DC-1", "kind": 1, "quantity": 1}]},
    "ListNodes": {},
    "ListSkus": {},
    "ListReservations": {},
    "GetNode": {"node_id": "DC-1"},
    "GetSku": {"sku_id": "PAD-1"},
    "CommitReservation": {"request_id": "r2", "reservation_id": "R1"},
    "ReleaseReservation": {"request_id": "r3", "reservation_id": "R1"},
}


def _base(method: Method):
    from google.protobuf import json_format  # noqa: PLC0415

    message = message_factory.GetMessageClass(method.request)()
    return json_format.ParseDict(BASES.get(method.path.rsplit("/", 1)[1], {}), message)


def _with_long(method: Method, path) -> tuple[bytes, str]:
    """The method's request with LONG at `path` (the first element of each repeated field on the way), and
    that field's path."""
    message = _base(method)
    target, names = message, []
    for field in path[:-1]:
        if field.is_repeated:
            items = getattr(target, field.name)
            target = items[0] if len(items) else items.add()
            names.append(f"{field.name}[0]")
        else:
            target = getattr(target, field.name)
            names.append(field.name)
    last = path[-1]
    if last.name == "promise_token":  # a token instead of lines
        message.ClearField("lines")
    names.append(last.name)
    if last.message_type is not None:  # a map<string, string>
        getattr(target, last.name)["lot"] = LONG
    elif last.is_repeated:
        values = getattr(target, last.name)
        if len(values):
            values[0] = LONG
        else:
            values.append(LONG)
        names[-1] += "[0]"
    else:
        setattr(target, last.name, LONG)
    return message.SerializeToString(), ".".join(names)


def _without_indices(field: str) -> str:
    return re.sub(r"\[\d+\]", "", field)


@pytest.mark.parametrize(
    ("method", "path"),
    STRING_FIELDS,
    ids=[f"{m.path.rsplit('/', 1)[1]}.{'.'.join(f.name for f in p)}" for m, p in STRING_FIELDS],
)
def test_a_10kb_string_in_any_field_is_refused_naming_it_with_small_trailers(channel, method, path):
    payload, field = _with_long(method, path)
    call = (
        channel.stream_unary(method.path)
        if method.client_streaming
        else channel.unary_stream(method.path)
        if method.server_streaming
        else channel.unary_unary(method.path)
    )
    with pytest.raises(grpc.RpcError) as caught:
        answer = call(iter([payload]) if method.client_streaming else payload, timeout=5)
        if method.server_streaming:
            next(iter(answer))
    error = caught.value
    expected = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED)
    if path[-1].name == "config_text":
        # A network config text is a whole document (bounded by NETWORK_DOCUMENT_BYTES_MAX, not the string cap);
        # this test's server takes no configs and says so first. Its trailers must still be small.
        expected += (grpc.StatusCode.FAILED_PRECONDITION,)
    assert error.code() in expected, error.details()
    named = {_without_indices(name) for name in field_violations(error)}
    if method.path.rsplit("/", 1)[1] in BASES:
        assert any(
            _without_indices(field).startswith(name) or name.startswith(_without_indices(field)) for name in named
        ), named
    assert trailer_bytes(error) < CLIENT_METADATA_BYTES_MAX // 2
    assert LONG[:200] not in (error.details() or "")
    assert rpc_status.from_call(error) is not None


def test_bad_requests_log_one_warning_each_at_most_the_rate_then_say_how_many_were_left_out(caplog):
    now = [100.0]
    log = BadRequestLog(lines_per_second_max=3, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="dompromise.service.bad_input"):
        written = [log.warn("M", "INVALID_ARGUMENT", f"bad {n}") for n in range(10)]
        now[0] += 1.0
        assert log.warn("M", "INVALID_ARGUMENT", "bad again")
        assert log.warn("other", "INVALID_ARGUMENT", "x" * 5000)
    assert written == [True] * 3 + [False] * 7
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 5
    assert "7 more bad requests to M not logged" in lines[3]
    assert all(record.exc_info is None and record.levelno == logging.WARNING for record in caplog.records)
    assert len(lines[4]) < 1_200


def test_a_flood_of_bad_requests_logs_a_bounded_number_of_lines(channel, server_log):
    stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
    started_s = time.monotonic()
    for _ in range(60):
        with pytest.raises(grpc.RpcError):
            stub.GetAvailability(availability_pb2.GetAvailabilityRequest(sku_ids=[LONG]))
    # The bound is per second: a loaded machine takes longer over the 60 calls and may log more in all.
    seconds = math.ceil(time.monotonic() - started_s) + 1
    assert 1 <= server_log.levels["WARNING"] <= 2 * limits.BAD_REQUEST_LOG_LINES_PER_SECOND_MAX * seconds
    assert server_log.tracebacks == 0


def test_postal_and_country_codes_over_their_limits_are_named(channel):
    from dompromise.v1 import promise_pb2  # noqa: PLC0415

    request = promise_pb2.PromiseDeliveryRequest(
        postal_code="6" * (limits.POSTAL_CODE_LENGTH_MAX + 1), country_code="FRA"
    )
    request.lines.add(sku_id="PAD-1", quantity=1)
    with pytest.raises(grpc.RpcError) as caught:
        channel.unary_unary("/dompromise.v1.PromiseService/PromiseDelivery")(request.SerializeToString(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"postal_code", "country_code"}
