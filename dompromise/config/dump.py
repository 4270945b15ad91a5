"""Write a network back out as config YAML that `parse_network` reads back equal.

Fields at their default are left out to keep the file short; small mappings
and lists are written inline, {like: this} and [like, this].
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import yaml

from dompromise.config.marked import resolve_exponent_floats
from dompromise.config.network import CONFIG_VERSION
from dompromise.config.transport import DEFAULT_CURRENCY
from dompromise.config.views import SKU_QUANTITIES_FIELDS
from dompromise.model.network import (
    BASE_UNIT_SPELLINGS,
    NODE_STATUS_SPELLINGS,
    NODE_TYPE_SPELLINGS,
    BaseUnit,
    Location,
    Network,
    Node,
    NodeStatus,
    Sku,
)
from dompromise.model.transport import (
    WEEKDAY_SPELLINGS,
    WORKWEEK,
    Calendar,
    DatedCapacity,
    DatedCutoff,
    Departure,
    Lane,
    LocalTime,
    NodeShipping,
    TransportNetwork,
    Validity,
    Zone,
)
from dompromise.model.views import (
    DEFAULT_RANKING,
    RANKING_WEIGHT_NAMES,
    SUPPLY_KIND_SPELLINGS,
    ProtectedAllocation,
    RankingWeights,
    SkuQuantities,
    View,
)

# A document as yaml.dump takes it: keys in the order they are written.
Document = dict[str, object]


class _FlowMapping(dict[str, object]):
    """A mapping dumped inline, {like: this}."""


class _FlowList(list[object]):
    """A list dumped inline, [like, this]."""


# The C emitter is faster and writes the same text. Type checkers see the
# Python one: the representer methods used here are the same on both.
if TYPE_CHECKING:
    _SafeDumperBase = yaml.SafeDumper
else:
    _SafeDumperBase = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _NetworkDumper(_SafeDumperBase):
    """SafeDumper that writes small mappings and lists inline."""


def _represent_flow_mapping(dumper: _NetworkDumper, data: _FlowMapping) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


def _represent_flow_list(dumper: _NetworkDumper, data: _FlowList) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


# The dumper must quote what the loader would read as a float ("1E10" as an
# id), or the file would not read back as it was written.
resolve_exponent_floats(_NetworkDumper)
_NetworkDumper.add_representer(_FlowMapping, _represent_flow_mapping)
_NetworkDumper.add_representer(_FlowList, _represent_flow_list)


def dump_network(network: Network) -> str:
    """The network as config YAML; `parse_network` reads it back to an equal Network.

    Fields at their default are left out to keep the file short.
    """
    document: Document = {
        "version": CONFIG_VERSION,
        "nodes": [_node_document(node) for node in network.nodes],
        "skus": [_sku_document(sku) for sku in network.skus],
    }
    if network.transport is not None:
        document["transport"] = dump_transport(network.transport)
    if network.views:
        document["views"] = dump_views(network.views, network.ranking)
    if network.attributes:
        document["attributes"] = _FlowList(network.attributes)
    if network.ranking != DEFAULT_RANKING:
        document["ranking"] = dump_ranking(network.ranking, DEFAULT_RANKING)
    body: str = yaml.dump(
        document,
        Dumper=_NetworkDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,  # one entry field per line, never wrapped
    )
    return "# dompromise network config (see docs/config.md)\n" + body


# --------------------------------------------------------------------------
# Nodes and SKUs


def _node_document(node: Node) -> Document:
    document: Document = {"id": node.node_id, "type": NODE_TYPE_SPELLINGS[node.node_type]}
    if node.status != NodeStatus.ENABLED:
        document["status"] = NODE_STATUS_SPELLINGS[node.status]
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


def _sku_document(sku: Sku) -> Document:
    document: Document = {"id": sku.sku_id}
    if sku.description:
        document["description"] = sku.description
    if sku.base_unit != BaseUnit.EACH:
        document["unit"] = BASE_UNIT_SPELLINGS[sku.base_unit]
    if sku.pack_sizes:
        document["packs"] = _FlowMapping(sku.pack_sizes)
    if sku.tracked_attributes:
        document["tracked_attributes"] = _FlowList(sku.tracked_attributes)
    if sku.brand:
        document["brand"] = sku.brand
    if sku.category:
        document["category"] = sku.category
    if sku.tags:
        document["tags"] = _FlowList(sku.tags)
    return document


# --------------------------------------------------------------------------
# Ranking


def dump_ranking(weights: RankingWeights, base: RankingWeights) -> _FlowMapping:
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
# Transport


def dump_transport(transport: TransportNetwork) -> Document:
    """The `transport:` section as a plain document; `read_transport` reads it back equal."""
    document: Document = {}
    if transport.currency != DEFAULT_CURRENCY:
        document["currency"] = transport.currency
    document["calendars"] = [_calendar_document(calendar) for calendar in transport.calendars]
    document["zones"] = [_zone_document(zone) for zone in transport.zones]
    document["node_shipping"] = [_shipping_document(shipping) for shipping in transport.node_shipping]
    document["lanes"] = [_lane_document(lane) for lane in transport.lanes]
    return document


def _weekdays_document(weekdays: tuple[int, ...]) -> _FlowList:
    return _FlowList(WEEKDAY_SPELLINGS[day] for day in weekdays)


def _calendar_document(calendar: Calendar) -> Document:
    document: Document = {"id": calendar.calendar_id}
    if calendar.name:
        document["name"] = calendar.name
    if calendar.weekdays != WORKWEEK:
        document["weekdays"] = _weekdays_document(calendar.weekdays)
    if calendar.opens is not None:
        document["hours"] = _FlowMapping(opens=str(calendar.opens), closes=str(calendar.closes))
    if calendar.holidays:
        document["holidays"] = _FlowList(calendar.holidays)
    _add_validity(document, calendar.validity)
    return document


def _add_validity(document: Document, validity: Validity) -> None:
    """`valid_from` / `valid_to` as written: a date, or a local datetime as "YYYY-MM-DDTHH:MM"."""
    for key, value in (("valid_from", validity.valid_from), ("valid_to", validity.valid_to)):
        if isinstance(value, dt.datetime):
            document[key] = value.isoformat(timespec="minutes")
        elif value is not None:
            document[key] = value


def _zone_document(zone: Zone) -> Document:
    document: Document = {"id": zone.zone_id}
    if zone.name:
        document["name"] = zone.name
    if zone.country_code:
        document["country"] = zone.country_code
    document["timezone"] = zone.timezone
    document["calendar"] = zone.calendar_id
    if zone.postal_prefixes:
        document["postal_prefixes"] = _FlowList(zone.postal_prefixes)
    if zone.postal_ranges:
        document["postal_ranges"] = [_FlowMapping({"from": r.low, "to": r.high}) for r in zone.postal_ranges]
    if zone.regions:
        document["regions"] = _FlowList(zone.regions)
    if zone.location is not None:
        document["location"] = _FlowMapping(
            latitude=zone.location.latitude_degrees, longitude=zone.location.longitude_degrees
        )
    return document


def _shipping_document(shipping: NodeShipping) -> Document:
    document: Document = {"node": shipping.node_id, "calendar": shipping.calendar_id}
    if shipping.processing_minutes:
        document["processing_minutes"] = shipping.processing_minutes
    if shipping.cutoffs:
        document["cutoffs"] = _FlowMapping({service: str(time) for service, time in shipping.cutoffs.items()})
    if shipping.daily_capacity_orders is not None:
        document["daily_capacity_orders"] = shipping.daily_capacity_orders
    if shipping.click_and_collect:
        document["click_and_collect"] = True
    if shipping.dated_cutoffs:
        document["dated_cutoffs"] = [_dated_document(cutoff) for cutoff in shipping.dated_cutoffs]
    if shipping.dated_capacities:
        document["dated_capacities"] = [_dated_document(capacity) for capacity in shipping.dated_capacities]
    return document


def _dated_document(rule: DatedCutoff | DatedCapacity) -> _FlowMapping:
    if isinstance(rule, DatedCutoff):
        document = _FlowMapping(service=rule.service, time=str(rule.time))
    else:
        document = _FlowMapping(orders=rule.orders)
    _add_validity(document, rule.validity)
    return document


def _lane_document(lane: Lane) -> Document:
    document: Document = {"from": lane.from_node_id}
    if lane.to_zone_id is not None:
        document["to_zone"] = lane.to_zone_id
    else:
        document["to_node"] = lane.to_node_id
    document["service"] = lane.service
    if lane.name:
        document["name"] = lane.name
    if lane.cost_minor:
        document["cost_minor"] = lane.cost_minor
    if lane.departures:
        document["departures"] = [_departure_document(departure) for departure in lane.departures]
    timing: tuple[tuple[str, LocalTime | int | None], ...] = (
        ("pickup", lane.pickup),
        ("transit_hours", lane.transit_hours),
        ("transit_working_days", lane.transit_working_days),
        ("arrives", lane.arrives),
    )
    for key, value in timing:
        if value is not None:
            document[key] = str(value) if isinstance(value, LocalTime) else value
    if lane.transit_spread_hours:
        document["transit_spread_hours"] = lane.transit_spread_hours
    if lane.tiers:
        document["tiers"] = _FlowList(lane.tiers)
    _add_validity(document, lane.validity)
    return document


def _departure_document(departure: Departure) -> _FlowMapping:
    document = _FlowMapping(days=_weekdays_document(departure.weekdays), leaves=str(departure.leaves))
    if departure.cutoff is not None:
        document["cutoff"] = str(departure.cutoff)
    document["arrives"] = str(departure.arrives)
    if departure.arrival_day_offset:
        document["arrival_day_offset"] = departure.arrival_day_offset
    return document


# --------------------------------------------------------------------------
# Views


def dump_views(views: tuple[View, ...], ranking: RankingWeights = DEFAULT_RANKING) -> list[Document]:
    """The `views:` section as a plain document; `read_views` reads it back equal
    (with the same network `ranking`, which a view's block is written over)."""
    return [_view_document(view, ranking) for view in views]


def _view_document(view: View, ranking: RankingWeights = DEFAULT_RANKING) -> Document:
    document: Document = {"id": view.view_id}
    for key, ids in (("nodes", view.node_ids), ("node_tags", view.node_tags), ("segments", view.segments)):
        if ids:
            document[key] = _FlowList(ids)
    if view.supply_kinds:
        document["supply_kinds"] = _FlowList(SUPPLY_KIND_SPELLINGS[kind] for kind in view.supply_kinds)
    if view.horizon_days is not None:
        document["horizon_days"] = view.horizon_days
    for key in SKU_QUANTITIES_FIELDS:
        quantities: SkuQuantities | None = getattr(view, key)
        if quantities is not None:
            document[key] = _sku_quantities_document(quantities)
    if view.protected:
        document["protected"] = [_allocation_document(allocation) for allocation in view.protected]
    if view.ranking is not None:
        document["ranking"] = dump_ranking(view.ranking, ranking)
    return document


def _sku_quantities_document(quantities: SkuQuantities) -> int | None | _FlowMapping:
    """A bare number when it is one for every SKU, else {default: n, skus: {...}}."""
    if not quantities.per_sku:
        return quantities.default
    document = _FlowMapping()
    if quantities.default is not None:
        document["default"] = quantities.default
    document["skus"] = _FlowMapping(quantities.per_sku)
    return document


def _allocation_document(allocation: ProtectedAllocation) -> _FlowMapping:
    document = _FlowMapping(segment=allocation.segment)
    if allocation.quantity:
        document["quantity"] = allocation.quantity
    else:
        document["percent"] = allocation.percent
    for key, ids in (("skus", allocation.sku_ids), ("nodes", allocation.node_ids), ("node_tags", allocation.node_tags)):
        if ids:
            document[key] = _FlowList(ids)
    return document
