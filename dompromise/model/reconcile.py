"""The difference between a configured network and the state's, as what log records carry.

Pure: two Networks in, the documents of the changes out. The replica turns
them into log records (ChangeNetwork, UpsertSkus) so the change happens at
one log position on every replica, and a replay never reads the config file.

Decisions (docs/config.md, "How the catalog and the network change"):
- nodes are never removed: a node the config leaves out stays at its index,
  disabled (its id cannot come back as another node);
- the config's SKUs are added or changed, never retired by leaving them out
  (SKUs added through the API are not in the file); a SKU retired through the
  API stays retired even if the file still lists it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from dompromise.model import document
from dompromise.model.network import Network, Node, NodeStatus, Sku


def merged_nodes(current: Network, proposed: Network) -> tuple[list[Node], list[str]]:
    """The nodes after a change: every current node at its index (the proposed version of it, or
    itself disabled if the proposal leaves it out), then the proposal's new nodes in its order.
    Also the ids of the nodes the proposal leaves out and that are not disabled yet."""
    proposed_by_id = {node.node_id: node for node in proposed.nodes}
    nodes: list[Node] = []
    closed: list[str] = []
    for node in current.nodes:
        new = proposed_by_id.pop(node.node_id, None)
        if new is None:
            if node.status != NodeStatus.DISABLED:
                closed.append(node.node_id)
            new = dataclasses.replace(node, status=NodeStatus.DISABLED)
        nodes.append(new)
    nodes.extend(node for node in proposed.nodes if node.node_id in proposed_by_id)
    return nodes, closed


def network_change(current: Network, configured: Network) -> str | None:
    """The network document to log so the state's network becomes the configured one, or None
    when they are the same (SKUs aside: those are catalog commands)."""
    nodes, _ = merged_nodes(current, configured)
    target = dataclasses.replace(configured, nodes=tuple(nodes), skus=())
    if target == dataclasses.replace(current, skus=()):
        return None
    return document.network_document(target)


def catalog_upserts(
    configured: tuple[Sku, ...], known: Callable[[str], Sku | None], retired: Callable[[str], bool]
) -> list[str]:
    """Documents of the configured SKUs the state lacks or has otherwise (retired ones left alone)."""
    return [document.sku_document(sku) for sku in configured if known(sku.sku_id) != sku and not retired(sku.sku_id)]
