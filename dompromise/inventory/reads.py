"""Reads of the state: availability, time-phased availability, through channels, reservations.

A `Reads` is one part of an Engine (engine.py): it shares the engine's core,
variant registry and reservation book, and never changes them. The engine
binds its entry points as its own methods, so a read costs no extra call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from dompromise import _core
from dompromise.inventory.channels import Channel, floors, unit_sizes
from dompromise.inventory.codes import (
    BUCKETS,
    EARLIEST_NEVER,
    EARLIEST_NOW,
    NEVER_NS,
    SUPPLY_ALL_KINDS,
    UNAVAILABLE_REASON,
    UNKNOWN_INDEX,
)
from dompromise.inventory.variants import VariantRegistry
from dompromise.model.attributes import Attributes
from dompromise.model.network import Network, Sku
from dompromise.reservations.book import ReservationBook, ReservationView

Int32s = npt.NDArray[np.int32]
Int64s = npt.NDArray[np.int64]
# (rows, starts): the core rows each requested SKU's figure sums, SKU s having rows[starts[s]:starts[s + 1]].
Expansion = tuple[Int32s, Int64s]
# Bucket ends of a time-phased read, UTC ns ascending (a list, or int64 already).
Boundaries = Sequence[int] | Int64s
# A phased gather's cells when only totals and earliest times are wanted (empty: nothing is ever written to it,
# so one is shared; the core asks for a writeable array).
_NO_CELLS: Int64s = np.empty(0, dtype=np.int64)


class AvailabilityAnswer(NamedTuple):
    """A gather's result. `cells` is row-major (SKU, node); empty for totals only.

    `buckets` (FULL view only) has one row per name in BUCKETS, same cell order.

    A NamedTuple, not a frozen dataclass: built on every read (a single-SKU one included), and a frozen
    dataclass's __init__ sets each of its 11 fields through object.__setattr__ (~1.1 us; this ~0.2 us).
    """

    sku_index: Int32s  # int32[s], -1 where the id is unknown
    node_index: Int32s  # int32[m], the breakdown's columns
    totals: Int64s  # int64[s]
    cells: Int64s  # int64[s * m] or empty
    buckets: Int64s | None  # int64[6, s * m] or None
    log_position: int
    # Through a Channel with a unit: base units per unit of each SKU, 0 where
    # it lacks the unit (no figure then); quantities count whole units.
    unit: str = ""
    unit_size: Int64s | None = None  # int64[s]
    # Through a view with a low-stock threshold: each SKU's flag.
    low_stock: npt.NDArray[np.bool_] | None = None  # bool[s]
    # FULL view: unavailable by reason (UNAVAILABLE_REASON order), same cell order.
    reasons: Int64s | None = None  # int64[4, s * m] or None
    # with_variants: each SKU's rows (its unattributed row and variants).
    variants: VariantBreakdown | None = None


@dataclass(frozen=True)
class VariantBreakdown:
    """Per requested SKU, the rows its figures sum: SKU s has rows[starts[s]:starts[s + 1]]."""

    rows: Int32s  # int32[r]
    starts: Int64s  # int64[s]
    totals: Int64s  # int64[r]
    cells: Int64s  # int64[r * m]
    attributes: list[Attributes]  # per row; () for unattributed stock


@dataclass(frozen=True)
class _Gathered:
    """One gather, summed per requested SKU over its rows (see Reads._expansion)."""

    totals: Int64s  # int64[s]
    cells: Int64s  # int64[s * m], empty unless asked
    buckets: Int64s | None  # int64[6, s * m]
    reasons: Int64s | None  # int64[4, s * m]
    row_totals: Int64s | None = None  # int64[r], when expanded
    row_cells: Int64s | None = None  # int64[r * m], when expanded with cells


@dataclass(frozen=True)
class PhasedAnswer:
    """Time-phased availability: what each (SKU, node) can promise by each bucket end."""

    cells: Int64s  # int64[s, m, b], or empty for totals only
    totals: Int64s  # int64[s, b]: cells summed over the nodes
    earliest_ns: Int64s  # int64[s, m]: EARLIEST_NOW, an instant, or EARLIEST_NEVER


class Reads:
    """What the state holds, per (SKU, node) and per reservation; reads never change it."""

    def __init__(
        self,
        core: _core.Core,
        network: Network,
        sku_index: dict[str, int],
        sku_ids: list[str],
        node_ids: list[str],
        variants: VariantRegistry,
        row_skus: list[Sku | None],
        book: ReservationBook,
    ):
        self._core = core
        self._network = network
        self._sku_index = sku_index
        self._sku_ids = sku_ids  # by row, for answers
        self._row_skus = row_skus  # by row: each catalog SKU (None for a variant row)
        self._node_ids = node_ids
        self._variants = variants
        self._book = book

    # ---- availability ---------------------------------------------------------

    def availability(
        self,
        sku_ids: Sequence[str],
        node_index: Int32s,
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
        sku_index = _core.indices_of(self._sku_index, sku_ids, UNKNOWN_INDEX)
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
            assert expansion is not None, "with_variants always expands"
            assert gathered.row_totals is not None, "an expanded gather keeps its rows"
            assert gathered.row_cells is not None, "an expanded gather keeps its rows"
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

    def promise_cells(
        self, sku_ids: Sequence[str], node_index: Int32s, wanted: Int64s, horizon_ns: int | None
    ) -> tuple[Int64s, Int64s | None] | None:
        """A promise's two plain gathers in one call, without the answers' objects: (availability(sku_ids,
        node_index).cells, and with horizon_ns the earliest_ns of
        phased_availability(sku_index, node_index, [horizon_ns], wanted=wanted, with_cells=False),
        flat; else None). `wanted`: int64, one per SKU, contiguous. None when a SKU has variants (the
        caller reads through availability and phased_availability then)."""
        sku_index = _core.indices_of(self._sku_index, sku_ids, UNKNOWN_INDEX)
        if self._variants.any_variants(sku_index):
            return None
        count = len(sku_index) * len(node_index)
        cells = np.empty(count, dtype=np.int64)
        totals = np.empty(len(sku_index), dtype=np.int64)  # each gather's totals, not wanted: one bucket
        self._core.gather_available(sku_index, node_index, cells, totals)
        if horizon_ns is None:
            return cells, None
        boundaries = np.empty(1, dtype=np.int64)
        boundaries[0] = horizon_ns
        earliest = np.empty(count, dtype=np.int64)
        self._core.gather_phased(
            sku_index, node_index, boundaries, SUPPLY_ALL_KINDS, wanted, _NO_CELLS, totals, earliest
        )
        return cells, earliest

    def _expansion(self, sku_index: Int32s, required: Attributes = (), always: bool = False) -> Expansion | None:
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
        expansion = self._expansion(_core.indices_of(self._sku_index, sku_ids, UNKNOWN_INDEX), required, True)
        assert expansion is not None, "always=True expands"
        return len(expansion[0])

    def _gather(
        self,
        sku_index: Int32s,
        node_index: Int32s,
        with_cells: bool,
        with_buckets: bool,
        expansion: Expansion | None = None,
    ) -> _Gathered:
        """Totals, cells (if asked) and buckets and reasons (if asked) per SKU, summed over its rows."""
        rows = sku_index if expansion is None else expansion[0]
        row_count, node_count = len(rows), len(node_index)
        row_totals = np.empty(row_count, dtype=np.int64)
        row_cells = np.empty(row_count * node_count if with_cells else 0, dtype=np.int64)
        self._core.gather_available(rows, node_index, row_cells, row_totals)
        buckets: Int64s | None = None
        reasons: Int64s | None = None
        if with_buckets:
            buckets = np.empty((len(BUCKETS), row_count * node_count), dtype=np.int64)
            self._core.gather_buckets(rows, node_index, buckets)
            reasons = np.empty((len(UNAVAILABLE_REASON), row_count * node_count), dtype=np.int64)
            self._core.gather_unavailable(rows, node_index, reasons)
        if expansion is None:
            return _Gathered(row_totals, row_cells, buckets, reasons)
        starts = expansion[1]

        def summed(table: Int64s) -> Int64s:  # int64[k, r * m] -> int64[k, s * m]
            grouped: Int64s = np.add.reduceat(table.reshape(len(table), row_count, node_count), starts, axis=1)
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

    # ---- time-phased ------------------------------------------------------------

    def phased_availability(
        self,
        sku_index: Int32s,
        node_index: Int32s,
        boundaries_ns: Boundaries,
        kind_mask: int = SUPPLY_ALL_KINDS,
        wanted: int | Int64s = 0,
        with_cells: bool = True,
        required: Attributes = (),
    ) -> PhasedAnswer:
        """What each (SKU, node) can promise by each boundary, and when `wanted` units (one
        number, or one per SKU) first can be; summed over each SKU's rows as availability()."""
        expansion = self._expansion(sku_index, required)
        if expansion is not None:
            return self._phased_rows(sku_index, node_index, boundaries_ns, kind_mask, wanted, with_cells, expansion)
        return self._phased_plain(sku_index, node_index, boundaries_ns, kind_mask, wanted, with_cells)

    def _phased_plain(
        self,
        sku_index: Int32s,
        node_index: Int32s,
        boundaries_ns: Boundaries,
        kind_mask: int,
        wanted: int | Int64s,
        with_cells: bool,
    ) -> PhasedAnswer:
        """One core gather, one row per SKU."""
        sku_total, node_total, bucket_total = len(sku_index), len(node_index), len(boundaries_ns)
        cells: Int64s = np.empty(sku_total * node_total * bucket_total if with_cells else 0, dtype=np.int64)
        totals = np.empty(sku_total * bucket_total, dtype=np.int64)
        earliest = np.empty(sku_total * node_total, dtype=np.int64)
        self._core.gather_phased(
            sku_index,
            node_index,
            np.ascontiguousarray(boundaries_ns, dtype=np.int64),
            kind_mask,
            _per_sku(wanted, sku_total),
            cells,
            totals,
            earliest,
        )
        if with_cells:
            cells = cells.reshape(sku_total, node_total, bucket_total)
        return PhasedAnswer(cells, totals.reshape(sku_total, bucket_total), earliest.reshape(sku_total, node_total))

    def _phased_rows(
        self,
        sku_index: Int32s,
        node_index: Int32s,
        boundaries_ns: Boundaries,
        kind_mask: int,
        wanted: int | Int64s,
        with_cells: bool,
        expansion: Expansion,
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

    # ---- through channels: views, segments, units (see channels.py) -------------

    def channel_floors(self, channel: Channel, sku_index: Int32s, node_index: Int32s, buckets: Int64s | None) -> Int64s:
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
        assert buckets is not None, "a view that needs buckets is given them"
        view_safety = np.broadcast_to(view.per_sku("safety_stock", sku_index)[:, None], shape)
        return floors(fixed, percent, view_safety, buckets[0].reshape(shape), buckets[4].reshape(shape))

    def _channel_availability(
        self,
        sku_ids: Sequence[str],
        node_index: Int32s,
        with_cells: bool,
        with_buckets: bool,
        channel: Channel,
        required: Attributes = (),
    ) -> AvailabilityAnswer:
        """availability() through a view (cells less the floors, capped) and/or in a unit (whole units per cell).
        Floors and caps apply to a SKU's figure, summed over its rows first."""
        sku_index = _core.indices_of(self._sku_index, sku_ids, UNKNOWN_INDEX)
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
            sizes = unit_sizes(self._row_skus, channel.unit, sku_index)
            divisor = np.where(sizes > 0, sizes, 1)[:, None]
            cells = cells // divisor
            if buckets is not None and reasons is not None:  # gathered together
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
        sku_index: Int32s,
        node_index: Int32s,
        boundaries_ns: Boundaries,
        kind_mask: int,
        wanted: int | Int64s,
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
        sizes = unit_sizes(self._row_skus, channel.unit, sku_index) if channel.unit else np.ones(shape[0], np.int64)
        # In Python ints: wanted (<= QUANTITY_MAX) times a pack size may not fit an int64;
        # more than QUANTITY_MAX is never available anyway. 0 for a SKU without the unit.
        # `wanted` is one number, or one per SKU (a promise's order lines).
        per_sku: list[int] = wanted.tolist() if isinstance(wanted, np.ndarray) else [wanted] * len(sizes)
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

    def _phased_with_floors(
        self,
        sku_index: Int32s,
        node_index: Int32s,
        boundaries_ns: Boundaries,
        kind_mask: int,
        wanted_base: Int64s,
        floor: Int64s,
        required: Attributes = (),
    ) -> tuple[Int64s, Int64s]:
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

    # ---- reservations -----------------------------------------------------------

    def reservation_view(self, index: int) -> ReservationView:
        found = self._core.reservation_lists(index)
        assert found is not None, "a reservation the book knows is in the core"
        state, expire_ns, rows, node, quantity, shipped, due_ns = found
        meta = self._book.meta(index)
        skus, nodes, variants = self._sku_ids, self._node_ids, self._variants
        held: tuple[Attributes, ...]
        if not variants.any_variant_rows(rows):  # no variant rows: a row is its SKU's
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


def _per_sku(wanted: int | Int64s, sku_total: int) -> Int64s:
    """`wanted` as one contiguous int64 per SKU: a promise's array as it is, else broadcast (a copy)."""
    if isinstance(wanted, np.ndarray) and wanted.dtype == np.int64 and wanted.shape == (sku_total,):
        return np.ascontiguousarray(wanted)
    return np.ascontiguousarray(np.broadcast_to(np.asarray(wanted, dtype=np.int64), (sku_total,)))
