"""What a promise is asked and what it answers: the request, the options with their
shipments and planned lines, and why each candidate node is or is not used.

Plain frozen dataclasses, NamedTuples and enums (numbers as the protos'), shared
by the engine, the service layer and the tests; no behaviour.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

from dompromise.model.attributes import Attributes
from dompromise.model.views import DEFAULT_RANKING, RankingWeights

NS_PER_HOUR = 3_600 * 10**9


class Method(enum.IntEnum):
    """How goods reach the customer (proto: dompromise.v1.DeliveryMethod)."""

    SHIP = 1
    PICKUP = 2
    DROP_SHIP = 3


class FillPolicy(enum.IntEnum):
    """How much of the order an option must carry (proto: dompromise.v1.FillPolicy)."""

    FILL_OR_KILL = 1  # every unit of every line, in up to max_shipments shipments
    SHIP_COMPLETE = 2  # every unit, in one shipment (one node, or consolidated at a hub)
    PARTIAL = 3  # at least min_fill_percent of the units


class Sourcing(enum.IntEnum):
    """How lines are spread over nodes (proto: dompromise.v1.SourcingMode)."""

    ORDER_LEVEL = 1  # one node for the whole order when one can; split only when none can
    LINE_LEVEL = 2  # each line from its own best node


class Reason(enum.IntEnum):
    """Why a candidate node is not (or is) in the answer (proto: dompromise.v1.CandidateReason)."""

    USED = 1
    NODE_NOT_SELLABLE = 2
    SHORT = 3
    NO_LANE = 4
    NO_DELIVERY = 5
    OUTRANKED = 6
    TOO_LATE = 7
    CAPACITY = 8


# Ranking weights (lower score is better): the network's `ranking:` config, or a
# view's; see views.RankingWeights for the score and ranking.py for its node terms.
Weights = RankingWeights
DEFAULT_WEIGHTS = DEFAULT_RANKING


class PromiseRequest(NamedTuple):
    """One order to promise (a NamedTuple, as PlannedLine: one is made per request, and a frozen dataclass's
    __init__ of its 19 fields cost ~2 us)."""

    sku_ids: tuple[str, ...]
    quantities: tuple[int, ...]
    as_of_ns: int
    zone_id: str | None = None  # ship / drop-ship destination
    pickup_node_id: str | None = None  # click-and-collect store
    methods: frozenset[Method] = frozenset(Method)
    fill_policy: FillPolicy = FillPolicy.FILL_OR_KILL
    min_fill_percent: int = 100
    max_shipments: int = 1
    sourcing: Sourcing = Sourcing.ORDER_LEVEL
    allow_future_supply: bool = True
    deliver_after_ns: int = 0  # requested window; 0 = none
    deliver_before_ns: int = 0
    max_options: int = 5
    customer_tier: str = ""  # exclusive lanes (Lane.tiers) are offered to their tiers only
    channel_view_id: str = ""  # promise through this channel view ("": none)
    customer_segment: str = ""  # the requester's segment within the view (its protected stock)
    # (sku_id, attribute values) for SKUs whose lines require attribute values: planned
    # from matching variants' stock on hand only (future supply carries no attributes).
    required_attributes: tuple[tuple[str, Attributes], ...] = ()
    split_lines: bool = False  # a split may take a line's units from several nodes


class PlannedLine(NamedTuple):
    """One line of a shipment. A NamedTuple, not a frozen dataclass: a consolidation makes one per order line,
    and a frozen dataclass's __init__ (object.__setattr__ per field) cost ~4x as much (~0.5 us a line)."""

    sku_id: str
    quantity: int
    ready_ns: int  # when the units are at the shipping node (as_of for its stock on hand)
    source_node_id: str = ""  # where the units are reserved, when not the shipping node (consolidation)
    source_ready_ns: int = 0  # when they are at the source node (as_of, or a supply ETA)


class Shipment(NamedTuple):
    """One shipment of an option (a NamedTuple, as PlannedLine: made per option in the hot path)."""

    node_id: str
    method: Method
    service: str  # carrier service; "collect" for click-and-collect
    lines: tuple[PlannedLine, ...]
    earliest_ns: int
    latest_ns: int
    departure_ns: int | None
    cost_minor: int
    via_node_id: str = ""  # the hub of a transfer + onward route


class Option(NamedTuple):
    """One delivery option (a NamedTuple, as PlannedLine: made per option in the hot path)."""

    method: Method
    shipments: tuple[Shipment, ...]
    fill_percent: float
    earliest_ns: int  # the whole order: the latest shipment's window
    latest_ns: int
    cost_minor: int
    score: float
    short_lines: tuple[tuple[str, int], ...] = ()  # (sku_id, units not planned)


class Candidate(NamedTuple):
    """Why a node is or is not in the answer (a NamedTuple, as PlannedLine: a SHORT one is made per node short of
    the order, every call)."""

    node_id: str
    reason: Reason
    detail: str


@dataclass(frozen=True)
class PromiseAnswer:
    options: tuple[Option, ...]
    candidates: tuple[Candidate, ...]
    log_position: int
    sku_ids: tuple[str, ...]  # the order's SKUs after summing duplicates
    quantities: tuple[int, ...]
