"""Deterministic synthetic networks for the benchmarks.

`synthetic_network(node_count, sku_count, seed)` gives the same Network and
the same stock for the same arguments on every machine (numpy's PCG64 from
`seed`, never global randomness). Stock is loaded through Engine.apply in
batches of 10,000 items, the size of one UpdateStock request, with whole
numpy columns: interning 20M string ids through Engine.update_on_hand
would take minutes and measure nothing the benchmarks care about.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dompromise import limits
from dompromise.inventory.engine import ON_HAND_SET, UPDATE_ON_HAND, Engine
from dompromise.model.network import BaseUnit, Network, Node, NodeType, Sku

BATCH_ITEMS = limits.STOCK_UPDATES_MAX  # 10,000
REGIONS = ("north", "south", "east", "west")

# Node mix of a retail network: few DCs and warehouses, mostly stores.
# (type, share of nodes, share of SKUs stocked there, on-hand range)
NODE_MIX = (
    (NodeType.DISTRIBUTION_CENTER, 0.02, 0.95, (50, 5_000)),
    (NodeType.WAREHOUSE, 0.08, 0.70, (10, 1_000)),
    (NodeType.STORE, 0.80, 0.25, (1, 40)),
    (NodeType.SUPPLIER_DROP_SHIP, 0.06, 0.10, (100, 10_000)),
    (NodeType.THIRD_PARTY_LOGISTICS, 0.04, 0.40, (5, 500)),
)
BASE_UNITS = (BaseUnit.EACH,) * 7 + (BaseUnit.MILLIMETRE, BaseUnit.GRAM, BaseUnit.MILLILITRE)


@dataclass(frozen=True)
class Synthetic:
    network: Network
    engine: Engine
    stocked_positions: int  # positions with on hand > 0


def node_types(node_count: int) -> list[NodeType]:
    """Node types in NODE_MIX proportions; node 0 is always a DC."""
    types = [NodeType.DISTRIBUTION_CENTER]
    for node_type, share, _, _ in NODE_MIX:
        types += [node_type] * round(share * node_count)
    types = types[:node_count]
    types += [NodeType.STORE] * (node_count - len(types))
    return types


def build_network(node_count: int, sku_count: int) -> Network:
    nodes = tuple(
        Node(
            f"N{i:04d}",
            node_type,
            name=f"{node_type.name.lower()} {i}",
            tags=(node_type.name.lower(), REGIONS[i % len(REGIONS)]),
        )
        for i, node_type in enumerate(node_types(node_count))
    )
    skus = tuple(Sku(f"S{i:07d}", base_unit=BASE_UNITS[i % len(BASE_UNITS)]) for i in range(sku_count))
    return Network(nodes=nodes, skus=skus)


def on_hand_matrix(network: Network, seed: int) -> np.ndarray:
    """On hand per (SKU, node), int64[sku_count, node_count]; zero where not stocked."""
    rng = np.random.default_rng(seed)
    sku_count = len(network.skus)
    mix = {node_type: (stocked, bounds) for node_type, _, stocked, bounds in NODE_MIX}
    on_hand = np.zeros((sku_count, len(network.nodes)), dtype=np.int64)
    for j, node in enumerate(network.nodes):
        stocked, (low, high) = mix[node.node_type]
        column = rng.integers(low, high, size=sku_count, dtype=np.int64)
        column[rng.random(sku_count) >= stocked] = 0
        on_hand[:, j] = column
    return on_hand


def stock(engine: Engine, on_hand: np.ndarray) -> int:
    """Sets every non-zero position with ON_HAND_SET commands of BATCH_ITEMS items."""
    node_count = on_hand.shape[1]
    flat = on_hand.ravel()
    positions = np.flatnonzero(flat)  # SKU-major, so each batch touches nearby rows
    op = np.full(BATCH_ITEMS, ON_HAND_SET, dtype=np.int8)
    for start in range(0, len(positions), BATCH_ITEMS):
        chunk = positions[start : start + BATCH_ITEMS]
        command = engine.apply(
            UPDATE_ON_HAND,
            (chunk // node_count).astype(np.int32),
            (chunk % node_count).astype(np.int32),
            flat[chunk],
            op[: len(chunk)],
        )
        assert command.applied_count == len(chunk), "a stock load item failed"
    return len(positions)


def synthetic_network(node_count: int, sku_count: int, seed: int = 0) -> Synthetic:
    """A network of `node_count` nodes (N0000...) and `sku_count` SKUs (S0000000...), stocked."""
    network = build_network(node_count, sku_count)
    engine = Engine(network)
    on_hand = on_hand_matrix(network, seed)
    stocked = stock(engine, on_hand)
    assert np.array_equal(engine.core.bucket_array("on_hand"), on_hand), "stock load lost positions"
    return Synthetic(network, engine, stocked)
