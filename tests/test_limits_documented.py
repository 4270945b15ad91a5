"""Limits in dompromise/limits.py are the numbers the protos document."""

from __future__ import annotations

import pathlib
import re

from dompromise import limits

PROTOS = pathlib.Path(__file__).resolve().parent.parent / "protos" / "dompromise" / "v1"


def field_comment(proto_file: str, message: str, field: str) -> str:
    """The comment lines directly above `field` inside `message`."""
    text = (PROTOS / proto_file).read_text()
    body = text[text.index(f"message {message} {{"):]
    body = body[: body.index("\n}")]
    lines = body.splitlines()
    for index, line in enumerate(lines):
        if re.match(rf"\s*(repeated\s+)?[\w.]+\s+{field}\s*=", line):
            comment = []
            for above in reversed(lines[:index]):
                if not above.strip().startswith("//"):
                    break
                comment.insert(0, above.strip()[2:].strip())
            return " ".join(comment)
    raise AssertionError(f"{message}.{field} not found in {proto_file}")


def spelled(number: int) -> str:
    return f"{number:,}"


def test_availability_limits_documented():
    assert spelled(limits.AVAILABILITY_SKUS_MAX) in field_comment("availability.proto", "GetAvailabilityRequest", "sku_ids")
    assert spelled(limits.AVAILABILITY_FILTER_NODES_MAX) in field_comment(
        "availability.proto", "GetAvailabilityRequest", "node_ids")
    assert spelled(limits.AVAILABILITY_FILTER_TAGS_MAX) in field_comment(
        "availability.proto", "GetAvailabilityRequest", "node_tags")
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
        "availability.proto", "TimePhasing", "bucket_count")
    assert spelled(limits.STOCK_UPDATES_MAX) in field_comment("inventory.proto", "UpsertSupplyRequest", "supplies")
    assert spelled(limits.STOCK_UPDATES_MAX) in field_comment("inventory.proto", "ReceiveSupplyRequest", "receipts")
