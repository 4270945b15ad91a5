"""The counter tool: availability of a few SKUs as a table a person reads.

A client of the public API only (AvailabilityService, NetworkService and
PromiseService), like any dealer tool would be. What the person types is
searched (NetworkService.SearchSkus): part of a part number or description
words, any case; one match is looked up, several are listed.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc

from dompromise.client.channel import ChannelSecurity, open_channel
from dompromise.v1 import (
    availability_pb2,
    availability_pb2_grpc,
    common_pb2,
    network_pb2,
    network_pb2_grpc,
    promise_pb2,
    promise_pb2_grpc,
)

# Base unit -> (label, a bigger unit for people, its size in base units).
UNIT_DISPLAY: dict[common_pb2.BaseUnit, tuple[str, str | None, int]] = {
    common_pb2.BASE_UNIT_EACH: ("each", None, 1),
    common_pb2.BASE_UNIT_MILLIMETRE: ("mm", "m", 1000),
    common_pb2.BASE_UNIT_GRAM: ("g", "kg", 1000),
    common_pb2.BASE_UNIT_MILLILITRE: ("ml", "l", 1000),
}
NODE_TYPE_LABELS = {
    common_pb2.NODE_TYPE_DISTRIBUTION_CENTER: "DC",
    common_pb2.NODE_TYPE_WAREHOUSE: "warehouse",
    common_pb2.NODE_TYPE_STORE: "store",
    common_pb2.NODE_TYPE_SUPPLIER_DROP_SHIP: "drop-ship",
    common_pb2.NODE_TYPE_THIRD_PARTY_LOGISTICS: "3PL",
}
# How a node that takes no demand is marked (it is not in GetAvailability's answer).
NODE_STATUS_MARKS = {common_pb2.NODE_STATUS_DISABLED: "DISABLED", common_pb2.NODE_STATUS_DRAIN: "DRAINING"}
METHOD_LABELS = {
    promise_pb2.DELIVERY_METHOD_SHIP: "ship",
    promise_pb2.DELIVERY_METHOD_PICKUP: "pickup",
    promise_pb2.DELIVERY_METHOD_DROP_SHIP: "drop-ship",
}
# Matches listed for a term that names several SKUs (SearchSkus answers at most 20).
MATCHES_LISTED_MAX = 20


@dataclass
class LookupRequest:
    target: str  # the server's address
    terms: Sequence[str]  # part numbers, parts of them or description words, any case
    node_ids: Sequence[str] = ()
    node_tags: Sequence[str] = ()
    all_nodes: bool = False
    deliver_to: str = ""  # a postal code: delivery options to it
    country_code: str = ""
    quantity: int = 1  # of each SKU, for the delivery options
    timeout_seconds: float = 5.0
    security: ChannelSecurity | None = None  # TLS / mTLS and the API key (client/channel.py)


@dataclass
class LookupAnswer:
    text: str
    unresolved: list[str] = field(default_factory=list)  # terms that named no SKU, or several


def render_lookup(request: LookupRequest) -> LookupAnswer:
    """The text a person reads, and the terms that did not name one SKU. Raises grpc.RpcError on RPC failure."""
    with open_channel(request.target, request.security) as channel:
        network = network_pb2_grpc.NetworkServiceStub(channel)
        lines: list[str] = []
        unresolved: list[str] = []
        found: dict[str, network_pb2.Sku] = {}
        for term in request.terms:
            sku, listing = _resolve(network, term, request.timeout_seconds)
            if sku is None:
                unresolved.append(term)
                lines.extend(listing + [""])
            else:
                found.setdefault(sku.sku_id, sku)
        if found:
            lines.extend(_availability_lines(channel, network, request, found))
        if found and request.deliver_to:
            promise = promise_pb2_grpc.PromiseServiceStub(channel)
            for sku in found.values():
                lines.extend(_delivery_lines(promise, request, sku) + [""])
    return LookupAnswer("\n".join(lines).rstrip("\n"), unresolved)


def _resolve(
    network: network_pb2_grpc.NetworkServiceStub, term: str, timeout_seconds: float
) -> tuple[network_pb2.Sku | None, list[str]]:
    """The SKU a term names (its part number in any case, or the one match), or the lines saying why not."""
    if not any(character.isalnum() for character in term):
        return None, [f"{term}: not found (type letters or digits of a part number or description)"]
    answer: network_pb2.SearchSkusResponse = network.SearchSkus(
        network_pb2.SearchSkusRequest(query=term, page_size=MATCHES_LISTED_MAX), timeout=timeout_seconds
    )
    exact = [sku for sku in answer.skus if sku.sku_id.casefold() == term.casefold()]
    if exact:
        return exact[0], []
    if len(answer.skus) == 1:
        return answer.skus[0], []
    if not answer.skus:
        return None, [f"{term}: not found"]
    lines = [f"{term}: {answer.total_size} matches, give one part number:"]
    width = max(len(sku.sku_id) for sku in answer.skus)
    lines.extend(f"  {sku.sku_id:<{width}}  {sku.description}" for sku in answer.skus)
    if answer.total_size > len(answer.skus):
        lines.append(f"  ... and {answer.total_size - len(answer.skus)} more")
    return None, lines


def _availability_lines(
    channel: grpc.Channel,
    network: network_pb2_grpc.NetworkServiceStub,
    request: LookupRequest,
    skus: dict[str, network_pb2.Sku],
) -> list[str]:
    availability: availability_pb2.GetAvailabilityResponse = availability_pb2_grpc.AvailabilityServiceStub(
        channel
    ).GetAvailability(
        availability_pb2.GetAvailabilityRequest(
            sku_ids=list(skus), node_ids=request.node_ids, node_tags=request.node_tags
        ),
        timeout=request.timeout_seconds,
    )
    nodes = _nodes_by_id(network, request.timeout_seconds)
    shown = _nodes_shown(request, nodes) if request.all_nodes else []
    lines: list[str] = []
    for item in availability.items:
        if item.status != common_pb2.ITEM_STATUS_OK:
            lines.extend([f"{item.sku_id}: not found", ""])
            continue
        description = skus[item.sku_id].description if item.sku_id in skus else ""
        lines.extend(_sku_table(item, availability.node_ids, nodes, description, request.all_nodes, shown))
        lines.append("")
    lines.append(f"(log position {availability.log_position})")
    lines.append("")
    return lines


def _nodes_shown(request: LookupRequest, nodes: dict[str, network_pb2.Node]) -> list[str]:
    """The nodes --all-nodes lists: the ones filtered for, or every node, disabled ones included."""
    if request.node_ids or request.node_tags:
        tags = set(request.node_tags)
        return [n for n, node in nodes.items() if n in request.node_ids or tags.intersection(node.tags)]
    return list(nodes)


def _nodes_by_id(stub: network_pb2_grpc.NetworkServiceStub, timeout_seconds: float) -> dict[str, network_pb2.Node]:
    """Every node of the network, by id, in network order."""
    nodes: dict[str, network_pb2.Node] = {}
    token = ""
    while True:
        page: network_pb2.ListNodesResponse = stub.ListNodes(
            network_pb2.ListNodesRequest(page_size=1000, page_token=token), timeout=timeout_seconds
        )
        nodes.update((node.node_id, node) for node in page.nodes)
        token = page.next_page_token
        if not token:
            return nodes


def format_quantity(quantity: int, base_unit: common_pb2.BaseUnit) -> str:
    label, big_label, big_size = UNIT_DISPLAY.get(base_unit, ("units", None, 1))
    if big_label is None:
        return f"{quantity:,} {label}"
    return f"{quantity / big_size:,.3f}".rstrip("0").rstrip(".") + f" {big_label}"


def _sku_table(
    item: availability_pb2.SkuAvailability,
    node_ids: Sequence[str],
    nodes: dict[str, network_pb2.Node],
    description: str,
    all_nodes: bool,
    shown: Sequence[str],
) -> list[str]:
    total = format_quantity(item.available_quantity, item.base_unit)
    lines = [f"{item.sku_id}  {description}", f"  available: {total}"]
    answered = dict(zip(node_ids, item.node_available_quantities))
    rows: list[tuple[str, int | None]] = [
        (node_id, quantity) for node_id, quantity in answered.items() if quantity > 0 or all_nodes
    ]
    rows.sort(key=lambda row: -(row[1] or 0))
    # Nodes that take no demand are not in the answer: --all-nodes lists them last, marked.
    rows.extend((node_id, None) for node_id in shown if node_id not in answered)
    if not rows:
        lines.append("  nowhere in stock")
        return lines
    id_width = max(len(node_id) for node_id, _ in rows)
    for node_id, quantity in rows:
        node = nodes[node_id]
        kind = NODE_TYPE_LABELS.get(node.type, "")
        figure = "-" if quantity is None else format_quantity(quantity, item.base_unit)
        mark = NODE_STATUS_MARKS.get(node.status, "")
        mark = f"  [{mark}]" if mark else ""
        lines.append(f"  {node_id:<{id_width}}  {kind:<9}  {figure:>14}  {node.name}{mark}")
    return lines


def _delivery_lines(
    promise: promise_pb2_grpc.PromiseServiceStub, request: LookupRequest, sku: network_pb2.Sku
) -> list[str]:
    """Delivery options for `quantity` of the SKU to the postal code, and why the nodes without one lost."""
    answer: promise_pb2.PromiseDeliveryResponse = promise.PromiseDelivery(
        promise_pb2.PromiseDeliveryRequest(
            lines=[promise_pb2.OrderLine(sku_id=sku.sku_id, quantity=request.quantity)],
            postal_code=request.deliver_to,
            country_code=request.country_code,
        ),
        timeout=request.timeout_seconds,
    )
    place = f"{request.deliver_to}" + (f" {request.country_code}" if request.country_code else "")
    heading = f"{sku.sku_id}: delivery of {request.quantity:,} to {place} (zone {answer.zone_id or '?'})"
    lines = [heading]
    if not answer.options:
        lines.append(f"  no delivery option: {request.quantity:,} cannot be met")
    for rank, option in enumerate(answer.options, 1):
        lines.append(f"  {rank}. {_option_text(option)}")
    if answer.options:
        winners = ", ".join(dict.fromkeys(s.node_id for s in answer.options[0].shipments))
        lines.append(f"  winning node: {winners}")
    lost = [c for c in answer.candidates if c.reason != promise_pb2.CANDIDATE_REASON_USED]
    if lost:
        lines.append("  why other nodes lost:")
        width = max(len(c.node_id) for c in lost)
        for candidate in lost:
            reason = promise_pb2.CandidateReason.Name(candidate.reason).removeprefix("CANDIDATE_REASON_")
            detail = f": {candidate.detail}" if candidate.detail else ""
            lines.append(f"    {candidate.node_id:<{width}}  {reason.lower().replace('_', ' ')}{detail}")
    return lines


def _option_text(option: promise_pb2.DeliveryOption) -> str:
    method = METHOD_LABELS.get(option.method, "ship")
    sources = " + ".join(s.node_id + (f" via {s.via_node_id}" if s.via_node_id else "") for s in option.shipments)
    window = f"EDT {_when(option.earliest_delivery_time)} - {_when(option.latest_delivery_time)}"
    cost = f", {option.cost_minor / 100:.2f} {option.currency}".rstrip() if option.cost_minor else ""
    short = ", ".join(f"{line.quantity:,} of {line.sku_id} short" for line in option.short_lines)
    return f"{method} from {sources}: {window}{cost}" + (f" ({short})" if short else "")


def _when(stamp: object) -> str:
    """A Timestamp as a person reads it, in UTC (the server's answers carry no time zone of the customer)."""
    seconds = getattr(stamp, "seconds", 0)
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.strftime("%a %d %b %Y %H:%M UTC")
