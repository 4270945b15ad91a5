"""Channel views: what one sales channel may see and take of the network.

Pure data. `config/views.py` builds these from the network config's `views:`
section; `inventory/channels.py` resolves them to core indices and works out, per
position, what a requester through a view must leave for others. No I/O,
no numpy here.

A view names its nodes, the future supply it counts and how far ahead, and
what it holds back: its own safety stock, an exposure cap, a low-stock
threshold and protected allocations (stock ring-fenced for a customer
segment that the view's other requesters cannot consume), and how the
promise engine ranks delivery options asked through it (`RankingWeights`:
ranking.py works out the per-node part of a score from them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Config spelling of each kind of future supply; the numbers are
# dompromise.v1.SupplyKind's and the core's (tests/test_contract_numbers.py).
SUPPLY_KIND_NAMES = {
    "in_transit": 1,
    "purchase_order": 2,
    "transfer": 3,
}
SUPPLY_KIND_SPELLINGS = {number: name for name, number in SUPPLY_KIND_NAMES.items()}


@dataclass(frozen=True)
class RankingWeights:
    """How the promise engine ranks delivery options; lower scores are better.

    An option's score is

        per_hour_to_delivery * hours from the as-of time to delivery
      + per_currency_unit * cost_minor / 100
      + per_extra_shipment * (shipments - 1)
      + per_missing_percent * (100 - fill percent)
      + drop_ship, once, for an option whose every shipment is drop-ship
      + for each shipment, its shipping node's penalty (ranking.node_penalties):
        per_priority_step * the node's priority
        + per_100_km * its distance to the destination in km / 100

    The defaults are the engine's ranking before weights were configurable;
    the two node terms default to 0, so a network that sets neither ranks as
    before. Weights are finite and in [0, limits.RANKING_WEIGHT_MAX] when
    read from config. Frozen and hashable: a cache key.
    """

    per_hour_to_delivery: float = 1.0
    per_currency_unit: float = 0.2  # per 100 minor units (one euro) of cost
    per_extra_shipment: float = 12.0
    per_missing_percent: float = 2.0  # partial fills
    drop_ship: float = 6.0  # internal stock first when it is as good
    per_priority_step: float = 0.0  # per step of a node's priority (0 = most preferred)
    per_100_km: float = 0.0  # per 100 km from the shipping node to the destination


# Config spelling of each weight, in the order docs and dumps list them.
RANKING_WEIGHT_NAMES = (
    "per_hour_to_delivery",
    "per_currency_unit",
    "per_extra_shipment",
    "per_missing_percent",
    "drop_ship",
    "per_priority_step",
    "per_100_km",
)

DEFAULT_RANKING = RankingWeights()


@dataclass(frozen=True)
class SkuQuantities:
    """A quantity per SKU, in each SKU's base units: `default` for every SKU
    (None: not set), `per_sku` for the SKUs named, which wins over it."""

    default: int | None = None
    per_sku: dict[str, int] = field(default_factory=dict)

    def of(self, sku_id: str) -> int | None:
        """The SKU's quantity, or None when neither its own nor a default is set."""
        return self.per_sku.get(sku_id, self.default)


@dataclass(frozen=True)
class ProtectedAllocation:
    """Stock ring-fenced at each position it covers for one customer segment.

    Exactly one of `quantity` (base units) and `percent` (of the position's
    on hand, rounded down) is non-zero. Empty `sku_ids` means every SKU;
    empty `node_ids` and `node_tags` mean every node of the view, else the
    nodes named or tagged (a union).
    """

    segment: str
    quantity: int = 0
    percent: int = 0
    sku_ids: tuple[str, ...] = ()
    node_ids: tuple[str, ...] = ()
    node_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class View:
    """One channel's view of the network.

    Nodes: those named in `node_ids` or carrying a tag of `node_tags` (a
    union); every node when both are empty. `supply_kinds` (SupplyKind
    numbers) are the future supply its time-phased answers count, all when
    empty; `horizon_days` caps how far ahead they go (None: no cap).
    `segments` are the customer segments that may ask through it (with the
    ones its protected allocations name). `ranking` ranks promises asked
    through it; None: the network's.
    """

    view_id: str
    node_ids: tuple[str, ...] = ()
    node_tags: tuple[str, ...] = ()
    supply_kinds: tuple[int, ...] = ()
    horizon_days: int | None = None
    segments: tuple[str, ...] = ()
    safety_stock: SkuQuantities | None = None
    exposure_cap: SkuQuantities | None = None
    low_stock_threshold: SkuQuantities | None = None
    protected: tuple[ProtectedAllocation, ...] = ()
    ranking: RankingWeights | None = None

    def known_segments(self) -> frozenset[str]:
        """The customer segments a request through this view may name."""
        return frozenset(self.segments) | {allocation.segment for allocation in self.protected}
