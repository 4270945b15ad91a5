"""Attribute keys in the network config: the top-level `attributes:` and a
SKU's `tracked_attributes:` (see docs/config.md, "Attributes").

    attributes: [lot, country_of_origin, date_code]   # every SKU may be split by these
    skus:
      - id: OIL-5W30-5L
        tracked_attributes: [lot, date_code]           # this SKU: only these

Keys are lower snake case (`[a-z][a-z0-9_]*`), at most
ATTRIBUTE_KEY_LENGTH_MAX characters, each once, at most ATTRIBUTES_DECLARED_MAX
per list. Read with the same `file:line: field: message` reporting as the rest.
"""

from __future__ import annotations

from dompromise.config.problems import Problems, Value, as_list, as_str, items
from dompromise.limits import ATTRIBUTE_KEY_LENGTH_MAX, ATTRIBUTES_DECLARED_MAX
from dompromise.model.attributes import KEY_PATTERN


def read_attribute_keys(item: Value, problems: Problems) -> tuple[str, ...] | None:
    """A list of attribute keys, or None if it has problems."""
    entries = as_list(item, problems)
    if entries is None:
        return None
    before = problems.count()
    if len(entries) > ATTRIBUTES_DECLARED_MAX:
        problems.add(item.line, item.field, f"{len(entries)} keys, more than the limit of {ATTRIBUTES_DECLARED_MAX}")
    keys: dict[str, int] = {}
    for key_item in items(entries, item.field):
        key = as_str(key_item, problems)
        if key is None:
            continue
        if len(key) > ATTRIBUTE_KEY_LENGTH_MAX or not KEY_PATTERN.fullmatch(key):
            problems.add(
                key_item.line,
                key_item.field,
                f"{key!r} is not a key: lower snake case, at most {ATTRIBUTE_KEY_LENGTH_MAX} characters",
            )
        elif key in keys:
            problems.add(key_item.line, key_item.field, f"duplicate key {key!r} (first on line {keys[key]})")
        else:
            keys[key] = key_item.line
    if problems.count() > before:
        return None
    return tuple(keys)
