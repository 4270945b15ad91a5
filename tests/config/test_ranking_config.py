"""Promise ranking in the network config: `ranking:` blocks (network and view),
node `priority`, zone `location`; errors with path:line: field; round trips."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from dompromise import limits
from dompromise.config import ConfigError, dump_network, parse_network
from dompromise.demo.network import demo_network
from dompromise.model.network import Location
from dompromise.model.transport import Centroid
from dompromise.model.views import DEFAULT_RANKING, RANKING_WEIGHT_NAMES, RankingWeights
from dompromise.promise.ranking import weights_for

# A valid file; each error test changes one line of it.
GOOD = textwrap.dedent("""\
    version: 1
    nodes:
      - id: DC-1
        type: dc
        location: {latitude: 45.7640, longitude: 4.8357}
      - id: WH-N
        type: warehouse
        priority: 2
        location: {latitude: 50.6292, longitude: 3.0573}
      - {id: ST-1, type: store, priority: 5}
      - {id: SUP-1, type: supplier_drop_ship}
    skus:
      - {id: PAD-1}
    transport:
      calendars:
        - {id: work}
      zones:
        - id: Z59
          timezone: Europe/Paris
          calendar: work
          location: {latitude: 50.6292, longitude: 3.0573}
        - {id: Z75, timezone: Europe/Paris, calendar: work}
    ranking:
      per_100_km: 1.5
      per_priority_step: 4
    views:
      - id: garages
        ranking: {per_100_km: 3, drop_ship: 20}
      - id: b2b
    """)


def line_of(text: str) -> int:
    matches = [number for number, line in enumerate(GOOD.splitlines(), start=1) if text in line]
    assert len(matches) == 1, text
    return matches[0]


def changed(old: str, new: str) -> str:
    assert GOOD.count(old) == 1, old
    return GOOD.replace(old, new)


def problems(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_network(text, "net.yaml")
    assert all(
        str(problem).startswith(f"net.yaml:{problem.line}: {problem.field}: ") for problem in caught.value.problems
    )
    return [(problem.line, problem.field, problem.message) for problem in caught.value.problems]


# --------------------------------------------------------------------------
# A good file


def test_the_good_file_loads_every_setting():
    network = parse_network(GOOD, "net.yaml")
    dc, wh, store, supplier = network.nodes
    assert (dc.priority, wh.priority, store.priority, supplier.priority) == (0, 2, 5, 0)
    assert wh.location == Location(50.6292, 3.0573)
    z59, z75 = network.transport.zones
    assert z59.location == Centroid(50.6292, 3.0573) and z75.location is None
    assert network.ranking == RankingWeights(per_100_km=1.5, per_priority_step=4.0)
    garages, b2b = network.views
    # A view's block sets some weights; the rest are the network's.
    assert garages.ranking == RankingWeights(per_100_km=3.0, per_priority_step=4.0, drop_ship=20.0)
    assert b2b.ranking is None


def test_weights_are_floats_even_when_written_as_integers():
    network = parse_network(GOOD, "net.yaml")
    assert all(type(getattr(network.ranking, name)) is float for name in RANKING_WEIGHT_NAMES)


def test_a_block_may_set_every_weight():
    block = "ranking: {" + ", ".join(f"{name}: {index + 1}" for index, name in enumerate(RANKING_WEIGHT_NAMES)) + "}"
    text = changed("ranking:\n  per_100_km: 1.5\n  per_priority_step: 4\n", block + "\n")
    assert parse_network(text).ranking == RankingWeights(*(float(i + 1) for i in range(len(RANKING_WEIGHT_NAMES))))


def test_weights_at_both_ends_of_the_range_load():
    text = changed("  per_100_km: 1.5", f"  per_100_km: {limits.RANKING_WEIGHT_MAX}").replace(
        "per_priority_step: 4", "per_priority_step: 0"
    )
    network = parse_network(text)
    assert network.ranking.per_100_km == limits.RANKING_WEIGHT_MAX and network.ranking.per_priority_step == 0.0
    assert parse_network(changed("priority: 5", f"priority: {limits.NODE_PRIORITY_MAX}")).nodes[2].priority == (
        limits.NODE_PRIORITY_MAX
    )


def test_json_works_the_same():
    text = (
        '{"version": 1, "nodes": [{"id": "N", "type": "dc", "priority": 3}], "skus": [{"id": "S"}],\n'
        ' "ranking": {"per_hour_to_delivery": 0.5},\n'
        ' "views": [{"id": "v", "ranking": {"per_100_km": 1e-05}}]}'
    )
    network = parse_network(text, "net.json")
    assert network.nodes[0].priority == 3
    assert network.ranking == RankingWeights(per_hour_to_delivery=0.5)
    assert network.views[0].ranking == RankingWeights(per_hour_to_delivery=0.5, per_100_km=1e-05)


# --------------------------------------------------------------------------
# Precedence: view > network > defaults


def test_precedence_view_over_network_over_defaults():
    network = parse_network(GOOD, "net.yaml")
    assert weights_for(network, "garages") == RankingWeights(per_100_km=3.0, per_priority_step=4.0, drop_ship=20.0)
    assert weights_for(network, "b2b") == network.ranking  # no block: the network's
    assert weights_for(network) == network.ranking  # no view
    assert weights_for(network).per_hour_to_delivery == DEFAULT_RANKING.per_hour_to_delivery  # unset: default
    with pytest.raises(KeyError):
        weights_for(network, "nope")


def test_a_view_block_without_a_network_block_is_over_the_defaults():
    text = changed("ranking:\n  per_100_km: 1.5\n  per_priority_step: 4\n", "")
    network = parse_network(text)
    assert network.ranking == DEFAULT_RANKING
    assert weights_for(network, "garages") == RankingWeights(per_100_km=3.0, drop_ship=20.0)
    assert weights_for(network, "b2b") == DEFAULT_RANKING


# --------------------------------------------------------------------------
# Each mistake on its line, with its field


@pytest.mark.parametrize(
    "old, new, field, message",
    [
        ("priority: 2", "priority: -1", "nodes[1].priority", f"-1 is outside [0, {limits.NODE_PRIORITY_MAX}]"),
        (
            "priority: 2",
            f"priority: {limits.NODE_PRIORITY_MAX + 1}",
            "nodes[1].priority",
            f"{limits.NODE_PRIORITY_MAX + 1} is outside [0, {limits.NODE_PRIORITY_MAX}]",
        ),
        ("priority: 2", "priority: 1.5", "nodes[1].priority", "expected an integer, got a number"),
        ("priority: 2", "priority: true", "nodes[1].priority", "expected an integer, got a boolean"),
        ("priority: 2", 'priority: "2"', "nodes[1].priority", "expected an integer, got a string"),
        ("priority: 2", "priorty: 2", "nodes[1].priorty", "unknown key 'priorty' (did you mean 'priority'?)"),
        (
            "  per_100_km: 1.5",
            "  per_100_km: -1",
            "ranking.per_100_km",
            f"-1 is outside [0, {limits.RANKING_WEIGHT_MAX}]",
        ),
        (
            "  per_100_km: 1.5",
            f"  per_100_km: {limits.RANKING_WEIGHT_MAX + 1}",
            "ranking.per_100_km",
            f"{limits.RANKING_WEIGHT_MAX + 1} is outside [0, {limits.RANKING_WEIGHT_MAX}]",
        ),
        (
            "  per_100_km: 1.5",
            "  per_100_km: .nan",
            "ranking.per_100_km",
            f"nan is outside [0, {limits.RANKING_WEIGHT_MAX}]",
        ),
        (
            "  per_100_km: 1.5",
            "  per_100_km: .inf",
            "ranking.per_100_km",
            f"inf is outside [0, {limits.RANKING_WEIGHT_MAX}]",
        ),
        ("  per_100_km: 1.5", "  per_100_km: fast", "ranking.per_100_km", "expected a number, got a string"),
        ("  per_100_km: 1.5", "  per_100_km: yes", "ranking.per_100_km", "expected a number, got a boolean"),
        ("  per_100_km: 1.5", "  per_100_km:", "ranking.per_100_km", "expected a number, got null"),
        ("  per_100_km: 1.5", "  per_km: 1.5", "ranking.per_km", "unknown key 'per_km' (did you mean 'per_100_km'?)"),
        (
            "  per_priority_step: 4",
            "  per_priority_step: 4\n  per_100_km: 2",
            "ranking.per_100_km",
            "duplicate key (first on line 24)",
        ),
        (
            "ranking: {per_100_km: 3, drop_ship: 20}",
            "ranking: {per_100_km: 3, drop_ship: -20}",
            "views[0].ranking.drop_ship",
            f"-20 is outside [0, {limits.RANKING_WEIGHT_MAX}]",
        ),
        (
            "ranking: {per_100_km: 3, drop_ship: 20}",
            "ranking: {per_100_km: 3, dropship: 20}",
            "views[0].ranking.dropship",
            "unknown key 'dropship' (did you mean 'drop_ship'?)",
        ),
        (
            "ranking: {per_100_km: 3, drop_ship: 20}",
            "ranking: {}",
            "views[0].ranking",
            "set at least one weight (or leave the key out)",
        ),
        (
            "ranking: {per_100_km: 3, drop_ship: 20}",
            "ranking: [per_100_km]",
            "views[0].ranking",
            "expected a mapping, got a list",
        ),
        (
            "    location: {latitude: 50.6292, longitude: 3.0573}\n    - {id: Z75",
            "    location: {latitude: 95, longitude: 3.0573}\n    - {id: Z75",
            "transport.zones[0].location.latitude",
            "95 is outside [-90, 90]",
        ),
        (
            "    location: {latitude: 50.6292, longitude: 3.0573}\n    - {id: Z75",
            "    location: {latitude: 50.6292, longitude: -181}\n    - {id: Z75",
            "transport.zones[0].location.longitude",
            "-181 is outside [-180, 180]",
        ),
        (
            "    location: {latitude: 50.6292, longitude: 3.0573}\n    - {id: Z75",
            "    location: {latitude: 50.6292}\n    - {id: Z75",
            "transport.zones[0].location.longitude",
            "missing required key",
        ),
        (
            "    location: {latitude: 50.6292, longitude: 3.0573}\n    - {id: Z75",
            '    location: {latitude: 50.6292, longitude: 3.0573, postal_code: "59000"}\n    - {id: Z75',
            "transport.zones[0].location.postal_code",
            "unknown key 'postal_code' (expected one of: latitude, longitude)",
        ),
        (
            "    location: {latitude: 50.6292, longitude: 3.0573}\n    - {id: Z75",
            '    location: "Lille"\n    - {id: Z75',
            "transport.zones[0].location",
            "expected a mapping, got a string",
        ),
    ],
)
def test_each_mistake_is_named_on_its_line(old, new, field, message):
    line = GOOD[: GOOD.index(old)].count("\n") + 1  # where the changed text starts
    if message.startswith("duplicate key"):
        line += 1  # the key written second
    assert problems(changed(old, new)) == [(line, field, message)]


def test_problems_of_several_blocks_come_together_in_line_order():
    text = (
        changed("priority: 2", "priority: -2")
        .replace("per_100_km: 1.5", "per_100_km: x")
        .replace("drop_ship: 20", "drop_ship: -1")
    )
    assert [(line, field) for line, field, _ in problems(text)] == [
        (line_of("priority: 2"), "nodes[1].priority"),
        (line_of("  per_100_km: 1.5"), "ranking.per_100_km"),
        (line_of("ranking: {per_100_km: 3"), "views[0].ranking.drop_ship"),
    ]


def test_problems_print_as_path_line_field_message():
    with pytest.raises(ConfigError) as caught:
        parse_network(changed("  per_100_km: 1.5", "  per_100_km: -1"), "network.yaml")
    assert str(caught.value) == (
        f"network.yaml:{line_of('  per_100_km: 1.5')}: ranking.per_100_km: "
        f"-1 is outside [0, {limits.RANKING_WEIGHT_MAX}]"
    )


# --------------------------------------------------------------------------
# Round trips and backward compatibility


def test_the_file_round_trips_through_dump_network():
    network = parse_network(GOOD, "net.yaml")
    assert parse_network(dump_network(network), "again.yaml") == network


def test_a_view_block_equal_to_the_network_round_trips():
    text = changed("ranking: {per_100_km: 3, drop_ship: 20}", "ranking: {per_100_km: 1.5}")
    network = parse_network(text)
    assert network.views[0].ranking == network.ranking
    again = parse_network(dump_network(network))
    assert again == network and again.views[0].ranking is not None


def test_dump_writes_only_what_differs_from_the_defaults_and_the_network():
    dumped = dump_network(parse_network(GOOD, "net.yaml"))
    assert "ranking: {per_priority_step: 4.0, per_100_km: 1.5}" in dumped
    assert "ranking: {drop_ship: 20.0, per_100_km: 3.0}" in dumped  # over the network's
    assert "priority: 2" in dumped and "priority: 0" not in dumped


def test_a_file_without_the_new_settings_loads_as_before():
    text = textwrap.dedent("""\
        version: 1
        nodes:
          - {id: DC-1, type: dc, location: {latitude: 45.76, longitude: 4.84}}
        skus:
          - {id: PAD-1}
        views:
          - {id: b2b}
        """)
    network = parse_network(text)
    assert network.ranking == DEFAULT_RANKING and network.ranking is DEFAULT_RANKING
    assert network.nodes[0].priority == 0 and network.views[0].ranking is None
    dumped = dump_network(network)
    assert "ranking" not in dumped and "priority" not in dumped


def test_default_weights_are_the_engines_ranking_before_configuration():
    assert DEFAULT_RANKING == RankingWeights(
        per_hour_to_delivery=1.0,
        per_currency_unit=0.2,
        per_extra_shipment=12.0,
        per_missing_percent=2.0,
        drop_ship=6.0,
        per_priority_step=0.0,
        per_100_km=0.0,
    )
    from dompromise.promise import types as promise

    engine_defaults = getattr(promise, "DEFAULT_WEIGHTS", None)  # promise.py's own, while it has them
    for name in ("per_hour_to_delivery", "per_currency_unit", "per_extra_shipment", "per_missing_percent", "drop_ship"):
        if engine_defaults is not None and hasattr(engine_defaults, name):
            assert getattr(DEFAULT_RANKING, name) == getattr(engine_defaults, name), name


# --------------------------------------------------------------------------
# The demo and the docs


def test_demo_nodes_have_priorities_and_zones_have_centroids():
    network = demo_network()
    priorities = {node.node_id: node.priority for node in network.nodes}
    assert priorities["DC-NAT"] == priorities["WH-NORTH"] == 0
    assert priorities["ST-PARIS"] > priorities["3PL-ORLEANS"] > priorities["SUP-BREMSTAL"] > 0
    for zone in network.transport.zones:
        assert zone.location is not None, zone.zone_id
        assert 41.0 <= zone.location.latitude_degrees <= 51.5 and -5.0 <= zone.location.longitude_degrees <= 10.0
    # The demo ranks as before: it sets no weights.
    assert network.ranking == DEFAULT_RANKING and all(view.ranking is None for view in network.views)


def test_the_docs_example_ranks_by_its_blocks():
    docs = (Path(__file__).parents[2] / "docs" / "config.md").read_text(encoding="utf-8")
    network = parse_network(dict(re.findall(r"```(yaml|json|csv)\n(.*?)```", docs, re.DOTALL))["yaml"], "docs.yaml")
    garages, b2b = network.views
    assert network.ranking != DEFAULT_RANKING and garages.ranking is not None and b2b.ranking is None
    assert any(node.priority for node in network.nodes)
    assert any(zone.location is not None for zone in network.transport.zones)


def test_ranking_limits_are_documented():
    docs = (Path(__file__).parents[2] / "docs" / "config.md").read_text(encoding="utf-8")
    for name in ("NODE_PRIORITY_MAX", "RANKING_WEIGHT_MAX"):
        assert f"`{name}` ({getattr(limits, name):,})" in docs, name
