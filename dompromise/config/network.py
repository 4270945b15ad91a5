"""Load and validate the network config file and the stock CSV.

Both files are written by operators, so every check here reports the file,
the real 1-based line and the field at fault, and a file's problems are
collected (up to `PROBLEMS_MAX`) and raised together as one `ConfigError`,
so a file can be fixed in one go. Nothing is returned from a bad file.

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
                               # settings and lanes, read by config_transport.py
    views: [...]               # optional: channel views, read by config_views.py
    attributes: [lot, date_code]  # optional: keys stock may be split by (config_attributes.py);
                               # a SKU may name its own with `tracked_attributes: [...]`
    ranking: {per_100_km: 1.5} # optional: promise ranking weights (views.RankingWeights),
                               # each a number in [0, RANKING_WEIGHT_MAX], unset ones
                               # the defaults; a view's `ranking:` overrides per weight

Rules: unknown keys are errors (they are usually typos); duplicate keys,
node ids or SKU ids are errors naming both lines; types are strict (``12``
is not a string and ``true`` is not an integer; quote ids and postal codes
that look like numbers, since YAML 1.1 reads ``01234`` as the octal 668);
null is never accepted in place of a value. Field paths in messages index
lists from 0: ``nodes[3].timezone``.

Stock CSV (UTF-8, optional BOM)::

    sku_id,node_id,on_hand_quantity,unit
    BRK-PAD-0001,DC-NAT,120,
    BRK-PAD-0001,WH-NORTH,2,carton

The header names the columns, in any order; ``unit`` is optional. A
non-empty unit is the SKU's base unit spelling or one of its pack names,
and the quantity is multiplied by the pack size. Quantities are plain ASCII
integers in [0, QUANTITY_MAX] after conversion; a (sku, node) pair may
appear once per file; blank lines are skipped.

`docs/config.md` has a full example.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import json
import math
import re
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

import yaml

from dompromise.gc_pause import gc_paused
from dompromise.limits import (
    ID_LENGTH_MAX,
    NODE_PRIORITY_MAX,
    NODES_MAX,
    PACK_SIZES_PER_SKU_MAX,
    QUANTITY_MAX,
    RANKING_WEIGHT_MAX,
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
    StockRow,
)
from dompromise.model.views import DEFAULT_RANKING, RANKING_WEIGHT_NAMES, RankingWeights

# Enough to fix a file in a few passes without flooding a terminal.
PROBLEMS_MAX = 100

CONFIG_VERSION = 1

_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]*")
_COUNTRY_PATTERN = re.compile(r"[A-Z]{2}")
# ASCII only: int() would also accept "1_000", " 7 " and non-ASCII digits.
_QUANTITY_PATTERN = re.compile(r"[+-]?[0-9]+")
# More digits than this cannot be <= QUANTITY_MAX, and int() refuses very
# long digit strings anyway.
_QUANTITY_DIGITS_MAX = len(str(QUANTITY_MAX))

_TOP_KEYS = ("version", "nodes", "skus")
# Read by config_transport / _views / _attributes.py; `ranking` here (read_ranking).
_TOP_OPTIONAL_KEYS = ("transport", "views", "attributes", "ranking")
_NODE_KEYS = ("id", "type", "status", "name", "timezone", "location", "tags", "priority")
_LOCATION_KEYS = ("latitude", "longitude", "postal_code", "country")
_SKU_KEYS = ("id", "description", "unit", "packs", "tracked_attributes")

_STOCK_COLUMNS_REQUIRED = ("sku_id", "node_id", "on_hand_quantity")
_STOCK_COLUMN_UNIT = "unit"

_NODE_TYPE_SPELLINGS = {value: name for name, value in NODE_TYPE_NAMES.items()}
_NODE_STATUS_SPELLINGS = {value: name for name, value in NODE_STATUS_NAMES.items()}
_BASE_UNIT_SPELLINGS = {value: name for name, value in BASE_UNIT_NAMES.items()}


# --------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a file, where an operator can find it."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


class ConfigError(Exception):
    """Every problem found in one file; `str()` gives one per line."""

    def __init__(self, problems: list[ConfigProblem], truncated: bool = False):
        self.problems = list(problems)
        # True when the file had more than PROBLEMS_MAX problems.
        self.truncated = truncated
        # The constructor's own arguments, so the error pickles across processes.
        super().__init__(self.problems, truncated)

    def __str__(self) -> str:
        lines = [str(problem) for problem in self.problems]
        if self.truncated:
            lines.append("... and more")
        return "\n".join(lines)


class _TooManyProblems(Exception):
    """Raised by `_Problems.add` to stop reading a hopeless file early."""


class _Problems:
    """Collects problems for one file, stopping after PROBLEMS_MAX."""

    def __init__(self, path: str):
        self.path = path
        self.items: list[ConfigProblem] = []
        self.truncated = False

    def add(self, line: int, field: str, message: str) -> None:
        if len(self.items) >= PROBLEMS_MAX:
            self.truncated = True
            raise _TooManyProblems()
        self.items.append(ConfigProblem(self.path, line, field, message))

    def count(self) -> int:
        return len(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            # In file order, which is how an operator works through them.
            in_line_order = sorted(self.items, key=lambda problem: problem.line)
            raise ConfigError(in_line_order, self.truncated)


def _single_problem(path: str, line: int, field: str, message: str) -> ConfigError:
    return ConfigError([ConfigProblem(path, line, field, message)])


# --------------------------------------------------------------------------
# YAML with line numbers


class _MarkedMapping(dict):
    """A YAML mapping that remembers where it, its keys and its values are."""

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.key_lines: dict[object, int] = {}
        self.value_nodes: dict[object, yaml.Node] = {}
        # (key, line, first_line) for each key written twice; YAML keeps the last.
        self.duplicate_keys: list[tuple[object, int, int]] = []


class _MarkedList(list):
    """A YAML sequence that remembers where it and each item are."""

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.item_nodes: list[yaml.Node] = []


def _node_line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


_STR_TAG = "tag:yaml.org,2002:str"


def _construct(loader: yaml.BaseLoader, node: yaml.Node) -> object:
    """loader.construct_object(node, deep=True); a string scalar (most of a big
    file) directly: what construct_yaml_str returns for it, without the walk."""
    if node.tag == _STR_TAG and type(node) is yaml.ScalarNode:
        return node.value
    return loader.construct_object(node, deep=True)


def _construct_marked_mapping(loader: yaml.BaseLoader, node: yaml.MappingNode):
    mapping = _MarkedMapping(_node_line(node))
    # Yield first, fill later: the same two-step dance as SafeConstructor,
    # so anchors and aliases to this mapping resolve.
    yield mapping
    # flatten_mapping expands "<<" merge keys: it puts the merged pairs first
    # and this mapping's own pairs after them, which override them.
    own_pair_count = sum(1 for key_node, _ in node.value if key_node.tag != "tag:yaml.org,2002:merge")
    loader.flatten_mapping(node)
    merged_pair_count = len(node.value) - own_pair_count
    own_keys = set()
    for index, (key_node, value_node) in enumerate(node.value):
        key = _construct(loader, key_node)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                "found an unhashable key",
                key_node.start_mark,
            ) from None
        key_line = _node_line(key_node)
        if key in own_keys:
            # Written twice in this very mapping: YAML keeps the last, silently.
            mapping.duplicate_keys.append((key, key_line, mapping.key_lines[key]))
        else:
            mapping.key_lines[key] = key_line
        if index >= merged_pair_count:
            own_keys.add(key)
        mapping[key] = _construct(loader, value_node)
        mapping.value_nodes[key] = value_node


def _construct_marked_list(loader: yaml.BaseLoader, node: yaml.SequenceNode):
    items = _MarkedList(_node_line(node))
    yield items
    for item_node in node.value:
        items.append(_construct(loader, item_node))
        items.item_nodes.append(item_node)


# The C parser is several times faster on big SKU lists and gives the same marks.
_SafeLoaderBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _MarkedLoader(_SafeLoaderBase):
    """SafeLoader whose mappings and lists know their source lines."""

    def resolve(self, kind, value, implicit):
        # The parser asks this for every node. A plain scalar whose first
        # character starts no implicit type (ids, names: most of a big file)
        # is a string: the answer Resolver.resolve gives after trying none.
        if (
            kind is yaml.ScalarNode
            and implicit[0]
            and value
            and value[0] not in self._implicit_first
            and not self.yaml_path_resolvers
        ):
            return self.DEFAULT_SCALAR_TAG
        return super().resolve(kind, value, implicit)


_MarkedLoader.add_constructor("tag:yaml.org,2002:map", _construct_marked_mapping)
_MarkedLoader.add_constructor("tag:yaml.org,2002:seq", _construct_marked_list)
# YAML 1.1 reads "1e-05" (how json.dumps writes small floats) as a string;
# accept exponent-only floats like YAML 1.2 and JSON do.
_EXPONENT_FLOAT_PATTERN = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
_MarkedLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT_PATTERN, list("-+0123456789"))
# First characters with implicit resolvers (None: resolvers for any character).
_MarkedLoader._implicit_first = frozenset(_MarkedLoader.yaml_implicit_resolvers)
assert None not in _MarkedLoader._implicit_first, "a resolver for any first character: no fast path"


def _load_yaml(text: str, path: str) -> object:
    """Parse one YAML document, turning syntax errors into a ConfigError."""
    try:
        return yaml.load(text, Loader=_MarkedLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        message = " ".join(part for part in (error.context, error.problem) if part)
        raise _single_problem(path, line, "(syntax)", message) from None
    except yaml.YAMLError as error:
        raise _single_problem(path, 1, "(syntax)", str(error)) from None


# --------------------------------------------------------------------------
# Typed access to located values


@dataclass(frozen=True)
class _Value:
    """A value read from the file, with where it came from."""

    value: object
    line: int
    field: str
    # Source text when the value was an unquoted scalar, to suggest quoting.
    plain_text: str | None = None


def _value_from_node(value: object, node: yaml.Node, field: str) -> _Value:
    plain_text = None
    # Plain (unquoted) style is None from the Python parser, "" from the C one.
    if isinstance(node, yaml.ScalarNode) and not node.style:
        plain_text = node.value
    return _Value(value, _node_line(node), field, plain_text)


def _join(field: str, key: object) -> str:
    return f"{field}.{key}" if field else str(key)


def _member(mapping: _MarkedMapping, key: str, field: str) -> _Value | None:
    """The value under `key`, or None when the key is absent."""
    if key not in mapping:
        return None
    return _value_from_node(mapping[key], mapping.value_nodes[key], _join(field, key))


def _items(items: _MarkedList, field: str) -> list[_Value]:
    return [
        _value_from_node(item, node, f"{field}[{index}]")
        for index, (item, node) in enumerate(zip(items, items.item_nodes))
    ]


def _describe_type(value: object) -> str:
    """How a value's type reads in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _check_keys(
    mapping: _MarkedMapping,
    field: str,
    allowed: tuple[str, ...],
    required: tuple[str, ...],
    problems: _Problems,
) -> None:
    """Report duplicate, unknown and missing keys of one mapping."""
    for key, line, first_line in mapping.duplicate_keys:
        problems.add(line, _join(field, key), f"duplicate key (first on line {first_line})")
    for key in mapping:
        if key not in allowed:
            message = f"unknown key {key!r}"
            close = difflib.get_close_matches(str(key), allowed, n=1)
            if close:
                message += f" (did you mean {close[0]!r}?)"
            else:
                message += f" (expected one of: {', '.join(allowed)})"
            problems.add(mapping.key_lines[key], _join(field, key), message)
    for key in required:
        if key not in mapping:
            problems.add(mapping.line, _join(field, key), "missing required key")


def _as_mapping(item: _Value, problems: _Problems) -> _MarkedMapping | None:
    if isinstance(item.value, _MarkedMapping):
        return item.value
    problems.add(item.line, item.field, f"expected a mapping, got {_describe_type(item.value)}")
    return None


def _as_list(item: _Value, problems: _Problems) -> _MarkedList | None:
    if isinstance(item.value, _MarkedList):
        return item.value
    problems.add(item.line, item.field, f"expected a list, got {_describe_type(item.value)}")
    return None


def _as_str(item: _Value, problems: _Problems) -> str | None:
    if isinstance(item.value, str):
        return item.value
    message = f"expected a string, got {_describe_type(item.value)}"
    if item.plain_text is not None and item.value is not None:
        message += f"; write it in quotes: {json.dumps(item.plain_text)}"
    problems.add(item.line, item.field, message)
    return None


def _as_id(item: _Value, problems: _Problems) -> str | None:
    """An identifier: printable ASCII, no spaces, bounded length."""
    text = _as_str(item, problems)
    if text is None:
        return None
    if len(text) > ID_LENGTH_MAX:
        problems.add(item.line, item.field, f"longer than {ID_LENGTH_MAX} characters")
        return None
    if not _ID_PATTERN.fullmatch(text):
        problems.add(
            item.line,
            item.field,
            f"{text!r} is not a valid id (letters, digits and . _ : / -, starting with a letter or digit)",
        )
        return None
    return text


def _as_int(item: _Value, low: int, high: int, problems: _Problems) -> int | None:
    # bool is an int subclass; `true` where a count is meant is a mistake.
    if not isinstance(item.value, int) or isinstance(item.value, bool):
        problems.add(item.line, item.field, f"expected an integer, got {_describe_type(item.value)}")
        return None
    if not low <= item.value <= high:
        problems.add(item.line, item.field, f"{item.value} is outside [{low}, {high}]")
        return None
    return item.value


def _as_degrees(item: _Value, limit_degrees: float, problems: _Problems) -> float | None:
    value = item.value
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        problems.add(item.line, item.field, f"expected a number, got {_describe_type(value)}")
        return None
    if not math.isfinite(value) or not -limit_degrees <= value <= limit_degrees:
        problems.add(item.line, item.field, f"{value} is outside [{-limit_degrees:g}, {limit_degrees:g}]")
        return None
    return float(value)


def _as_choice(item: _Value, choices: dict, problems: _Problems):
    """One of the config spellings in `choices`, mapped to its enum value."""
    text = _as_str(item, problems)
    if text is None:
        return None
    if text not in choices:
        problems.add(
            item.line,
            item.field,
            f"unknown value {text!r} (expected one of: {', '.join(choices)})",
        )
        return None
    return choices[text]


def _as_timezone(item: _Value, problems: _Problems) -> str | None:
    text = _as_str(item, problems)
    if text is None:
        return None
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        problems.add(item.line, item.field, f"{text!r} is not a known IANA time zone")
        return None
    return text


# --------------------------------------------------------------------------
# Network config


def load_network(path: str | Path) -> Network:
    """Read and validate a network config file (.yaml, .yml or .json).

    Raises ConfigError for anything wrong in the file; OSError (such as
    FileNotFoundError) when it cannot be read at all.
    """
    path_text = str(path)
    suffix = Path(path).suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise _single_problem(
            path_text,
            1,
            "(file)",
            f"unsupported file type {suffix!r} (expected .yaml, .yml or .json)",
        )
    text = _read_utf8(Path(path), path_text)
    return parse_network(text, path_text)


def parse_network(text: str, path: str = "<string>") -> Network:
    """Validate network config text; `path` names it in messages and picks JSON by suffix."""
    if path.lower().endswith(".json"):
        # JSON allows tabs as whitespace, YAML does not. A valid JSON string
        # cannot hold a raw tab, so every tab is whitespace: swap it for a
        # space, which keeps lines and columns where they were.
        text = text.replace("\t", " ")
    problems = _Problems(path)
    network = None
    with gc_paused():
        document = _load_yaml(text, path)
        try:
            network = _read_network(document, problems)
        except _TooManyProblems:
            pass
    problems.raise_if_any()
    assert network is not None
    return network


def _read_network(document: object, problems: _Problems) -> Network | None:
    if document is None:
        problems.add(1, "(file)", "the file is empty")
        return None
    top = _as_mapping(_Value(document, 1, "(file)"), problems)
    if top is None:
        return None
    _check_keys(top, "", _TOP_KEYS + _TOP_OPTIONAL_KEYS, _TOP_KEYS, problems)
    version = _member(top, "version", "")
    if version is not None:
        _read_version(version, problems)
    nodes = _read_entries(top, "nodes", NODES_MAX, _read_node, problems)
    skus = _read_entries(top, "skus", SKUS_MAX, _read_sku, problems)
    _check_unique_ids([(node.node_id, id_item) for node, id_item in nodes], "node", problems)
    _check_unique_ids([(sku.sku_id, id_item) for sku, id_item in skus], "SKU", problems)
    # Imported here: config_transport builds on this module's helpers.
    from dompromise.config.attributes import read_attribute_keys
    from dompromise.config.transport import read_transport
    from dompromise.config.views import read_views

    transport = read_transport(top, [node for node, _ in nodes], problems)
    ranking = _optional(top, "ranking", "", DEFAULT_RANKING, lambda v: read_ranking(v, DEFAULT_RANKING, problems))
    views = read_views(top, [node for node, _ in nodes], [sku for sku, _ in skus], problems, ranking or DEFAULT_RANKING)
    attributes = _optional(top, "attributes", "", (), lambda v: read_attribute_keys(v, problems))
    if problems.count():
        return None
    return Network(
        nodes=tuple(node for node, _ in nodes),
        skus=tuple(sku for sku, _ in skus),
        transport=transport,
        views=views,
        attributes=attributes,
        ranking=ranking,
    )


def _read_version(item: _Value, problems: _Problems) -> None:
    if isinstance(item.value, int) and not isinstance(item.value, bool):
        if item.value != CONFIG_VERSION:
            problems.add(item.line, item.field, f"unsupported version {item.value} (expected {CONFIG_VERSION})")
        return
    problems.add(item.line, item.field, f"expected an integer, got {_describe_type(item.value)}")


def _read_entries(top: _MarkedMapping, key: str, count_max: int, read_entry, problems: _Problems):
    """Read the `nodes` or `skus` list: [(entry, its id _Value)] for the valid entries."""
    member = _member(top, key, "")
    if member is None:
        return []
    entries = _as_list(member, problems)
    if entries is None:
        return []
    if not entries:
        problems.add(member.line, key, "must list at least one entry")
    if len(entries) > count_max:
        problems.add(member.line, key, f"{len(entries)} entries, more than the limit of {count_max}")
    results = []
    for item in _items(entries, key):
        result = read_entry(item, problems)
        if result is not None:
            results.append(result)
    return results


def _check_unique_ids(ids: list[tuple[str, _Value]], kind: str, problems: _Problems) -> None:
    """Report each id used twice, on the duplicate's line, naming the first one's line."""
    first_lines: dict[str, int] = {}
    for entry_id, id_item in ids:
        if entry_id in first_lines:
            problems.add(
                id_item.line,
                id_item.field,
                f"duplicate {kind} id {entry_id!r} (first defined on line {first_lines[entry_id]})",
            )
        else:
            first_lines[entry_id] = id_item.line


def _read_node(item: _Value, problems: _Problems):
    """One node entry: (Node, its id _Value), or None if it has problems."""
    entry = _as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    _check_keys(entry, item.field, _NODE_KEYS, ("id", "type"), problems)
    id_item = _member(entry, "id", item.field)
    node_id = _as_id(id_item, problems) if id_item else None
    type_item = _member(entry, "type", item.field)
    node_type = _as_choice(type_item, NODE_TYPE_NAMES, problems) if type_item else None
    status = _optional(
        entry, "status", item.field, NodeStatus.ENABLED, lambda v: _as_choice(v, NODE_STATUS_NAMES, problems)
    )
    name = _optional(entry, "name", item.field, "", lambda v: _as_str(v, problems))
    timezone = _optional(entry, "timezone", item.field, "UTC", lambda v: _as_timezone(v, problems))
    location = _optional(entry, "location", item.field, None, lambda v: _read_location(v, problems))
    tags = _optional(entry, "tags", item.field, (), lambda v: _read_tags(v, problems))
    priority = _optional(entry, "priority", item.field, 0, lambda v: _as_int(v, 0, NODE_PRIORITY_MAX, problems))
    if problems.count() > before:
        return None
    node = Node(
        node_id=node_id,
        node_type=node_type,
        status=status,
        name=name,
        timezone=timezone,
        location=location,
        tags=tags,
        priority=priority,
    )
    return node, id_item


def _optional(entry: _MarkedMapping, key: str, field: str, default, read):
    """`read` the value under `key`, or `default` when the key is absent."""
    item = _member(entry, key, field)
    if item is None:
        return default
    return read(item)


def _read_location(item: _Value, problems: _Problems) -> Location | None:
    entry = _as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    _check_keys(entry, item.field, _LOCATION_KEYS, ("latitude", "longitude"), problems)
    latitude_item = _member(entry, "latitude", item.field)
    latitude_degrees = _as_degrees(latitude_item, 90.0, problems) if latitude_item else None
    longitude_item = _member(entry, "longitude", item.field)
    longitude_degrees = _as_degrees(longitude_item, 180.0, problems) if longitude_item else None
    postal_code = _optional(entry, "postal_code", item.field, "", lambda v: _as_str(v, problems))
    country_code = _optional(entry, "country", item.field, "", lambda v: _as_country(v, problems))
    if problems.count() > before:
        return None
    return Location(latitude_degrees, longitude_degrees, postal_code, country_code)


def _as_country(item: _Value, problems: _Problems) -> str | None:
    text = _as_str(item, problems)
    if text is None:
        return None
    if not _COUNTRY_PATTERN.fullmatch(text):
        problems.add(item.line, item.field, f"{text!r} is not an ISO 3166 alpha-2 code like FR")
        return None
    return text


def _read_tags(item: _Value, problems: _Problems) -> tuple[str, ...] | None:
    entries = _as_list(item, problems)
    if entries is None:
        return None
    before = problems.count()
    if len(entries) > TAGS_PER_NODE_MAX:
        problems.add(item.line, item.field, f"{len(entries)} tags, more than the limit of {TAGS_PER_NODE_MAX}")
    tags: list[str] = []
    first_lines: dict[str, int] = {}
    for tag_item in _items(entries, item.field):
        tag = _as_id(tag_item, problems)
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


def _read_sku(item: _Value, problems: _Problems):
    """One SKU entry: (Sku, its id _Value), or None if it has problems."""
    entry = _as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    _check_keys(entry, item.field, _SKU_KEYS, ("id",), problems)
    id_item = _member(entry, "id", item.field)
    sku_id = _as_id(id_item, problems) if id_item else None
    description = _optional(entry, "description", item.field, "", lambda v: _as_str(v, problems))
    base_unit = _optional(entry, "unit", item.field, BaseUnit.EACH, lambda v: _as_choice(v, BASE_UNIT_NAMES, problems))
    pack_sizes = _optional(entry, "packs", item.field, {}, lambda v: _read_packs(v, problems))
    from dompromise.config.attributes import read_attribute_keys  # see _read_network

    tracked = _optional(entry, "tracked_attributes", item.field, (), lambda v: read_attribute_keys(v, problems))
    if problems.count() > before:
        return None
    sku = Sku(
        sku_id=sku_id, description=description, base_unit=base_unit, pack_sizes=pack_sizes, tracked_attributes=tracked
    )
    return sku, id_item


def _read_packs(item: _Value, problems: _Problems) -> dict[str, int] | None:
    """Pack name -> base units per pack."""
    entry = _as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    for key, line, first_line in entry.duplicate_keys:
        problems.add(line, _join(item.field, key), f"duplicate key (first on line {first_line})")
    if len(entry) > PACK_SIZES_PER_SKU_MAX:
        problems.add(item.line, item.field, f"{len(entry)} packs, more than the limit of {PACK_SIZES_PER_SKU_MAX}")
    pack_sizes: dict[str, int] = {}
    for key in entry:
        name = _read_pack_name(key, entry.key_lines[key], item.field, problems)
        size_item = _member(entry, key, item.field)
        size = _as_int(size_item, 1, QUANTITY_MAX, problems)
        if name is not None and size is not None:
            pack_sizes[name] = size
    if problems.count() > before:
        return None
    return pack_sizes


def _read_pack_name(key: object, line: int, field: str, problems: _Problems) -> str | None:
    name = _as_id(_Value(key, line, _join(field, key)), problems)
    if name is None:
        return None
    # The stock CSV's unit column holds a unit spelling or a pack name; a pack
    # called "g" or "each" would make that column ambiguous.
    if name in BASE_UNIT_NAMES:
        problems.add(line, _join(field, key), f"pack name {name!r} is a unit spelling; choose another name")
        return None
    return name


# --------------------------------------------------------------------------
# Ranking weights


def read_ranking(item: _Value, base: RankingWeights, problems: _Problems) -> RankingWeights | None:
    """A `ranking:` block (the network's, or a view's): the weights it sets over `base`.

    Each weight is a finite number (integers too) in [0, RANKING_WEIGHT_MAX];
    a block must set at least one. None when it has problems.
    """
    entry = _as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    _check_keys(entry, item.field, RANKING_WEIGHT_NAMES, (), problems)
    if not entry:
        problems.add(item.line, item.field, "set at least one weight (or leave the key out)")
    weights = {}
    for name in RANKING_WEIGHT_NAMES:
        member = _member(entry, name, item.field)
        if member is not None:
            weights[name] = _as_weight(member, problems)
    if problems.count() > before:
        return None
    return dataclasses.replace(base, **weights)


def _as_weight(item: _Value, problems: _Problems) -> float | None:
    value = item.value
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        problems.add(item.line, item.field, f"expected a number, got {_describe_type(value)}")
        return None
    if not math.isfinite(value) or not 0 <= value <= RANKING_WEIGHT_MAX:
        problems.add(item.line, item.field, f"{value} is outside [0, {RANKING_WEIGHT_MAX}]")
        return None
    return float(value)


def dump_ranking(weights: RankingWeights, base: RankingWeights) -> dict:
    """The weights that differ from `base`, as a block `read_ranking(.., base)`
    reads back equal; every weight when none differs (a block sets at least one)."""
    document = _FlowMapping()
    for name in RANKING_WEIGHT_NAMES:
        value = getattr(weights, name)
        if value != getattr(base, name):
            document[name] = value
    if not document:
        document.update((name, getattr(weights, name)) for name in RANKING_WEIGHT_NAMES)
    return document


# --------------------------------------------------------------------------
# Writing the network back out


class _FlowMapping(dict):
    """A mapping dumped inline, {like: this}."""


class _FlowList(list):
    """A list dumped inline, [like, this]."""


class _NetworkDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    """SafeDumper that writes small mappings and lists inline."""


# The dumper must quote what the loader would read as a float ("1E10" as an
# id), or the file would not read back as it was written.
_NetworkDumper.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT_PATTERN, list("-+0123456789"))
_NetworkDumper.add_representer(
    _FlowMapping,
    lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True),
)
_NetworkDumper.add_representer(
    _FlowList,
    lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True),
)


def dump_network(network: Network) -> str:
    """The network as config YAML; `parse_network` reads it back to an equal Network.

    Fields at their default are left out to keep the file short.
    """
    document = {
        "version": CONFIG_VERSION,
        "nodes": [_node_document(node) for node in network.nodes],
        "skus": [_sku_document(sku) for sku in network.skus],
    }
    if network.transport is not None:
        from dompromise.config.transport import dump_transport  # see _read_network

        document["transport"] = dump_transport(network.transport)
    if network.views:
        from dompromise.config.views import dump_views  # see _read_network

        document["views"] = dump_views(network.views, network.ranking)
    if network.attributes:
        document["attributes"] = _FlowList(network.attributes)
    if network.ranking != DEFAULT_RANKING:
        document["ranking"] = dump_ranking(network.ranking, DEFAULT_RANKING)
    body = yaml.dump(
        document,
        Dumper=_NetworkDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,  # one entry field per line, never wrapped
    )
    return "# dompromise network config (see docs/config.md)\n" + body


def _node_document(node: Node) -> dict:
    document: dict = {"id": node.node_id, "type": _NODE_TYPE_SPELLINGS[node.node_type]}
    if node.status != NodeStatus.ENABLED:
        document["status"] = _NODE_STATUS_SPELLINGS[node.status]
    if node.name:
        document["name"] = node.name
    if node.timezone != "UTC":
        document["timezone"] = node.timezone
    if node.location is not None:
        document["location"] = _location_document(node.location)
    if node.tags:
        document["tags"] = _FlowList(node.tags)
    if node.priority:
        document["priority"] = node.priority
    return document


def _location_document(location: Location) -> _FlowMapping:
    document = _FlowMapping(latitude=location.latitude_degrees, longitude=location.longitude_degrees)
    if location.postal_code:
        document["postal_code"] = location.postal_code
    if location.country_code:
        document["country"] = location.country_code
    return document


def _sku_document(sku: Sku) -> dict:
    document: dict = {"id": sku.sku_id}
    if sku.description:
        document["description"] = sku.description
    if sku.base_unit != BaseUnit.EACH:
        document["unit"] = _BASE_UNIT_SPELLINGS[sku.base_unit]
    if sku.pack_sizes:
        document["packs"] = _FlowMapping(sku.pack_sizes)
    if sku.tracked_attributes:
        document["tracked_attributes"] = _FlowList(sku.tracked_attributes)
    return document


# --------------------------------------------------------------------------
# Stock CSV


@dataclass(frozen=True)
class _StockColumns:
    """Where each column of the stock CSV is, from its header row."""

    sku_id: int
    node_id: int
    on_hand_quantity: int
    unit: int | None
    count: int


class _UnreadableCsv(Exception):
    """Malformed CSV quoting: the rest of the file cannot be trusted."""


def load_stock_csv(path: str | Path, network: Network) -> list[StockRow]:
    """Read and validate a stock CSV file against `network`."""
    path_text = str(path)
    text = _read_utf8(Path(path), path_text)
    return parse_stock_csv(text, network, path_text)


def parse_stock_csv(text: str, network: Network, path: str = "<string>") -> list[StockRow]:
    """Validate stock CSV text against `network`: every row, or a ConfigError."""
    text = text.removeprefix("\ufeff")  # spreadsheet exports often start with a BOM
    problems = _Problems(path)
    rows: list[StockRow] = []
    try:
        rows = _read_stock_rows(text, network, problems)
    except (_TooManyProblems, _UnreadableCsv):
        pass
    problems.raise_if_any()
    return rows


def _read_stock_rows(text: str, network: Network, problems: _Problems) -> list[StockRow]:
    # strict: a stray quote is an error rather than silently glued text.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header, header_line = _next_record(reader, problems)
    if header is None:
        problems.add(1, "header", "missing header row (" + ",".join(_STOCK_COLUMNS_REQUIRED) + ")")
        return []
    columns = _read_stock_header(header, header_line, problems)
    if columns is None:
        return []
    skus_by_id = {sku.sku_id: sku for sku in network.skus}
    node_ids = {node.node_id for node in network.nodes}
    first_lines: dict[tuple[str, str], int] = {}
    rows: list[StockRow] = []
    while True:
        record, line = _next_record(reader, problems)
        if record is None:
            return rows
        row = _read_stock_record(record, line, columns, skus_by_id, node_ids, problems)
        if row is None:
            continue
        key = (row.sku_id, row.node_id)
        if key in first_lines:
            problems.add(
                line,
                "row",
                f"duplicate row for sku {row.sku_id!r} at node {row.node_id!r} (first on line {first_lines[key]})",
            )
            continue
        first_lines[key] = line
        rows.append(row)


def _next_record(reader, problems: _Problems) -> tuple[list[str] | None, int]:
    """The next non-blank record and the line it starts on, or (None, 0) at the end."""
    while True:
        start_line = reader.line_num + 1
        try:
            record = next(reader, None)
        except csv.Error as error:
            problems.add(start_line, "row", f"malformed CSV: {error}")
            raise _UnreadableCsv() from None
        if record is None:
            return None, 0
        if any(cell.strip() for cell in record):
            return record, start_line


def _read_stock_header(header: list[str], line: int, problems: _Problems) -> _StockColumns | None:
    """The column positions, or None when the header is unusable."""
    before = problems.count()
    allowed = _STOCK_COLUMNS_REQUIRED + (_STOCK_COLUMN_UNIT,)
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        if name not in allowed:
            problems.add(line, "header", f"unknown column {name!r} (expected: {', '.join(allowed)})")
        elif name in positions:
            problems.add(line, "header", f"column {name!r} appears twice")
        else:
            positions[name] = index
    for name in _STOCK_COLUMNS_REQUIRED:
        if name not in positions:
            problems.add(line, "header", f"missing column {name!r}")
    if problems.count() > before:
        return None
    return _StockColumns(
        sku_id=positions["sku_id"],
        node_id=positions["node_id"],
        on_hand_quantity=positions["on_hand_quantity"],
        unit=positions.get(_STOCK_COLUMN_UNIT),
        count=len(header),
    )


def _read_stock_record(
    record: list[str],
    line: int,
    columns: _StockColumns,
    skus_by_id: dict[str, Sku],
    node_ids: set[str],
    problems: _Problems,
) -> StockRow | None:
    if len(record) != columns.count:
        problems.add(line, "row", f"expected {columns.count} columns, got {len(record)}")
        return None
    before = problems.count()
    sku_id = record[columns.sku_id]
    sku = skus_by_id.get(sku_id)
    if sku is None:
        problems.add(line, "sku_id", f"unknown sku {sku_id!r}")
    node_id = record[columns.node_id]
    if node_id not in node_ids:
        problems.add(line, "node_id", f"unknown node {node_id!r}")
    quantity = _read_quantity(record[columns.on_hand_quantity], line, problems)
    unit = record[columns.unit] if columns.unit is not None else ""
    if sku is not None and unit:
        pack_size = _unit_size(sku, unit, line, problems)
        if pack_size is not None and quantity is not None:
            quantity = _convert_quantity(quantity, pack_size, unit, sku, line, problems)
    if problems.count() > before:
        return None
    return StockRow(sku_id=sku_id, node_id=node_id, on_hand_quantity=quantity)


def _read_quantity(text: str, line: int, problems: _Problems) -> int | None:
    field = "on_hand_quantity"
    if not _QUANTITY_PATTERN.fullmatch(text):
        problems.add(line, field, f"{text!r} is not an integer")
        return None
    digits = text.lstrip("+-").lstrip("0")
    if text.startswith("-") and digits:
        problems.add(line, field, f"{text} is negative")
        return None
    # Checked on the digit count first: int() refuses very long digit strings.
    if len(digits) > _QUANTITY_DIGITS_MAX or int(digits or "0") > QUANTITY_MAX:
        problems.add(line, field, f"{text} is more than QUANTITY_MAX ({QUANTITY_MAX})")
        return None
    return int(digits or "0")


def _unit_size(sku: Sku, unit: str, line: int, problems: _Problems) -> int | None:
    """Base units per `unit` for this SKU: 1 for its base unit, else its pack size."""
    if unit == _BASE_UNIT_SPELLINGS[sku.base_unit]:
        return 1
    if unit in sku.pack_sizes:
        return sku.pack_sizes[unit]
    known = [_BASE_UNIT_SPELLINGS[sku.base_unit], *sku.pack_sizes]
    problems.add(
        line,
        "unit",
        f"unknown unit {unit!r} for sku {sku.sku_id!r} (expected one of: {', '.join(known)})",
    )
    return None


def _convert_quantity(quantity: int, pack_size: int, unit: str, sku: Sku, line: int, problems: _Problems) -> int | None:
    base_quantity = quantity * pack_size
    if base_quantity > QUANTITY_MAX:
        base_unit = _BASE_UNIT_SPELLINGS[sku.base_unit]
        problems.add(
            line,
            "on_hand_quantity",
            f"{quantity} {unit} is {base_quantity} {base_unit}, more than QUANTITY_MAX ({QUANTITY_MAX})",
        )
        return None
    return base_quantity


# --------------------------------------------------------------------------
# Files


def _read_utf8(path: Path, path_text: str) -> str:
    """The file's text; a byte that is not UTF-8 is a ConfigError on its line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise _single_problem(path_text, line, "(file)", f"not UTF-8 text: {error.reason}") from None
