"""The common reserve's one-pass check (reservation.py _plain_lines) against the full one (_validate_reserve).

_plain_lines takes a request only when the full check finds nothing and there is nothing more to add to its
record (units, backorder dates, attributes, a channel); it must then give the lines the full path would log.
"""

from __future__ import annotations

import pytest
from google.protobuf import timestamp_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dompromise import limits
from dompromise.errors import InvalidArgumentError, LimitExceededError
from dompromise.service.reservation import _plain_lines, _validate_reserve
from dompromise.service.validation import base_quantities
from dompromise.v1 import reservation_pb2 as pb

NOW_NS = 1_700_000_000 * 1_000_000_000
GOOD_IDS = st.sampled_from(["PAD-1", "DC-1", "r-1"])
# Each kind of bad id _validate_reserve names: empty, too long, unprintable, with a space.
BAD_IDS = st.sampled_from(["", "a b", "x" * (limits.ID_LENGTH_MAX + 1), "bell\x07"])
GOOD_QUANTITIES = st.sampled_from([1, 7, limits.QUANTITY_MAX])
BAD_QUANTITIES = st.sampled_from([0, -1, limits.QUANTITY_MAX + 1])
# What a test request may carry beyond a plain, valid reserve: each makes it not plain, or not valid, or neither.
CHANGES = (
    "bad request_id", "bad sku_id", "bad node_id", "bad quantity", "unit", "bad unit", "backorder_by past",
    "backorder_by future", "attributes", "channel_view_id", "customer_segment", "order_id", "bad order_id",
    "customer_id", "bad customer_id", "no lines",
)  # fmt: skip


@st.composite
def requests(draw: st.DrawFn) -> pb.ReserveInventoryRequest:
    """A plain, valid reserve of 1-3 lines, then none, one or a few CHANGES (none: the request is plain)."""
    request = pb.ReserveInventoryRequest(request_id=draw(GOOD_IDS))
    for _ in range(draw(st.integers(1, 3))):
        request.lines.add(sku_id=draw(GOOD_IDS), node_id=draw(GOOD_IDS), quantity=draw(GOOD_QUANTITIES))
    for change in draw(st.lists(st.sampled_from(CHANGES), max_size=3)):
        line = request.lines[draw(st.integers(0, len(request.lines) - 1))] if request.lines else None
        if change == "bad request_id":
            request.request_id = draw(BAD_IDS)
        elif change == "order_id" or change == "customer_id":
            setattr(request, change, draw(GOOD_IDS))
        elif change == "bad order_id" or change == "bad customer_id":
            setattr(request, change[4:], draw(BAD_IDS))
        elif change == "channel_view_id" or change == "customer_segment":
            setattr(request, change, "web")
        elif change == "no lines":
            del request.lines[:]
        elif line is not None:
            change_line(draw, line, change)
    return request


def change_line(draw: st.DrawFn, line: pb.ReservationLine, change: str) -> None:
    if change == "bad sku_id" or change == "bad node_id":
        setattr(line, change[4:], draw(BAD_IDS))
    elif change == "bad quantity":
        line.quantity = draw(BAD_QUANTITIES)
    elif change == "unit" or change == "bad unit":
        line.unit = "EA" if change == "unit" else "a b"
    elif change.startswith("backorder_by"):
        line.backorder_by.CopyFrom(
            timestamp_pb2.Timestamp(seconds=NOW_NS // 1_000_000_000 + (-5 if "past" in change else 5))
        )
    elif change == "attributes":
        line.required_attributes["color"] = "red"


def full_check_passes(request: pb.ReserveInventoryRequest, engine) -> bool:
    try:
        _validate_reserve(request, NOW_NS, engine)
    except (InvalidArgumentError, LimitExceededError):
        return False
    return True


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_a_request_taken_by_the_one_pass_check_is_one_the_full_check_passes(engine, request):
    plain = _plain_lines(request)
    if plain is None:
        return
    assert full_check_passes(request, engine)
    assert not request.channel_view_id and not request.customer_segment
    assert not any(line.unit or line.HasField("backorder_by") or line.required_attributes for line in request.lines)
    sku_ids, node_ids, quantities = plain
    assert sku_ids == [line.sku_id for line in request.lines]
    assert node_ids == [line.node_id for line in request.lines]
    assert quantities == base_quantities(engine, request.lines)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_a_request_with_nothing_to_add_that_the_full_check_passes_is_taken(engine, request):
    """The one-pass check is not vacuous: every plain, valid request goes its way."""
    plain_kind = not (request.channel_view_id or request.customer_segment) and not any(
        line.unit or line.HasField("backorder_by") or line.required_attributes for line in request.lines
    )
    if plain_kind and full_check_passes(request, engine):
        assert _plain_lines(request) is not None


@pytest.mark.parametrize("count", [0, limits.RESERVATION_LINES_MAX + 1])
def test_no_lines_or_too_many_are_left_to_the_full_check(count):
    request = pb.ReserveInventoryRequest(
        request_id="r", lines=[pb.ReservationLine(sku_id="PAD-1", node_id="DC-1", quantity=1)] * count
    )
    assert _plain_lines(request) is None
