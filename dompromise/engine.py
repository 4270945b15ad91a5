"""The engine: the only thing the service layer calls.

It owns the id <-> index interning and the core, turns requests in domain
terms (ids, quantities) into core commands and gathers, and hands back plain
numpy results. It knows nothing of gRPC; the core knows nothing of ids.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from dompromise import _core
from dompromise.errors import NotFoundError
from dompromise.model import Network, Node, Sku, StockRow

ITEM_OK = _core.ITEM_STATUS["OK"]
UPDATE_ON_HAND = _core.COMMAND_KIND["UPDATE_ON_HAND"]
ON_HAND_SET = _core.ON_HAND_OP["SET"]
ON_HAND_ADJUST = _core.ON_HAND_OP["ADJUST"]
BUCKETS = _core.BUCKETS
UNKNOWN_INDEX = -1


@dataclass(frozen=True)
class AvailabilityAnswer:
    """A gather's result. `cells` is row-major (SKU, node); empty for totals only.

    `buckets` (FULL view only) has one row per name in BUCKETS, same cell order.
    """

    sku_index: np.ndarray  # int32[s], -1 where the id is unknown
    node_index: np.ndarray  # int32[m], the breakdown's columns
    totals: np.ndarray  # int64[s]
    cells: np.ndarray  # int64[s * m] or empty
    buckets: np.ndarray | None  # int64[6, s * m] or None
    log_position: int


class Engine:
    """One replica's state and the ways to read and change it."""

    def __init__(self, network: Network, clock_ns: Callable[[], int] = time.time_ns):
        self.network = network
        self._clock_ns = clock_ns
        self._node_index = {node.node_id: i for i, node in enumerate(network.nodes)}
        self._sku_index = {sku.sku_id: i for i, sku in enumerate(network.skus)}
        assert len(self._node_index) == len(network.nodes), "duplicate node ids"
        assert len(self._sku_index) == len(network.skus), "duplicate SKU ids"
        self._nodes_by_tag: dict[str, list[int]] = {}
        for i, node in enumerate(network.nodes):
            for tag in node.tags:
                self._nodes_by_tag.setdefault(tag, []).append(i)
        self._core = _core.Core(
            len(network.nodes), len(network.skus), node_status=[int(n.status) for n in network.nodes]
        )
        self._sellable = self._core.sellable_nodes()
        self._sellable_mask = np.zeros(len(network.nodes), dtype=bool)
        self._sellable_mask[self._sellable] = True
        self._sellable_ids = [network.nodes[i].node_id for i in self._sellable]

    # ---- lookups ----------------------------------------------------------

    @property
    def log_position(self) -> int:
        return self._core.log_position

    @property
    def core(self) -> _core.Core:
        """The core itself, for tests and benchmarks; the service never uses it."""
        return self._core

    def node(self, node_id: str) -> Node | None:
        index = self._node_index.get(node_id)
        return None if index is None else self.network.nodes[index]

    def sku(self, sku_id: str) -> Sku | None:
        index = self._sku_index.get(sku_id)
        return None if index is None else self.network.skus[index]

    def node_ids(self, node_index: Iterable[int]) -> list[str]:
        """Ids of the indexed nodes; the default selection's list is built once."""
        if node_index is self._sellable:
            return self._sellable_ids
        nodes = self.network.nodes
        return [nodes[i].node_id for i in node_index]

    def sku_indices(self, sku_ids: Sequence[str]) -> np.ndarray:
        """Core indices of the ids, -1 for an unknown id."""
        get = self._sku_index.get
        return np.array([get(s, UNKNOWN_INDEX) for s in sku_ids], dtype=np.int32)

    def node_selection(self, node_ids: Sequence[str] = (), node_tags: Sequence[str] = ()) -> np.ndarray:
        """The sellable nodes named by id or carrying any tag; all sellable nodes if neither.

        An unknown node id raises NotFoundError naming its field; an unknown
        tag selects nothing (tags are open-ended labels).
        """
        if not node_ids and not node_tags:
            return self._sellable
        chosen = np.zeros(len(self.network.nodes), dtype=bool)
        for position, node_id in enumerate(node_ids):
            index = self._node_index.get(node_id)
            if index is None:
                raise NotFoundError("node", node_id, f"node_ids[{position}]")
            chosen[index] = True
        for tag in node_tags:
            chosen[self._nodes_by_tag.get(tag, [])] = True
        chosen &= self._sellable_mask
        return np.flatnonzero(chosen).astype(np.int32)

    # ---- reads ------------------------------------------------------------

    def availability(self, sku_ids: Sequence[str], node_index: np.ndarray,
                     with_cells: bool = True, with_buckets: bool = False) -> AvailabilityAnswer:
        """Totals and per-node availability of each SKU over the selected nodes."""
        sku_index = self.sku_indices(sku_ids)
        cell_count = len(sku_index) * len(node_index) if with_cells else 0
        totals = np.empty(len(sku_index), dtype=np.int64)
        cells = np.empty(cell_count, dtype=np.int64)
        self._core.gather_available(sku_index, node_index, cells, totals)
        buckets = None
        if with_buckets and with_cells:
            buckets = np.empty((len(BUCKETS), cell_count), dtype=np.int64)
            self._core.gather_buckets(sku_index, node_index, buckets)
        return AvailabilityAnswer(sku_index, node_index, totals, cells, buckets, self._core.log_position)

    # ---- writes -----------------------------------------------------------

    def update_on_hand(self, sku_ids: Sequence[str], node_ids: Sequence[str], ops: Sequence[int],
                       quantities: Sequence[int], all_or_nothing: bool = False) -> _core.Command:
        """Applies a batch of on-hand sets (ON_HAND_SET) and deltas (ON_HAND_ADJUST), in order, as one command."""
        sku = self.sku_indices(sku_ids)
        get = self._node_index.get
        node = np.array([get(n, UNKNOWN_INDEX) for n in node_ids], dtype=np.int32)
        return self.apply(UPDATE_ON_HAND, sku, node, np.asarray(quantities, dtype=np.int64),
                          np.asarray(ops, dtype=np.int8), all_or_nothing)

    def load_stock(self, rows: Sequence[StockRow]) -> _core.Command | None:
        """Sets on hand for every row, as one command (stock file load)."""
        if not rows:
            return None
        return self.update_on_hand(
            [r.sku_id for r in rows], [r.node_id for r in rows],
            [ON_HAND_SET] * len(rows), [r.on_hand_quantity for r in rows],
        )

    def apply(self, kind: int, sku: np.ndarray, node: np.ndarray, quantity: np.ndarray,
              op: np.ndarray, all_or_nothing: bool = False) -> _core.Command:
        """The one way state changes: stamp a command with the log's time and apply it.

        Until the command log lands (the reservations issue) the engine is
        its own sequencer; its clock is kept monotonic so the core's clock
        never goes backwards.
        """
        log_time_ns = max(self._clock_ns(), self._core.log_time_ns)
        command = _core.Command(kind, log_time_ns, sku, node, quantity, op, all_or_nothing)
        self._core.apply(command)
        return command
