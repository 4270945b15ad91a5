"""Promise ranking: the weights that apply to a request, and the per-node part of a score.

An option's score (lower is better) is written out on `RankingWeights`
(defined with the other channel settings in views.py, re-exported here).
Most of it depends on the option as a whole (delivery time, cost, number of
shipments, fill); the rest depends only on the node a shipment leaves from
and on where the order goes, so it is worked out once per (weights,
destination) as one float64 per network node,

    node_penalty[n] = drop_ship                       if n is a supplier drop-ship node
                    + per_priority_step * priority(n)
                    + per_100_km * distance_km(n, destination) / 100

and the engine adds node_penalty[shipping node] once per shipment. The
distance term is 0 when the node or the destination has no location. The
destination is a delivery zone (its configured centroid `location`) or a
click-and-collect store (the store node's `location`).

Distances are great-circle (haversine) distances on a sphere of radius
`EARTH_RADIUS_KM`, the IUGG mean Earth radius: within about 0.5% of the
WGS84 ellipsoid's geodesic distance, far finer than a zone centroid is.

Which weights apply: a request through a channel view uses the view's
`ranking` when it sets one, else the network's (`weights_for`).

Engine layer: uses numpy. PromiseEngine asks `weights_for` and `node_penalties`
per request; the service layer never touches the arrays.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dompromise.model.network import Network, NodeType
from dompromise.model.views import DEFAULT_RANKING, RANKING_WEIGHT_NAMES, RankingWeights

__all__ = [
    "DEFAULT_RANKING",
    "EARTH_RADIUS_KM",
    "RANKING_WEIGHT_NAMES",
    "Destination",
    "RankingWeights",
    "destination_point",
    "distance_km",
    "node_penalties",
    "weights_for",
]

# The IUGG mean radius R1 = (2a + b) / 3 of the WGS84 ellipsoid, in km.
EARTH_RADIUS_KM = 6371.0088

# Penalty arrays kept per network: at most this many float64 values in all
# (32 MB), and at least one array whatever the network's size.
_CACHED_VALUES_MAX = 4 * 1024 * 1024
# float64 per node, in core node order (read-only: shared from the cache).
Penalties = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Destination:
    """Where an order goes: exactly one of a delivery zone and a click-and-collect store."""

    zone_id: str | None = None
    pickup_node_id: str | None = None

    def __post_init__(self) -> None:
        if (self.zone_id is None) == (self.pickup_node_id is None):
            raise ValueError("a destination is exactly one of zone_id and pickup_node_id")

    @classmethod
    def zone(cls, zone_id: str) -> Destination:
        return cls(zone_id=zone_id)

    @classmethod
    def pickup(cls, node_id: str) -> Destination:
        return cls(pickup_node_id=node_id)


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (latitude, longitude) points in degrees.

    Haversine on a sphere of radius EARTH_RADIUS_KM; exact for antipodes too.
    """
    latitude_a, longitude_a = map(math.radians, a)
    latitude_b, longitude_b = map(math.radians, b)
    h = (
        math.sin((latitude_b - latitude_a) / 2) ** 2
        + math.cos(latitude_a) * math.cos(latitude_b) * math.sin((longitude_b - longitude_a) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(h, 1.0)))


def weights_for(network: Network, view_id: str = "") -> RankingWeights:
    """The weights a promise asked through `view_id` ranks by: the view's
    `ranking` when it sets one, else the network's. "" (no view): the network's.

    KeyError for a view the network does not have (the service checks view
    ids first, with Engine.channel).
    """
    if not view_id:
        return network.ranking
    for view in network.views:
        if view.view_id == view_id:
            return view.ranking if view.ranking is not None else network.ranking
    raise KeyError(view_id)


def destination_point(network: Network, destination: Destination) -> tuple[float, float] | None:
    """(latitude, longitude) of the destination, None when it has no location.

    KeyError for a zone or node the network does not have.
    """
    if destination.zone_id is not None:
        zones = network.transport.zones if network.transport is not None else ()
        for zone in zones:
            if zone.zone_id == destination.zone_id:
                if zone.location is None:
                    return None
                return zone.location.latitude_degrees, zone.location.longitude_degrees
        raise KeyError(destination.zone_id)
    for node in network.nodes:
        if node.node_id == destination.pickup_node_id:
            if node.location is None:
                return None
            return node.location.latitude_degrees, node.location.longitude_degrees
    raise KeyError(destination.pickup_node_id)


def node_penalties(
    weights: RankingWeights, network: Network, destination: Destination, include_drop_ship: bool = True
) -> Penalties:
    """float64[len(network.nodes)], in core node order: each node's penalty (see the module doc).

    `include_drop_ship=False` leaves the drop_ship term out, for a scorer that
    adds it per option itself. Cached per network (by identity) and (weights,
    destination, include_drop_ship); the array is read-only and shared.
    """
    return _tables_of(network).penalties(weights, destination, include_drop_ship)


class _NodeTable:
    """What the penalties need of one network's nodes, as arrays, and the cache of penalties."""

    def __init__(self, network: Network):
        self.network = weakref.ref(network)
        nodes = network.nodes
        self.drop_ship = np.array([node.node_type == NodeType.SUPPLIER_DROP_SHIP for node in nodes], dtype=bool)
        self.priority = np.array([node.priority for node in nodes], dtype=np.float64)
        self.located = np.array([node.location is not None for node in nodes], dtype=bool)
        degrees = np.array(
            [
                (node.location.latitude_degrees, node.location.longitude_degrees)
                if node.location is not None
                else (0.0, 0.0)
                for node in nodes
            ],
            dtype=np.float64,
        )
        radians = np.radians(degrees.reshape(len(nodes), 2))
        self.latitude, self.longitude = radians[:, 0], radians[:, 1]
        self._entries_max = max(1, _CACHED_VALUES_MAX // max(len(nodes), 1))
        self._cache: OrderedDict[tuple[RankingWeights, Destination, bool], Penalties] = OrderedDict()
        self._lock = threading.Lock()

    def penalties(self, weights: RankingWeights, destination: Destination, include_drop_ship: bool) -> Penalties:
        key = (weights, destination, include_drop_ship)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        network = self.network()
        assert network is not None, "a table lives as long as its network (_tables_of holds it)"
        penalty = self._compute(weights, network, destination, include_drop_ship)
        with self._lock:
            self._cache[key] = penalty
            while len(self._cache) > self._entries_max:
                self._cache.popitem(last=False)
        return penalty

    def _compute(
        self, weights: RankingWeights, network: Network, destination: Destination, include_drop_ship: bool
    ) -> Penalties:
        penalty = np.zeros(len(self.priority), dtype=np.float64)
        if include_drop_ship and weights.drop_ship:
            penalty[self.drop_ship] += weights.drop_ship
        if weights.per_priority_step:
            penalty += weights.per_priority_step * self.priority
        if weights.per_100_km:
            point = destination_point(network, destination)
            if point is not None:
                penalty += np.where(self.located, weights.per_100_km / 100.0 * self._distances_km(point), 0.0)
        penalty.flags.writeable = False
        return penalty

    def _distances_km(self, point: tuple[float, float]) -> npt.NDArray[np.float64]:
        """float64[nodes]: haversine km from each node to `point` (garbage where not located)."""
        latitude, longitude = math.radians(point[0]), math.radians(point[1])
        h = (
            np.sin((latitude - self.latitude) / 2) ** 2
            + np.cos(self.latitude) * math.cos(latitude) * np.sin((longitude - self.longitude) / 2) ** 2
        )
        distances: npt.NDArray[np.float64] = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(h, 1.0)))
        return distances


# One table per live network, by identity: a Network holds dicts, so it is not hashable.
_tables: dict[int, _NodeTable] = {}
_tables_lock = threading.Lock()


def _tables_of(network: Network) -> _NodeTable:
    key = id(network)
    with _tables_lock:
        table = _tables.get(key)
        if table is not None and table.network() is network:
            return table
    table = _NodeTable(network)
    with _tables_lock:
        _tables[key] = table
    # Forget the table with its network (a later network may reuse the id).
    weakref.finalize(network, _forget, key, table)
    return table


def _forget(key: int, table: _NodeTable) -> None:
    with _tables_lock:
        if _tables.get(key) is table:
            del _tables[key]
