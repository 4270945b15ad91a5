"""Attributes that split a position (lot number, country of origin, date code).

Pure Python, no I/O. An attribute set is canonical as a tuple of (key, value)
pairs, keys ascending: the form the log records and the engine interns.
Which keys a SKU may carry is config: the SKU's `tracked_attributes`, else
the network's `attributes`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from itertools import pairwise

from dompromise import limits
from dompromise.errors import FieldViolation
from dompromise.model.network import Network, Sku

Attributes = tuple[tuple[str, str], ...]
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
# Sorts after every real value, so a variant without a date code or lot is
# taken last (see reservation_order).
_LAST = "\U0010ffff"


def canonical(mapping: Mapping[str, str]) -> Attributes:
    return tuple(sorted(mapping.items()))


def allowed_keys(network: Network, sku: Sku | None) -> tuple[str, ...]:
    """The keys `sku` may carry; for an unknown SKU, every key the network declares."""
    if sku is None:
        return declared_keys(network)
    return sku.tracked_attributes or network.attributes


def declared_keys(network: Network) -> tuple[str, ...]:
    """Every key the config declares, network-wide or on some SKU."""
    keys = dict.fromkeys(network.attributes)
    for sku in network.skus:
        keys.update(dict.fromkeys(sku.tracked_attributes))
    return tuple(keys)


def violations(attributes: Mapping[str, str], allowed: Collection[str], field: str) -> list[FieldViolation]:
    """What is wrong with one attribute map of a request, each naming `field.<key>`."""
    if len(attributes) > limits.ATTRIBUTES_PER_POSITION_MAX:
        return [FieldViolation(field, f"at most {limits.ATTRIBUTES_PER_POSITION_MAX} attributes")]
    found = []
    for key, value in sorted(attributes.items()):
        if len(key) > limits.ATTRIBUTE_KEY_LENGTH_MAX:
            found.append(FieldViolation(field, f"a key is longer than {limits.ATTRIBUTE_KEY_LENGTH_MAX} characters"))
            continue
        named = f"{field}.{key}"
        if key not in allowed:
            known = ", ".join(allowed) or "none"
            found.append(FieldViolation(named, f"unknown attribute {key!r} (declared: {known})"))
        elif not value or len(value) > limits.ATTRIBUTE_VALUE_LENGTH_MAX or not value.isprintable() or " " in value:
            found.append(
                FieldViolation(
                    named,
                    f"value must be 1 to {limits.ATTRIBUTE_VALUE_LENGTH_MAX} printable characters, without spaces",
                )
            )
    return found


def from_record(keys: list[str], values: list[str]) -> Attributes | None:
    """An AttributeSet of a log record, or None if malformed (the edge never writes one)."""
    if len(keys) != len(values) or len(keys) > limits.ATTRIBUTES_PER_POSITION_MAX:
        return None
    if any(not key or not value for key, value in zip(keys, values)):
        return None
    if any(a >= b for a, b in pairwise(keys)):
        return None  # keys ascending, each once: the canonical form
    return tuple(zip(keys, values))


def matches(attributes: Attributes, required: Attributes) -> bool:
    """Whether a variant carries every required value."""
    have = dict(attributes)
    return all(have.get(key) == value for key, value in required)


def reservation_order(attributes: Attributes, row: int) -> tuple[str, str, int]:
    """Order lines take variants in: first expiring first (ascending date code,
    then lot, then age); values sort as text, empty ones last."""
    have = dict(attributes)
    return have.get("date_code", _LAST), have.get("lot", _LAST), row
