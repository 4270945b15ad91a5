"""The `views:` section of the network config: loading, errors with path:line: field, round trips."""

from __future__ import annotations

import textwrap

import pytest

from dompromise import _core, limits
from dompromise.config import ConfigError, dump_network, parse_network
from dompromise.model.views import SUPPLY_KIND_NAMES, ProtectedAllocation, SkuQuantities, View

HEAD = textwrap.dedent("""\
    version: 1
    nodes:
      - {id: DC-1, type: dc, tags: [national]}
      - {id: WH-N, type: warehouse, tags: [regional, north]}
      - {id: ST-1, type: store, tags: [store, north]}
    skus:
      - {id: PAD-1, packs: {carton: 12}}
      - {id: CABLE-1, unit: mm, packs: {metre: 1000}}
    views:
    """)
HEAD_LINES = HEAD.count("\n")

# A valid section; each error test changes one line of it. Line 1 of the
# section is line HEAD_LINES + 1 of the file.
SECTION = """\
  - id: garages
    nodes: [DC-1, WH-N]
    node_tags: [store]
    supply_kinds: [in_transit, purchase_order]
    horizon_days: 14
    segments: [garage, premium]
    safety_stock: 2
    exposure_cap: {default: 50, skus: {PAD-1: 20}}
    low_stock_threshold: {skus: {CABLE-1: 5000}}
    protected:
      - {segment: premium, percent: 20, node_tags: [regional]}
      - {segment: premium, quantity: 10, skus: [PAD-1], nodes: [WH-N]}
  - id: b2b
"""


def line_of(text: str) -> int:
    """The file line of the section line containing `text`."""
    matches = [number for number, line in enumerate(SECTION.splitlines(), start=1) if text in line]
    assert len(matches) == 1, text
    return HEAD_LINES + matches[0]


def changed(old: str, new: str) -> str:
    assert SECTION.count(old) == 1, old
    return HEAD + SECTION.replace(old, new)


def problems(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_network(text, "net.yaml")
    assert all(str(problem).startswith(f"net.yaml:{problem.line}: ") for problem in caught.value.problems)
    return [(problem.line, problem.field, problem.message) for problem in caught.value.problems]


def test_a_valid_section_reads_into_views():
    network = parse_network(HEAD + SECTION, "net.yaml")
    garages, b2b = network.views
    assert garages == View(
        view_id="garages",
        node_ids=("DC-1", "WH-N"),
        node_tags=("store",),
        supply_kinds=(1, 2),
        horizon_days=14,
        segments=("garage", "premium"),
        safety_stock=SkuQuantities(default=2),
        exposure_cap=SkuQuantities(default=50, per_sku={"PAD-1": 20}),
        low_stock_threshold=SkuQuantities(per_sku={"CABLE-1": 5000}),
        protected=(
            ProtectedAllocation("premium", percent=20, node_tags=("regional",)),
            ProtectedAllocation("premium", quantity=10, sku_ids=("PAD-1",), node_ids=("WH-N",)),
        ),
    )
    assert b2b == View("b2b")
    assert garages.exposure_cap.of("PAD-1") == 20 and garages.exposure_cap.of("CABLE-1") == 50
    assert garages.known_segments() == {"garage", "premium"}


def test_the_section_round_trips_through_dump_network():
    network = parse_network(HEAD + SECTION, "net.yaml")
    assert parse_network(dump_network(network), "again.yaml") == network


def test_a_network_without_views_has_none():
    network = parse_network(HEAD.replace("views:\n", ""), "net.yaml")
    assert network.views == ()
    assert "views" not in dump_network(network)


@pytest.mark.parametrize(
    "old, new, field, message",
    [
        ("nodes: [DC-1, WH-N]", "nodes: [DC-1, WH-X]", "views[0].nodes[1]", "unknown node 'WH-X'"),
        ("node_tags: [store]", "node_tags: [stores]", "views[0].node_tags[0]", "no node carries tag 'stores'"),
        (
            "supply_kinds: [in_transit, purchase_order]",
            "supply_kinds: [in_transit, po]",
            "views[0].supply_kinds[1]",
            "unknown value 'po' (expected one of: in_transit, purchase_order, transfer)",
        ),
        (
            "horizon_days: 14",
            "horizon_days: 0",
            "views[0].horizon_days",
            f"0 is outside [1, {limits.VIEW_HORIZON_DAYS_MAX}]",
        ),
        ("safety_stock: 2", "safety_stock: -2", "views[0].safety_stock", f"-2 is outside [0, {limits.QUANTITY_MAX}]"),
        ("skus: {PAD-1: 20}", "skus: {PAD-9: 20}", "views[0].exposure_cap.skus.PAD-9", "unknown SKU 'PAD-9'"),
        (
            "low_stock_threshold: {skus: {CABLE-1: 5000}}",
            "low_stock_threshold: {}",
            "views[0].low_stock_threshold",
            "set default, skus or both (or leave the key out)",
        ),
        (
            "{segment: premium, percent: 20,",
            "{segment: premium, percent: 20, quantity: 3,",
            "views[0].protected[0]",
            "set exactly one of quantity and percent",
        ),
        (
            "{segment: premium, percent: 20,",
            "{segment: vip, percent: 20,",
            "views[0].protected[0].segment",
            "segment 'vip' is not one of the view's segments (garage, premium)",
        ),
        ("percent: 20", "percent: 120", "views[0].protected[0].percent", "120 is outside [1, 100]"),
        (
            "skus: [PAD-1], nodes: [WH-N]",
            "skus: [PAD-1], nodes: [ST-1]",
            "views[0].protected[1].nodes[0]",
            "node 'ST-1' is not one of the view's nodes",
        ),
        (
            "skus: [PAD-1], nodes",
            "skus: [PAD-1, PAD-1], nodes",
            "views[0].protected[1].skus[1]",
            f"duplicate SKU 'PAD-1' (first on line {HEAD_LINES + 12})",
        ),
        (
            "horizon_days: 14",
            "horizon_day: 14",
            "views[0].horizon_day",
            "unknown key 'horizon_day' (did you mean 'horizon_days'?)",
        ),
        (
            "  - id: b2b",
            "  - id: garages",
            "views[1].id",
            f"duplicate view id 'garages' (first defined on line {HEAD_LINES + 1})",
        ),
    ],
)
def test_each_mistake_is_named_on_its_line(old, new, field, message):
    line = line_of(old.split("\n")[0]) if old != "  - id: b2b" else HEAD_LINES + SECTION.count("\n")
    assert problems(changed(old, new)) == [(line, field, message)]


def test_a_view_list_over_the_limit_is_one_problem(monkeypatch):
    monkeypatch.setattr("dompromise.config.views.VIEWS_MAX", 1)
    assert problems(HEAD + SECTION) == [(HEAD_LINES + 1, "views", "2 views, more than the limit of 1")]


def test_supply_kind_spellings_are_the_core_numbers():
    assert {name.upper(): number for name, number in SUPPLY_KIND_NAMES.items()} == _core.SUPPLY_KIND


def test_the_docs_example_declares_its_views():
    import re
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "config.md").read_text(encoding="utf-8")
    network = parse_network(dict(re.findall(r"```(yaml|json|csv)\n(.*?)```", docs, re.DOTALL))["yaml"], "docs.yaml")
    garages, b2b = network.views
    assert garages.node_tags == ("regional",) and garages.supply_kinds == (SUPPLY_KIND_NAMES["in_transit"],)
    assert garages.exposure_cap.of("OIL-MOT-20417") == 20000 and garages.exposure_cap.of("BRK-PAD-10432") == 50
    assert [p.percent or p.quantity for p in garages.protected] == [20, 12]
    assert b2b == View("b2b")
