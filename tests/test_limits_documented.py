"""Limits in dompromise/limits.py are the numbers the protos document."""

from __future__ import annotations

import pathlib
import re

import pytest

from dompromise import limits
from dompromise.service import overload

PROTOS = pathlib.Path(__file__).resolve().parent.parent / "protos" / "dompromise" / "v1"


def field_comment(proto_file: str, message: str, field: str) -> str:
    """The comment lines directly above `field` inside `message`."""
    text = (PROTOS / proto_file).read_text()
    body = text[text.index(f"message {message} {{") :]
    body = body[: body.index("\n}")]
    lines = body.splitlines()
    for index, line in enumerate(lines):
        if re.match(rf"\s*(repeated\s+)?(map<[^>]+>|[\w.]+)\s+{field}\s*=", line):
            comment = []
            for above in reversed(lines[:index]):
                if not above.strip().startswith("//"):
                    break
                comment.insert(0, above.strip()[2:].strip())
            return " ".join(comment)
    raise AssertionError(f"{message}.{field} not found in {proto_file}")


def rpc_comment(proto_file: str, rpc: str) -> str:
    """The comment lines directly above `rpc` in its service."""
    lines = (PROTOS / proto_file).read_text().splitlines()
    for index, line in enumerate(lines):
        if re.match(rf"\s*rpc\s+{rpc}\(", line):
            comment = []
            for above in reversed(lines[:index]):
                if not above.strip().startswith("//"):
                    break
                comment.insert(0, above.strip()[2:].strip())
            return " ".join(comment)
    raise AssertionError(f"rpc {rpc} not found in {proto_file}")


def spelled(number: int) -> str:
    return f"{number:,}"


def test_availability_limits_documented():
    assert spelled(limits.AVAILABILITY_SKUS_MAX) in field_comment(
        "availability.proto", "GetAvailabilityRequest", "sku_ids"
    )
    assert spelled(limits.AVAILABILITY_FILTER_NODES_MAX) in field_comment(
        "availability.proto", "GetAvailabilityRequest", "node_ids"
    )
    assert spelled(limits.AVAILABILITY_FILTER_TAGS_MAX) in field_comment(
        "availability.proto", "GetAvailabilityRequest", "node_tags"
    )
    assert spelled(limits.ID_LENGTH_MAX) in field_comment("availability.proto", "GetAvailabilityRequest", "sku_ids")


def test_inventory_limits_documented():
    assert spelled(limits.STOCK_UPDATES_MAX) in field_comment("inventory.proto", "UpdateStockRequest", "updates")
    exponent = len(str(limits.QUANTITY_MAX)) - 1
    assert limits.QUANTITY_MAX == 10**exponent
    assert f"10^{exponent}" in field_comment("inventory.proto", "StockUpdate", "quantity")


def test_page_limits_documented():
    comment = field_comment("network.proto", "ListNodesRequest", "page_size")
    assert f"default {spelled(limits.PAGE_SIZE_DEFAULT)}" in comment
    assert f"at most {spelled(limits.PAGE_SIZE_MAX)}" in comment


def test_phasing_and_supply_limits_documented():
    assert f"1 to {spelled(limits.PHASING_BUCKETS_MAX)}" in field_comment(
        "availability.proto", "TimePhasing", "bucket_count"
    )
    assert spelled(limits.STOCK_UPDATES_MAX) in field_comment("inventory.proto", "UpsertSupplyRequest", "supplies")
    assert spelled(limits.STOCK_UPDATES_MAX) in field_comment("inventory.proto", "ReceiveSupplyRequest", "receipts")


def test_watch_limits_documented():
    def comment(field: str) -> str:
        return field_comment("availability.proto", "WatchAvailabilityRequest", field)

    assert f"1 to {spelled(limits.WATCH_SKUS_MAX)}" in comment("sku_ids")
    assert spelled(limits.ID_LENGTH_MAX) in comment("sku_ids")
    assert spelled(limits.AVAILABILITY_FILTER_NODES_MAX) in comment("node_ids")
    assert spelled(limits.AVAILABILITY_FILTER_TAGS_MAX) in comment("node_tags")
    assert spelled(limits.AVAILABILITY_BREAKDOWN_CELLS_MAX) in comment("view")
    assert f"at most {limits.LOG_ID_LENGTH_MAX} characters" in comment("resume_log_id")
    assert f"At most {spelled(limits.WATCH_STREAMS_MAX)} streams" in rpc_comment(
        "availability.proto", "WatchAvailability"
    )


def test_safety_stock_and_channel_view_limits_documented():
    rules = field_comment("inventory.proto", "SetSafetyStockRequest", "rules")
    assert f"1 to {spelled(limits.SAFETY_STOCK_RULES_MAX)}" in rules
    assert spelled(limits.SAFETY_STOCK_POSITIONS_MAX) in rules
    for field in ("customer_segment", "unit"):
        assert spelled(limits.ID_LENGTH_MAX) in field_comment("availability.proto", "GetAvailabilityRequest", field)
    assert spelled(limits.AVAILABILITY_BREAKDOWN_CELLS_MAX) in field_comment(
        "availability.proto", "GetAvailabilityRequest", "channel_view_id"
    )
    exponent = len(str(limits.QUANTITY_MAX)) - 1
    assert f"10^{exponent}" in field_comment("reservation.proto", "ReservationLine", "unit")


def test_channel_view_config_limits_documented():
    docs = (PROTOS.parent.parent.parent / "docs" / "config.md").read_text()
    for name in (
        "VIEWS_MAX",
        "VIEW_SEGMENTS_MAX",
        "VIEW_PROTECTED_MAX",
        "VIEW_SKU_QUANTITIES_MAX",
        "VIEW_PROTECTED_SKUS_MAX",
        "VIEW_HORIZON_DAYS_MAX",
    ):
        assert f"`{name}` ({spelled(getattr(limits, name))})" in docs, name


def test_attribute_limits_documented():
    stock = field_comment("inventory.proto", "StockUpdate", "attributes")
    assert f"At most {limits.ATTRIBUTES_PER_POSITION_MAX} attributes" in stock
    assert f"keys at most {limits.ATTRIBUTE_KEY_LENGTH_MAX}" in stock
    assert f"values at most {limits.ATTRIBUTE_VALUE_LENGTH_MAX}" in stock
    assert f"at most {spelled(limits.VARIANTS_MAX)} variants" in stock
    limit_reached = (PROTOS / "common.proto").read_text()
    assert (
        f"({spelled(limits.VARIANTS_MAX)}, and at most {spelled(limits.VARIANT_POSITIONS_MAX)} variant" in limit_reached
    )
    for proto_file, message, field in (
        ("availability.proto", "GetAvailabilityRequest", "required_attributes"),
        ("availability.proto", "WatchAvailabilityRequest", "required_attributes"),
        ("reservation.proto", "ReservationLine", "required_attributes"),
    ):
        assert f"at most {limits.ATTRIBUTES_PER_POSITION_MAX}" in field_comment(proto_file, message, field)
    assert spelled(limits.AVAILABILITY_BREAKDOWN_CELLS_MAX) in field_comment(
        "availability.proto", "GetAvailabilityRequest", "with_variants"
    )
    assert spelled(limits.STOCK_UPDATES_MAX) in field_comment("inventory.proto", "SetUnavailableRequest", "items")
    docs = (PROTOS.parent.parent.parent / "docs" / "config.md").read_text()
    for name in ("ATTRIBUTES_DECLARED_MAX", "ATTRIBUTE_KEY_LENGTH_MAX"):
        assert f"`{name}` ({spelled(getattr(limits, name))})" in docs, name


def test_search_limits_documented():
    query = field_comment("network.proto", "SearchSkusRequest", "query")
    assert spelled(limits.SEARCH_QUERY_LENGTH_MAX) in query
    assert spelled(limits.SEARCH_QUERY_WORDS_MAX) in query
    assert spelled(limits.SEARCH_RESULTS_MAX) in field_comment("network.proto", "SearchSkusRequest", "page_size")
    assert spelled(limits.HTTP_REQUEST_LINE_BYTES_MAX) in rpc_comment("availability.proto", "GetAvailability")


def test_reserved_promise_tokens_limits_documented():
    comment = field_comment("reservation.proto", "ReserveInventoryRequest", "promise_token")
    assert f"{limits.PROMISE_TOKEN_CLOCK_MARGIN_SECONDS} seconds" in comment
    assert spelled(limits.PROMISE_TOKENS_REMEMBERED_MAX) in comment


def test_atomic_upload_limits_documented():
    comment = field_comment("inventory.proto", "UploadStockRequest", "all_or_nothing")
    assert spelled(limits.UPLOAD_ATOMIC_ROWS_MAX) in comment
    assert f"{limits.UPLOAD_ATOMIC_RECORD_BYTES_MAX // (1024 * 1024)} MB" in comment


def test_request_string_limits_documented():
    assert spelled(limits.POSTAL_CODE_LENGTH_MAX) in field_comment(
        "promise.proto", "PromiseDeliveryRequest", "postal_code"
    )
    assert f"at most {limits.COUNTRY_CODE_LENGTH_MAX}" in field_comment(
        "promise.proto", "PromiseDeliveryRequest", "country_code"
    )
    assert "2200" in field_comment("availability.proto", "TimePhasing", "start_time")


def service_comment(proto_file: str, service: str) -> str:
    """The comment lines directly above `service` (where a client reads what holds for all its RPCs)."""
    lines = (PROTOS / proto_file).read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if re.match(rf"service\s+{service}\s*\{{", line))
    comment = []
    for above in reversed(lines[:index]):
        if not above.strip().startswith("//"):
            break
        comment.insert(0, above.strip()[2:].strip())
    return " ".join(comment)


SERVICES = (
    ("availability.proto", "AvailabilityService"),
    ("inventory.proto", "InventoryService"),
    ("network.proto", "NetworkService"),
    ("promise.proto", "PromiseService"),
    ("reservation.proto", "ReservationService"),
)


@pytest.mark.parametrize(("proto_file", "service"), SERVICES)
def test_general_bad_request_limits_documented_on_every_service(proto_file, service):
    """The limits of every request (strings), of every error answer (the message and description cuts, the
    echoed value) and of the server's bad-request log, where a client reads them: each service's comment."""
    comment = service_comment(proto_file, service)
    for name, phrase in (
        (
            "STRING_LENGTH_MAX",
            f"every string of every request is at most {spelled(limits.STRING_LENGTH_MAX)} characters",
        ),
        ("ERROR_MESSAGE_LENGTH_MAX", f"message is cut at {spelled(limits.ERROR_MESSAGE_LENGTH_MAX)} characters"),
        ("ERROR_DESCRIPTION_LENGTH_MAX", f"details at {spelled(limits.ERROR_DESCRIPTION_LENGTH_MAX)}"),
        ("ECHOED_VALUE_LENGTH_MAX", f"at most {spelled(limits.ECHOED_VALUE_LENGTH_MAX)} characters of a"),
        ("BAD_REQUEST_LOG_LINES_PER_SECOND_MAX", f"at most {limits.BAD_REQUEST_LOG_LINES_PER_SECOND_MAX} a second"),
    ):
        assert phrase in comment, (service, name)
        assert f"({name}" in comment, (service, name)


def test_reservation_event_resume_log_id_limit_documented():
    comment = field_comment("reservation.proto", "WatchReservationEventsRequest", "resume_log_id")
    assert f"at most {limits.LOG_ID_LENGTH_MAX} characters" in comment


@pytest.mark.parametrize(("proto_file", "service"), SERVICES)
def test_keys_and_load_shedding_documented_on_every_service(proto_file, service):
    """What a client of any RPC may be answered before its call runs: keys, scopes, shedding and its bounds."""
    comment = service_comment(proto_file, service)
    for phrase in ("UNAUTHENTICATED", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "OVERLOADED", "serve --max-inflight"):
        assert phrase in comment, (service, phrase)
    assert f"Past {limits.INFLIGHT_RPCS_MAX} unary and client-streaming calls" in comment, service
    assert "(INFLIGHT_RPCS_MAX" in comment and "(INFLIGHT_PER_METHOD_MAX" in comment, service
    for method, bound in limits.INFLIGHT_PER_METHOD_MAX.items():
        assert f"{method.rsplit('/', 1)[1]} {bound}" in comment, (service, method)
    assert f"retry after {overload.SHED_RETRY_DELAY_MS} ms" in comment, service
