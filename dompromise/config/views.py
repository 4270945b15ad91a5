"""The `views:` section of the network config: channel views.

Read by `parse_network` (one call from `network._read_network`) with the
same rules and messages as the rest of the file: every problem is reported
as ``path:line: field: message`` with the real line, all at once. Written
back by `dump.dump_views` so `dump_network` round-trips. `docs/config.md` ("Channel
views") documents the section with a full example.

    views:
      - id: garages
        nodes: [WH-NORTH]                  # and/or node_tags; neither = every node
        node_tags: [store]
        supply_kinds: [in_transit]         # optional, default all
        horizon_days: 14                   # optional, default no cap
        segments: [garage, premium_dealer] # optional: who may ask through it
        safety_stock: 2                    # a number for every SKU, or
        exposure_cap: {default: 50, skus: {BRK-PAD-10432: 20}}   # a default and per-SKU figures
        low_stock_threshold: {skus: {BRK-PAD-10432: 4}}
        protected:
          - {segment: premium_dealer, percent: 20, node_tags: [regional]}
          - {segment: b2b, quantity: 10, skus: [BRK-PAD-10432], nodes: [WH-NORTH]}
        ranking: {per_100_km: 2, per_priority_step: 5}   # optional: over the network's `ranking:`
"""

from __future__ import annotations

from dataclasses import dataclass

from dompromise.config.marked import MarkedList, MarkedMapping
from dompromise.config.problems import (
    Problems,
    Value,
    as_choice,
    as_id,
    as_int,
    as_list,
    as_mapping,
    check_keys,
    check_unique_ids,
    checked,
    declared_ids,
    items,
    join,
    member,
    optional,
)
from dompromise.config.ranking import read_ranking
from dompromise.limits import (
    QUANTITY_MAX,
    VIEW_HORIZON_DAYS_MAX,
    VIEW_PROTECTED_MAX,
    VIEW_PROTECTED_SKUS_MAX,
    VIEW_SEGMENTS_MAX,
    VIEW_SKU_QUANTITIES_MAX,
    VIEWS_MAX,
)
from dompromise.model.network import Node, Sku
from dompromise.model.views import (
    DEFAULT_RANKING,
    SUPPLY_KIND_NAMES,
    SUPPLY_KIND_SPELLINGS,
    ProtectedAllocation,
    RankingWeights,
    SkuQuantities,
    View,
)

_SECTION = "views"
_VIEW_KEYS = (
    "id",
    "nodes",
    "node_tags",
    "supply_kinds",
    "horizon_days",
    "segments",
    "safety_stock",
    "exposure_cap",
    "low_stock_threshold",
    "protected",
    "ranking",
)
_SKU_QUANTITIES_KEYS = ("default", "skus")
_PROTECTED_KEYS = ("segment", "quantity", "percent", "skus", "nodes", "node_tags")
# The View fields that hold SkuQuantities, in the order dumps write them.
SKU_QUANTITIES_FIELDS = ("safety_stock", "exposure_cap", "low_stock_threshold")
_PERCENT_MAX = 100


@dataclass(frozen=True)
class _Known:
    """What entries may refer to: node ids, tags carried by a node, SKU ids."""

    node_ids: set[str]
    tags: set[str]
    sku_ids: set[str]
    # The network's ranking weights: what a view's `ranking:` block overrides.
    ranking: RankingWeights = DEFAULT_RANKING


# --------------------------------------------------------------------------
# Entry point


def read_views(
    top: MarkedMapping,
    nodes: list[Node],
    skus: list[Sku],
    problems: Problems,
    ranking: RankingWeights = DEFAULT_RANKING,
) -> tuple[View, ...]:
    """The `views:` section of a network file: the valid views, () when absent.

    `ranking` is the network's weights: a view's `ranking:` block sets some
    of them, the rest are the network's.

    `nodes` and `skus` are the file's valid entries; every id written in the
    file counts as known too, so one bad node is one problem, not one more
    per view that names it.
    """
    section_item = member(top, _SECTION, "")
    if section_item is None:
        return ()
    entries = as_list(section_item, problems)
    if entries is None:
        return ()
    if len(entries) > VIEWS_MAX:
        problems.add(section_item.line, section_item.field, f"{len(entries)} views, more than the limit of {VIEWS_MAX}")
        return ()
    known = _Known(
        node_ids={node.node_id for node in nodes} | declared_ids(top, "nodes", "id"),
        tags={tag for node in nodes for tag in node.tags},
        sku_ids={sku.sku_id for sku in skus} | declared_ids(top, "skus", "id"),
        ranking=ranking,
    )
    read = [_read_view(item, known, problems) for item in items(entries, section_item.field)]
    views = [pair for pair in read if pair is not None]
    check_unique_ids([(view.view_id, id_item) for view, id_item in views], "view", problems)
    return tuple(view for view, _ in views)


# --------------------------------------------------------------------------
# One view


def _read_view(item: Value, known: _Known, problems: Problems) -> tuple[View, Value] | None:
    """(View, its id Value), or None if it has problems."""
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    field = item.field
    check_keys(entry, field, _VIEW_KEYS, ("id",), problems)
    id_item = member(entry, "id", field)
    view_id = as_id(id_item, problems) if id_item else None
    node_ids = optional(entry, "nodes", field, (), lambda v: _read_ids(v, "node", known.node_ids, problems))
    node_tags = optional(entry, "node_tags", field, (), lambda v: _read_ids(v, "tag", known.tags, problems))
    supply_kinds = optional(entry, "supply_kinds", field, (), lambda v: _read_supply_kinds(v, problems))
    horizon_days = optional(entry, "horizon_days", field, None, lambda v: as_int(v, 1, VIEW_HORIZON_DAYS_MAX, problems))
    segments = optional(entry, "segments", field, (), lambda v: _read_ids(v, "segment", None, problems))
    quantities = {
        key: optional(entry, key, field, None, lambda v: _read_sku_quantities(v, known, problems))
        for key in SKU_QUANTITIES_FIELDS
    }
    protected = optional(
        entry, "protected", field, (), lambda v: _read_protected(v, known, segments, node_ids, problems)
    )
    ranking = optional(entry, "ranking", field, None, lambda v: read_ranking(v, known.ranking, problems))
    if problems.count() > before:
        return None
    segments, protected = checked(segments), checked(protected)
    segment_count = len(set(segments) | {allocation.segment for allocation in protected})
    if segment_count > VIEW_SEGMENTS_MAX:
        problems.add(item.line, field, f"{segment_count} customer segments, more than the limit of {VIEW_SEGMENTS_MAX}")
        return None
    view = View(
        view_id=checked(view_id),
        node_ids=checked(node_ids),
        node_tags=checked(node_tags),
        supply_kinds=checked(supply_kinds),
        horizon_days=horizon_days,
        segments=segments,
        protected=protected,
        ranking=ranking,
        **quantities,
    )
    return view, checked(id_item)


def _read_ids(item: Value, kind: str, known: set[str] | None, problems: Problems) -> tuple[str, ...] | None:
    """A list of id-like strings, no repeats, each in `known` (unless None)."""
    entries = as_list(item, problems)
    if entries is None:
        return None
    if not entries:
        problems.add(item.line, item.field, f"must list at least one {kind} (or leave the key out)")
        return None
    limit = VIEW_PROTECTED_SKUS_MAX if kind == "SKU" else VIEW_SEGMENTS_MAX if kind == "segment" else None
    if limit is not None and len(entries) > limit:
        problems.add(item.line, item.field, f"{len(entries)} {kind}s, more than the limit of {limit}")
        return None
    before = problems.count()
    first_lines: dict[str, int] = {}
    for id_item in items(entries, item.field):
        value = as_id(id_item, problems)
        if value is None:
            continue
        if value in first_lines:
            problems.add(
                id_item.line, id_item.field, f"duplicate {kind} {value!r} (first on line {first_lines[value]})"
            )
        elif known is not None and value not in known:
            what = "no node carries tag" if kind == "tag" else f"unknown {kind}"
            problems.add(id_item.line, id_item.field, f"{what} {value!r}")
        first_lines.setdefault(value, id_item.line)
    if problems.count() > before:
        return None
    return tuple(first_lines)


def _read_supply_kinds(item: Value, problems: Problems) -> tuple[int, ...] | None:
    entries = as_list(item, problems)
    if entries is None:
        return None
    if not entries:
        problems.add(item.line, item.field, "must list at least one supply kind (or leave the key out for all)")
        return None
    before = problems.count()
    kinds: dict[int, int] = {}
    for kind_item in items(entries, item.field):
        kind = as_choice(kind_item, SUPPLY_KIND_NAMES, problems)
        if kind is None:
            continue
        if kind in kinds:
            problems.add(
                kind_item.line,
                kind_item.field,
                f"duplicate supply kind {SUPPLY_KIND_SPELLINGS[kind]!r} (first on line {kinds[kind]})",
            )
            continue
        kinds[kind] = kind_item.line
    if problems.count() > before:
        return None
    return tuple(sorted(kinds))


def _read_sku_quantities(item: Value, known: _Known, problems: Problems) -> SkuQuantities | None:
    """An integer for every SKU, or {default: n, skus: {SKU-ID: n}} (at least one of them)."""
    if not isinstance(item.value, MarkedMapping):
        quantity = as_int(item, 0, QUANTITY_MAX, problems)
        return None if quantity is None else SkuQuantities(default=quantity)
    entry = item.value
    before = problems.count()
    check_keys(entry, item.field, _SKU_QUANTITIES_KEYS, (), problems)
    if not entry:
        problems.add(item.line, item.field, "set default, skus or both (or leave the key out)")
    default = optional(entry, "default", item.field, None, lambda v: as_int(v, 0, QUANTITY_MAX, problems))
    per_sku = optional(entry, "skus", item.field, {}, lambda v: _read_per_sku(v, known, problems))
    if problems.count() > before:
        return None
    return SkuQuantities(default=default, per_sku=checked(per_sku))


def _read_per_sku(item: Value, known: _Known, problems: Problems) -> dict[str, int] | None:
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    for key, line, first_line in entry.duplicate_keys:
        problems.add(line, join(item.field, key), f"duplicate SKU (first on line {first_line})")
    if len(entry) > VIEW_SKU_QUANTITIES_MAX:
        problems.add(item.line, item.field, f"{len(entry)} SKUs, more than the limit of {VIEW_SKU_QUANTITIES_MAX}")
        return None
    quantities: dict[str, int] = {}
    for key in entry:
        key_item = Value(key, entry.key_lines[key], join(item.field, key))
        sku_id = as_id(key_item, problems)
        if sku_id is not None and sku_id not in known.sku_ids:
            problems.add(key_item.line, key_item.field, f"unknown SKU {sku_id!r}")
        quantity = as_int(checked(member(entry, key, item.field)), 0, QUANTITY_MAX, problems)
        if sku_id is not None and quantity is not None:
            quantities[sku_id] = quantity
    if problems.count() > before:
        return None
    return quantities


# --------------------------------------------------------------------------
# Protected allocations


def _read_protected(
    item: Value,
    known: _Known,
    segments: tuple[str, ...] | None,
    view_nodes: tuple[str, ...] | None,
    problems: Problems,
) -> tuple[ProtectedAllocation, ...] | None:
    entries = as_list(item, problems)
    if entries is None:
        return None
    if len(entries) > VIEW_PROTECTED_MAX:
        problems.add(
            item.line, item.field, f"{len(entries)} protected allocations, more than the limit of {VIEW_PROTECTED_MAX}"
        )
        return None
    before = problems.count()
    allocations = [
        _read_allocation(entry, known, segments, view_nodes, problems) for entry in items(entries, item.field)
    ]
    if problems.count() > before:
        return None
    return tuple(allocation for allocation in allocations if allocation is not None)


def _read_allocation(
    item: Value,
    known: _Known,
    segments: tuple[str, ...] | None,
    view_nodes: tuple[str, ...] | None,
    problems: Problems,
) -> ProtectedAllocation | None:
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    field = item.field
    check_keys(entry, field, _PROTECTED_KEYS, ("segment",), problems)
    segment_item = member(entry, "segment", field)
    segment = as_id(segment_item, problems) if segment_item else None
    if segment is not None and segments and segment not in segments:
        segment_item = checked(segment_item)
        problems.add(
            segment_item.line,
            segment_item.field,
            f"segment {segment!r} is not one of the view's segments ({', '.join(segments)})",
        )
    quantity = optional(entry, "quantity", field, 0, lambda v: as_int(v, 1, QUANTITY_MAX, problems))
    percent = optional(entry, "percent", field, 0, lambda v: as_int(v, 1, _PERCENT_MAX, problems))
    if ("quantity" in entry) == ("percent" in entry):
        problems.add(item.line, field, "set exactly one of quantity and percent")
    sku_ids = optional(entry, "skus", field, (), lambda v: _read_ids(v, "SKU", known.sku_ids, problems))
    node_ids = optional(entry, "nodes", field, (), lambda v: _read_ids(v, "node", known.node_ids, problems))
    node_tags = optional(entry, "node_tags", field, (), lambda v: _read_ids(v, "tag", known.tags, problems))
    if node_ids and view_nodes:
        _check_within(entry, field, node_ids, view_nodes, problems)
    if problems.count() > before:
        return None
    return ProtectedAllocation(
        segment=checked(segment),
        quantity=checked(quantity),
        percent=checked(percent),
        sku_ids=checked(sku_ids),
        node_ids=checked(node_ids),
        node_tags=checked(node_tags),
    )


def _check_within(
    entry: MarkedMapping, field: str, node_ids: tuple[str, ...], view_nodes: tuple[str, ...], problems: Problems
) -> None:
    """Protection at a node the view does not name protects nothing: a mistake.

    Only checked against the view's named nodes; a view that selects by tag
    alone gets the intersection with its tagged nodes.
    """
    nodes_item = checked(member(entry, "nodes", field))
    assert isinstance(nodes_item.value, MarkedList), "read as a list of node ids"
    for node_item in items(nodes_item.value, nodes_item.field):
        if node_item.value not in view_nodes:
            problems.add(node_item.line, node_item.field, f"node {node_item.value!r} is not one of the view's nodes")
