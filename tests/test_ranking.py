"""Promise ranking: haversine distances, per-node penalties, which weights a request gets."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from dompromise.inventory.engine import Engine
from dompromise.model.network import Location, Network, Node, NodeType, Sku
from dompromise.model.transport import Calendar, Centroid, TransportNetwork, Zone
from dompromise.model.views import View
from dompromise.promise.ranking import (
    DEFAULT_RANKING,
    EARTH_RADIUS_KM,
    Destination,
    RankingWeights,
    destination_point,
    distance_km,
    node_penalties,
    weights_for,
)

PARIS = (48.8566, 2.3522)
LYON = (45.7640, 4.8357)
LILLE = (50.6292, 3.0573)
MARSEILLE = (43.2965, 5.3698)

# Paris -> Lyon by hand, R = 6371.0088 km:
#   dlat/2 = -1.5463 deg: sin^2 = 0.00072824
#   cos(48.8566) cos(45.7640) = 0.65826 * 0.69763 = 0.45922; dlon/2 = 1.24175 deg: sin^2 = 0.00046963
#   h = 0.00072824 + 0.45922 * 0.00046963 = 0.00094391
#   d = 2R asin(sqrt h) = 2 * 6371.0088 * asin(0.030723) = 2 * 6371.0088 * 0.030725 = 391.50 km
PARIS_LYON_KM = 391.4995
# Lille -> Marseille the same way: h = 0.0042771, d = 2R asin(0.065400) = 2R * 0.065447 = 833.92 km
LILLE_MARSEILLE_KM = 833.9184


def _node(node_id, node_type, point=None, priority=0) -> Node:
    location = Location(*point) if point is not None else None
    return Node(node_id, node_type, location=location, priority=priority)


def scenario() -> Network:
    """Five nodes (one without a location), three zones (one without a centroid)."""
    nodes = (
        _node("PAR", NodeType.DISTRIBUTION_CENTER, PARIS, priority=1),
        _node("LYO", NodeType.WAREHOUSE, LYON),
        _node("LIL", NodeType.STORE, LILLE, priority=3),
        _node("MRS", NodeType.SUPPLIER_DROP_SHIP, MARSEILLE),
        _node("NOWHERE", NodeType.THIRD_PARTY_LOGISTICS, priority=2),
    )
    zones = (
        Zone("Z-LYON", "Europe/Paris", "work", location=Centroid(*LYON)),
        Zone("Z-MRS", "Europe/Paris", "work", location=Centroid(*MARSEILLE)),
        Zone("Z-NONE", "Europe/Paris", "work"),
    )
    transport = TransportNetwork(calendars=(Calendar("work"),), zones=zones, node_shipping=(), lanes=())
    views = (View("far", ranking=RankingWeights(per_100_km=50.0)), View("plain"))
    return Network(
        nodes=nodes,
        skus=(Sku("PAD"),),
        transport=transport,
        views=views,
        ranking=RankingWeights(per_100_km=10.0, per_priority_step=2.0),
    )


W = RankingWeights(drop_ship=6.0, per_priority_step=2.0, per_100_km=10.0)


# --------------------------------------------------------------------------
# distance_km


def test_two_known_city_pairs():
    assert distance_km(PARIS, LYON) == pytest.approx(PARIS_LYON_KM, abs=1e-3)
    assert distance_km(LILLE, MARSEILLE) == pytest.approx(LILLE_MARSEILLE_KM, abs=1e-3)


def test_distance_is_symmetric_zero_at_a_point_and_half_the_circumference_at_antipodes():
    assert distance_km(LYON, PARIS) == distance_km(PARIS, LYON)
    assert distance_km(LYON, LYON) == 0.0
    assert distance_km((0.0, 0.0), (0.0, 180.0)) == pytest.approx(math.pi * EARTH_RADIUS_KM)
    assert distance_km((90.0, 0.0), (-90.0, 0.0)) == pytest.approx(math.pi * EARTH_RADIUS_KM)
    # One degree of latitude is R * pi / 180 anywhere.
    assert distance_km((10.0, 33.0), (11.0, 33.0)) == pytest.approx(EARTH_RADIUS_KM * math.pi / 180)


def test_earth_radius_is_the_iugg_mean_radius():
    assert EARTH_RADIUS_KM == 6371.0088


# --------------------------------------------------------------------------
# node_penalties


def test_penalties_to_a_zone_centroid_by_hand():
    penalty = node_penalties(W, scenario(), Destination.zone("Z-LYON"))
    assert penalty.dtype == np.float64 and penalty.shape == (5,)
    assert penalty[0] == pytest.approx(2 * 1 + 10 * PARIS_LYON_KM / 100, abs=1e-4)  # PAR: 41.150
    assert penalty[1] == 0.0  # LYO: in the zone's centroid, priority 0
    assert penalty[2] == pytest.approx(2 * 3 + 10 * distance_km(LILLE, LYON) / 100)
    assert penalty[3] == pytest.approx(6 + 10 * distance_km(MARSEILLE, LYON) / 100)  # drop-ship
    assert penalty[4] == 4.0  # NOWHERE: no location, no distance term


def test_penalties_to_a_pickup_store_use_its_location():
    penalty = node_penalties(W, scenario(), Destination.pickup("LIL"))
    assert penalty[3] == pytest.approx(6 + 10 * LILLE_MARSEILLE_KM / 100, abs=1e-4)  # MRS: 89.392
    assert penalty[2] == 6.0  # the store itself: priority only
    assert penalty[0] == pytest.approx(2 + 10 * distance_km(PARIS, LILLE) / 100)


def test_no_distance_term_when_the_destination_has_no_location():
    network = scenario()
    assert node_penalties(W, network, Destination.zone("Z-NONE")).tolist() == [2.0, 0.0, 6.0, 6.0, 4.0]
    assert node_penalties(W, network, Destination.pickup("NOWHERE")).tolist() == [2.0, 0.0, 6.0, 6.0, 4.0]


def test_default_weights_penalise_only_drop_ship_nodes():
    network = scenario()
    assert node_penalties(DEFAULT_RANKING, network, Destination.zone("Z-MRS")).tolist() == [0, 0, 0, 6.0, 0]
    # Without the drop-ship term (a scorer that adds it per option): nothing at all, as today.
    assert not node_penalties(DEFAULT_RANKING, network, Destination.zone("Z-MRS"), include_drop_ship=False).any()


def test_each_term_alone():
    network = scenario()
    only_priority = node_penalties(
        RankingWeights(drop_ship=0.0, per_priority_step=0.5), network, Destination.zone("Z-LYON")
    )
    assert only_priority.tolist() == [0.5, 0.0, 1.5, 0.0, 1.0]
    only_distance = node_penalties(RankingWeights(drop_ship=0.0, per_100_km=1.0), network, Destination.zone("Z-MRS"))
    expected = [
        distance_km(PARIS, MARSEILLE) / 100,
        distance_km(LYON, MARSEILLE) / 100,
        distance_km(LILLE, MARSEILLE) / 100,
        0.0,
        0.0,
    ]
    assert only_distance == pytest.approx(expected)


def test_penalties_are_cached_read_only_and_keyed_by_weights_and_destination():
    network = scenario()
    first = node_penalties(W, network, Destination.zone("Z-LYON"))
    assert node_penalties(W, network, Destination.zone("Z-LYON")) is first
    assert node_penalties(dataclasses.replace(W), network, Destination.zone("Z-LYON")) is first  # equal weights
    assert node_penalties(W, network, Destination.zone("Z-MRS")) is not first
    assert node_penalties(dataclasses.replace(W, per_100_km=1.0), network, Destination.zone("Z-LYON"))[0] != first[0]
    assert node_penalties(W, network, Destination.zone("Z-LYON"), include_drop_ship=False)[3] == first[3] - 6.0
    with pytest.raises(ValueError):
        first[0] = 1.0
    # Another network (even an equal one) has its own table.
    other = scenario()
    assert node_penalties(W, other, Destination.zone("Z-LYON")) is not first
    assert node_penalties(W, other, Destination.zone("Z-LYON")).tolist() == first.tolist()


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr("dompromise.promise.ranking._CACHED_VALUES_MAX", 10)  # two arrays of five nodes
    network = scenario()
    first = node_penalties(W, network, Destination.zone("Z-LYON"))
    node_penalties(W, network, Destination.zone("Z-MRS"))
    node_penalties(W, network, Destination.zone("Z-NONE"))
    again = node_penalties(W, network, Destination.zone("Z-LYON"))
    assert again is not first and again.tolist() == first.tolist()


def test_destinations():
    network = scenario()
    assert destination_point(network, Destination.zone("Z-MRS")) == MARSEILLE
    assert destination_point(network, Destination.pickup("PAR")) == PARIS
    assert destination_point(network, Destination.zone("Z-NONE")) is None
    with pytest.raises(KeyError):
        destination_point(network, Destination.zone("Z-ATLANTIS"))
    with pytest.raises(KeyError):
        node_penalties(W, network, Destination.pickup("ST-ATLANTIS"))
    with pytest.raises(ValueError):
        Destination()
    with pytest.raises(ValueError):
        Destination("Z-LYON", "PAR")


def test_a_network_without_transport_has_no_zones():
    network = dataclasses.replace(scenario(), transport=None)
    with pytest.raises(KeyError):
        node_penalties(W, network, Destination.zone("Z-LYON"))
    assert node_penalties(W, network, Destination.pickup("LIL"))[2] == 6.0


def test_the_demo_penalties_are_finite_and_follow_distance():
    from dompromise.demo.network import demo_network

    network = demo_network()
    weights = RankingWeights(per_100_km=1.0, drop_ship=0.0)
    penalty = node_penalties(weights, network, Destination.zone("FR-59"))
    by_id = dict(zip((node.node_id for node in network.nodes), penalty.tolist()))
    assert np.isfinite(penalty).all()
    assert by_id["ST-LILLE"] < by_id["WH-NORTH"] < by_id["ST-PARIS"] < by_id["DC-NAT"] < by_id["WH-SOUTH"]


# --------------------------------------------------------------------------
# Which weights a request gets


def test_weights_for_a_view_its_own_else_the_networks():
    network = scenario()
    assert weights_for(network, "far") == RankingWeights(per_100_km=50.0)
    assert weights_for(network, "plain") == network.ranking
    assert weights_for(network) == network.ranking
    with pytest.raises(KeyError):
        weights_for(network, "nope")


def test_channels_carry_the_views_weights():
    network = scenario()
    engine = Engine(network)
    assert engine.channel("far").view.ranking == RankingWeights(per_100_km=50.0)
    # Promises through a view rank by them: tests/service/test_service_promise_views.py.
