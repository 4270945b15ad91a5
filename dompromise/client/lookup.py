"""The counter tool: availability of a few SKUs as a table a person reads.

A client of the public API only (AvailabilityService and NetworkService),
like any dealer tool would be.
"""

from __future__ import annotations

from collections.abc import Sequence

from dompromise.client.channel import ChannelSecurity, open_channel
from dompromise.v1 import (
    availability_pb2,
    availability_pb2_grpc,
    common_pb2,
    network_pb2,
    network_pb2_grpc,
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


def render_lookup(
    target: str,
    sku_ids: Sequence[str],
    node_ids: Sequence[str],
    node_tags: Sequence[str],
    all_nodes: bool,
    timeout_seconds: float,
    security: ChannelSecurity | None = None,
) -> tuple[str, list[str]]:
    """Returns (table text, ids not found). Raises grpc.RpcError on RPC failure."""
    with open_channel(target, security) as channel:
        availability: availability_pb2.GetAvailabilityResponse = availability_pb2_grpc.AvailabilityServiceStub(
            channel
        ).GetAvailability(
            availability_pb2.GetAvailabilityRequest(sku_ids=sku_ids, node_ids=node_ids, node_tags=node_tags),
            timeout=timeout_seconds,
        )
        nodes = _nodes_by_id(network_pb2_grpc.NetworkServiceStub(channel), availability.node_ids, timeout_seconds)
        descriptions = _descriptions(network_pb2_grpc.NetworkServiceStub(channel), availability, timeout_seconds)
    lines: list[str] = []
    missing: list[str] = []
    for item in availability.items:
        if item.status != common_pb2.ITEM_STATUS_OK:
            lines.append(f"{item.sku_id}: not found")
            missing.append(item.sku_id)
            lines.append("")
            continue
        lines.extend(_sku_table(item, availability.node_ids, nodes, descriptions.get(item.sku_id, ""), all_nodes))
        lines.append("")
    lines.append(f"(log position {availability.log_position})")
    return "\n".join(lines), missing


def _nodes_by_id(
    stub: network_pb2_grpc.NetworkServiceStub, node_ids: Sequence[str], timeout_seconds: float
) -> dict[str, network_pb2.Node]:
    """Every node of the network, by id (one page covers any network up to PAGE_SIZE_MAX nodes)."""
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


def _descriptions(
    stub: network_pb2_grpc.NetworkServiceStub,
    availability: availability_pb2.GetAvailabilityResponse,
    timeout_seconds: float,
) -> dict[str, str]:
    found = [i.sku_id for i in availability.items if i.status == common_pb2.ITEM_STATUS_OK]
    descriptions: dict[str, str] = {
        sku_id: stub.GetSku(network_pb2.GetSkuRequest(sku_id=sku_id), timeout=timeout_seconds).sku.description
        for sku_id in dict.fromkeys(found)
    }
    return descriptions


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
) -> list[str]:
    total = format_quantity(item.available_quantity, item.base_unit)
    lines = [f"{item.sku_id}  {description}", f"  available: {total}"]
    rows = [
        (node_id, quantity)
        for node_id, quantity in zip(node_ids, item.node_available_quantities)
        if quantity > 0 or all_nodes
    ]
    rows.sort(key=lambda row: -row[1])
    if not rows:
        lines.append("  nowhere in stock")
        return lines
    id_width = max(len(node_id) for node_id, _ in rows)
    for node_id, quantity in rows:
        node = nodes[node_id]
        kind = NODE_TYPE_LABELS.get(node.type, "")
        lines.append(
            f"  {node_id:<{id_width}}  {kind:<9}  {format_quantity(quantity, item.base_unit):>14}  {node.name}"
        )
    return lines
