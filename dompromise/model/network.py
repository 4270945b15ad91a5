"""Pure-Python domain types of the network: nodes, SKUs, units, stock rows.

No I/O here. `config/` builds these from files; `demo/` builds them in
code; `inventory/engine.py` interns them into the core's dense indices. Enum numbers
are stable and equal to the protobuf enums (checked by a test).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from dompromise.model.transport import TransportNetwork
from dompromise.model.views import DEFAULT_RANKING, RankingWeights, View


class NodeType(enum.IntEnum):
    """What kind of fulfilment node this is (proto: dompromise.v1.NodeType)."""

    DISTRIBUTION_CENTER = 1
    WAREHOUSE = 2
    STORE = 3
    SUPPLIER_DROP_SHIP = 4
    THIRD_PARTY_LOGISTICS = 5


class NodeStatus(enum.IntEnum):
    """Whether a node takes new demand (proto: dompromise.v1.NodeStatus).

    ENABLED sells; DRAIN finishes what it holds but takes nothing new;
    DISABLED is out of the network. Only ENABLED nodes count as available.
    """

    ENABLED = 1
    DRAIN = 2
    DISABLED = 3


class BaseUnit(enum.IntEnum):
    """The integer base unit a SKU's quantities are counted in (proto: dompromise.v1.BaseUnit)."""

    EACH = 1
    MILLIMETRE = 2
    GRAM = 3
    MILLILITRE = 4


# Config spelling of each enum value (lower snake case), and back.
NODE_TYPE_NAMES = {
    "dc": NodeType.DISTRIBUTION_CENTER,
    "warehouse": NodeType.WAREHOUSE,
    "store": NodeType.STORE,
    "supplier_drop_ship": NodeType.SUPPLIER_DROP_SHIP,
    "3pl": NodeType.THIRD_PARTY_LOGISTICS,
}
NODE_STATUS_NAMES = {
    "enabled": NodeStatus.ENABLED,
    "drain": NodeStatus.DRAIN,
    "disabled": NodeStatus.DISABLED,
}
BASE_UNIT_NAMES = {
    "each": BaseUnit.EACH,
    "mm": BaseUnit.MILLIMETRE,
    "g": BaseUnit.GRAM,
    "ml": BaseUnit.MILLILITRE,
}
NODE_TYPE_SPELLINGS = {value: name for name, value in NODE_TYPE_NAMES.items()}
NODE_STATUS_SPELLINGS = {value: name for name, value in NODE_STATUS_NAMES.items()}
BASE_UNIT_SPELLINGS = {value: name for name, value in BASE_UNIT_NAMES.items()}


@dataclass(frozen=True)
class Location:
    """Where a node is: WGS84 degrees and an optional postal code."""

    latitude_degrees: float
    longitude_degrees: float
    postal_code: str = ""
    country_code: str = ""


@dataclass(frozen=True)
class Node:
    """A place stock is held and shipped from.

    `priority` ranks nodes for promises: 0 (the default) is the most
    preferred, each step up costs RankingWeights.per_priority_step. Its
    `location`, when known, gives the distance term (RankingWeights.per_100_km).
    """

    node_id: str
    node_type: NodeType
    status: NodeStatus = NodeStatus.ENABLED
    name: str = ""
    timezone: str = "UTC"
    location: Location | None = None
    tags: tuple[str, ...] = ()
    priority: int = 0


@dataclass(frozen=True)
class Sku:
    """A sellable item. Quantities are integers of `base_unit`.

    `pack_sizes` maps a pack name ("carton", "pallet", "metre") to how many
    base units it holds, for conversion at the edge.
    """

    sku_id: str
    description: str = ""
    base_unit: BaseUnit = BaseUnit.EACH
    pack_sizes: dict[str, int] = field(default_factory=dict)
    # Attribute keys this SKU's stock may be split by (lot, date_code...);
    # empty: the network's `attributes`.
    tracked_attributes: tuple[str, ...] = ()
    # What a lookup searches by besides the id and description.
    brand: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class StockRow:
    """One absolute on-hand figure for a (SKU, node), as a stock file gives it."""

    sku_id: str
    node_id: str
    on_hand_quantity: int


@dataclass(frozen=True)
class Network:
    """The whole static network: nodes and SKUs, in a stable order.

    The order is the interning order: node i of `nodes` is core index i.
    """

    nodes: tuple[Node, ...]
    skus: tuple[Sku, ...]
    # Calendars, zones and lanes for delivery promises; None when not configured.
    transport: TransportNetwork | None = None
    # Channel views (see views.py); none when not configured.
    views: tuple[View, ...] = ()
    # Attribute keys stock may be split by (lot, country_of_origin,
    # date_code...), for every SKU without its own tracked_attributes.
    attributes: tuple[str, ...] = ()
    # How promises are ranked where no channel view sets its own weights.
    ranking: RankingWeights = DEFAULT_RANKING
