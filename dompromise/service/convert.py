"""Domain model -> protobuf messages. Enum numbers are equal by construction
(dompromise.model.network mirrors the protos; tests/test_contract_numbers.py checks it).

The generated stubs type an enum field as its enum class, which cannot be called at run time
to convert an int: the numbers go in as they are, cast (their equality is what the test checks).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from dompromise.internal.v1 import log_pb2
from dompromise.model.network import Node, Sku
from dompromise.v1 import common_pb2, network_pb2


def node_message(node: Node) -> network_pb2.Node:
    message = network_pb2.Node(
        node_id=node.node_id,
        type=cast(common_pb2.NodeType, int(node.node_type)),  # equal numbers (module docstring)
        status=cast(common_pb2.NodeStatus, int(node.status)),
        name=node.name,
        timezone=node.timezone,
        tags=node.tags,
    )
    if node.location is not None:
        message.location.latitude_degrees = node.location.latitude_degrees
        message.location.longitude_degrees = node.location.longitude_degrees
        message.location.postal_code = node.location.postal_code
        message.location.country_code = node.location.country_code
    return message


def sku_message(sku: Sku) -> network_pb2.Sku:
    return network_pb2.Sku(
        sku_id=sku.sku_id,
        description=sku.description,
        base_unit=cast(common_pb2.BaseUnit, int(sku.base_unit)),  # equal numbers (module docstring)
        pack_sizes=[network_pb2.PackSize(name=name, base_unit_count=count) for name, count in sku.pack_sizes.items()],
        tracked_attribute_keys=sku.tracked_attributes,
        brand=sku.brand,
        category=sku.category,
        tags=sku.tags,
    )


def attribute_set(values: Mapping[str, str]) -> log_pb2.AttributeSet:
    """A request's attribute map as the log records it: keys ascending."""
    keys = sorted(values)
    return log_pb2.AttributeSet(keys=keys, values=[values[key] for key in keys])
