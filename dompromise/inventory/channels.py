"""Channel views resolved to core indices, and what they hold back.

The engine builds one `ResolvedView` per configured view at start-up and a
`Channel` per request (view, customer segment, unit). Everything a view
changes is a *floor* per position: the quantity a requester through it must
leave available there,

    floor = protected for other segments + max(0, view safety stock - safety stock)

where "protected for other segments" is the sum of the fixed quantities of
the view's protected allocations covering the position whose segment is not
the requester's, plus their percents (summed, at most 100) of the
position's on hand, rounded down. A view's answer per position is
clamp(available - floor, 0, exposure cap); a reservation through it takes
from available - floor only (the core does that: Command.floor).

The view's safety stock is the most specific level for its answers: where it
is set it replaces the network's (SKU x node / SKU / node) safety stock, but
never below it, since the network's safety stock is held back from every
channel by the core. Protection is a nested protection level, as in revenue
management: a premium reservation lowers available and the fence stays, so
requesters of other segments never take available below the protected
amount while on hand lasts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dompromise.limits import QUANTITY_MAX
from dompromise.model.network import BASE_UNIT_NAMES, Network, Sku
from dompromise.model.views import ProtectedAllocation, RankingWeights, SkuQuantities, View

NONE = -1  # "not set" in per-SKU arrays
_PERCENT_MAX = 100
_NANOS_PER_DAY = 86_400 * 10**9
_BASE_UNIT_SPELLINGS = {value: name for name, value in BASE_UNIT_NAMES.items()}

Int32s = npt.NDArray[np.int32]
Int64s = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class _Protection:
    segment: str
    quantity: int
    percent: int
    sku_index: Int32s | None  # sorted core indices; None = every SKU
    node_mask: Mask | None  # [node_count]; None = every node of the view


class ResolvedView:
    """A View with its nodes, SKUs and supply kinds as core indices."""

    def __init__(
        self,
        view: View,
        network: Network,
        node_index: dict[str, int],
        sku_index: dict[str, int],
        nodes_by_tag: dict[str, list[int]],
        all_kinds_mask: int,
    ):
        self.view = view
        self.view_id = view.view_id
        self.node_mask = _node_mask(view.node_ids, view.node_tags, node_index, nodes_by_tag, len(network.nodes))
        self.kind_mask = sum(1 << kind for kind in view.supply_kinds) if view.supply_kinds else all_kinds_mask
        self.horizon_ns = None if view.horizon_days is None else view.horizon_days * _NANOS_PER_DAY
        self.segments = view.known_segments()
        self.has_exposure_cap = view.exposure_cap is not None
        # Per-SKU settings keyed by core index: (default or NONE, {index: quantity}).
        self._per_sku = {
            which: _indexed(getattr(view, which), sku_index)
            for which in ("safety_stock", "exposure_cap", "low_stock_threshold")
        }
        self._protections = tuple(
            _protection(p, node_index, sku_index, nodes_by_tag, len(network.nodes)) for p in view.protected
        )
        # On hand and safety stock matter only to percents and view safety stock.
        self.needs_buckets = view.safety_stock is not None or any(p.percent for p in view.protected)
        # How promises through the view rank: its own weights, else the network's.
        self.ranking: RankingWeights = view.ranking if view.ranking is not None else network.ranking

    def per_sku(self, which: str, sku_index: Int32s) -> Int64s:
        """int64[s]: the view's safety_stock / exposure_cap / low_stock_threshold per SKU, NONE where unset."""
        default, by_index = self._per_sku[which]
        if not by_index:
            return np.where(sku_index >= 0, default, NONE).astype(np.int64)
        get = by_index.get
        return np.array([get(index, default) if index >= 0 else NONE for index in sku_index.tolist()], dtype=np.int64)

    def protection(
        self, segment: str, sku_index: Int32s, node_index: Int32s, pairs: bool = False
    ) -> tuple[Int64s, Int64s]:
        """(fixed quantity, percent of on hand) protected for segments other than
        `segment`, percent at most 100: at each (SKU, node) cell, two int64[s, m];
        with `pairs`, at each (sku_index[i], node_index[i]), two int64[n]."""
        shape = (len(sku_index),) if pairs else (len(sku_index), len(node_index))
        fixed = np.zeros(shape, dtype=np.int64)
        percent = np.zeros_like(fixed)
        for protection in self._protections:
            if protection.segment == segment:
                continue
            rows = sku_index >= 0
            if protection.sku_index is not None:
                rows &= np.isin(sku_index, protection.sku_index)
            columns = np.ones(len(node_index), dtype=bool)
            if protection.node_mask is not None:
                columns = protection.node_mask[node_index]
            covered = rows & columns if pairs else np.ix_(rows, columns)
            if protection.quantity:
                fixed[covered] += protection.quantity
            else:
                percent[covered] += protection.percent
        np.minimum(percent, _PERCENT_MAX, out=percent)
        np.minimum(fixed, QUANTITY_MAX, out=fixed)
        return fixed, percent


@dataclass(frozen=True)
class Channel:
    """How one request asks: through a view (or None), as a segment, in a unit ("" = base units)."""

    view: ResolvedView | None
    segment: str = ""
    unit: str = ""

    def horizon_end_ns(self, now_ns: int) -> int | None:
        """The last instant the view's time-phased answers reach, or None for no horizon."""
        if self.view is None or self.view.horizon_ns is None:
            return None
        return now_ns + self.view.horizon_ns


def floors(fixed: Int64s, percent: Int64s, view_safety_stock: Int64s, on_hand: Int64s, safety_stock: Int64s) -> Int64s:
    """What a requester must leave at each position (see the module doc), element-wise.

    view_safety_stock is NONE where the view sets none. Bounded by QUANTITY_MAX:
    a floor above it keeps everything anyway.
    """
    # on_hand <= QUANTITY_MAX (10^15) times percent <= 100 cannot overflow int64.
    floor = fixed + on_hand * percent // _PERCENT_MAX
    floor += np.where(view_safety_stock >= 0, np.maximum(view_safety_stock - safety_stock, 0), 0)
    return np.minimum(floor, QUANTITY_MAX)


def unit_size(sku: Sku, unit: str) -> int:
    """Base units per `unit` for this SKU (1 for its base unit spelling), 0 if it has no such unit."""
    if unit == _BASE_UNIT_SPELLINGS[sku.base_unit]:
        return 1
    return sku.pack_sizes.get(unit, 0)


def unit_sizes(skus: Sequence[Sku | None], unit: str, sku_index: Int32s) -> Int64s:
    """int64[s]: base units per `unit` of each indexed SKU (skus by core row); 0 where it lacks the
    unit or is unknown (-1)."""
    sizes = [0] * len(sku_index)
    for i, index in enumerate(sku_index.tolist()):
        sku = skus[index] if index >= 0 else None
        sizes[i] = unit_size(sku, unit) if sku is not None else 0
    return np.array(sizes, dtype=np.int64)


def known_units(skus: tuple[Sku, ...]) -> frozenset[str]:
    """Every unit some SKU of the network can be counted in: pack names and base unit spellings."""
    names = {_BASE_UNIT_SPELLINGS[sku.base_unit] for sku in skus}
    for sku in skus:
        names.update(sku.pack_sizes)
    return frozenset(names)


def _indexed(quantities: SkuQuantities | None, sku_index: dict[str, int]) -> tuple[int, dict[int, int]]:
    if quantities is None:
        return NONE, {}
    default = NONE if quantities.default is None else quantities.default
    return default, {
        sku_index[sku_id]: quantity for sku_id, quantity in quantities.per_sku.items() if sku_id in sku_index
    }  # a retired SKU drops out


def _node_mask(
    node_ids: tuple[str, ...],
    node_tags: tuple[str, ...],
    node_index: dict[str, int],
    nodes_by_tag: dict[str, list[int]],
    node_count: int,
) -> Mask:
    """bool[node_count]: the nodes named or tagged; every node when neither is given."""
    if not node_ids and not node_tags:
        return np.ones(node_count, dtype=bool)
    mask = np.zeros(node_count, dtype=bool)
    mask[[node_index[node_id] for node_id in node_ids]] = True
    for tag in node_tags:
        mask[nodes_by_tag.get(tag, [])] = True
    return mask


def _protection(
    allocation: ProtectedAllocation,
    node_index: dict[str, int],
    sku_index: dict[str, int],
    nodes_by_tag: dict[str, list[int]],
    node_count: int,
) -> _Protection:
    skus = None
    if allocation.sku_ids:
        skus = np.sort(np.array([sku_index[s] for s in allocation.sku_ids if s in sku_index], dtype=np.int32))
    nodes = None
    if allocation.node_ids or allocation.node_tags:
        nodes = _node_mask(allocation.node_ids, allocation.node_tags, node_index, nodes_by_tag, node_count)
    return _Protection(allocation.segment, allocation.quantity, allocation.percent, skus, nodes)
