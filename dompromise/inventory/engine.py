"""The engine: the only thing the service layer calls.

It owns the id <-> index interning and the core, turns requests in domain
terms (ids, quantities) into core commands and gathers, and hands back plain
numpy results. It knows nothing of gRPC; the core knows nothing of ids.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dompromise import _core
from dompromise.errors import FieldViolation, InvalidArgumentError, NotFoundError
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.capacity import CapacityCounts
from dompromise.inventory.channels import NONE, Channel, ResolvedView, floors, known_units, unit_size, unit_sizes
from dompromise.inventory.variants import VariantRegistry
from dompromise.model import attributes
from dompromise.model.attributes import Attributes
from dompromise.model.network import Network, Node, Sku
from dompromise.reservations import split as split_reserve
from dompromise.reservations.book import (
    Outcome,
    ReservationBook,
    ReservationView,
    fingerprint,
    pack_text,
    unpack_text,
)

# The core's stable numbers, re-exported so the service layer never imports _core.
ITEM_STATUS = _core.ITEM_STATUS
COMMAND_RESULT = _core.COMMAND_RESULT
ITEM_OK = ITEM_STATUS["OK"]
KIND = _core.COMMAND_KIND
UPDATE_ON_HAND = KIND["UPDATE_ON_HAND"]
RESULT = _core.COMMAND_RESULT
ON_HAND_SET = _core.ON_HAND_OP["SET"]
ON_HAND_ADJUST = _core.ON_HAND_OP["ADJUST"]
BUCKETS = _core.BUCKETS
SUPPLY_KIND = _core.SUPPLY_KIND
SUPPLY_ALL_KINDS = _core.SUPPLY_ALL_KINDS
EARLIEST_NOW = _core.EARLIEST["NOW"]
EARLIEST_NEVER = _core.EARLIEST["NEVER"]
SAFETY_STOCK_SCOPE = _core.SAFETY_STOCK_SCOPE
SAFETY_STOCK_CLEAR = _core.SAFETY_STOCK_CLEAR
UNAVAILABLE_REASON = _core.UNAVAILABLE_REASON
UNKNOWN_INDEX = -1
NEVER_NS = 2**63 - 1


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
    # Through a Channel with a unit: base units per unit of each SKU, 0 where
    # it lacks the unit (no figure then); quantities count whole units.
    unit: str = ""
    unit_size: np.ndarray | None = None  # int64[s]
    # Through a view with a low-stock threshold: each SKU's flag.
    low_stock: np.ndarray | None = None  # bool[s]
    # FULL view: unavailable by reason (UNAVAILABLE_REASON order), same cell order.
    reasons: np.ndarray | None = None  # int64[4, s * m] or None
    # with_variants: each SKU's rows (its unattributed row and variants).
    variants: VariantBreakdown | None = None


@dataclass(frozen=True)
class VariantBreakdown:
    """Per requested SKU, the rows its figures sum: SKU s has rows[starts[s]:starts[s + 1]]."""

    rows: np.ndarray  # int32[r]
    starts: np.ndarray  # int64[s]
    totals: np.ndarray  # int64[r]
    cells: np.ndarray  # int64[r * m]
    attributes: list[Attributes]  # per row; () for unattributed stock


@dataclass(frozen=True)
class _Gathered:
    """One gather, summed per requested SKU over its rows (see Engine._expansion)."""

    totals: np.ndarray  # int64[s]
    cells: np.ndarray  # int64[s * m], empty unless asked
    buckets: np.ndarray | None  # int64[6, s * m]
    reasons: np.ndarray | None  # int64[4, s * m]
    row_totals: np.ndarray | None = None  # int64[r], when expanded
    row_cells: np.ndarray | None = None  # int64[r * m], when expanded with cells


@dataclass(frozen=True)
class PhasedAnswer:
    """Time-phased availability: what each (SKU, node) can promise by each bucket end."""

    cells: np.ndarray  # int64[s, m, b], or empty for totals only
    totals: np.ndarray  # int64[s, b]: cells summed over the nodes
    earliest_ns: np.ndarray  # int64[s, m]: EARLIEST_NOW, an instant, or EARLIEST_NEVER


@dataclass(frozen=True)
class SupplyView:
    """A supply as the API shows it."""

    supply_id: str
    sku_id: str
    node_id: str
    kind: int  # SUPPLY_KIND
    eta_ns: int
    quantity: int  # open
    received_quantity: int


class Engine:
    """One replica's state and the ways to read and change it."""

    def __init__(self, network: Network, clock_ns: Callable[[], int] = time.time_ns, core: _core.Core | None = None):
        """A fresh state over `network`; or around `core` (from_state: a snapshot's, of this network)."""
        self.network = network
        self._clock_ns = clock_ns
        self._node_index = {node.node_id: i for i, node in enumerate(network.nodes)}
        self._sku_index = {sku.sku_id: i for i, sku in enumerate(network.skus)}
        self._node_ids = [node.node_id for node in network.nodes]  # by index, for answers
        self._sku_ids = [sku.sku_id for sku in network.skus]
        assert len(self._node_index) == len(network.nodes), "duplicate node ids"
        assert len(self._sku_index) == len(network.skus), "duplicate SKU ids"
        self._nodes_by_tag: dict[str, list[int]] = {}
        for i, node in enumerate(network.nodes):
            for tag in node.tags:
                self._nodes_by_tag.setdefault(tag, []).append(i)
        self._core = (
            core
            if core is not None
            else _core.Core(len(network.nodes), len(network.skus), node_status=[int(n.status) for n in network.nodes])
        )
        self._refresh_sellable()
        self._views = {
            view.view_id: ResolvedView(
                view, network, self._node_index, self._sku_index, self._nodes_by_tag, SUPPLY_ALL_KINDS
            )
            for view in network.views
        }
        self._known_units: frozenset[str] | None = None  # built on first use: a pass over the catalogue
        self._book = ReservationBook()
        # Supply ids <-> core supply indices, assigned in log order.
        self._supply_ids: list[str] = []
        self._supply_index: dict[str, int] = {}
        # Feed source ids <-> core feed rows, assigned in log order.
        self._source_ids: list[str] = []
        self._source_index: dict[str, int] = {}
        # Attribute variants: SKU rows of the core after the network's, in log order.
        self._variants = VariantRegistry(len(network.skus), len(network.nodes))
        self._declared_attributes = attributes.declared_keys(network)
        # Orders per (node, local day) of the nodes with a daily capacity (capacity.py).
        self._capacity = CapacityCounts(network)

    def _refresh_sellable(self) -> None:
        """Caches which nodes take new demand (after start-up and every status change)."""
        self._sellable = self._core.sellable_nodes()
        self._sellable_mask = np.zeros(len(self.network.nodes), dtype=bool)
        self._sellable_mask[self._sellable] = True
        self._sellable_ids = [self.network.nodes[i].node_id for i in self._sellable]

    def node_statuses(self) -> dict[str, int]:
        """Each node's status as the log has it (NodeStatus numbers)."""
        return {node.node_id: int(self._core.node_status_of(i)) for i, node in enumerate(self.network.nodes)}

    def now_ns(self) -> int:
        """The wall clock reads are phased against (never the core's: it has only the log's)."""
        return self._clock_ns()

    # ---- lookups ----------------------------------------------------------

    @property
    def log_position(self) -> int:
        return self._core.log_position

    @property
    def core(self) -> _core.Core:
        """The core itself, for tests and benchmarks; the service never uses it."""
        return self._core

    @property
    def capacity(self) -> CapacityCounts:
        """Daily shipping capacity: the orders counted per (node, local day), as of the log position."""
        return self._capacity

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
        """Core indices of the ids (int32), -1 for an unknown id."""
        return _core.indices_of(self._sku_index, sku_ids, UNKNOWN_INDEX)

    def node_indices(self, node_ids: Sequence[str]) -> np.ndarray:
        """Core indices of the ids (int32), -1 for an unknown id."""
        return _core.indices_of(self._node_index, node_ids, UNKNOWN_INDEX)

    def all_known_and_in_range(
        self, sku_ids: Sequence[str], node_ids: Sequence[str], quantities: Sequence[int]
    ) -> bool:
        """Whether every id is known and every quantity is 0 to QUANTITY_MAX (a bulk load's fast check)."""
        quantity = np.asarray(quantities, dtype=np.int64)
        return bool(
            (self.sku_indices(sku_ids) >= 0).all()
            and (self.node_indices(node_ids) >= 0).all()
            and ((quantity >= 0) & (quantity <= _core.QUANTITY_MAX)).all()
        )

    def node_selection(
        self, node_ids: Sequence[str] = (), node_tags: Sequence[str] = (), channel: Channel | None = None
    ) -> np.ndarray:
        """The sellable nodes named by id or carrying any tag; all sellable nodes if neither.

        An unknown node id raises NotFoundError naming its field; an unknown
        tag selects nothing (tags are open-ended labels). Through a channel
        view, only the view's nodes.
        """
        if channel is not None and channel.view is not None:
            selected = np.zeros(len(self.network.nodes), dtype=bool)
            selected[self.node_selection(node_ids, node_tags)] = True
            return np.flatnonzero(selected & channel.view.node_mask).astype(np.int32)
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

    def availability(
        self,
        sku_ids: Sequence[str],
        node_index: np.ndarray,
        with_cells: bool = True,
        with_buckets: bool = False,
        channel: Channel | None = None,
        required: Attributes = (),
        with_variants: bool = False,
    ) -> AvailabilityAnswer:
        """Totals and per-node availability of each SKU over the selected nodes: the sum
        of its unattributed stock and its variants, or of the variants carrying the
        `required` attribute values. with_variants adds the rows one by one.

        Through a channel: its view's cells and its unit (_channel_availability)."""
        if channel is not None:
            assert not with_variants, "no variant breakdown through a channel"
            return self._channel_availability(sku_ids, node_index, with_cells, with_buckets, channel, required)
        sku_index = self.sku_indices(sku_ids)
        if not required and not with_variants and not self._variants.any_variants(sku_index):
            # The hot path, one row per SKU: the plain gather, nothing in between.
            cell_count = len(sku_index) * len(node_index) if with_cells else 0
            totals = np.empty(len(sku_index), dtype=np.int64)
            cells = np.empty(cell_count, dtype=np.int64)
            self._core.gather_available(sku_index, node_index, cells, totals)
            if not (with_buckets and with_cells):
                return AvailabilityAnswer(sku_index, node_index, totals, cells, None, self._core.log_position)
            gathered = self._gather(sku_index, node_index, False, True)
            return AvailabilityAnswer(
                sku_index,
                node_index,
                totals,
                cells,
                gathered.buckets,
                self._core.log_position,
                reasons=gathered.reasons,
            )
        expansion = self._expansion(sku_index, required, with_variants)
        gathered = self._gather(
            sku_index, node_index, with_cells or with_variants, with_buckets and with_cells, expansion
        )
        variants = None
        if with_variants:
            rows, starts = expansion
            variants = VariantBreakdown(
                rows,
                starts,
                gathered.row_totals,
                gathered.row_cells,
                [self._variants.attributes_of(row) for row in rows.tolist()],
            )
        cells = gathered.cells if with_cells else np.empty(0, dtype=np.int64)
        return AvailabilityAnswer(
            sku_index,
            node_index,
            gathered.totals,
            cells,
            gathered.buckets,
            self._core.log_position,
            reasons=gathered.reasons,
            variants=variants,
        )

    def _expansion(
        self, sku_index: np.ndarray, required: Attributes = (), always: bool = False
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, starts): the core rows each requested SKU's figure sums, in
        reservation order, SKU s having rows[starts[s]:starts[s + 1]] (a SKU with
        none, or unknown, gets row -1, which gathers zeros). None when every SKU
        is its one row (no variants, nothing required): then the plain gather
        answers, exactly as fast as before variants."""
        if not always and not required and not self._variants.any_variants(sku_index):
            return None
        rows: list[int] = []
        starts: list[int] = []
        rows_for = self._variants.rows_for
        for sku in sku_index.tolist():
            starts.append(len(rows))
            rows.extend((rows_for(sku, required) if sku >= 0 else []) or [UNKNOWN_INDEX])
        return np.array(rows, dtype=np.int32), np.array(starts, dtype=np.int64)

    def variant_row_count(self, sku_ids: Sequence[str], required: Attributes = ()) -> int:
        """How many rows a with_variants answer for these SKUs has (for the breakdown limit)."""
        return len(self._expansion(self.sku_indices(sku_ids), required, True)[0])

    def _gather(
        self,
        sku_index: np.ndarray,
        node_index: np.ndarray,
        with_cells: bool,
        with_buckets: bool,
        expansion: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> _Gathered:
        """Totals, cells (if asked) and buckets and reasons (if asked) per SKU, summed over its rows."""
        rows = sku_index if expansion is None else expansion[0]
        row_count, node_count = len(rows), len(node_index)
        row_totals = np.empty(row_count, dtype=np.int64)
        row_cells = np.empty(row_count * node_count if with_cells else 0, dtype=np.int64)
        self._core.gather_available(rows, node_index, row_cells, row_totals)
        buckets = reasons = None
        if with_buckets:
            buckets = np.empty((len(BUCKETS), row_count * node_count), dtype=np.int64)
            self._core.gather_buckets(rows, node_index, buckets)
            reasons = np.empty((len(UNAVAILABLE_REASON), row_count * node_count), dtype=np.int64)
            self._core.gather_unavailable(rows, node_index, reasons)
        if expansion is None:
            return _Gathered(row_totals, row_cells, buckets, reasons)
        starts = expansion[1]

        def summed(table):  # int64[k, r * m] -> int64[k, s * m]
            grouped = np.add.reduceat(table.reshape(len(table), row_count, node_count), starts, axis=1)
            return grouped.reshape(len(table), -1)

        cells = summed(row_cells[None, :])[0] if with_cells else row_cells
        return _Gathered(
            np.add.reduceat(row_totals, starts),
            cells,
            None if buckets is None else summed(buckets),
            None if reasons is None else summed(reasons),
            row_totals,
            row_cells,
        )

    def phased_availability(
        self,
        sku_index: np.ndarray,
        node_index: np.ndarray,
        boundaries_ns: np.ndarray,
        kind_mask: int = SUPPLY_ALL_KINDS,
        wanted=0,
        with_cells: bool = True,
        required: Attributes = (),
    ) -> PhasedAnswer:
        """What each (SKU, node) can promise by each boundary, and when `wanted` units (one
        number, or one per SKU) first can be; summed over each SKU's rows as availability()."""
        expansion = self._expansion(sku_index, required)
        if expansion is not None:
            return self._phased_rows(sku_index, node_index, boundaries_ns, kind_mask, wanted, with_cells, expansion)
        return self._phased_plain(sku_index, node_index, boundaries_ns, kind_mask, wanted, with_cells)

    def _phased_plain(self, sku_index, node_index, boundaries_ns, kind_mask, wanted, with_cells) -> PhasedAnswer:
        """One core gather, one row per SKU."""
        sku_total, node_total, bucket_total = len(sku_index), len(node_index), len(boundaries_ns)
        cells = np.empty(sku_total * node_total * bucket_total if with_cells else 0, dtype=np.int64)
        totals = np.empty(sku_total * bucket_total, dtype=np.int64)
        earliest = np.empty(sku_total * node_total, dtype=np.int64)
        self._core.gather_phased(
            sku_index,
            node_index,
            np.ascontiguousarray(boundaries_ns, dtype=np.int64),
            kind_mask,
            np.ascontiguousarray(np.broadcast_to(np.asarray(wanted, dtype=np.int64), (sku_total,))),
            cells,
            totals,
            earliest,
        )
        if with_cells:
            cells = cells.reshape(sku_total, node_total, bucket_total)
        return PhasedAnswer(cells, totals.reshape(sku_total, bucket_total), earliest.reshape(sku_total, node_total))

    def _phased_rows(
        self, sku_index, node_index, boundaries_ns, kind_mask, wanted, with_cells, expansion
    ) -> PhasedAnswer:
        """phased_availability() over several rows per SKU, summed. A node's earliest
        time is NOW when its rows together have `wanted` available now, else the
        earliest any one row can promise it: future supply lands on a SKU's
        unattributed row, and a backorder is held from that one row."""
        rows, starts = expansion
        wanted_sku = np.broadcast_to(np.asarray(wanted, dtype=np.int64), (len(sku_index),))
        wanted_rows = np.repeat(wanted_sku, np.diff(np.append(starts, len(rows))))
        phased = self._phased_plain(rows, node_index, boundaries_ns, kind_mask, wanted_rows, True)
        cells = np.add.reduceat(phased.cells, starts, axis=0)
        totals = np.add.reduceat(phased.totals, starts, axis=0)
        earliest = np.where(phased.earliest_ns == EARLIEST_NEVER, NEVER_NS, phased.earliest_ns)
        earliest = np.minimum.reduceat(earliest, starts, axis=0)
        now = self._gather(sku_index, node_index, True, False, expansion).cells.reshape(len(sku_index), -1)
        earliest = np.where((now >= wanted_sku[:, None]) | (wanted_sku[:, None] <= 0), EARLIEST_NOW, earliest)
        earliest = np.where(earliest == NEVER_NS, EARLIEST_NEVER, earliest)
        return PhasedAnswer(cells if with_cells else np.empty(0, dtype=np.int64), totals, earliest)

    # ---- channels: views, segments, units (see channels.py) -------------------

    def channel(
        self, view_id: str = "", segment: str = "", unit: str = "", segment_field: str = "customer_segment"
    ) -> Channel:
        """How a request asks, checked: NotFoundError for an unknown view,
        InvalidArgumentError for a segment the view does not declare (or no
        view) and for a unit no SKU of the network has. Field names are the
        requests' (channel_view_id, `segment_field`, unit)."""
        view = None
        if view_id:
            view = self._views.get(view_id)
            if view is None:
                raise NotFoundError("view", view_id, "channel_view_id")
        if segment and view is None:
            raise InvalidArgumentError([FieldViolation(segment_field, "needs channel_view_id")])
        if segment and segment not in view.segments:
            known = ", ".join(sorted(view.segments)) or "none"
            raise InvalidArgumentError(
                [FieldViolation(segment_field, f"view {view_id!r} has no segment {segment!r} (it has: {known})")]
            )
        if unit and unit not in self._units():
            raise InvalidArgumentError([FieldViolation("unit", f"no SKU of the network has a unit {unit!r}")])
        return Channel(view, segment, unit)

    def _units(self) -> frozenset[str]:
        if self._known_units is None:
            self._known_units = known_units(self.network.skus)
        return self._known_units

    def unit_size(self, sku_id: str, unit: str) -> int | None:
        """Base units per `unit` of the SKU (1 for its base unit spelling); 0 if it has
        no such unit; None if the SKU is unknown."""
        sku = self.sku(sku_id)
        return None if sku is None else unit_size(sku, unit)

    def channel_floors(
        self, channel: Channel, sku_index: np.ndarray, node_index: np.ndarray, buckets: np.ndarray | None
    ) -> np.ndarray:
        """int64[s, m]: what a requester through the channel leaves at each cell (0 without a view).

        `buckets` (gather_buckets' rows, cells s * m) is needed when the view
        has percents or a safety stock (ResolvedView.needs_buckets).
        """
        shape = (len(sku_index), len(node_index))
        view = channel.view
        if view is None:
            return np.zeros(shape, dtype=np.int64)
        fixed, percent = view.protection(channel.segment, sku_index, node_index)
        if not view.needs_buckets:
            return fixed
        view_safety = np.broadcast_to(view.per_sku("safety_stock", sku_index)[:, None], shape)
        return floors(fixed, percent, view_safety, buckets[0].reshape(shape), buckets[4].reshape(shape))

    def _channel_availability(
        self, sku_ids, node_index, with_cells, with_buckets, channel, required: Attributes = ()
    ) -> AvailabilityAnswer:
        """availability() through a view (cells less the floors, capped) and/or in a unit (whole units per cell).
        Floors and caps apply to a SKU's figure, summed over its rows first."""
        sku_index = self.sku_indices(sku_ids)
        shape = (len(sku_index), len(node_index))
        view = channel.view
        gathered = self._gather(
            sku_index,
            node_index,
            True,
            (with_buckets and with_cells) or (view is not None and view.needs_buckets),
            self._expansion(sku_index, required),
        )
        cells = gathered.cells.reshape(shape)
        buckets, reasons = gathered.buckets, gathered.reasons
        low_stock = None
        if view is not None:
            cells = np.maximum(cells - self.channel_floors(channel, sku_index, node_index, buckets), 0)
            cap = view.per_sku("exposure_cap", sku_index)[:, None]
            cells = np.where(cap >= 0, np.minimum(cells, cap), cells)
            threshold = view.per_sku("low_stock_threshold", sku_index)
            low_stock = (threshold >= 0) & (cells.sum(axis=1) <= threshold)
            if buckets is not None:
                view_safety = view.per_sku("safety_stock", sku_index)[:, None]
                buckets[4] = np.maximum(buckets[4].reshape(shape), view_safety).ravel()
                buckets[5] = cells.ravel()
        sizes = None
        if channel.unit:
            sizes = unit_sizes(self.network.skus, channel.unit, sku_index)
            divisor = np.where(sizes > 0, sizes, 1)[:, None]
            cells = cells // divisor
            if buckets is not None:
                buckets = (buckets.reshape(len(BUCKETS), *shape) // divisor).reshape(len(BUCKETS), -1)
                reasons = (reasons.reshape(len(reasons), *shape) // divisor).reshape(len(reasons), -1)
        if not (with_buckets and with_cells):
            buckets = reasons = None
        totals = cells.sum(axis=1)
        flat = cells.ravel() if with_cells else np.empty(0, dtype=np.int64)
        return AvailabilityAnswer(
            sku_index,
            node_index,
            totals,
            flat,
            buckets,
            self._core.log_position,
            channel.unit,
            sizes,
            low_stock,
            reasons,
        )

    def channel_phased_availability(
        self,
        sku_index: np.ndarray,
        node_index: np.ndarray,
        boundaries_ns,
        kind_mask: int,
        wanted,
        with_cells: bool,
        channel: Channel,
        horizon_end_ns: int | None = None,
        required: Attributes = (),
    ) -> PhasedAnswer:
        """phased_availability() through a channel: the view's supply kinds, each cell less
        its floor and capped, in whole units; an earliest time past the horizon is never."""
        view = channel.view
        shape = (len(sku_index), len(node_index))
        if view is not None:
            kind_mask &= view.kind_mask
        buckets = None
        if view is not None and view.needs_buckets:
            buckets = self._gather(sku_index, node_index, False, True, self._expansion(sku_index, required)).buckets
        floor = self.channel_floors(channel, sku_index, node_index, buckets)
        sizes = unit_sizes(self.network.skus, channel.unit, sku_index) if channel.unit else np.ones(shape[0], np.int64)
        # In Python ints: wanted (<= QUANTITY_MAX) times a pack size may not fit an int64;
        # more than QUANTITY_MAX is never available anyway. 0 for a SKU without the unit.
        # `wanted` is one number, or one per SKU (a promise's order lines).
        per_sku = wanted.tolist() if isinstance(wanted, np.ndarray) else [wanted] * len(sizes)
        wanted_base = np.array(
            [min(units * size, _core.QUANTITY_MAX + 1) for units, size in zip(per_sku, sizes.tolist())], dtype=np.int64
        )
        cells, earliest = self._phased_with_floors(
            sku_index, node_index, boundaries_ns, kind_mask, wanted_base, floor, required
        )
        cells = np.maximum(cells - floor[:, :, None], 0)
        if view is not None:
            cap = view.per_sku("exposure_cap", sku_index)[:, None]
            cells = np.where(cap[:, :, None] >= 0, np.minimum(cells, cap[:, :, None]), cells)
            earliest = np.where((cap >= 0) & (cap < wanted_base[:, None]), EARLIEST_NEVER, earliest)
        if horizon_end_ns is not None:
            earliest = np.where(earliest > horizon_end_ns, EARLIEST_NEVER, earliest)
        cells = cells // np.where(sizes > 0, sizes, 1)[:, None, None]
        totals = cells.sum(axis=1)
        return PhasedAnswer(cells if with_cells else np.empty(0, dtype=np.int64), totals, earliest)

    def _phased_with_floors(self, sku_index, node_index, boundaries_ns, kind_mask, wanted_base, floor, required=()):
        """(cells int64[s, m, b], earliest int64[s, m]) with each position's earliest
        time for wanted + its floor: one gather per node when floors differ by node."""
        if not wanted_base.any() or not floor.any():
            phased = self.phased_availability(
                sku_index, node_index, boundaries_ns, kind_mask, wanted_base, True, required
            )
            return phased.cells, phased.earliest_ns
        columns = [
            self.phased_availability(
                sku_index, node_index[j : j + 1], boundaries_ns, kind_mask, wanted_base + floor[:, j], True, required
            )
            for j in range(len(node_index))
        ]
        cells = np.concatenate([column.cells for column in columns], axis=1)
        earliest = np.concatenate([column.earliest_ns for column in columns], axis=1)
        return cells, earliest

    def reserve_protection(
        self, channel: Channel, sku_ids: Sequence[str], node_ids: Sequence[str]
    ) -> tuple[list[int], list[int], list[int]]:
        """Per reservation line through a view: (protected quantity, protected percent,
        view safety stock or -1), for the log record; the engine turns them into
        floors when the record applies (on hand then). Raises InvalidArgumentError
        naming lines[i].node_id for a known node outside the view."""
        view = channel.view
        assert view is not None, "protection needs a view"
        sku_index, node_index = self.sku_indices(sku_ids), self.node_indices(node_ids)
        outside = [
            FieldViolation(f"lines[{i}].node_id", f"node {node_ids[i]!r} is not in view {view.view_id!r}")
            for i, node in enumerate(node_index.tolist())
            if node >= 0 and not view.node_mask[node]
        ]
        if outside:
            raise InvalidArgumentError(outside)
        fixed, percent = view.protection(channel.segment, sku_index, np.maximum(node_index, 0), pairs=True)
        return fixed.tolist(), percent.tolist(), view.per_sku("safety_stock", sku_index).tolist()

    def supply(self, supply_id: str) -> SupplyView | None:
        index = self._supply_index.get(supply_id)
        if index is None:
            return None
        sku, node, kind, eta_ns, quantity, received = self._core.supply(index)
        return SupplyView(
            supply_id,
            self.network.skus[sku].sku_id,
            self.network.nodes[node].node_id,
            int(kind),
            int(eta_ns),
            int(quantity),
            int(received),
        )

    def take_changed_skus(self) -> np.ndarray:
        """Indices of the SKUs written since the last call (each once, a variant's
        change as its SKU's), for watchers; clears them."""
        rows = self._core.take_changed_skus()
        if self._variants.count == 0:
            return rows
        parents = self._variants.parents_of(rows)
        _, first = np.unique(parents, return_index=True)
        return parents[np.sort(first)]

    # ---- attributes and variants ----------------------------------------------

    def attribute_violations(self, sku_id: str, values: Mapping[str, str], field: str) -> list[FieldViolation]:
        """What is wrong with the attributes of an item of SKU sku_id (keys it may not carry...)."""
        return attributes.violations(values, attributes.allowed_keys(self.network, self.sku(sku_id)), field)

    def required_attribute_violations(self, values: Mapping[str, str], field: str) -> list[FieldViolation]:
        """What is wrong with required attribute values (keys the network does not declare...)."""
        return attributes.violations(values, self._declared_attributes, field)

    def new_variant_count(self, sku_ids: Sequence[str], values: Sequence[Mapping[str, str]]) -> int:
        """How many variants these items would create (known SKUs, attributes not seen yet)."""
        new = set()
        for sku_id, mapping in zip(sku_ids, values):
            parent = self._sku_index.get(sku_id)
            if mapping and parent is not None:
                key = (parent, attributes.canonical(mapping))
                if self._variants.row_of(*key) is None:
                    new.add(key)
        return len(new)

    def variants_free(self) -> int:
        return self._variants.free

    @property
    def variant_count(self) -> int:
        return self._variants.count

    def _attributed_rows(self, sku: np.ndarray, node: np.ndarray, attribute_sets) -> tuple[np.ndarray, dict]:
        """The core row of each item of a record: its SKU's, or its variant's (created
        now, in log order, if new). Returns (rows, {item: status the engine answers});
        such items get row -1 (the core changes nothing for them)."""
        count = len(sku)
        if not attribute_sets:
            return sku, {}
        sets = self._attribute_sets(attribute_sets, count)
        rows, answered, created = sku.copy(), {}, 0
        for i, values in enumerate(sets):
            if values is None:
                rows[i], answered[i] = UNKNOWN_INDEX, ITEM_STATUS["MALFORMED"]
            elif values and sku[i] >= 0 and node[i] >= 0:
                row = self._variants.row_of(int(sku[i]), values)
                if row is None and self._variants.free == 0:
                    rows[i], answered[i] = UNKNOWN_INDEX, ITEM_STATUS["VARIANT_LIMIT_REACHED"]
                    continue
                if row is None:
                    row = self._variants.add(int(sku[i]), values)
                    created += 1
                rows[i] = row
        if created:
            first = self._core.add_skus(created)
            assert first + created == self._core.sku_count == self._variants.base_count + self._variants.count
        return rows, answered

    @staticmethod
    def _attribute_sets(attribute_sets, count: int) -> list[Attributes | None]:
        """A record's AttributeSets per item (() for none, None where malformed)."""
        if not attribute_sets:
            return [()] * count
        if len(attribute_sets) != count:
            return [None] * count
        return [attributes.from_record(list(a.keys), list(a.values)) for a in attribute_sets]

    def variant_attributes(self, row: int) -> Attributes:
        """The attribute values of a core SKU row (() for a network SKU's own row)."""
        return self._variants.attributes_of(row)

    # ---- writes -----------------------------------------------------------

    def update_on_hand(
        self,
        sku_ids: Sequence[str],
        node_ids: Sequence[str],
        ops: Sequence[int],
        quantities: Sequence[int],
        all_or_nothing: bool = False,
    ) -> _core.Command:
        """Applies a batch of on-hand sets (ON_HAND_SET) and deltas (ON_HAND_ADJUST), in order, as one command.

        Outside any log: for tests, benchmarks and tools that own the engine.
        The engine of a Replica changes only through its log (apply_record).
        """
        sku = self.sku_indices(sku_ids)
        get = self._node_index.get
        node = np.array([get(n, UNKNOWN_INDEX) for n in node_ids], dtype=np.int32)
        return self.apply(
            UPDATE_ON_HAND,
            sku,
            node,
            np.asarray(quantities, dtype=np.int64),
            np.asarray(ops, dtype=np.int8),
            all_or_nothing,
        )

    def apply(
        self,
        kind: int,
        sku: np.ndarray,
        node: np.ndarray,
        quantity: np.ndarray,
        op: np.ndarray,
        all_or_nothing: bool = False,
    ) -> _core.Command:
        """Applies a command outside any log, stamped with this engine's own monotonic clock.

        For tests, benchmarks and tools that own the engine. A replica's engine
        changes only through apply_record, in log order, with the log's clock.
        """
        log_time_ns = max(self._clock_ns(), self._core.log_time_ns)
        command = _core.Command(kind, log_time_ns, sku, node, quantity, op, all_or_nothing)
        self._core.apply(command)
        return command

    # ---- commands from the log ----------------------------------------------

    def apply_record(self, record: log_pb2.LogRecord, log_position: int) -> Outcome:
        """Applies one log record at its position; the same log gives the same state.

        A record whose request_id was seen applies as a Tick (the clock still
        moves) and returns the first outcome, or a conflict if the payload differs.
        """
        assert log_position == self._core.log_position + 1, "log records apply in order, once"
        log_time_ns = record.log_time_ns
        self._book.forget_before(log_time_ns)
        key = record.request_id
        if key:
            print_ = _fingerprint_of(record)
            first = self._book.seen(key, print_)
            if first is not None:
                self._core.apply(_core.Command(KIND["TICK"], log_time_ns))
                self._count_capacity(None)
                return first
        outcome = self._apply_command(record, log_position)
        if key:
            self._book.remember(key, print_, log_time_ns, outcome)
        self._count_capacity(record)
        return outcome

    # Records that change one reservation, named by its id.
    _NAMES_RESERVATION = frozenset(("commit", "release", "extend", "ship", "cancel_lines"))

    def _count_capacity(self, record: log_pb2.LogRecord | None) -> None:
        """Brings the capacity counts up to the record just applied (in log order:
        every replica counts alike): new reservations, the one it named, expiries."""
        if not self._capacity.enabled:
            return
        touched = -1
        which = record.WhichOneof("command") if record is not None else None
        if which in self._NAMES_RESERVATION:
            touched = self._book.index_of(getattr(record, which).reservation_id)
        self._capacity.sync(self._core, self._book.create_ns_of, touched)

    def _apply_command(self, record: log_pb2.LogRecord, log_position: int) -> Outcome:
        which = record.WhichOneof("command")
        time_ns = record.log_time_ns
        if which == "update_on_hand":
            body = record.update_on_hand
            sequenced = {}
            if body.source_ids:
                sequenced = dict(
                    ref=self._source_rows(body.source_ids), time_ns=np.asarray(body.sequences, dtype=np.int64)
                )
            return self._apply_attributed(UPDATE_ON_HAND, time_ns, body, body.ops, **sequenced)
        if which == "set_unavailable":
            body = record.set_unavailable
            return self._apply_attributed(KIND["SET_UNAVAILABLE"], time_ns, body, body.reasons)
        if which == "reserve":
            return self._apply_reserve(record.reserve, time_ns, log_position)
        if which in ("commit", "release"):
            body = getattr(record, which)
            index = self._book.index_of(body.reservation_id)
            command = _core.Command(KIND[which.upper()], time_ns, reservation=index)
            self._core.apply(command)
            if which == "commit" and command.result == RESULT["OK"]:
                self._book.set_order(index, body.order_id)
            return self._outcome(command, (), index)
        if which == "extend":
            body = record.extend
            index = self._book.index_of(body.reservation_id)
            command = _core.Command(KIND["EXTEND"], time_ns, reservation=index, deadline_ns=time_ns + body.ttl_ns)
            self._core.apply(command)
            return self._outcome(command, (), index)
        if which in ("ship", "cancel_lines"):
            body = getattr(record, which)
            index = self._book.index_of(body.reservation_id)
            count = len(body.line_numbers)
            command = _core.Command(
                KIND[which.upper()],
                time_ns,
                np.zeros(count, np.int32),
                np.zeros(count, np.int32),
                np.asarray(body.quantities, dtype=np.int64),
                reservation=index,
                line=np.asarray(body.line_numbers, dtype=np.int32),
            )
            self._core.apply(command)
            return self._outcome(command, command.filled, index)
        if which == "allocate_wave":
            return self._apply_wave(record.allocate_wave, time_ns, log_position)
        if which == "set_node_status":
            body = record.set_node_status
            count = len(body.node_ids)
            get = self._node_index.get
            node = np.array([get(n, UNKNOWN_INDEX) for n in body.node_ids], dtype=np.int32)
            command = _core.Command(
                KIND["SET_NODE_STATUS"],
                time_ns,
                np.zeros(count, np.int32),
                node,
                np.zeros(count, np.int64),
                np.asarray(body.statuses, dtype=np.int8),
            )
            self._core.apply(command)
            self._refresh_sellable()
            return self._outcome(command, ())
        if which == "upsert_supply":
            return self._apply_upsert_supply(record.upsert_supply, time_ns)
        if which == "receive_supply":
            body = record.receive_supply
            get = self._supply_index.get
            count = len(body.supply_ids)
            command = _core.Command(
                KIND["RECEIVE_SUPPLY"],
                time_ns,
                np.zeros(count, np.int32),
                np.zeros(count, np.int32),
                np.asarray(body.quantities, dtype=np.int64),
                np.asarray(body.dispositions, dtype=np.int8),
                all_or_nothing=body.all_or_nothing,
                ref=np.array([get(s, UNKNOWN_INDEX) for s in body.supply_ids], dtype=np.int64),
            )
            self._core.apply(command)  # an unknown id is -1: SUPPLY_NOT_FOUND
            return self._outcome(command, command.on_hand_after)
        if which == "set_safety_stock":
            return self._apply_safety_stock(record.set_safety_stock, time_ns)
        if which == "return_stock":
            body = record.return_stock
            command = self._command(
                KIND["RETURN"],
                time_ns,
                body.sku_ids,
                body.node_ids,
                body.quantities,
                op=np.asarray(body.dispositions, dtype=np.int8),
            )
            return self._outcome(command, command.filled)
        # A tick; or no command / one this version does not know, which the
        # core records as malformed (kind 0) without changing anything.
        command = _core.Command(KIND["TICK"] if which == "tick" else 0, time_ns)
        self._core.apply(command)
        return self._outcome(command, ())

    def _apply_attributed(self, kind: int, log_time_ns: int, body, ops, **options) -> Outcome:
        """A stock command whose items may name attribute variants (update_on_hand, set_unavailable)."""
        sku, node = self.sku_indices(body.sku_ids), self.node_indices(body.node_ids)
        rows, answered = self._attributed_rows(sku, node, body.attributes)
        command = _core.Command(
            kind,
            log_time_ns,
            rows,
            node,
            _core.int64_column(body.quantities),
            np.asarray(ops, dtype=np.int8),
            all_or_nothing=body.all_or_nothing,
            **options,
        )
        self._core.apply(command)
        for item, status in answered.items():
            command.status[item] = status
        return self._outcome(command, command.on_hand_after)

    def _apply_safety_stock(self, body, time_ns: int) -> Outcome:
        """A rule's scope is which ids it names: both a position, a SKU alone the SKU, a node alone the node."""
        scope = [
            SAFETY_STOCK_SCOPE["SKU" if not node_id else "NODE" if not sku_id else "POSITION"]
            for sku_id, node_id in zip(body.sku_ids, body.node_ids)
        ]
        command = self._command(
            KIND["SET_SAFETY_STOCK"],
            time_ns,
            body.sku_ids,
            body.node_ids,
            body.quantities,
            op=np.asarray(scope, dtype=np.int8),
            all_or_nothing=body.all_or_nothing,
        )
        return self._outcome(command, command.on_hand_after)

    def _apply_reserve(self, body, time_ns: int, log_position: int) -> Outcome:
        command = self._reserve_lines(body, time_ns, time_ns + body.ttl_ns, body.allow_partial, True, body)
        index = -1
        if command.result == RESULT["OK"]:
            index = command.reservation
            self._book.add(index, log_position, time_ns, body.order_id, body.customer_id)
        return self._outcome(command, command.filled, index)

    def _reserve_lines(
        self, lines, time_ns: int, deadline_ns: int, partial: bool, advance: bool, protection=None
    ) -> _core.Command | split_reserve.Held:
        """Holds the lines of a Reserve record or a wave order as one core command.
        Lines of SKUs with variants, or requiring attribute values, are planned
        over their rows (split_reserve.py); others go to the core as they are."""
        count = len(lines.sku_ids)
        sku = self.sku_indices(lines.sku_ids)
        required_sets = getattr(lines, "required_attributes", ())
        required = self._attribute_sets(required_sets, count) if required_sets else [()] * count
        due = getattr(lines, "backorder_by_ns", ())
        if (not required_sets or all(values == () for values in required)) and not self._variants.any_variants(sku):
            floor = self._reserve_floors(protection) if protection is not None else None
            command = _core.Command(
                KIND["RESERVE"],
                time_ns,
                sku,
                self.node_indices(lines.node_ids),
                _core.int64_column(lines.quantities),
                all_or_nothing=not partial,
                deadline_ns=deadline_ns,
                time_ns=_core.int64_column(due) if due else None,
                floor=floor,
            )
            self._core.apply(command, advance)
            return command
        due = list(due)
        # Holds due by now expire before the plan reads what is available.
        self._core.apply(_core.Command(KIND["TICK"], time_ns), False)
        node = self.node_indices(lines.node_ids)
        line_rows = [
            self._variants.rows_for(s, values) if s >= 0 and values is not None else []
            for s, values in zip(sku.tolist(), required)
        ]
        floor = self._reserve_floors(protection, line_rows) if protection is not None else None
        plans = split_reserve.plan(
            sku.tolist(),
            node.tolist(),
            list(lines.quantities),
            due or [0] * count,
            [0] * count if floor is None else floor.tolist(),
            required,
            self._variants.rows_for,
            self._core.bucket_array("available"),
            self._sellable_mask,
            partial,
        )
        return split_reserve.hold(self._core, plans, time_ns, deadline_ns, partial, advance)

    def _reserve_floors(self, body, line_rows: list[list[int]] | None = None) -> np.ndarray | None:
        """Each line's floor from the protection its record carries, with on hand and
        safety stock as they are now (in log order: the same on every replica). The
        record, not the config, says what is protected: an edited view never
        changes how an old record replays."""
        count = len(body.sku_ids)
        columns = (body.protected_quantities, body.protected_percents, body.channel_safety_stock_quantities)
        if not any(columns):
            return None
        if any(column and len(column) != count for column in columns):
            return np.full(count, -1, dtype=np.int64)  # a negative floor: the core records it MALFORMED
        # Clipped so no sum below can overflow, whatever a record holds.
        fixed = np.clip(np.asarray(body.protected_quantities or [0] * count, dtype=np.int64), 0, _core.QUANTITY_MAX)
        percent = np.clip(np.asarray(body.protected_percents or [0] * count, dtype=np.int64), 0, 100)
        view_safety = np.clip(
            np.asarray(body.channel_safety_stock_quantities or [NONE] * count, dtype=np.int64), NONE, _core.QUANTITY_MAX
        )
        sku, node = self.sku_indices(body.sku_ids), self.node_indices(body.node_ids)
        known = (sku >= 0) & (node >= 0)  # unknown lines fail in the core: any floor will do
        on_hand = np.zeros(count, dtype=np.int64)
        safety = np.zeros(count, dtype=np.int64)
        if line_rows is None:
            on_hand[known] = self._core.bucket_array("on_hand")[sku[known], node[known]]
            safety[known] = self._core.bucket_array("safety_stock")[sku[known], node[known]]
        else:  # a line held from several rows leaves its protection at them together
            for i in np.flatnonzero(known).tolist():
                on_hand[i] = self._core.bucket_array("on_hand")[line_rows[i], node[i]].sum()
                safety[i] = self._core.bucket_array("safety_stock")[line_rows[i], node[i]].sum()
        return floors(fixed, percent, view_safety, on_hand, safety)

    def _source_rows(self, source_ids) -> np.ndarray:
        """Core feed rows of the items' sources ("" = -1, not sequenced), adding new
        sources in log order; one past FEED_SOURCES_MAX makes its items MALFORMED."""
        rows = np.empty(len(source_ids), dtype=np.int64)
        for i, source_id in enumerate(source_ids):
            if not source_id:
                rows[i] = -1
                continue
            row = self._source_index.get(source_id)
            if row is None and len(self._source_ids) < _core.FEED_SOURCES_MAX:
                row = self._source_index[source_id] = len(self._source_ids)
                self._source_ids.append(source_id)
            rows[i] = _core.FEED_SOURCES_MAX if row is None else row
        return rows

    def feed_source_known(self, source_id: str) -> bool:
        return source_id in self._source_index

    def feed_sources_free(self) -> int:
        return _core.FEED_SOURCES_MAX - len(self._source_ids)

    def _apply_upsert_supply(self, body, time_ns: int) -> Outcome:
        """Interns new supply ids (in log order, so every replica numbers them alike) and applies."""
        get = self._node_index.get
        node = np.array([get(n, UNKNOWN_INDEX) for n in body.node_ids], dtype=np.int32)
        sku = self.sku_indices(body.sku_ids)
        ref = np.zeros(len(body.supply_ids), dtype=np.int64)
        new: dict[str, int] = {}
        for i, supply_id in enumerate(body.supply_ids):
            index = self._supply_index.get(supply_id)
            if index is None and sku[i] >= 0 and node[i] >= 0:
                # A new id: the next free index, unless named earlier in this command.
                index = new.setdefault(supply_id, len(self._supply_ids) + len(new))
            ref[i] = 0 if index is None else index
        command = _core.Command(
            KIND["UPSERT_SUPPLY"],
            time_ns,
            sku,
            node,
            np.asarray(body.quantities, dtype=np.int64),
            np.asarray(body.kinds, dtype=np.int8),
            all_or_nothing=body.all_or_nothing,
            time_ns=np.asarray(body.eta_ns, dtype=np.int64),
            ref=ref,
        )
        self._core.apply(command)
        created = self._core.supply_count - len(self._supply_ids)
        for supply_id, index in sorted(new.items(), key=lambda item: item[1])[:created]:
            self._supply_index[supply_id] = index
            self._supply_ids.append(supply_id)
        return self._outcome(command, command.on_hand_after)

    def _apply_wave(self, wave, time_ns: int, log_position: int) -> Outcome:
        """Allocates the orders one by one in (priority, need-by, request order) order.

        Each order is a reserve and an immediate commit inside this one log
        record, so a wave is atomic with respect to every other command.
        """
        never_ns = 2**63 - 1
        ranked = sorted(
            range(len(wave.orders)), key=lambda i: (wave.orders[i].priority, wave.orders[i].need_by_ns or never_ns, i)
        )
        parts: list[Outcome | None] = [None] * len(wave.orders)
        for rank, position in enumerate(ranked):
            order = wave.orders[position]
            command = self._reserve_lines(order, time_ns, time_ns + 1, order.allow_partial, False)
            index = -1
            if command.result == RESULT["OK"]:
                index = command.reservation
                self._book.add(index, log_position, time_ns, order.order_id, order.customer_id, wave_rank=rank)
                commit = _core.Command(KIND["COMMIT"], time_ns, reservation=index)
                self._core.apply(commit, False)
            outcome = self._outcome(command, command.filled, index)
            parts[position] = Outcome(
                log_position=log_position,
                log_time_ns=time_ns,
                result=rank,
                item_status=outcome.item_status,
                item_quantity=outcome.item_quantity,
                item_available=outcome.item_available,
                applied_count=outcome.applied_count,
                reservation=outcome.reservation,
            )
        tick = _core.Command(KIND["TICK"], time_ns)
        self._core.apply(tick)
        return Outcome(log_position=log_position, log_time_ns=time_ns, result=RESULT["OK"], parts=tuple(parts))

    def _command(self, kind, log_time_ns, sku_ids, node_ids, quantities, advance=True, **options) -> _core.Command:
        """A command of a record's ids and quantities (a protobuf repeated int64), applied."""
        command = _core.Command(
            kind,
            log_time_ns,
            self.sku_indices(sku_ids),
            self.node_indices(node_ids),
            _core.int64_column(quantities),
            **options,
        )
        self._core.apply(command, advance)
        return command

    def _outcome(self, command: _core.Command, quantities, reservation_index: int = -1) -> Outcome:
        view = self.reservation_view(reservation_index) if reservation_index >= 0 else None
        return Outcome(
            log_position=command.log_position,
            log_time_ns=command.log_time_ns,
            result=command.result,
            item_status=tuple(command.status.tolist()),
            item_quantity=tuple(np.asarray(quantities).tolist()),
            item_available=tuple(command.available_after.tolist()),
            applied_count=command.applied_count,
            reservation=view,
        )

    # ---- reservation reads ----------------------------------------------------

    def reservation_view(self, index: int) -> ReservationView:
        state, expire_ns, rows, node, quantity, shipped, due_ns = self._core.reservation_lists(index)
        meta = self._book.meta(index)
        skus, nodes, variants = self._sku_ids, self._node_ids, self._variants
        base_count = variants.base_count
        if not rows or max(rows) < base_count:  # no variant rows: a row is its SKU's index
            lines = tuple(
                [
                    (skus[s], nodes[n], q, shipped_quantity, due)
                    for s, n, q, shipped_quantity, due in zip(rows, node, quantity, shipped, due_ns)
                ]
            )
            held = ()
        else:
            lines = tuple(
                [
                    (skus[variants.parent_of_row(s)], nodes[n], q, shipped_quantity, due)
                    for s, n, q, shipped_quantity, due in zip(rows, node, quantity, shipped, due_ns)
                ]
            )
            held = tuple(variants.attributes_of(row) for row in rows)
        return ReservationView(
            meta.reservation_id, state, expire_ns, meta.create_ns, meta.order_id, meta.customer_id, lines, held
        )

    def reservation(self, reservation_id: str) -> ReservationView | None:
        index = self._book.index_of(reservation_id)
        return None if index < 0 else self.reservation_view(index)

    def reservation_indices_of(self, order_id: str = "", customer_id: str = "") -> list[int]:
        """Reservations of an order (or else of a customer), oldest first."""
        return self._book.of_order(order_id) if order_id else self._book.of_customer(customer_id)

    def reservations_of(self, order_id: str = "", customer_id: str = "") -> list[ReservationView]:
        return [self.reservation_view(i) for i in self.reservation_indices_of(order_id, customer_id)]

    def next_expiry_ns(self) -> int | None:
        return self._core.next_expiry_ns()

    # ---- snapshots ------------------------------------------------------------

    def export_state(self) -> tuple[dict[str, np.ndarray], dict]:
        """(core arrays, JSON-ready meta) of the whole state at the current log position."""
        arrays = self._core.export_state()
        arrays.update((f"book_{name}", array) for name, array in self._book.export().items())
        arrays["supply_ids_blob"], arrays["supply_ids_offsets"] = pack_text(self._supply_ids)
        arrays["source_ids_blob"], arrays["source_ids_offsets"] = pack_text(self._source_ids)
        arrays.update(self._variants.export())
        return arrays, {"network": network_fingerprint(self.network)}

    def load_state(self, other: Engine) -> None:
        """Takes over `other`'s whole state (a resync from a snapshot), in place: the
        servicers and watchers holding this object see the new state at once."""
        assert other.network is self.network or network_fingerprint(other.network) == network_fingerprint(self.network)
        self.__dict__.update(other.__dict__)

    @classmethod
    def from_state(
        cls,
        network: Network,
        arrays: dict[str, np.ndarray],
        meta: dict,
        clock_ns: Callable[[], int] = time.time_ns,
        adopt: bool = False,
    ) -> Engine:
        """An engine holding a snapshot's state; the network must be the one it was taken on.
        adopt=True: the core takes the arrays without copying them (Core.from_state);
        the caller must not use them afterwards."""
        if meta["network"] != network_fingerprint(network):
            raise ValueError("the snapshot was taken on another network (nodes or SKUs changed)")
        engine = cls(network, clock_ns, core=_core.Core.from_state(arrays, adopt))
        engine._book = ReservationBook.restore(
            {name[len("book_") :]: array for name, array in arrays.items() if name.startswith("book_")}
        )
        engine._supply_ids = unpack_text(arrays["supply_ids_blob"], arrays["supply_ids_offsets"])
        engine._supply_index = {supply_id: i for i, supply_id in enumerate(engine._supply_ids)}
        assert len(engine._supply_ids) == engine._core.supply_count, "supply ids differ from the core's supplies"
        engine._source_ids = unpack_text(arrays["source_ids_blob"], arrays["source_ids_offsets"])
        engine._source_index = {source_id: i for i, source_id in enumerate(engine._source_ids)}
        engine._variants = VariantRegistry.restore(len(network.skus), len(network.nodes), arrays)
        assert engine._variants.base_count + engine._variants.count == engine._core.sku_count, (
            "variants differ from the core's SKU rows"
        )
        engine._capacity = CapacityCounts(network)
        engine._capacity.rebuild(engine._core, arrays["book_create_ns"], arrays)
        return engine


def network_fingerprint(network: Network) -> str:
    """Identity of the interning order: snapshots are only valid for the same one."""
    digest = hashlib.blake2b(digest_size=16)
    for node in network.nodes:
        digest.update(node.node_id.encode() + b"\0")
    digest.update(b"\1")
    for sku in network.skus:
        digest.update(sku.sku_id.encode() + b"\0")
    return digest.hexdigest()


def _fingerprint_of(record: log_pb2.LogRecord) -> bytes:
    """The payload's identity: the command without its time and key."""
    payload = log_pb2.LogRecord()
    payload.CopyFrom(record)
    payload.log_time_ns = 0
    payload.request_id = ""
    return fingerprint(payload.SerializeToString(deterministic=True))
