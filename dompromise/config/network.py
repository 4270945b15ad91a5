"""Load and validate the network config file: its top level, nodes and SKUs.

The file is written by operators, so every check here reports the file, the
real 1-based line and the field at fault, and the file's problems are
collected (up to `PROBLEMS_MAX`) and raised together as one `ConfigError`
(problems.py), so a file can be fixed in one go. Nothing is returned from a
bad file. The `transport:`, `views:`, `attributes:` and `ranking:` sections
are read by their own modules (transport.py, views.py, attributes.py,
ranking.py), the stock CSV by stock_csv.py; dump.py writes a network back.

Network config (YAML, or JSON with a ``.json`` suffix)::

    version: 1                 # required, must be 1
    nodes:                     # required, 1 to NODES_MAX entries, file order = core order
      - id: DC-NAT             # required, ^[A-Za-z0-9][A-Za-z0-9._:/-]*$, <= ID_LENGTH_MAX chars
        type: dc               # required: dc | warehouse | store | supplier_drop_ship | 3pl
        status: enabled        # optional, default enabled: enabled | drain | disabled
        name: National DC      # optional string
        timezone: Europe/Paris # optional, default UTC, an IANA zone known to zoneinfo
        location: {latitude: 48.85, longitude: 2.35, postal_code: "75001", country: FR}
                               # optional; latitude in [-90, 90] and longitude in
                               # [-180, 180] required inside it; postal_code a string;
                               # country an ISO 3166 alpha-2 code (two capitals)
        tags: [national, trunk]  # optional, id-like, <= TAGS_PER_NODE_MAX, no duplicates
        priority: 0            # optional, default 0, integer in [0, NODE_PRIORITY_MAX]:
                               # promise ranking, lower is preferred
    skus:                      # required, 1 to SKUS_MAX entries
      - id: BRK-PAD-0001       # required, same rules as node ids
        description: Front brake pad set   # optional string
        unit: each             # optional, default each: each | mm | g | ml
        packs: {carton: 12, pallet: 480}   # optional, name -> base units per pack;
                               # names id-like and not a unit spelling, sizes
                               # integers in [1, QUANTITY_MAX], <= PACK_SIZES_PER_SKU_MAX
    transport: {...}           # optional: calendars, delivery zones, node shipping
                               # settings and lanes, read by transport.py
    views: [...]               # optional: channel views, read by views.py
    attributes: [lot, date_code]  # optional: keys stock may be split by (attributes.py);
                               # a SKU may name its own with `tracked_attributes: [...]`
    ranking: {per_100_km: 1.5} # optional: promise ranking weights (ranking.py),
                               # each a number in [0, RANKING_WEIGHT_MAX], unset ones
                               # the defaults; a view's `ranking:` overrides per weight

Rules: unknown keys are errors (they are usually typos); duplicate keys,
node ids or SKU ids are errors naming both lines; types are strict (``12``
is not a string and ``true`` is not an integer; quote ids and postal codes
that look like numbers, since YAML 1.1 reads ``01234`` as the octal 668);
null is never accepted in place of a value. Field paths in messages index
lists from 0: ``nodes[3].timezone``.


`docs/config.md` has a full example.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml

from dompromise.config.attributes import read_attribute_keys
from dompromise.config.marked import MarkedMapping, load_marked, yaml_error_place
from dompromise.config.problems import (
    Problems,
    Value,
    as_choice,
    as_country,
    as_degrees,
    as_id,
    as_int,
    as_list,
    as_mapping,
    as_str,
    as_timezone,
    check_keys,
    check_unique_ids,
    checked,
    describe_type,
    items,
    join,
    member,
    optional,
    read_utf8,
    single_problem,
)
from dompromise.config.ranking import read_ranking
from dompromise.config.transport import read_transport
from dompromise.config.views import read_views
from dompromise.gc_pause import gc_paused
from dompromise.limits import (
    NODE_PRIORITY_MAX,
    NODES_MAX,
    PACK_SIZES_PER_SKU_MAX,
    QUANTITY_MAX,
    SKUS_MAX,
    TAGS_PER_NODE_MAX,
)
from dompromise.model.network import (
    BASE_UNIT_NAMES,
    NODE_STATUS_NAMES,
    NODE_TYPE_NAMES,
    BaseUnit,
    Location,
    Network,
    Node,
    NodeStatus,
    Sku,
)
from dompromise.model.views import DEFAULT_RANKING

CONFIG_VERSION = 1

_TOP_KEYS = ("version", "nodes", "skus")
# Read by transport.py, views.py, attributes.py and ranking.py.
_TOP_OPTIONAL_KEYS = ("transport", "views", "attributes", "ranking")
_NODE_KEYS = ("id", "type", "status", "name", "timezone", "location", "tags", "priority")
_LOCATION_KEYS = ("latitude", "longitude", "postal_code", "country")
_SKU_KEYS = ("id", "description", "unit", "packs", "tracked_attributes", "brand", "category", "tags")

_Entry = TypeVar("_Entry", Node, Sku)


def load_network(path: str | Path) -> Network:
    """Read and validate a network config file (.yaml, .yml or .json).

    Raises ConfigError for anything wrong in the file; OSError (such as
    FileNotFoundError) when it cannot be read at all.
    """
    path_text = str(path)
    suffix = Path(path).suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise single_problem(
            path_text,
            1,
            "(file)",
            f"unsupported file type {suffix!r} (expected .yaml, .yml or .json)",
        )
    text = read_utf8(Path(path), path_text)
    return parse_network(text, path_text)


def parse_network(text: str, path: str = "<string>") -> Network:
    """Validate network config text; `path` names it in messages and picks JSON by suffix."""
    if path.lower().endswith(".json"):
        # JSON allows tabs as whitespace, YAML does not. A valid JSON string
        # cannot hold a raw tab, so every tab is whitespace: swap it for a
        # space, which keeps lines and columns where they were.
        text = text.replace("\t", " ")
    problems = Problems(path)
    network = None
    with gc_paused():
        document = _load_yaml(text, path)
        network = problems.read_all(lambda: _read_network(document, problems))
    problems.raise_if_any()
    assert network is not None
    return network


def _load_yaml(text: str, path: str) -> object:
    """Parse one YAML document, turning syntax errors into a ConfigError."""
    try:
        return load_marked(text)
    except yaml.YAMLError as error:
        line, message = yaml_error_place(error)
        raise single_problem(path, line, "(syntax)", message) from None


def _read_network(document: object, problems: Problems) -> Network | None:
    if document is None:
        problems.add(1, "(file)", "the file is empty")
        return None
    top = as_mapping(Value(document, 1, "(file)"), problems)
    if top is None:
        return None
    check_keys(top, "", _TOP_KEYS + _TOP_OPTIONAL_KEYS, _TOP_KEYS, problems)
    version = member(top, "version", "")
    if version is not None:
        _read_version(version, problems)
    nodes = _read_entries(top, "nodes", NODES_MAX, _read_node, problems)
    skus = _read_entries(top, "skus", SKUS_MAX, _read_sku, problems)
    check_unique_ids([(node.node_id, id_item) for node, id_item in nodes], "node", problems)
    check_unique_ids([(sku.sku_id, id_item) for sku, id_item in skus], "SKU", problems)
    transport = read_transport(top, [node for node, _ in nodes], problems)
    ranking = optional(top, "ranking", "", DEFAULT_RANKING, lambda v: read_ranking(v, DEFAULT_RANKING, problems))
    views = read_views(top, [node for node, _ in nodes], [sku for sku, _ in skus], problems, ranking or DEFAULT_RANKING)
    attributes = optional(top, "attributes", "", (), lambda v: read_attribute_keys(v, problems))
    if problems.count():
        return None
    return Network(
        nodes=tuple(node for node, _ in nodes),
        skus=tuple(sku for sku, _ in skus),
        transport=transport,
        views=views,
        attributes=checked(attributes),
        ranking=checked(ranking),
    )


def _read_version(item: Value, problems: Problems) -> None:
    if isinstance(item.value, int) and not isinstance(item.value, bool):
        if item.value != CONFIG_VERSION:
            problems.add(item.line, item.field, f"unsupported version {item.value} (expected {CONFIG_VERSION})")
        return
    problems.add(item.line, item.field, f"expected an integer, got {describe_type(item.value)}")


def _read_entries(
    top: MarkedMapping,
    key: str,
    count_max: int,
    read_entry: Callable[[Value, Problems], tuple[_Entry, Value] | None],
    problems: Problems,
) -> list[tuple[_Entry, Value]]:
    """Read the `nodes` or `skus` list: [(entry, its id Value)] for the valid entries."""
    entries_item = member(top, key, "")
    if entries_item is None:
        return []
    entries = as_list(entries_item, problems)
    if entries is None:
        return []
    if not entries:
        problems.add(entries_item.line, key, "must list at least one entry")
    if len(entries) > count_max:
        problems.add(entries_item.line, key, f"{len(entries)} entries, more than the limit of {count_max}")
    results = []
    for item in items(entries, key):
        result = read_entry(item, problems)
        if result is not None:
            results.append(result)
    return results


def _read_node(item: Value, problems: Problems) -> tuple[Node, Value] | None:
    """One node entry: (Node, its id Value), or None if it has problems."""
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    check_keys(entry, item.field, _NODE_KEYS, ("id", "type"), problems)
    id_item = member(entry, "id", item.field)
    node_id = as_id(id_item, problems) if id_item else None
    type_item = member(entry, "type", item.field)
    node_type = as_choice(type_item, NODE_TYPE_NAMES, problems) if type_item else None
    status = optional(
        entry, "status", item.field, NodeStatus.ENABLED, lambda v: as_choice(v, NODE_STATUS_NAMES, problems)
    )
    name = optional(entry, "name", item.field, "", lambda v: as_str(v, problems))
    timezone = optional(entry, "timezone", item.field, "UTC", lambda v: as_timezone(v, problems))
    location = optional(entry, "location", item.field, None, lambda v: _read_location(v, problems))
    tags = optional(entry, "tags", item.field, (), lambda v: _read_tags(v, problems))
    priority = optional(entry, "priority", item.field, 0, lambda v: as_int(v, 0, NODE_PRIORITY_MAX, problems))
    if problems.count() > before:
        return None
    node = Node(
        node_id=checked(node_id),
        node_type=checked(node_type),
        status=checked(status),
        name=checked(name),
        timezone=checked(timezone),
        location=location,
        tags=checked(tags),
        priority=checked(priority),
    )
    return node, checked(id_item)


def _read_location(item: Value, problems: Problems) -> Location | None:
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    check_keys(entry, item.field, _LOCATION_KEYS, ("latitude", "longitude"), problems)
    latitude_item = member(entry, "latitude", item.field)
    latitude_degrees = as_degrees(latitude_item, 90.0, problems) if latitude_item else None
    longitude_item = member(entry, "longitude", item.field)
    longitude_degrees = as_degrees(longitude_item, 180.0, problems) if longitude_item else None
    postal_code = optional(entry, "postal_code", item.field, "", lambda v: as_str(v, problems))
    country_code = optional(entry, "country", item.field, "", lambda v: as_country(v, problems))
    if problems.count() > before:
        return None
    return Location(checked(latitude_degrees), checked(longitude_degrees), checked(postal_code), checked(country_code))


def _read_tags(item: Value, problems: Problems) -> tuple[str, ...] | None:
    entries = as_list(item, problems)
    if entries is None:
        return None
    before = problems.count()
    if len(entries) > TAGS_PER_NODE_MAX:
        problems.add(item.line, item.field, f"{len(entries)} tags, more than the limit of {TAGS_PER_NODE_MAX}")
    tags: list[str] = []
    first_lines: dict[str, int] = {}
    for tag_item in items(entries, item.field):
        tag = as_id(tag_item, problems)
        if tag is None:
            continue
        if tag in first_lines:
            problems.add(tag_item.line, tag_item.field, f"duplicate tag {tag!r} (first on line {first_lines[tag]})")
            continue
        first_lines[tag] = tag_item.line
        tags.append(tag)
    if problems.count() > before:
        return None
    return tuple(tags)


def _read_sku(item: Value, problems: Problems) -> tuple[Sku, Value] | None:
    """One SKU entry: (Sku, its id Value), or None if it has problems."""
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    check_keys(entry, item.field, _SKU_KEYS, ("id",), problems)
    id_item = member(entry, "id", item.field)
    sku_id = as_id(id_item, problems) if id_item else None
    description = optional(entry, "description", item.field, "", lambda v: as_str(v, problems))
    base_unit = optional(entry, "unit", item.field, BaseUnit.EACH, lambda v: as_choice(v, BASE_UNIT_NAMES, problems))
    pack_sizes = optional(entry, "packs", item.field, {}, lambda v: _read_packs(v, problems))
    tracked = optional(entry, "tracked_attributes", item.field, (), lambda v: read_attribute_keys(v, problems))
    brand = optional(entry, "brand", item.field, "", lambda v: as_str(v, problems))
    category = optional(entry, "category", item.field, "", lambda v: as_str(v, problems))
    tags = optional(entry, "tags", item.field, (), lambda v: _read_tags(v, problems))
    if problems.count() > before:
        return None
    sku = Sku(
        sku_id=checked(sku_id),
        description=checked(description),
        base_unit=checked(base_unit),
        pack_sizes=checked(pack_sizes),
        tracked_attributes=checked(tracked),
        brand=checked(brand),
        category=checked(category),
        tags=checked(tags),
    )
    return sku, checked(id_item)


def _read_packs(item: Value, problems: Problems) -> dict[str, int] | None:
    """Pack name -> base units per pack."""
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    for key, line, first_line in entry.duplicate_keys:
        problems.add(line, join(item.field, key), f"duplicate key (first on line {first_line})")
    if len(entry) > PACK_SIZES_PER_SKU_MAX:
        problems.add(item.line, item.field, f"{len(entry)} packs, more than the limit of {PACK_SIZES_PER_SKU_MAX}")
    pack_sizes: dict[str, int] = {}
    for key in entry:
        name = _read_pack_name(key, entry.key_lines[key], item.field, problems)
        size = as_int(checked(member(entry, key, item.field)), 1, QUANTITY_MAX, problems)
        if name is not None and size is not None:
            pack_sizes[name] = size
    if problems.count() > before:
        return None
    return pack_sizes


def _read_pack_name(key: object, line: int, field: str, problems: Problems) -> str | None:
    name = as_id(Value(key, line, join(field, key)), problems)
    if name is None:
        return None
    # The stock CSV's unit column holds a unit spelling or a pack name; a pack
    # called "g" or "each" would make that column ambiguous.
    if name in BASE_UNIT_NAMES:
        problems.add(line, join(field, key), f"pack name {name!r} is a unit spelling; choose another name")
        return None
    return name
